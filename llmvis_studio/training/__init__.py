"""Training and model conversion (needs the `train` extra: torch, onnx); never imported by the editor."""
