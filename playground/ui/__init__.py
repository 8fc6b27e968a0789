"""Gradio tabs: widgets and wiring only. Behaviour lives in the engine, puzzles, evaluation and training modules."""
