"""`python -m playground.generate` is `python -m playground.generation` (the one-shot generation CLI)."""

import sys

from playground.generation.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
