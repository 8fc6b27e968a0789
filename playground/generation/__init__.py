"""A request to tokens under a thinking budget: the backend seam, the local engine, thinking, chat turns."""
