"""Open and closed hands (issue 13): the hysteresis, and HANDGRAB / HANDRELEASE through Input.

The clips are rendered discs seen by the format-2 disc model: red discs are open hands, magenta
(``CLOSED_BGR``) ones closed. The events come from the real ``handplay.Input`` thread, as a game
gets them.
"""

from __future__ import annotations

import time

import pygame
import pytest

import handplay
import handplay.testing as ht
from handplay import HANDENTER, HANDGRAB, HANDLEAVE, HANDMOVE, HANDRELEASE, Calibration
from handplay.events import EventPoster
from handplay.peaks import Detection
from handplay.tracking import OPEN_FRAMES, Openness, Tracker

FRAME = (640, 360)
SCREEN = (1280, 720)
PLAIN = Calibration(mirror=False)
KINDS = {HANDENTER: "enter", HANDMOVE: "move", HANDLEAVE: "leave"}
KINDS |= {HANDGRAB: "grab", HANDRELEASE: "release"}

# ---- the hysteresis ------------------------------------------------------------------------


def _flips(scores, threshold=0.5, frames=3):
    o = Openness(threshold, frames=frames)
    return [i for i, s in enumerate(scores) if o.update(s)], o


def test_openness_flips_after_n_frames_beyond_the_band():
    flips, o = _flips([0.9] * 5 + [0.1] * 5 + [0.95] * 5)
    assert flips == [7, 12]  # the third frame below 0.4, then the third above 0.6
    assert o.open and o.value > 0.9


@pytest.mark.parametrize("blip", [[0.05], [0.05, 0.05], [0.05, 0.5, 0.05, 0.5]])
def test_short_blips_and_scores_inside_the_band_never_flip(blip):
    flips, o = _flips([0.9] * 5 + blip + [0.9] * 5)
    assert flips == [] and o.open
    # inside the band (0.4..0.6) nothing counts, however long
    flips, o = _flips([0.9] * 3 + [0.45, 0.55] * 20)
    assert flips == [] and o.open


def test_a_hand_first_seen_closed_starts_closed():
    flips, o = _flips([0.1, 0.1, 0.1, 0.1])
    assert flips == [] and not o.open


def test_format_1_hands_are_always_open():
    flips, o = _flips([None] * 5, threshold=None)
    assert flips == [] and o.open and o.value is None


def test_a_high_threshold_keeps_an_open_side():
    o = Openness(0.95)
    assert o.low < 0.95 < o.high < 1.0


def test_tracker_reports_each_flip_once_for_entered_hands():
    tracker = Tracker(enter_frames=2, open_threshold=0.5)
    scores = [0.9] * 4 + [0.1] * 6 + [0.1, 0.9, 0.1] + [0.9] * 6
    flipped = []
    for i, s in enumerate(scores):
        u = tracker.update([Detection(100, 100, 20, 0.9, s)], i / 30)
        flipped += [(i, t.openness.open) for t in u.flipped]
    assert flipped == [(6, False), (15, True)]


def test_poster_pairs_grabs_and_releases_under_a_full_queue():
    room = [0]
    posted = []

    def post(event):
        if room[0] <= 0:
            return False
        room[0] -= 1
        posted.append(KINDS[event.type])
        return True

    poster = EventPoster(post)
    attrs = {"hand_id": 1, "pos": (0.0, 0.0)}
    poster.enter(**attrs)
    assert not poster.release(**attrs)  # no release without a grab
    assert poster.grab(**attrs) and not poster.grab(**attrs)  # one grab until released
    assert not poster.move(**attrs)  # a move never overtakes a waiting event
    poster.leave(**attrs)  # still held: released first
    assert poster.pending == 4 and poster.dropped_moves == 1
    room[0] = 2
    assert not poster.flush()
    room[0] = 10
    assert poster.flush()
    assert posted == ["enter", "grab", "release", "leave"]


# ---- through Input, as a game sees it ------------------------------------------------------

X0, Y0, R = 200.0, 180.0, 24.0


def _disc(states: str, speed: float = 4.0):
    """A disc that enters at frame 3 and moves right ``speed`` px a frame; ``states[i]`` is
    ``"o"`` (open, red), ``"c"`` (closed, magenta) or ``"-"`` (absent) for frame ``i``."""

    def track(i):
        if i >= len(states) or states[i] == "-":
            return None
        return X0 + speed * i, Y0, R, states[i] == "o"

    return track


def _events(clip, model, **kw):
    """Run a clip through Input (unpaced) and return [(kind, event)] of hand events."""
    kw.setdefault("calibration", PLAIN)
    with handplay.Input(clip, model=model, screen_size=SCREEN, paced=False, **kw) as inp:
        assert inp.wait(timeout=30)
    return [(KINDS[e.type], e) for e in pygame.event.get() if e.type in KINDS]


def _kinds(events):
    return [k for k, _ in events if k != "move"]


def _frame_of(event, first):
    return round((event.timestamp - first.timestamp) * 30)


def test_open_closed_open_grabs_once_and_releases_once(open_disc_model, pygame_display):
    states = "---" + "o" * 15 + "c" * 15 + "o" * 15
    events = _events(ht.disc_clip([_disc(states)], FRAME, len(states)), open_disc_model)
    assert _kinds(events) == ["enter", "grab", "release", "leave"]
    enter = events[0][1]
    grab = next(e for k, e in events if k == "grab")
    release = next(e for k, e in events if k == "release")
    # the disc is seen closed from frame 18: the grab comes OPEN_FRAMES frames later (entered on
    # frame 4, seen from frame 3)
    assert _frame_of(grab, enter) + 4 == 18 + OPEN_FRAMES - 1
    assert _frame_of(release, enter) + 4 == 33 + OPEN_FRAMES - 1
    assert not grab.open and grab.openness < 0.5 and release.open and release.openness > 0.5
    assert enter.open and enter.openness > 0.9
    # a grab is where the hand is (within the smoothing's lag), like MOUSEBUTTONDOWN's pos
    truth_x = 2 * (X0 + 4.0 * (18 + OPEN_FRAMES - 1))
    assert abs(grab.pos[0] - truth_x) < R and abs(grab.pos[1] - 2 * Y0) < 4
    assert grab.hand_id == release.hand_id == enter.hand_id
    moves = [e for k, e in events if k == "move"]
    assert {m.open for m in moves} == {True, False}  # moves say how the hand is, too


def test_a_one_frame_blip_posts_nothing(open_disc_model, pygame_display):
    states = "---" + "o" * 10 + "c" + "o" * 10 + "cc" + "o" * 10
    events = _events(ht.disc_clip([_disc(states)], FRAME, len(states)), open_disc_model)
    assert _kinds(events) == ["enter", "leave"]
    assert all(e.open for _, e in events)


def test_a_hand_leaving_closed_is_released_before_it_leaves(open_disc_model, pygame_display):
    states = "---" + "o" * 10 + "c" * 10 + "-" * 15  # closed when it vanishes
    events = _events(ht.disc_clip([_disc(states)], FRAME, len(states)), open_disc_model)
    assert _kinds(events) == ["enter", "grab", "release", "leave"]
    release, leave = events[-2][1], events[-1][1]
    assert release.hand_id == leave.hand_id and release.pos == leave.pos


def test_stop_releases_a_closed_hand(open_disc_model, pygame_display):
    """The end of a video (and stop()) ends a held hand with release then leave."""
    states = "---" + "o" * 10 + "c" * 10  # still closed on the last frame
    events = _events(ht.disc_clip([_disc(states)], FRAME, len(states)), open_disc_model)
    assert _kinds(events) == ["enter", "grab", "release", "leave"]


def test_a_hand_first_seen_closed_grabs_only_after_opening(open_disc_model, pygame_display):
    states = "---" + "c" * 10 + "o" * 10 + "c" * 10 + "o" * 10
    events = _events(ht.disc_clip([_disc(states)], FRAME, len(states)), open_disc_model)
    assert _kinds(events) == ["enter", "grab", "release", "leave"]
    assert not events[0][1].open
    grab = next(e for k, e in events if k == "grab")
    assert _frame_of(grab, events[0][1]) + 4 == 23 + OPEN_FRAMES - 1


def test_grabs_from_a_video_file(open_disc_model, pygame_display, tmp_path):
    """The same through a video file (mp4v compression and all)."""
    states = "---" + "o" * 12 + "c" * 12 + "o" * 12 + "c" * 12 + "o" * 6
    clip = ht.write_clip(tmp_path / "grab.mp4", ht.disc_clip([_disc(states, 3)], FRAME, 54))
    events = _events(str(clip), open_disc_model)
    assert _kinds(events) == ["enter", "grab", "release", "grab", "release", "leave"]


def test_two_hands_grab_independently(open_disc_model, pygame_display):
    a = "---" + "o" * 10 + "c" * 10 + "o" * 10
    b = "---" + "o" * 20 + "c" * 10

    def low(i):
        d = _disc(b)(i)
        return None if d is None else (d[0], d[1] + 120, d[2], d[3])

    events = _events(ht.disc_clip([_disc(a), low], FRAME, 33), open_disc_model)
    by_hand = {}
    for kind, e in events:
        if kind != "move":
            by_hand.setdefault(e.hand_id, []).append(kind)
    assert sorted(by_hand.values()) == [["enter", "grab", "release", "leave"]] * 2


def test_full_queue_keeps_grab_release_and_leave_in_order(open_disc_model, pygame_display):
    filler = pygame.event.custom_type()
    while True:  # fill pygame's queue to its limit
        try:
            if not pygame.event.post(pygame.event.Event(filler)):
                break
        except pygame.error:
            break
    states = "---" + ("o" * 8 + "c" * 8) * 4 + "-" * 10  # leaves closed... then absent
    clip = ht.disc_clip([_disc(states, 1)], FRAME, len(states))
    inp = handplay.Input(
        clip, model=open_disc_model, calibration=PLAIN, screen_size=SCREEN, paced=True
    ).start()  # paced at 30 fps: ~2.5 s
    time.sleep(1.0)  # the game is stalled for a second: the queue stays full
    events = []
    while inp.running:
        events += [e for e in pygame.event.get() if e.type in KINDS]
        time.sleep(0.02)
    inp.stop()
    events += [e for e in pygame.event.get() if e.type in KINDS]
    assert inp.stats.dropped_moves > 0
    kinds = [KINDS[e.type] for e in events if e.type != HANDMOVE]
    assert kinds == ["enter"] + ["grab", "release"] * 4 + ["leave"]
    state = None  # every move comes after the enter and says what the last grab/release said
    for e in events:
        kind = KINDS[e.type]
        if kind == "move":
            assert state in ("enter", "release", "grab")
            assert e.open == (state != "grab") or state == "enter"
        else:
            state = kind
    assert state == "leave"


def test_a_format_1_model_still_works_and_never_grabs(disc_model, pygame_display):
    states = "---" + "o" * 10 + "c" * 10 + "o" * 10  # magenta discs are hands to it as well
    events = _events(ht.disc_clip([_disc(states)], FRAME, len(states)), disc_model)
    assert _kinds(events) == ["enter", "leave"]
    assert all(e.open and e.openness is None for _, e in events)
    assert len([k for k, _ in events if k == "move"]) > 20  # tracked throughout


def test_hands_snapshot_says_open_and_openness(open_disc_model, pygame_display):
    frames = [ht.render_disc_frame(FRAME, [(320.0, 180.0, 30.0, False)])] * 10
    with handplay.Input(
        iter(frames * 3),
        model=open_disc_model,
        calibration=PLAIN,
        post_events=False,
        screen_size=SCREEN,
    ) as inp:
        deadline = time.monotonic() + 10
        while not inp.hands and time.monotonic() < deadline:
            time.sleep(0.01)
        hand = inp.hands[0]
    assert not hand.open and hand.openness < 0.2
