"""`python -m training.placeholder` is `python -m playground.models.placeholder` (builds the untrained model)."""

from playground.models.placeholder import main

if __name__ == "__main__":
    main()
