"""`python -m nngrade`: the same as the `nngrade` command."""

import sys

from .cli import main

sys.exit(main())
