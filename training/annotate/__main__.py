"""``python -m training.annotate``: the annotation tool (:mod:`training.annotate.app`)."""

from training.annotate.app import main

if __name__ == "__main__":
    raise SystemExit(main())
