"""``python -m cracklib``: see :mod:`cracklib.cli`."""
import sys

from cracklib.cli import main

sys.exit(main())
