"""Measure a hand model on a labelled folder with DESIGN.md's evaluation rule; print one JSON line.

Run: ``python -m training.evaluate --data ../shared/data/hagrid-val [--model PATH]
[--threshold T] [--sweep] [--save-dir DIR]``

Decoding is ``handplay.Detector`` itself (one onnxruntime thread), so the figures measure exactly
what the runtime does. The rule: a prediction matches an unmatched ground-truth hand if its
centre lies within 1.0 x r of that hand's centre, greedily, nearest pairs first. Recall and
precision are over "open" hands (a prediction matching an "other" hand counts neither for nor
against); ``recall_all`` counts every hand. Centre errors are divided by r (median, p90) over the
matched open hands. ``ms_*`` time the whole ``detect`` call per frame (resize, inference, peaks),
``infer_ms_*`` the onnxruntime call alone.

``--sweep`` adds a line per threshold (0.1..0.9) for a precision/recall curve, with F1;
``--save-dir`` writes one overlay per image: frame with ground truth (green open, yellow other)
and detections (red, with score), beside the heatmap.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from handplay.detector import Detector
from handplay.peaks import Detection
from training.data import load_source
from training.labels import HandLabel

MATCH_RADIUS = 1.0  # in units of the ground-truth hand's r


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
            d = float(np.hypot(px - t.x, py - t.y))
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


def score(detections: Sequence[Sequence[Detection]], truths: Sequence[Sequence[HandLabel]]) -> dict:
    """Recall, precision, recall_all and centre error over a set of images.

    Args:
        detections: per image, the model's detections (frame pixels).
        truths: per image, the labelled hands (frame pixels).

    Returns:
        A dict with ``images, hands, open_hands, predictions, recall, precision, recall_all,
        centre_error_median, centre_error_p90`` (errors in units of r).
    """
    n_open = n_all = n_pred = matched_open = matched_all = neutral = 0
    errors: list[float] = []
    for dets, truth in zip(detections, truths, strict=True):
        pairs = match([(d.x, d.y) for d in dets], truth)
        n_all += len(truth)
        n_open += sum(t.cls == "open" for t in truth)
        n_pred += len(dets)
        matched_all += len(pairs)
        for _i, j, err in pairs:
            if truth[j].cls == "open":
                matched_open += 1
                errors.append(err)
            else:
                neutral += 1
    counted = n_pred - neutral
    return {
        "images": len(truths),
        "hands": n_all,
        "open_hands": n_open,
        "predictions": n_pred,
        "recall": round(matched_open / n_open, 4) if n_open else None,
        "precision": round(matched_open / counted, 4) if counted else None,
        "recall_all": round(matched_all / n_all, 4) if n_all else None,
        "centre_error_median": round(float(np.median(errors)), 4) if errors else None,
        "centre_error_p90": round(float(np.percentile(errors, 90)), 4) if errors else None,
    }


def run(
    det: Detector,
    frames: Sequence[np.ndarray],
    truths: Sequence[Sequence[HandLabel]],
    sweep: Sequence[float] = (),
    save_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict, list[dict]]:
    """Detect on every frame and score; optionally a threshold sweep and overlay images.

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

    figures = score(at(base), truths)
    figures.update(
        threshold=base,
        ms_median=round(float(np.median(times)), 3) if times else None,
        ms_p90=round(float(np.percentile(times, 90)), 3) if times else None,
        infer_ms_median=round(float(np.median(infer)), 3) if infer else None,
        infer_ms_p90=round(float(np.percentile(infer, 90)), 3) if infer else None,
    )
    curve = [{"threshold": t, **score(at(t), truths)} for t in sweep]
    for row in curve:
        r, p = row["recall"] or 0.0, row["precision"] or 0.0
        row["f1"] = round(2 * r * p / (r + p), 4) if r + p else 0.0
    if save_dir is not None:
        _save_overlays(Path(save_dir), frames, truths, at(base), heats)
    return figures, curve


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


def load_truth(data: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[list[HandLabel]]]:
    """Frames (full resolution, BGR) and hands of a labelled folder, an annotated clip
    (``X.mp4`` beside ``X.labels.jsonl``) or a folder of annotated clips."""
    images = load_source(str(data), cache_side=1 << 16)
    return [im.pixels for im in images], [im.hands for im in images]


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
    parser.add_argument("--sweep", action="store_true", help="also print a threshold sweep")
    parser.add_argument("--save-dir", default=None, help="write overlay images here")
    args = parser.parse_args(argv)
    det = Detector(args.model, threads=1, threshold=args.threshold, max_hands=16)
    frames, truths = load_truth(args.data)
    sweep = [round(t, 2) for t in np.arange(0.1, 0.95, 0.05)] if args.sweep else []
    figures, curve = run(det, frames, truths, sweep, args.save_dir)
    figures["model"] = str(det.path)
    for row in curve:
        print(json.dumps({"sweep": True, **row}))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
