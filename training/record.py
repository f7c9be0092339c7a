"""``python -m training.record``: record webcam clips for annotation.

The recorder lives with the annotation tool, in :mod:`training.annotate.record`; this module
keeps the short command.
"""

from training.annotate.record import main

if __name__ == "__main__":
    raise SystemExit(main())
