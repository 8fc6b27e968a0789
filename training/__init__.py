"""Training code: the tiny embedded reasoner, LoRA/QLoRA SFT runs and their data. No Gradio imports."""
