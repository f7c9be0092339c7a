"""handplay: play pygame games by waving your hands at an ordinary webcam."""

from handplay.calibration import Calibration, Smoothing

__all__ = ["Calibration", "Smoothing"]
