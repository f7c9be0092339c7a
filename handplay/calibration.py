"""Calibration: which camera, mirroring, the play area, the threshold and the smoothing.

The calibration screen (``python -m handplay.calibrate``) writes a JSON file in the user's
config directory; :class:`handplay.Input` reads it when ``calibration=None``. A game can also
build a :class:`Calibration` itself and pass it in.

Coordinates, written once:

* camera pixels: origin top-left of the captured frame, x right, y down;
* *view* coordinates: camera pixels divided by the frame size (0..1), then flipped left-right
  when ``mirror`` is on, so the view is what a player sees in a mirror. The play area and the
  calibration preview both live in view coordinates;
* ``norm_pos``: (0, 0) at the play area's top-left corner, (1, 1) at its bottom-right; a hand
  outside the play area has values outside 0..1 (they are not clipped);
* ``pos``: screen pixels, y down, pixel centres at integer coordinates like camera pixels, so
  ``pos = norm_pos · screen_size − 0.5``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from handplay.atomic import remove_stale_temporaries, write_atomic
from handplay.reach import DEFAULT_REACH, check_reach
from handplay.smoothing import Smoothing, is_number
from handplay.sources import check_camera

log = logging.getLogger(__name__)

__all__ = ["Calibration", "Smoothing", "config_dir", "default_path"]

CONFIG_ENV = "HANDPLAY_CONFIG_DIR"
FORMAT = 1  # the calibration file's "format"; a file with another number is refused
_FILE_NAME = "calibration.json"
#: The detector reads the play area plus this margin on every side, as a fraction of the frame
#: height: about one hand radius at arm's length from a webcam, so a hand whose centre is just
#: inside the area is seen whole, and a hand entering it is tracked before it crosses the edge.
PLAY_AREA_MARGIN = 0.06
_FIX = "fix the file, or recalibrate (python -m handplay.calibrate, or C in the game)"


@dataclass(frozen=True)
class Calibration:
    """How camera pixels map onto the screen, and the detection settings.

    Attributes:
        camera: the camera index or video path the calibration was made for.
        mirror: flip left-right so moving your right hand moves the cursor right (like a mirror).
        play_area: ``(x0, y0, x1, y1)`` in view coordinates (0..1, see the module docstring); this
            rectangle of the camera view is stretched onto the whole screen.
        threshold: peak threshold, or ``None`` for the model's recommended one.
        smoothing: the One Euro filter settings.
        reach: how far away players stand: ``"near"`` (320×192 model input, the default),
            ``"room"`` (480×288), ``"hall"`` (640×384) or an explicit ``"WxH"`` (multiples of
            the model's stride); see :mod:`handplay.reach`.
    """

    camera: int | str = 0
    mirror: bool = True
    play_area: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    threshold: float | None = None
    smoothing: Smoothing = field(default_factory=Smoothing)
    reach: str = DEFAULT_REACH

    def __post_init__(self) -> None:
        check_camera(self.camera)
        if not isinstance(self.mirror, bool):
            raise ValueError(f"mirror must be true or false, not {self.mirror!r}")
        area = self.play_area
        want = "play_area must be (x0, y0, x1, y1) with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1"
        if not (isinstance(area, (tuple, list)) and len(area) == 4 and all(map(is_number, area))):
            raise ValueError(f"{want}, not {area!r}")
        x0, y0, x1, y1 = (float(v) for v in area)
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            raise ValueError(f"{want}, not {area!r}")
        object.__setattr__(self, "play_area", (x0, y0, x1, y1))
        if self.threshold is not None and not (
            is_number(self.threshold) and 0.0 < self.threshold < 1.0
        ):
            raise ValueError(
                f"threshold must be a number between 0 and 1 (or null), not {self.threshold!r}"
            )
        if not isinstance(self.smoothing, Smoothing):
            raise ValueError(f"smoothing must be a Smoothing, not {self.smoothing!r}")
        check_reach(self.reach)

    def to_view(self, x: float, y: float, frame_size: tuple[int, int]) -> tuple[float, float]:
        """Camera pixel ``(x, y)`` to view coordinates (0..1, mirrored if ``mirror``)."""
        w, h = frame_size
        u, v = (x + 0.5) / w, (y + 0.5) / h
        return (1.0 - u if self.mirror else u), v

    def to_norm(self, x: float, y: float, frame_size: tuple[int, int]) -> tuple[float, float]:
        """Camera pixel ``(x, y)`` to play-area coordinates (0..1 inside the play area)."""
        u, v = self.to_view(x, y, frame_size)
        x0, y0, x1, y1 = self.play_area
        return (u - x0) / (x1 - x0), (v - y0) / (y1 - y0)

    def to_screen(
        self, x: float, y: float, frame_size: tuple[int, int], screen_size: tuple[int, int]
    ) -> tuple[float, float]:
        """Camera pixel ``(x, y)`` to screen pixels (pixel centres at integer coordinates)."""
        nx, ny = self.to_norm(x, y, frame_size)
        return nx * screen_size[0] - 0.5, ny * screen_size[1] - 0.5

    def scale(self, frame_size: tuple[int, int], screen_size: tuple[int, int]) -> float:
        """Screen pixels per camera pixel (the mean of x and y), for radii and speeds."""
        x0, y0, x1, y1 = self.play_area
        sx = screen_size[0] / (frame_size[0] * (x1 - x0))
        sy = screen_size[1] / (frame_size[1] * (y1 - y0))
        return 0.5 * (sx + sy)

    def detection_roi(
        self, frame_size: tuple[int, int], margin: float = PLAY_AREA_MARGIN
    ) -> tuple[int, int, int, int]:
        """The part of the camera frame the detector reads: the play area plus ``margin``.

        Args:
            frame_size: the camera frame's ``(width, height)``.
            margin: added on every side, as a fraction of the frame height.

        Returns:
            ``(x0, y0, x1, y1)`` in camera pixels (not mirrored; half-open, clipped to the
            frame), for :meth:`handplay.Detector.detect`'s ``roi``.
        """
        w, h = frame_size
        x0, y0, x1, y1 = self.play_area
        if self.mirror:  # view x runs right to left across the camera frame
            x0, x1 = 1.0 - x1, 1.0 - x0
        m = margin * h
        # outward to whole pixels: the roi always holds the whole play area
        return (
            max(0, math.floor(x0 * w - m)),
            max(0, math.floor(y0 * h - m)),
            min(w, math.ceil(x1 * w + m)),
            min(h, math.ceil(y1 * h + m)),
        )

    def with_changes(self, **changes: object) -> Calibration:
        """A copy with some fields replaced (the calibration screen edits this way)."""
        return replace(self, **changes)

    # ---- file format ---------------------------------------------------------------------

    def to_json(self) -> str:
        """The JSON text written to the calibration file."""
        data = asdict(self)
        data["play_area"] = list(self.play_area)
        data["format"] = FORMAT
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str, origin: str = "<string>") -> Calibration:
        """Parse the calibration file's text, checking every field's type and range.

        Raises:
            ValueError: the text is not valid JSON, has another ``format``, or holds unknown keys
                or bad values; the message names ``origin`` (the file), the key and the value.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{origin}: not valid JSON ({e}); {_FIX}") from e
        if not isinstance(data, dict):
            raise ValueError(f"{origin}: expected a JSON object, not {type(data).__name__}; {_FIX}")
        version = data.pop("format", FORMAT)
        if version != FORMAT or isinstance(version, bool):
            raise ValueError(
                f"{origin}: format is {version!r}, but this handplay reads calibration format "
                f"{FORMAT}; {_FIX}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"{origin}: unknown keys {unknown}; valid keys are {sorted(known)}; {_FIX}"
            )
        smoothing = data.pop("smoothing", {})
        smoothing_keys = {f.name for f in fields(Smoothing)}
        if not isinstance(smoothing, dict) or not set(smoothing) <= smoothing_keys:
            raise ValueError(
                f"{origin}: smoothing must be an object with keys from {sorted(smoothing_keys)}, "
                f"not {smoothing!r}; {_FIX}"
            )
        try:
            if isinstance(data.get("play_area"), list):
                data["play_area"] = tuple(data["play_area"])
            return cls(smoothing=Smoothing(**smoothing), **data)
        except ValueError as e:  # __post_init__ names the key and the value
            raise ValueError(f"{origin}: {e}; {_FIX}") from e

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write atomically (temporary file + rename) to ``path`` or :func:`default_path`."""
        target = Path(path) if path is not None else default_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda tmp: tmp.write_text(self.to_json() + "\n", encoding="utf-8"))
        log.info("calibration saved to %s", target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Calibration:
        """Read ``path`` (or :func:`default_path`); defaults when no file exists there.

        A temporary file that an interrupted save left beside it is deleted first.

        Raises:
            ValueError: the file exists but is malformed or not UTF-8 text (the message names
                the file).
        """
        source = Path(path) if path is not None else default_path()
        remove_stale_temporaries(source)
        if not source.exists():
            if path is not None:
                raise FileNotFoundError(
                    f"calibration file {source} does not exist; run python -m handplay.calibrate"
                )
            return cls()
        try:
            text = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{source}: not UTF-8 text ({e}); {_FIX}") from e
        return cls.from_json(text, origin=str(source))


def config_dir() -> Path:
    """The user's handplay config folder (``$HANDPLAY_CONFIG_DIR`` overrides it)."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "handplay"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "handplay"
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "handplay"


def default_path() -> Path:
    """Where the calibration screen saves and ``Input`` looks: ``config_dir()/calibration.json``."""
    return config_dir() / _FILE_NAME
