"""The annotation window driven by posted pygame events (dummy video driver), and batch mode."""

import dataclasses
import json
import math

import cv2
import numpy as np
import pygame
import pytest

from training.annotate import app as annotate
from training.annotate import bench as flow_bench
from training.annotate.store import LabelStore
from training.labels import clip_labels_path

SIZE = (320, 240)
FRAMES = 12
RADIUS = 24


def _truth(i):
    return 80.0 + 4.5 * i, 100.0 + 2.2 * i


@pytest.fixture
def clip(tmp_path):
    bg = flow_bench.synthetic_background(SIZE)
    patch = flow_bench.textured_patch(RADIUS, seed=4)
    path = tmp_path / "hand.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, SIZE)
    for i in range(FRAMES):
        writer.write(flow_bench.render_scene(bg, patch, *_truth(i)))
    writer.release()
    return path


def _post(kind, **attrs):
    pygame.event.post(pygame.event.Event(kind, **attrs))


def _key(key, mod=0):
    _post(pygame.KEYDOWN, key=key, mod=mod, unicode="", scancode=0)


def _steps(tool, key, n, mod=0):
    """Arrow keys step once per loop turn (queued repeats are dropped): one turn per press."""
    for _ in range(n):
        _key(key, mod)
        tool.run(max_frames=1)


def _press(pos, button=1):
    _post(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0))
    _post(pygame.MOUSEBUTTONDOWN, pos=pos, button=button)


def _release(pos, button=1):
    _post(pygame.MOUSEBUTTONUP, pos=pos, button=button)


def _click(pos, button=1):
    _press(pos, button)
    _release(pos, button)


def _drag(start, end):
    _press(start)
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    _post(pygame.MOUSEMOTION, pos=mid, rel=(0, 0), buttons=(1, 0, 0))
    _post(pygame.MOUSEMOTION, pos=end, rel=(0, 0), buttons=(1, 0, 0))
    _release(end)


def _file(clip_path):
    lines = clip_labels_path(clip_path).read_text().splitlines()
    return {o["frame"]: o["hands"] for o in map(json.loads, lines)}


def test_scripted_session_edits_propagates_and_saves(clip):
    tool = annotate.Annotator(clip, window=(900, 560))
    try:
        scr = tool.to_screen
        hand0 = scr(*_truth(0))

        # Add a marker off the hand, drag it onto the hand, resize it with the wheel.
        _click(scr(60, 60))
        tool.run(max_frames=1)
        assert _file(clip)[0][0]["x"] == pytest.approx(60, abs=1)
        _drag(scr(60, 60), hand0)
        _post(pygame.MOUSEWHEEL, x=0, y=-3, flipped=False)
        _post(pygame.MOUSEWHEEL, x=0, y=-1, flipped=False)
        tool.run(max_frames=1)
        (h,) = _file(clip)[0]
        assert (h["x"], h["y"]) == pytest.approx(_truth(0), abs=1.0)
        default_r = SIZE[1] / 10
        assert h["r"] == pytest.approx(default_r / annotate.WHEEL_STEP**4, abs=0.01)

        # Reclassify it, add a second marker, delete it, undo the delete, then delete by
        # right click and reclassify the first back.
        _key(pygame.K_c)
        _click(scr(250, 200))
        _key(pygame.K_x)
        tool.run(max_frames=1)
        assert [m["cls"] for m in _file(clip)[0]] == ["other"]
        _key(pygame.K_z, pygame.KMOD_LCTRL)
        tool.run(max_frames=1)
        assert len(_file(clip)[0]) == 2
        _click(scr(250, 200), button=3)
        _click(hand0)
        _key(pygame.K_c)
        tool.run(max_frames=1)
        (h,) = _file(clip)[0]
        assert h["cls"] == "open" and h["label_source"] == "human"

        # Undo and redo the reclassification, through the history.
        _key(pygame.K_z, pygame.KMOD_LCTRL)
        tool.run(max_frames=1)
        assert _file(clip)[0][0]["cls"] == "other"
        _key(pygame.K_y, pygame.KMOD_LCTRL)
        tool.run(max_frames=1)
        assert _file(clip)[0][0]["cls"] == "open"

        # Step forward: the marker rides along with the hand.
        _steps(tool, pygame.K_RIGHT, 6)
        assert tool.frame == 6
        on_disk = _file(clip)
        assert sorted(on_disk) == list(range(7))
        for f in range(1, 7):
            (m,) = on_disk[f]
            assert m["label_source"] == "flow" and m["track"] == h["track"]
            assert math.hypot(m["x"] - _truth(f)[0], m["y"] - _truth(f)[1]) < 1.5
        # Shift+Right steps without carrying; Left goes back; nothing changes on disk.
        _steps(tool, pygame.K_RIGHT, 1, pygame.KMOD_LSHIFT)
        _steps(tool, pygame.K_LEFT, 2)
        assert tool.frame == 5 and _file(clip) == on_disk
        # The last propagation step undoes as one action.
        _key(pygame.K_z, pygame.KMOD_LCTRL)
        tool.run(max_frames=1)
        assert sorted(_file(clip)) == list(range(6))
    finally:
        tool.close()

    # Reopening restores the markers.
    again = annotate.Annotator(clip)
    try:
        assert again.store.hands(5)[0].label_source == "flow"
        assert len(again.store.records) == 6
    finally:
        again.close()


def test_scrubbing_paging_and_playing(clip):
    tool = annotate.Annotator(clip)
    try:
        _key(pygame.K_END)
        tool.run(max_frames=1)
        assert tool.frame == FRAMES - 1
        _key(pygame.K_PAGEUP)
        tool.run(max_frames=1)
        assert tool.frame == 0  # 30 fps: one second back is past the start
        tl = tool.timeline
        _click((tl.x + tl.w * 0.5, tl.centery))
        tool.run(max_frames=1)
        assert tool.frame == FRAMES // 2
        _key(pygame.K_SPACE)
        tool.run(max_frames=1)
        tool.update(0.1)  # 3 frames at 30 fps
        assert tool.playing and tool.frame == FRAMES // 2 + 3
    finally:
        tool.close()


def test_target_view_shows_the_blob_of_open_hands(clip):
    tool = annotate.Annotator(clip)
    try:

        def target_at_hand():
            tool.draw()
            r = tool.painter.target_rect
            x, y = _truth(0)
            px = (round(r.x + x * r.w / SIZE[0]), round(r.y + y * r.h / SIZE[1]))
            return tool.screen.get_at(px)[:3]

        assert max(target_at_hand()) < 60  # no hands: a dark target
        tool.store.add(0, *_truth(0), RADIUS)
        assert max(target_at_hand()) > 200  # the blob lights up under the hand
        tool.store.replace(0, 0, dataclasses.replace(tool.store.hands(0)[0], cls="other"))
        assert max(target_at_hand()) > 200  # fit's default trains "other" hands as hands
        _key(pygame.K_o)
        tool.run(max_frames=1)
        assert max(target_at_hand()) < 200  # others=ignore: masked, not a target
    finally:
        tool.close()


def test_batch_propagate_carries_and_saves(clip, capsys):
    store = LabelStore(clip_labels_path(clip), *SIZE)
    store.add(2, *_truth(2), RADIUS)
    assert annotate.main([str(clip), "--propagate", "2:9"]) == 0
    out = capsys.readouterr().out
    assert "to frame 9" in out and "ms per frame" in out
    on_disk = _file(clip)
    assert sorted(on_disk) == list(range(2, 10))
    for f in range(3, 10):
        (m,) = on_disk[f]
        assert math.hypot(m["x"] - _truth(f)[0], m["y"] - _truth(f)[1]) < 1.5
    with pytest.raises(SystemExit, match="frame 0 of .* has no markers"):
        annotate.main([str(clip), "--propagate", "0:3"])
    with pytest.raises(SystemExit, match="two different frames between 0 and 11"):
        annotate.main([str(clip), "--propagate", "5:40"])
    # Backward: the markers of frame 2 go back to frame 0.
    assert annotate.main([str(clip), "--propagate", "2:0"]) == 0
    on_disk = _file(clip)
    assert sorted(on_disk) == list(range(0, 10))
    for f in (0, 1):
        (m,) = on_disk[f]
        assert m["label_source"] == "flow"
        assert math.hypot(m["x"] - _truth(f)[0], m["y"] - _truth(f)[1]) < 1.5


def test_ctrl_left_carries_markers_back(clip):
    tool = annotate.Annotator(clip)
    try:
        tool.seek(4)
        _click(tool.to_screen(*_truth(4)))
        tool.run(max_frames=1)
        _steps(tool, pygame.K_LEFT, 1)  # plain Left only looks
        assert tool.frame == 3 and not tool.store.annotated(3)
        _steps(tool, pygame.K_RIGHT, 1, pygame.KMOD_LSHIFT)
        _steps(tool, pygame.K_LEFT, 2, pygame.KMOD_LCTRL)
        assert tool.frame == 2 and "carried 1 marker(s) to frame 2" in tool.message
        (m,) = tool.store.hands(2)
        assert math.hypot(m.x - _truth(2)[0], m.y - _truth(2)[1]) < 1.5
    finally:
        tool.close()


def test_malformed_labels_file_is_reported_with_its_line(clip, capsys):
    good = {"frame": 0, "width": SIZE[0], "height": SIZE[1], "hands": []}
    clip_labels_path(clip).write_text(json.dumps(good) + "\n" + "{not json\n")
    assert annotate.main([str(clip)], max_frames=1) == 2
    assert "hand.labels.jsonl:2: not valid JSON" in capsys.readouterr().err


def test_window_runs_from_the_command_line(clip, tmp_path):
    shot = tmp_path / "shot.png"
    assert annotate.main([str(clip), "--screenshot", str(shot)], max_frames=2) == 0
    assert pygame.image.load(str(shot)).get_size() == annotate.WINDOW


def test_model_proposals_can_be_accepted(tmp_path):
    pytest.importorskip("onnx")
    from handplay.testing import make_disc_model, render_disc_frame

    model = make_disc_model(tmp_path / "disc.onnx")
    path = tmp_path / "discs.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, SIZE)
    for i in range(3):
        writer.write(render_disc_frame(SIZE, [(90 + 10 * i, 120, 22), (240, 70, 18)], seed=i))
    writer.release()
    tool = annotate.Annotator(path, model=model)
    try:
        props = tool.proposals[0]
        assert sorted(round(p.x / 10) for p in props) == [9, 24]
        assert not tool.store.annotated(0)  # proposals are not labels until accepted
        _click(tool.to_screen(90, 120))
        tool.run(max_frames=1)
        (h,) = tool.store.hands(0)
        assert h.label_source == "human" and abs(h.x - 90) < 3 and abs(h.r - 22) < 5
        _key(pygame.K_RIGHT, pygame.KMOD_LSHIFT)
        tool.run(max_frames=1)
        assert len(tool.proposals[1]) == 2
        (wrong,) = [p for p in tool.proposals[1] if p.y < 100]
        _click(tool.to_screen(wrong.x, wrong.y), button=3)  # dismiss a proposal
        _key(pygame.K_a)
        tool.run(max_frames=1)
        (h,) = tool.store.hands(1)
        assert abs(h.x - 100) < 3 and not tool.proposals[1]
        # Pressing on a proposal and dragging accepts it where it is dropped.
        _key(pygame.K_RIGHT, pygame.KMOD_LSHIFT)
        tool.run(max_frames=1)
        (upper,) = [p for p in tool.proposals[2] if p.y < 100]
        _drag(tool.to_screen(upper.x, upper.y), tool.to_screen(upper.x + 10, upper.y + 12))
        tool.run(max_frames=1)
        (moved,) = tool.store.hands(2)
        assert (moved.x, moved.y) == pytest.approx((upper.x + 10, upper.y + 12), abs=0.5)
        assert len(tool.proposals[2]) == 1
    finally:
        tool.close()


def test_flow_lost_marker_is_flagged_in_the_window(tmp_path):
    path = tmp_path / "cut.mp4"
    bg = flow_bench.synthetic_background(SIZE)
    patch = flow_bench.textured_patch(RADIUS, seed=4)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, SIZE)
    for i in range(4):
        img = flow_bench.render_scene(bg, patch, *_truth(i), occluder=i >= 2)
        writer.write(img)
    writer.release()
    tool = annotate.Annotator(path)
    try:
        tool.store.add(0, *_truth(0), RADIUS)
        _steps(tool, pygame.K_RIGHT, 3)
        assert tool.store.flagged() == [1]
        assert "stopped at frame 1" in tool.message
        assert not tool.store.annotated(2)
        _key(pygame.K_LEFTBRACKET)
        tool.run(max_frames=1)
        assert tool.frame == 1
        assert np.isfinite(tool.store.hands(1)[0].x)
    finally:
        tool.close()


def test_markers_held_back_by_a_loss_are_offered_and_keep_their_track(tmp_path):
    path = tmp_path / "two.mp4"
    bg = flow_bench.synthetic_background(SIZE)
    patch = flow_bench.textured_patch(RADIUS, seed=4)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, SIZE)
    for i in range(3):
        img = flow_bench.render_scene(bg, patch, *_truth(i))
        img = flow_bench.render_scene(img, patch, 250, 170, occluder=i >= 1)
        writer.write(img)
    writer.release()
    tool = annotate.Annotator(path)
    try:
        kept = tool.store.add(0, *_truth(0), RADIUS)
        tool.store.add(0, 250, 170, RADIUS)
        _key(pygame.K_RIGHT)
        tool.run(max_frames=1)
        assert tool.frame == 1 and not tool.store.annotated(1)
        (offer,) = tool.proposals[1]
        assert offer.track == kept.track
        assert "A accepts" in tool.message
        _key(pygame.K_a)
        tool.run(max_frames=1)
        (h,) = tool.store.hands(1)
        assert h.track == kept.track and h.label_source == "human"
        assert math.hypot(h.x - _truth(1)[0], h.y - _truth(1)[1]) < 1.5
    finally:
        tool.close()


def test_interpolate_and_toggle_keys(clip):
    tool = annotate.Annotator(clip)
    try:
        _click(tool.to_screen(*_truth(0)))
        _key(pygame.K_RIGHT, pygame.KMOD_LSHIFT)
        tool.run(max_frames=1)
        _steps(tool, pygame.K_RIGHT, 9, pygame.KMOD_LSHIFT)
        _click(tool.to_screen(*_truth(10)))
        _click(tool.to_screen(200, 40))  # a second marker on frame 10: Tab cycles
        _key(pygame.K_TAB)
        tool.run(max_frames=1)
        assert tool.selected == tool.store.hands(10)[0].track
        _steps(tool, pygame.K_LEFT, 5)
        _key(pygame.K_i)
        tool.run(max_frames=1)
        assert "between frames 0 and 10" in tool.message
        (h,) = tool.store.hands(5)
        assert h.label_source == "interp"
        # The truth moves linearly, so the interpolation lands on it.
        assert math.hypot(h.x - _truth(5)[0], h.y - _truth(5)[1]) < 1.0
        _key(pygame.K_END)
        _key(pygame.K_n)
        tool.run(max_frames=1)
        assert tool.store.annotated(FRAMES - 1) and tool.store.hands(FRAMES - 1) == ()
        _key(pygame.K_n)
        _key(pygame.K_f)
        _key(pygame.K_t)
        _key(pygame.K_h)
        tool.run(max_frames=1)
        assert not tool.store.annotated(FRAMES - 1)
        assert not (tool.flow_on or tool.show_target or tool.show_help)
        assert tool.painter.target_rect is None
    finally:
        tool.close()


def test_queued_arrow_repeats_step_only_once_per_turn(clip):
    tool = annotate.Annotator(clip)
    try:
        for _ in range(5):  # repeats that piled up while a slow step ran
            _key(pygame.K_RIGHT, pygame.KMOD_LSHIFT)
        tool.run(max_frames=1)
        assert tool.frame == 1
        tool.run(max_frames=1)
        assert tool.frame == 1  # nothing left over after the turn
    finally:
        tool.close()
