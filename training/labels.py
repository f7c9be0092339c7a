"""The labelled-data format of DESIGN.md: read, validate and write ``labels.jsonl`` files.

A dataset is a folder with images and a ``labels.jsonl`` (one object per image, key ``image``);
an annotated clip is ``clip.mp4`` beside ``clip.labels.jsonl`` (one object per frame, key
``frame``). Hands are ``{"x", "y", "r", "cls", "label_source"}`` in image pixels.

Every error names the file, the line and the problem. Writing is atomic (temporary file, fsync,
rename) so a crash in the middle of a save leaves the previous file intact.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from handplay.atomic import write_atomic

CLASSES = ("open", "other")
CLIP_SUFFIX = ".labels.jsonl"


class LabelError(ValueError):
    """A labels file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class HandLabel:
    """One labelled hand: centre ``(x, y)`` and radius ``r`` in image pixels, class ``cls``.

    Clip annotations may carry two optional keys, written only when set: ``track`` (an integer
    that follows one hand from frame to frame, for propagation and interpolation) and ``flag``
    (why the annotation tool wants a human to look, e.g. optical flow lost the hand here).
    ``label_source`` says who placed the hand: ``"human"`` (a keyframe), ``"flow"`` (carried by
    optical flow), ``"interp"`` (interpolated between keyframes) or ``"model"``.
    """

    x: float
    y: float
    r: float
    cls: str = "open"
    label_source: str = "human"
    track: int | None = None
    flag: str = ""

    def to_dict(self) -> dict:
        out: dict = {
            "x": round(self.x, 2),
            "y": round(self.y, 2),
            "r": round(self.r, 2),
            "cls": self.cls,
            "label_source": self.label_source,
        }
        if self.track is not None:
            out["track"] = self.track
        if self.flag:
            out["flag"] = self.flag
        return out


@dataclass(frozen=True)
class Record:
    """One labelled image (``image`` set) or clip frame (``frame`` set)."""

    hands: tuple[HandLabel, ...]
    width: int
    height: int
    image: str | None = None
    frame: int | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        out: dict = {}
        if self.image is not None:
            out["image"] = self.image
        if self.frame is not None:
            out["frame"] = self.frame
        out.update({"width": self.width, "height": self.height})
        out["hands"] = [h.to_dict() for h in self.hands]
        out.update(self.extra)
        return out


def _number(obj: dict, key: str, where: str, positive: bool = False) -> float:
    if key not in obj:
        raise LabelError(f"{where}: hand is missing {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LabelError(f"{where}: {key!r} must be a finite number, not {value!r}")
    if positive and value <= 0:
        raise LabelError(f"{where}: {key!r} must be greater than 0, not {value!r}")
    return float(value)


def parse_record(obj: object, where: str, kind: str) -> Record:
    """Validate one decoded JSON line. ``kind`` is ``"image"`` or ``"frame"``."""
    if not isinstance(obj, dict):
        raise LabelError(f"{where}: expected a JSON object, not {type(obj).__name__}")
    if kind not in obj:
        raise LabelError(f"{where}: missing key {kind!r} (keys present: {sorted(obj)})")
    key = obj[kind]
    if kind == "image" and not (isinstance(key, str) and key):
        raise LabelError(f"{where}: 'image' must be a relative path string, not {key!r}")
    if kind == "frame" and (isinstance(key, bool) or not isinstance(key, int) or key < 0):
        raise LabelError(f"{where}: 'frame' must be an integer >= 0, not {key!r}")
    size = []
    for dim in ("width", "height"):
        value = obj.get(dim)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise LabelError(f"{where}: {dim!r} must be a positive integer, not {value!r}")
        size.append(value)
    hands_raw = obj.get("hands")
    if not isinstance(hands_raw, list):
        raise LabelError(f"{where}: 'hands' must be a list, not {hands_raw!r}")
    hands = []
    for i, h in enumerate(hands_raw):
        hw = f"{where}, hand {i}"
        if not isinstance(h, dict):
            raise LabelError(f"{hw}: expected an object, not {h!r}")
        cls = h.get("cls", "open")
        if cls not in CLASSES:
            raise LabelError(f"{hw}: 'cls' must be one of {CLASSES}, not {cls!r}")
        track = h.get("track")
        if track is not None and (isinstance(track, bool) or not isinstance(track, int)):
            raise LabelError(f"{hw}: 'track' must be an integer, not {track!r}")
        flag = h.get("flag", "")
        if not isinstance(flag, str):
            raise LabelError(f"{hw}: 'flag' must be a string, not {flag!r}")
        hands.append(
            HandLabel(
                x=_number(h, "x", hw),
                y=_number(h, "y", hw),
                r=_number(h, "r", hw, positive=True),
                cls=cls,
                label_source=str(h.get("label_source", "human")),
                track=track,
                flag=flag,
            )
        )
    known = {"image", "frame", "width", "height", "hands"}
    extra = {k: v for k, v in obj.items() if k not in known}
    return Record(
        hands=tuple(hands),
        width=size[0],
        height=size[1],
        image=key if kind == "image" else None,
        frame=key if kind == "frame" else None,
        extra=extra,
    )


def read_labels(path: str | os.PathLike[str], kind: str | None = None) -> list[Record]:
    """Read and validate a ``labels.jsonl`` (``kind="image"``) or clip labels (``"frame"``).

    ``kind=None`` infers it from the file name (``*.labels.jsonl`` is a clip). Blank lines are
    skipped.

    Raises:
        FileNotFoundError: no such file.
        LabelError: a line is not JSON or breaks the format; the message gives file and line.
    """
    path = Path(path)
    if kind is None:
        kind = "frame" if path.name.endswith(CLIP_SUFFIX) else "image"
    if not path.exists():
        raise FileNotFoundError(f"labels file {path} does not exist")
    records = []
    seen: dict[object, int] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise LabelError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from e
            rec = parse_record(obj, where, kind)
            key = rec.image if kind == "image" else rec.frame
            if key in seen:
                raise LabelError(f"{where}: {kind} {key!r} is already labelled on line {seen[key]}")
            seen[key] = lineno
            records.append(rec)
    return records


def write_labels(path: str | os.PathLike[str], records: list[Record]) -> None:
    """Write ``records`` atomically: a crash mid-write leaves the old file as it was."""
    write_lines(path, (record_line(rec) for rec in records))


def record_line(rec: Record) -> str:
    """One record as its ``labels.jsonl`` line, newline included."""
    return json.dumps(rec.to_dict()) + "\n"


def write_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> None:
    """Write already formatted lines (see :func:`record_line`) atomically: temporary file,
    fsync, rename. A crash or an exception mid-write leaves the old file as it was (a kill
    leaves the temporary file, which the next :class:`~training.annotate.store.LabelStore`
    of the file removes)."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as f:
            f.writelines(lines)

    write_atomic(path, write)


#: DESIGN.md's rule: a prediction matches a hand when its centre is within this x the hand's r.
MATCH_RADIUS = 1.0


def match(
    preds: Sequence[tuple[float, float]], truth: Sequence[HandLabel]
) -> list[tuple[int, int, float]]:
    """Greedy nearest-first matching of predictions to ground-truth hands.

    Args:
        preds: predicted centres ``(x, y)``.
        truth: ground-truth hands.

    Returns:
        ``(pred index, truth index, distance / r)`` for each matched pair.
    """
    pairs = []
    for i, (px, py) in enumerate(preds):
        for j, t in enumerate(truth):
            d = math.hypot(px - t.x, py - t.y)
            if d <= MATCH_RADIUS * t.r:
                pairs.append((d, i, j))
    pairs.sort()
    used_p, used_t, out = set(), set(), []
    for d, i, j in pairs:
        if i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        out.append((i, j, d / truth[j].r))
    return out


def clip_labels_path(clip: str | os.PathLike[str]) -> Path:
    """``clip.mp4`` -> ``clip.labels.jsonl`` beside it."""
    clip = Path(clip)
    return clip.with_name(clip.stem + CLIP_SUFFIX)
