"""``python -m geo``: the command line (see :mod:`geo.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
