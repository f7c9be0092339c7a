import numpy as np

from handplay.peaks import Detection
from handplay.tracking import Tracker


def _run(tracker, frames):
    log = []
    for i, dets in enumerate(frames):
        u = tracker.update(dets, i / 30)
        log.append(
            (
                [t.track_id for t in u.entered],
                [t.track_id for t in u.moved],
                [t.track_id for t in u.left],
            )
        )
    return log


def test_enter_after_k_frames_leave_after_m_misses():
    d = [Detection(100, 100, 20, 0.9)]
    log = _run(Tracker(enter_frames=2, leave_frames=3), [d, d, d] + [[]] * 3)
    assert log[0] == ([], [], [])
    assert log[1] == ([1], [], [])
    assert log[2] == ([], [1], [])
    assert log[3] == log[4] == ([], [], [])
    assert log[5] == ([], [], [1])


def test_single_frame_false_positive_never_enters():
    log = _run(Tracker(enter_frames=2), [[Detection(10, 10, 5, 0.9)], [], [], []])
    assert all(entry == ([], [], []) for entry in log)


def test_ids_follow_crossing_hands_of_two_sizes():
    frames = []
    for i in range(40):
        a = Detection(50 + 10 * i, 100, 30, 0.9)  # big hand moving right
        b = Detection(450 - 10 * i, 160, 15, 0.8)  # small hand moving left, 60 px below
        frames.append([a, b] if i % 2 else [b, a])
    tracker = Tracker()
    _run(tracker, frames)
    by_id = {t.track_id: t for t in tracker.tracks}
    assert set(by_id) == {1, 2}
    big = max(by_id.values(), key=lambda t: t.radius)
    assert big.pos[0] > 400 and big.radius > 25  # the big one kept going right


def test_max_hands_keeps_the_strongest():
    dets = [Detection(100 * i, 50, 10, 0.1 * i) for i in range(1, 7)]
    tracker = Tracker(max_hands=2)
    _run(tracker, [dets, dets])
    assert sorted(round(t.score, 1) for t in tracker.tracks) == [0.5, 0.6]


def test_far_jump_is_a_new_hand():
    tracker = Tracker(enter_frames=1, leave_frames=1)
    log = _run(tracker, [[Detection(10, 10, 10, 0.9)], [Detection(300, 300, 10, 0.9)]])
    assert log[1] == ([2], [], [1])


def test_clear_returns_entered_tracks():
    tracker = Tracker(enter_frames=2)
    _run(
        tracker,
        [[Detection(10, 10, 10, 0.9)]] * 2
        + [[Detection(10, 10, 10, 0.9), Detection(200, 10, 10, 0.9)]],
    )
    assert [t.track_id for t in tracker.clear()] == [1]
    assert tracker.tracks == []


def test_velocity_is_smoothed_px_per_second():
    tracker = Tracker(enter_frames=1)
    for i in range(30):
        tracker.update([Detection(100 + 5 * i, 100, 20, 0.9)], i / 30)
    assert np.allclose(tracker.tracks[0].velocity, [150, 0], atol=10)


def test_weak_detections_keep_an_entered_hand_but_start_none():
    strong, weak = Detection(100, 100, 20, 0.9), Detection(104, 100, 20, 0.35)
    far_weak = Detection(400, 300, 20, 0.35)
    tracker = Tracker(enter_frames=2, leave_frames=3, enter_threshold=0.5)
    log = _run(tracker, [[strong], [strong]] + [[weak, far_weak]] * 10)
    assert log[1] == ([1], [], [])
    # the closing hand scores 0.35: it stays hand 1 and moves; the far weak peak never enters
    assert all(entry == ([], [1], []) for entry in log[2:])
    assert [t.track_id for t in tracker.tracks] == [1]


def test_weak_detections_do_not_carry_a_candidate_in():
    weak = Detection(100, 100, 20, 0.35)
    tracker = Tracker(enter_frames=2, enter_threshold=0.5)
    log = _run(tracker, [[Detection(100, 100, 20, 0.9)]] + [[weak]] * 5)
    assert all(entry == ([], [], []) for entry in log)
    # without the second threshold the same weak detections would enter it
    log = _run(Tracker(enter_frames=2), [[Detection(100, 100, 20, 0.9)]] + [[weak]] * 5)
    assert log[1] == ([1], [], [])
