"""Measure a hand model on a labelled folder with DESIGN.md's evaluation rule; print one JSON line.

Run: ``python -m training.evaluate --data ../shared/data/hagrid-val [--model PATH]
[--threshold T] [--open-threshold T] [--size WxH] [--blur 0.4] [--shrink 0.5] [--sweep]
[--at-precision 0.95] [--by-size] [--looks N] [--save-dir DIR]``

Decoding is ``handplay.Detector`` itself (one onnxruntime thread), so the figures measure exactly
what the runtime does. The rule: a prediction matches an unmatched ground-truth hand if its
centre lies within 1.0 x r of that hand's centre, greedily, nearest pairs first. Recall and
precision are over "open" hands (a prediction matching an "other" hand counts neither for nor
against); ``recall_all`` counts every hand and ``precision_all`` is matched predictions over all
predictions. Centre errors are divided by r (median, p90) over the matched open hands.

With a format-2 model (an ``open`` output) the open head is scored too: ``open_recall`` (open
hands matched by a detection the head calls open) and ``open_precision`` (of the detections
called open, those that match an open hand), and ``open_accuracy`` (on matched hands, the head's
open/other call against the label).

Transforms imitate harder cameras on the same labels (:mod:`training.augment`): ``--blur F``
motion-blurs each hand ``F * r`` long along a random direction (blended in within 2 r);
``--shrink F`` puts each frame at ``F`` times its size in the middle of a grey canvas of its own
size, as if every player stood ``1/F`` times farther away.

``ms_*`` time the whole ``detect`` call per frame (resize, inference, peaks, second look),
``infer_ms_*`` the frame's onnxruntime call alone. ``--looks 0`` scores the frame pass alone,
without :mod:`handplay.detector`'s second look at the strongest candidates.

``--by-size`` adds ``by_size``: ``recall_all`` per bin of hand radius in heatmap cells (under
2, 2-3, 3-4, 4-6, over 6), with the open hands' share, to show where the misses are;
``--sweep`` adds a line per threshold (0.1..0.9) for a precision/recall curve, with F1;
``--at-precision P`` adds ``at_precision``: the best ``recall_all`` at ``precision_all >= P`` over
those thresholds, the form the targets are stated in;
``--save-dir`` writes one overlay per image: frame with ground truth (green open, yellow other)
and detections (red, with score), beside the heatmap.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from handplay.detector import DEFAULT_LOOKS, Detector
from handplay.peaks import Detection
from handplay.reach import radius_cells
from handplay.sources import SourceError, parse_size
from training.augment import blur_hands, shrink_frame
from training.data import load_source
from training.labels import HandLabel, LabelError, match


def score(
    detections: Sequence[Sequence[Detection]],
    truths: Sequence[Sequence[HandLabel]],
    open_threshold: float | None = None,
) -> dict:
    """Recall, precision (open and all hands), the open head's figures and centre error.

    Args:
        detections: per image, the model's detections (frame pixels).
        truths: per image, the labelled hands (frame pixels).
        open_threshold: the open score at which a detection counts as open (format-2 models;
            ``None``: no open figures).

    Returns:
        A dict with ``images, hands, open_hands, predictions, recall, precision, recall_all,
        precision_all, centre_error_median, centre_error_p90`` (errors in units of r) and, with
        an open threshold, ``open_recall, open_precision, open_accuracy``.
    """
    n_open = n_all = n_pred = matched_open = matched_all = neutral = 0
    said_open = said_open_right = agree = 0
    errors: list[float] = []
    for dets, truth in zip(detections, truths, strict=True):
        pairs = match([(d.x, d.y) for d in dets], truth)
        n_all += len(truth)
        n_open += sum(t.cls == "open" for t in truth)
        n_pred += len(dets)
        matched_all += len(pairs)
        if open_threshold is not None:
            said_open += sum(d.open is not None and d.open >= open_threshold for d in dets)
        for i, j, err in pairs:
            is_open = truth[j].cls == "open"
            if is_open:
                matched_open += 1
                errors.append(err)
            else:
                neutral += 1
            if open_threshold is not None and dets[i].open is not None:
                called = dets[i].open >= open_threshold
                agree += called == is_open
                said_open_right += called and is_open
    counted = n_pred - neutral

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    out = {
        "images": len(truths),
        "hands": n_all,
        "open_hands": n_open,
        "predictions": n_pred,
        "recall": ratio(matched_open, n_open),
        "precision": ratio(matched_open, counted),
        "recall_all": ratio(matched_all, n_all),
        "precision_all": ratio(matched_all, n_pred),
        "centre_error_median": round(float(np.median(errors)), 4) if errors else None,
        "centre_error_p90": round(float(np.percentile(errors, 90)), 4) if errors else None,
    }
    if open_threshold is not None:
        out.update(
            open_threshold=open_threshold,
            open_recall=ratio(said_open_right, n_open),
            open_precision=ratio(said_open_right, said_open),
            open_accuracy=ratio(agree, matched_all),
        )
    return out


def run(
    det: Detector,
    frames: Sequence[np.ndarray],
    truths: Sequence[Sequence[HandLabel]],
    sweep: Sequence[float] = (),
    save_dir: str | os.PathLike[str] | None = None,
    by_size: bool = False,
) -> tuple[dict, list[dict]]:
    """Detect on every frame and score; optionally a threshold sweep, overlay images and
    (``by_size``) the figures' ``by_size`` rows of :func:`recall_by_size`.

    Returns:
        ``(figures at the detector's threshold incl. ms_median/ms_p90, one dict per sweep
        threshold)``.
    """
    base = det.threshold
    low = min([base, *sweep])
    det.threshold = low  # peaks at a higher threshold are a subset: filter instead of rerun
    all_dets, times, infer, heats = [], [], [], []
    try:
        for frame in frames:
            t0 = time.perf_counter()
            dets, heat = det.detect_with_heatmap(frame)
            times.append((time.perf_counter() - t0) * 1e3)
            infer.append(det.timings.get("inference", float("nan")))
            all_dets.append(dets)
            if save_dir is not None:
                heats.append(heat)
    finally:
        det.threshold = base

    def at(thr: float) -> list[list[Detection]]:
        return [[d for d in dets if d.score >= thr] for dets in all_dets]

    figures = score(at(base), truths, det.open_threshold)
    figures.update(
        threshold=base,
        ms_median=round(float(np.median(times)), 3) if times else None,
        ms_p90=round(float(np.percentile(times, 90)), 3) if times else None,
        infer_ms_median=round(float(np.median(infer)), 3) if infer else None,
        infer_ms_p90=round(float(np.percentile(infer, 90)), 3) if infer else None,
    )
    if by_size:
        sizes = [(f.shape[1], f.shape[0]) for f in frames]
        figures["by_size"] = recall_by_size(at(base), truths, sizes, det.input_size, det.stride)
    curve = [{"threshold": t, **score(at(t), truths, det.open_threshold)} for t in sweep]
    for row in curve:
        r, p = row["recall"] or 0.0, row["precision"] or 0.0
        row["f1"] = round(2 * r * p / (r + p), 4) if r + p else 0.0
    if save_dir is not None:
        _save_overlays(Path(save_dir), frames, truths, at(base), heats)
    return figures, curve


#: Upper edges of the hand-radius bins of ``--by-size``, in heatmap cells at the model input.
SIZE_EDGES: tuple[float, ...] = (2.0, 3.0, 4.0, 6.0)


def recall_by_size(
    detections: Sequence[Sequence[Detection]],
    truths: Sequence[Sequence[HandLabel]],
    frame_sizes: Sequence[tuple[int, int]],
    input_size: tuple[int, int],
    stride: int,
) -> list[dict]:
    """``recall_all`` per bin of hand radius in heatmap cells (:data:`SIZE_EDGES`), with each
    bin's ``hands``, ``found`` and ``open_hands``, ``open_found``: where the misses are.

    ``frame_sizes`` are the frames' ``(width, height)``; a hand's cells are its radius at the
    scale the detector reads that frame (:func:`handplay.reach.radius_cells`).
    """
    edges = [0.0, *SIZE_EDGES, math.inf]
    rows = [{"cells": f"{lo:g}-{hi:g}", "hands": 0, "found": 0, "open_hands": 0, "open_found": 0}
            for lo, hi in zip(edges[:-1], edges[1:], strict=True)]  # fmt: skip
    for dets, truth, wh in zip(detections, truths, frame_sizes, strict=True):
        found = {j for _, j, _ in match([(d.x, d.y) for d in dets], truth)}
        for j, hand in enumerate(truth):
            cells = radius_cells(hand.r, wh, input_size, stride)
            row = rows[bisect.bisect_right(edges, cells) - 1]
            row["hands"] += 1
            row["found"] += j in found
            if hand.cls == "open":
                row["open_hands"] += 1
                row["open_found"] += j in found
    for row in rows:
        row["recall_all"] = round(row["found"] / row["hands"], 4) if row["hands"] else None
    return rows


def best_at_precision(curve: Sequence[dict], floor: float) -> dict | None:
    """The sweep row with the most ``recall_all`` among those whose ``precision_all`` reaches
    ``floor``, as ``{"threshold", "recall_all", "precision_all"}``; ``None`` if none does.

    This is how the targets are stated ("recall_all 0.85 at precision_all 0.95"): the best the
    model can do at that precision, whatever threshold it takes. Ties go to the higher
    threshold, which gives the same recall with fewer predictions.
    """
    ok = [r for r in curve if r["precision_all"] is not None and r["precision_all"] >= floor]
    if not ok:
        return None
    best = max(ok, key=lambda r: (r["recall_all"] or 0.0, r["threshold"]))
    return {k: best[k] for k in ("threshold", "recall_all", "precision_all")}


def _save_overlays(
    out: Path,
    frames: Sequence[np.ndarray],
    truths: Sequence[Sequence[HandLabel]],
    dets: Sequence[Sequence[Detection]],
    heats: Sequence[np.ndarray],
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for k, (frame, truth, found, heat) in enumerate(zip(frames, truths, dets, heats, strict=True)):
        img = frame.copy()
        for t in truth:
            colour = (0, 200, 0) if t.cls == "open" else (0, 220, 220)
            cv2.circle(img, (round(t.x), round(t.y)), round(t.r), colour, 2)
        for d in found:
            cv2.circle(img, (round(d.x), round(d.y)), round(d.radius), (0, 0, 255), 2)
            cv2.drawMarker(img, (round(d.x), round(d.y)), (0, 0, 255), cv2.MARKER_CROSS, 8, 2)
            cv2.putText(img, f"{d.score:.2f}", (round(d.x) + 4, round(d.y) - 4),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)  # fmt: skip
        h = img.shape[0]
        hm = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
        hm = cv2.resize(hm, (round(hm.shape[1] * h / hm.shape[0]), h), cv2.INTER_NEAREST)
        cv2.imwrite(str(out / f"{k:04d}.jpg"), np.hstack([img, hm]))


def load_truth(
    data: str | os.PathLike[str], blur: float = 0.0, shrink: float = 1.0
) -> tuple[list[np.ndarray], list[list[HandLabel]]]:
    """Frames (full resolution, BGR) and hands of a labelled folder, an annotated clip
    (``X.mp4`` beside ``X.labels.jsonl``) or a folder of annotated clips; optionally each hand
    motion-blurred ``blur * r`` long and each frame shrunk by ``shrink`` (module docstring)."""
    images = load_source(str(data), cache_side=1 << 16)
    frames, truths = [im.pixels for im in images], [list(im.hands) for im in images]
    if blur > 0:
        pairs = enumerate(zip(frames, truths, strict=True))
        frames = [blur_hands(f, t, blur, seed=k) for k, (f, t) in pairs]
    if shrink != 1.0:
        pairs = [shrink_frame(f, t, shrink) for f, t in zip(frames, truths, strict=True)]
        frames, truths = [p[0] for p in pairs], [p[1] for p in pairs]
    return frames, truths


def main(argv: Sequence[str] | None = None) -> None:
    """Evaluate a model on a labelled folder and print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__)
    parser.add_argument(
        "--data",
        required=True,
        help="a labelled folder (labels.jsonl), an annotated clip (X.mp4) or a folder of clips",
    )
    parser.add_argument("--model", default=None, help="an .onnx file; default: the shipped one")
    parser.add_argument("--threshold", type=float, default=None, help="default: the model's")
    parser.add_argument(
        "--open-threshold", type=float, default=None, help="format 2; default: the model's"
    )
    parser.add_argument("--size", default=None, help="detector input WxH; default: the model's")
    parser.add_argument(
        "--blur", type=float, default=0.0, help="motion-blur each hand this many radii long"
    )
    parser.add_argument(
        "--shrink", type=float, default=1.0, help="each frame at this fraction of its size"
    )
    parser.add_argument("--sweep", action="store_true", help="also print a threshold sweep")
    parser.add_argument(
        "--at-precision",
        type=float,
        action="append",
        default=[],
        metavar="P",
        help="also report the best recall_all at precision_all >= P over the sweep's "
        "thresholds (repeatable)",
    )
    parser.add_argument(
        "--by-size",
        action="store_true",
        help="also report recall_all by hand radius in heatmap cells (where the misses are)",
    )
    parser.add_argument(
        "--looks",
        type=int,
        default=DEFAULT_LOOKS,
        help="candidates per frame given the detector's second look (0: one pass, as before)",
    )
    parser.add_argument("--save-dir", default=None, help="write overlay images here")
    parser.add_argument(
        "-v", "--debug", action="store_true", help="show a traceback on a data error"
    )
    args = parser.parse_args(argv)
    for floor in args.at_precision:
        if not 0.0 < floor <= 1.0:
            parser.error(f"--at-precision is a fraction in (0, 1], e.g. 0.95, not {floor}")
    size = parse_size(args.size) if args.size else None
    det = Detector(
        args.model, threads=1, threshold=args.threshold, max_hands=16, input_size=size,
        open_threshold=args.open_threshold, looks=args.looks,
    )  # fmt: skip
    try:
        frames, truths = load_truth(args.data, args.blur, args.shrink)
    except (LabelError, SourceError, FileNotFoundError, ValueError) as e:
        if args.debug:
            raise
        parser.exit(1, f"training.evaluate: {e} (--debug shows the traceback)\n")
    wanted = args.sweep or args.at_precision
    sweep = [round(t, 2) for t in np.arange(0.1, 0.95, 0.05)] if wanted else []
    figures, curve = run(det, frames, truths, sweep, args.save_dir, args.by_size)
    figures.update(model=str(det.path), input_size="{}x{}".format(*det.input_size), looks=det.looks)
    if args.blur or args.shrink != 1.0:
        figures.update(blur=args.blur, shrink=args.shrink)
    if args.at_precision:
        figures["at_precision"] = {str(f): best_at_precision(curve, f) for f in args.at_precision}
    if args.sweep:  # --at-precision alone uses the curve without printing it
        for row in curve:
            print(json.dumps({"sweep": True, **row}))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
