"""What is loaded and how: presets, loading (quantization, device, offline), adapters, the embedded models."""
