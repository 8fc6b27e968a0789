"""Paper-style evaluation: statistics, N samples x M puzzles, side-by-side races, before/after comparisons."""
