"""Qt-free, onnxruntime-free building blocks: numpy only."""
