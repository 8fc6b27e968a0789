"""`python -m playground.evaluate` is `python -m playground.evaluation` (the evaluation CLI)."""

import sys

from playground.evaluation.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
