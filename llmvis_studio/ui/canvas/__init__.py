"""The image canvas: view, mask overlay, painting tools."""
