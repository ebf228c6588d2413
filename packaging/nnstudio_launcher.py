"""Entry point of the bundled NN Studio (PyInstaller): the same `nnstudio` command as the installed package."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A frozen program re-executes itself for child processes; this stops a child from running main() again.
    multiprocessing.freeze_support()
    from nnstudio.cli import main

    sys.exit(main())
