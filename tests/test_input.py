"""End to end through handplay.Input on rendered clips of red discs and the disc model."""

import itertools
import time

import numpy as np
import pygame
import pytest

import handplay
import handplay.testing as ht
from handplay import HANDENTER, HANDLEAVE, HANDMOVE, Calibration
from handplay.sources import CameraSource
from handplay.testing import FakeCapture

FRAME = (640, 360)
SCREEN = (1280, 720)  # 2 screen px per frame px
PLAIN = Calibration(mirror=False)


def _a(i):
    """Big disc: enters at frame 5, moves right, rests, then leaves the frame to the right."""
    if i < 5:
        return None
    if i < 45:
        return 120 + (500 - 120) * (i - 5) / 40, 120.0, 24.0
    if i < 80:
        return 500.0, 120.0, 24.0
    return 500 + 25 * (i - 80), 120.0, 24.0  # gone past x = 664 by frame 87


def _b(i):
    """Small disc: enters at frame 10, moves left 60 px below the big one, passes it, rests."""
    if i < 10:
        return None
    t = min(1.0, (i - 10) / 40)
    return 520 - 420 * t, 180.0, 16.0


def _screen(x, y, cal=PLAIN):
    return cal.to_screen(x, y, FRAME, SCREEN)


def _events():
    return [e for e in pygame.event.get() if e.type in (HANDENTER, HANDMOVE, HANDLEAVE)]


def _run(frames, **kw):
    kw.setdefault("calibration", PLAIN)
    kw.setdefault("paced", False)
    with handplay.Input(frames, screen_size=SCREEN, **kw) as inp:
        assert inp.wait(timeout=30)
    return inp, _events()


def test_discs_enter_move_precisely_and_leave(disc_model, pygame_display):
    frames = ht.disc_clip([_a, _b], FRAME, 110)
    inp, events = _run(frames, model=disc_model)
    enters = [e for e in events if e.type == HANDENTER]
    leaves = [e for e in events if e.type == HANDLEAVE]
    assert len(enters) == 2 and len(leaves) == 2
    ids = {e.hand_id for e in enters}
    assert ids == {e.hand_id for e in leaves}

    t0 = enters[0].timestamp  # the big disc enters on frame 6 (seen on frames 5 and 6)
    big = enters[0].hand_id

    def frame_of(e):
        return 6 + round((e.timestamp - t0) * 30)

    errors = []
    for e in events:
        if e.type != HANDMOVE:
            continue
        i = frame_of(e)
        truth = _a(i) if e.hand_id == big else _b(i)
        tx, ty = _screen(truth[0], truth[1])
        # no swap: every event of an id stays on its own disc (within a radius)
        assert np.hypot(e.pos[0] - tx, e.pos[1] - ty) < 2 * truth[2]
        if 60 <= i < 80:  # both discs at rest, filter settled
            errors.append(np.hypot(e.pos[0] - tx, e.pos[1] - ty))
            assert e.radius == pytest.approx(2 * truth[2], rel=0.15)
            assert e.norm_pos == pytest.approx(((e.pos[0] + 0.5) / 1280, (e.pos[1] + 0.5) / 720))
    assert len(errors) >= 30
    assert max(errors) < 2.0
    # the big disc left the frame (HANDLEAVE before the clip ended); the small one at the end
    leave_big = next(e for e in leaves if e.hand_id == big)
    assert 84 <= frame_of(leave_big) <= 96
    assert inp.hands == ()


def test_blank_frames_give_no_events(disc_model, pygame_display):
    _, events = _run([ht.render_disc_frame(FRAME, [], seed=i) for i in range(30)], model=disc_model)
    assert events == []


def test_hands_snapshot_and_stats(disc_model, pygame_display):
    frames = ht.iter_disc_clip([lambda i: (320.0, 180.0, 20.0)], FRAME, 100000)
    with handplay.Input(
        frames, model=disc_model, calibration=PLAIN, screen_size=SCREEN, paced=False
    ) as inp:
        deadline = time.monotonic() + 10
        while not inp.hands and time.monotonic() < deadline:
            time.sleep(0.01)
        hand = inp.hands[0]
        time.sleep(0.2)
        stats = inp.stats
        assert inp.latest_frame.shape == (360, 640, 3)
        assert inp.latest_heatmap.ndim == 2
    assert isinstance(hand, handplay.Hand)
    assert hand.pos == pytest.approx(_screen(320, 180), abs=2)
    assert stats.frames > 2 and stats.fps > 0 and stats.inference_ms > 0
    assert stats.latency_p95_ms >= stats.latency_ms * 0.5 > 0
    # the disc is looked at again each frame (the detector's second look), and timed
    assert inp.detector.looks == 4 and all(t.look > 0 for t in inp.timings[-5:])


def test_looks_reach_the_detector(disc_model, pygame_display):
    frames = ht.iter_disc_clip([lambda i: (320.0, 180.0, 20.0)], FRAME, 100000)
    with handplay.Input(
        frames, model=disc_model, calibration=PLAIN, screen_size=SCREEN, paced=False, looks=0
    ) as inp:
        deadline = time.monotonic() + 10
        while not inp.hands and time.monotonic() < deadline:
            time.sleep(0.01)
        assert inp.hands and inp.detector.looks == 0


@pytest.mark.parametrize(
    ("cal", "expected"),
    [
        (Calibration(mirror=False), (320.5, 180.5)),
        # mirrored: camera x = 160.5 is view u = 0.75
        (Calibration(mirror=True), (0.75 * 1280 - 0.5, 180.5)),
        # the play area is the right half of the mirrored view: u = 0.75 is its middle; its top
        # half in y: camera y = 90.5 (v = 0.25) is the middle of the screen height
        (Calibration(mirror=True, play_area=(0.5, 0.0, 1.0, 0.5)), (639.5, 359.5)),
    ],
)
def test_mirror_and_play_area_mapping(disc_model, cal, expected):
    frames = [ht.render_disc_frame(FRAME, [(160.0, 90.0, 20.0)], seed=i) for i in range(40)]
    # the disc centre is camera pixel (160, 90): its view coordinates are (160.5/640, 90.5/360)
    with handplay.Input(
        frames,
        model=disc_model,
        calibration=cal,
        screen_size=SCREEN,
        post_events=False,
        paced=False,
    ) as inp:
        seen = []
        while inp.running or not seen:
            if inp.hands:
                seen.append(inp.hands[0])
            time.sleep(0.001)
            if not inp.running:
                break
    assert seen, "the disc was never reported"
    # within one camera pixel (in screen pixels: 2 px, 4 px for the half-size play area)
    assert seen[-1].pos == pytest.approx(expected, abs=cal.scale(FRAME, SCREEN))


def test_stop_is_quick_and_idempotent(disc_model, pygame_display):
    endless = ht.iter_disc_clip([lambda i: (320.0, 180.0, 20.0)], FRAME, 10**9)
    inp = handplay.Input(endless, model=disc_model, screen_size=SCREEN, paced=True)
    inp.stop()  # before start: fine
    inp.start()
    inp.start()  # twice: fine
    time.sleep(0.3)
    t0 = time.monotonic()
    inp.stop()
    assert time.monotonic() - t0 < 1.0
    inp.stop()
    assert not inp.running
    # the hand that was there left: enter and leave pair up
    kinds = [e.type for e in _events() if e.type in (HANDENTER, HANDLEAVE)]
    assert kinds == [HANDENTER, HANDLEAVE]


def test_worker_error_reaches_the_caller(disc_model, pygame_display):
    def broken():
        yield from ht.disc_clip([lambda i: (320.0, 180.0, 20.0)], FRAME, 10)
        raise OSError("disk on fire")

    inp = handplay.Input(broken(), model=disc_model, screen_size=SCREEN, paced=False).start()
    deadline = time.monotonic() + 10
    with pytest.raises(OSError, match="disk on fire"):
        while time.monotonic() < deadline:
            inp.hands  # noqa: B018 - raising is the point
            time.sleep(0.01)
    inp.stop()  # already raised once: stop() is quiet now
    kinds = [e.type for e in _events() if e.type in (HANDENTER, HANDLEAVE)]
    assert kinds == [HANDENTER, HANDLEAVE]


def test_start_errors_are_raised_in_the_caller(disc_model, tmp_path):
    with pytest.raises(handplay.SourceError, match="does not exist"):
        handplay.Input(str(tmp_path / "missing.mp4"), model=disc_model, post_events=False).start()
    with pytest.raises(handplay.ModelError, match="does not exist"):
        handplay.Input([], model=tmp_path / "none.onnx", post_events=False).start()
    with pytest.raises(RuntimeError, match=r"pygame.init\(\)"):
        pygame.quit()
        handplay.Input([], model=disc_model).start()
    with pytest.raises(RuntimeError, match="not started"):
        handplay.Input([], model=disc_model).wait()


def test_full_event_queue_never_breaks_enter_leave_pairs(disc_model, pygame_display):
    filler = pygame.event.custom_type()
    while True:  # fill pygame's queue to its limit (65535 events)
        try:
            if not pygame.event.post(pygame.event.Event(filler)):
                break
        except pygame.error:
            break
    frames = ht.disc_clip([_a, _b], FRAME, 110)
    inp = handplay.Input(
        frames, model=disc_model, calibration=PLAIN, screen_size=SCREEN, paced=True
    ).start()  # paced at 30 fps: ~3.7 s
    time.sleep(1.0)  # the game is stalled for a second: the queue stays full
    events = []
    while inp.running:
        events += _events()
        time.sleep(0.02)
    events += _events()
    inp.stop()
    events += _events()
    assert inp.stats.dropped_moves > 0
    state = {}
    for e in events:
        if e.type == HANDENTER:
            assert e.hand_id not in state, e
            state[e.hand_id] = "in"
        elif e.type == HANDMOVE:
            assert state.get(e.hand_id) == "in", "a move before its enter or after its leave"
        else:
            assert state.get(e.hand_id) == "in"
            state[e.hand_id] = "out"
    assert len(state) == 2 and set(state.values()) == {"out"}


def test_lost_camera_leaves_then_reconnects(disc_model, pygame_display):
    disc = [ht.render_disc_frame(FRAME, [(320.0, 180.0, 20.0)])]
    captures = itertools.chain(
        [FakeCapture(disc, fail_after=20, delay=0.01)],
        itertools.repeat(FakeCapture(disc, delay=0.01)),
    )
    camera = CameraSource(0, max_failures=3, capture_factory=lambda i: next(captures))
    inp = handplay.Input(camera, model=disc_model, screen_size=SCREEN).start()
    deadline = time.monotonic() + 10
    kinds = []
    while time.monotonic() < deadline and kinds.count(HANDENTER) < 2:
        kinds += [e.type for e in _events() if e.type in (HANDENTER, HANDLEAVE)]
        time.sleep(0.02)
    inp.stop()
    kinds += [e.type for e in _events() if e.type in (HANDENTER, HANDLEAVE)]
    assert kinds == [HANDENTER, HANDLEAVE, HANDENTER, HANDLEAVE]
    assert inp.stats.camera_lost == 1 and camera.reconnects == 1


def test_event_types_survive_a_display_restart():
    from handplay.events import reserve_event_types

    pygame.display.init()
    pygame.display.quit()  # restarts pygame's custom-type counter
    reserve_event_types()
    assert pygame.event.custom_type() > HANDLEAVE


def test_an_entered_hand_is_kept_by_peaks_below_the_threshold(disc_model, pygame_display):
    from handplay.detector import Detector

    frame = ht.render_disc_frame(FRAME, [(200.0, 180.0, 30.0)])
    above = min(0.99, Detector(disc_model).detect(frame)[0].score + 0.05)
    box = {}

    def frames():
        for i in range(60):
            if i == 20:  # what the calibration slider does, from another thread
                box["inp"].detector.threshold = above
            yield frame

    with handplay.Input(frames(), model=disc_model, calibration=PLAIN, paced=False,
                        screen_size=SCREEN) as inp:  # fmt: skip
        box["inp"] = inp
        assert inp.wait(timeout=30)
    events = _events()
    # entered at the model's threshold, then kept, though now every peak is below the threshold
    assert [e.type for e in events].count(HANDENTER) == 1
    assert [e.type for e in events].count(HANDLEAVE) == 1  # only at the end of the clip
    assert events[-1].type == HANDLEAVE and len(events) >= 55
    # the same frames from the start with that threshold: nothing strong enough to enter
    _, events = _run(
        [frame] * 30, model=disc_model, calibration=PLAIN.with_changes(threshold=above)
    )
    assert events == []
