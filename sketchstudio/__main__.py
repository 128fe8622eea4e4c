"""`python -m sketchstudio`, and the PyInstaller entry point (build.spec)."""
import sys

from sketchstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
