"""``python -m verm_training …`` — what ``accelerate launch -m verm_training …`` runs."""

import sys

from verm_training.cli import main

if __name__ == "__main__":
    sys.exit(main())
