"""The play-test clips: photos of real people, and one hand that opens and closes."""

import json

import cv2
import numpy as np
import pytest

from games.wave import democlip


def _folder(root, images):
    """A labelled folder: ``images`` maps a relative path to a BGR image."""
    lines = []
    for rel, img in images.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / rel), img)
        h, w = img.shape[:2]
        hand = {"x": w / 2, "y": h / 2, "r": max(w, h) / 2, "cls": "open"}
        lines.append(json.dumps({"image": rel, "width": w, "height": h, "hands": [hand]}))
    (root / "labels.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_grab_clip_shows_one_hand_open_then_closed_on_the_room(tmp_path):
    palm = np.full((120, 100, 3), (40, 200, 40), np.uint8)  # green "open" crop
    fist = np.full((110, 100, 3), (200, 40, 200), np.uint8)  # magenta "closed" crop
    crops = _folder(tmp_path / "crops", {"images/palm/a.jpg": palm, "images/fist/b.jpg": fist})
    room = tmp_path / "room"
    room.mkdir()
    cv2.imwrite(str(room / "r.jpg"), np.full((300, 400, 3), 90, np.uint8))
    out = democlip.build_grab(crops, room, tmp_path / "g.mp4", seconds=2.0, switch=1.0)
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 2 * democlip.FPS and frames[0].shape == (480, 640, 3)
    first, second = frames[democlip.FPS // 2], frames[democlip.FPS + democlip.FPS // 2]
    # open in the first second (green dominates the hand), closed in the next (magenta)
    assert (first[..., 1].astype(int) - first[..., 0]).max() > 80
    assert (second[..., 0].astype(int) - second[..., 1]).max() > 80
    assert np.median(first) == pytest.approx(90, abs=3)  # the rest is the room
    with pytest.raises(ValueError, match="no crops of fist"):
        democlip.build_grab(_folder(tmp_path / "only", {"images/palm/a.jpg": palm}), room,
                            tmp_path / "x.mp4")  # fmt: skip
