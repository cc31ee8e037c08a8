"""``python -m cracklib``: see :mod:`cracklib.cli`."""
import sys

from .cli import main

sys.exit(main())
