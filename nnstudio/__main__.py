"""`python -m nnstudio` — the same as the `nnstudio` command."""

import sys

from nnstudio.cli import main

sys.exit(main())
