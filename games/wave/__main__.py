"""``python -m games.wave``: see :mod:`games.wave` for how to play, keys and options."""

from games.wave.app import main

if __name__ == "__main__":
    raise SystemExit(main())
