"""Wave! An outdoor physics game for a projected wall, played by waving your hands.

Run::

    python -m games.wave                      # the calibrated camera (or the mouse, if none)
    python -m games.wave --source 1           # camera 1
    python -m games.wave --source clip.mp4    # a video file
    python -m games.wave --fullscreen --debug

How to play: beach balls drift down through the wind. Bat them with your hands into the golden
stars: each star is worth 10 points times the combo, and the combo grows with every star until
a ball touches the grass and pops. Close your hand on a ball to catch it: it follows your fist;
open your hand to throw it on with your hand's speed (a held ball neither scores nor pops, so
aim). A round lasts 60 seconds. Any number of players (up to four
hands) play together; each hand gets its own colour. Walk up and wave to start; walk away and
the attract screen comes back.

Keys: Esc quits, F toggles fullscreen, C opens the calibration screen, D toggles the debug
overlay (camera preview, heatmap, detections, timings).

When no camera opens (or there is no model) the game says so and the mouse stands in for one
hand, so it is always playable; holding the left button is a closed hand.

Modules: :mod:`~games.wave.app` (window, input, loop), :mod:`~games.wave.scenes` (attract and
play), :mod:`~games.wave.world` (pymunk physics), :mod:`~games.wave.hands` (hand events),
:mod:`~games.wave.effects`, :mod:`~games.wave.art`, :mod:`~games.wave.sounds`,
:mod:`~games.wave.debug`.
"""

import os

# pygame prints a banner on import (app.py imports pygame before handplay); "0" shows it
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
