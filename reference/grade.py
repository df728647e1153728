"""``python -m reference.grade``: the grading CLI (reference.grading.cli), kept at its old address."""
import sys

from .grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
