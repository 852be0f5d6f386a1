"""Text understanding for the prompt panel: tokenizer, sentence encoder (ONNX) and the op router."""
