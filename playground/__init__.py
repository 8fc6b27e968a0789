"""Reasoning Playground: watch a reasoning model think, budget its thinking, test it on verifiable puzzles."""
