import json

import cv2
import numpy as np
import pytest
import torch

from training import augment, data, dataset
from training.labels import HandLabel, LabelError, Record, write_labels
from training.synth import make_image, write_dataset


def _folder(tmp_path, records, images):
    for name, img in images.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / name), img)
    write_labels(tmp_path / "labels.jsonl", records)
    return tmp_path


def test_folder_loads_and_caches_downscaled(tmp_path):
    img = np.zeros((100, 200, 3), np.uint8)
    rec = Record(hands=(HandLabel(99.5, 49.5, 20),), width=200, height=100, image="a.png")
    images = data.load_folder(_folder(tmp_path, [rec], {"a.png": img}), cache_side=100)
    assert images[0].pixels.shape == (50, 100, 3)
    hand = images[0].hands[0]
    assert (hand.x, hand.y, hand.r) == pytest.approx((49.5, 24.5, 10.0))


def test_missing_image_names_file_and_line(tmp_path):
    recs = [
        Record(hands=(), width=8, height=8, image="a.png"),
        Record(hands=(), width=8, height=8, image="gone.png"),
    ]
    root = _folder(tmp_path, recs, {"a.png": np.zeros((8, 8, 3), np.uint8)})
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: image 'gone.png' is missing"):
        data.load_folder(root)


def test_wrong_image_size_names_file_and_line(tmp_path):
    rec = Record(hands=(), width=9, height=8, image="a.png")
    root = _folder(tmp_path, [rec], {"a.png": np.zeros((8, 8, 3), np.uint8)})
    with pytest.raises(LabelError, match=r"labels\.jsonl:1: labels say 9x8 but 'a.png' is 8x8"):
        data.load_folder(root)


def test_malformed_line_is_reported_by_load_source(tmp_path):
    (tmp_path / "labels.jsonl").write_text('{"image": "a.png", "width": 8}\n')
    with pytest.raises(LabelError, match=r"labels\.jsonl:1: 'height' must be"):
        data.load_source(str(tmp_path))


def test_nothing_labelled_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no labelled data"):
        data.load_source(str(tmp_path))


def _clip(tmp_path, frames, labels):
    path = tmp_path / "clip.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for k in range(frames):
        out.write(np.full((48, 64, 3), k * 20, np.uint8))
    out.release()
    lines = [json.dumps({"frame": f, "width": 64, "height": 48, "hands": []}) for f in labels]
    (tmp_path / "clip.labels.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_clip_frames_are_read_by_number(tmp_path):
    _clip(tmp_path, frames=5, labels=[1, 3])
    images = data.load_source(str(tmp_path))  # a folder of clips
    assert len(images) == 2
    assert images[0].pixels.mean() == pytest.approx(20, abs=4)
    assert images[1].pixels.mean() == pytest.approx(60, abs=4)


def test_clip_frame_past_the_end_names_the_line(tmp_path):
    clip = _clip(tmp_path, frames=3, labels=[0, 7])
    with pytest.raises(LabelError, match=r"clip\.labels\.jsonl:2: frame 7 is past the end"):
        data.load_clip(clip)


def test_geometry_keeps_labels_on_the_hand():
    # A white dot at each labelled centre must land where the augmented labels say.
    rng = np.random.default_rng(0)
    checked = 0
    aug = augment.Augment(p_paste=0, p_blur=0, noise=0, p_jpeg=0, jitter=0, hue=0, white_balance=0)
    for k in range(20):
        img = np.zeros((300, 400, 3), np.uint8)
        x, y = float(rng.uniform(60, 340)), float(rng.uniform(60, 240))
        cv2.circle(img, (round(x), round(y)), 4, (255, 255, 255), -1)
        src = data.Image(img, [HandLabel(round(x), round(y), 30.0)])
        view, hands = augment.augment(np.random.default_rng(k), src, (160, 96), aug)
        if len(hands) != 1 or not (3 < hands[0].x < 157 and 3 < hands[0].y < 93):
            continue
        ys, xs = np.nonzero((view > 100).all(axis=2))
        near = np.hypot(xs - hands[0].x, ys - hands[0].y) < 12
        assert near.sum() > 0, f"no dot near the label at {hands[0]}"
        checked += 1
        assert abs(xs[near].mean() - hands[0].x) < 1.0
        assert abs(ys[near].mean() - hands[0].y) < 1.0
    assert checked >= 5


def test_mixed_dataset_is_deterministic_and_in_range():
    synth = [data.Image(*make_image(i, (96, 64))) for i in range(6)]
    ds = dataset.MixedDataset([synth], [1.0], [], 4, (96, 64), 4, augment.Augment(), seed=3)
    a, b = ds[2], ds[2]
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    image, heat, ignore, size, open_, open_mask = a
    assert image.shape == (3, 64, 96)
    assert heat.shape == ignore.shape == size.shape == open_.shape == open_mask.shape == (1, 16, 24)
    assert 0 <= image.min() and image.max() <= 1 and 0 <= heat.min() and heat.max() <= 1


def test_synthetic_images_are_deterministic(tmp_path):
    a, ha = make_image(5)
    b, hb = make_image(5)
    assert np.array_equal(a, b) and ha == hb
    root = write_dataset(tmp_path / "syn", 3, (64, 48))
    assert len(data.load_folder(root)) == 3


def test_motion_blur_smears_the_hand_and_leaves_the_room():
    from training.augment import blur_hands, line_kernel, shrink_frame
    from training.labels import HandLabel

    kernel = line_kernel(9.0, 0.0)
    assert kernel.sum() == pytest.approx(1.0) and kernel[:, 4].sum() < kernel[4].sum()
    img = np.zeros((120, 200, 3), np.uint8)
    img[::4] = 255  # horizontal stripes: a horizontal smear keeps them, another one blurs them
    hand = HandLabel(60.0, 60.0, 15.0)
    out = blur_hands(img, [hand], 1.0, seed=1)
    assert np.abs(out[50:70, 50:70].astype(int) - img[50:70, 50:70]).mean() > 20
    assert np.array_equal(out[:, 150:], img[:, 150:])  # beyond 2 r nothing moved
    small, [moved] = shrink_frame(img, [hand], 0.5)
    assert small.shape == img.shape and tuple(small[0, 0]) == (114, 114, 114)
    assert (moved.x, moved.y, moved.r) == (79.75, 59.75, 7.5)  # (x + 0.5) / 2 - 0.5 + offset
