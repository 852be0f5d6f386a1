"""PyTorch network definitions used only for training and ONNX export."""
