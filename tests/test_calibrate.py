"""The calibration screen, driven by posted mouse and keyboard events on a video source."""

from __future__ import annotations

import pygame
import pytest

import handplay
from handplay import calibrate
from handplay._calibrate_view import fit_rect

pytest.importorskip("onnx")
from handplay.testing import disc_clip, make_disc_model, write_clip  # noqa: E402

FRAME_SIZE = (320, 180)
DISC = (80.0, 60.0, 16.0)  # camera px: a still "hand" in the top-left of the camera image


@pytest.fixture(scope="module")
def clip_and_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calib")
    frames = disc_clip([lambda i: DISC], FRAME_SIZE, 90)
    return write_clip(folder / "still.mp4", frames, 30.0), make_disc_model(folder / "disc.onnx")


@pytest.fixture
def screen():
    pygame.init()
    yield pygame.display.set_mode(calibrate.SCREEN_SIZE)
    pygame.quit()


def preview_px(u: float, v: float) -> tuple[int, int]:
    """Screen px of view point (u, v) on the preview (a 16:9 clip fills the same rectangle)."""
    rect = fit_rect(FRAME_SIZE, calibrate.PREVIEW_BOX)
    return round(rect.x + u * rect.width), round(rect.y + v * rect.height)


def view_of(px: tuple[int, int]) -> tuple[float, float]:
    rect = fit_rect(FRAME_SIZE, calibrate.PREVIEW_BOX)
    return (px[0] - rect.x) / rect.width, (px[1] - rect.y) / rect.height


def post_drag(a: tuple[int, int], b: tuple[int, int]) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=a, button=1))
    mid = ((a[0] + b[0]) // 2, (a[1] + b[1]) // 2)
    pygame.event.post(
        pygame.event.Event(pygame.MOUSEMOTION, pos=mid, rel=(1, 1), buttons=(1, 0, 0))
    )
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=b, button=1))


def key(k: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode=""))


def test_drag_mirror_threshold_save_then_load_round_trip(screen, clip_and_model, tmp_path):
    clip, model = clip_and_model
    out = tmp_path / "calibration.json"
    a, b = preview_px(0.2, 0.25), preview_px(0.7, 0.9)
    post_drag(a, b)
    key(pygame.K_m)  # mirror off (on by default): the area flips with the view
    key(pygame.K_RIGHT)
    key(pygame.K_RIGHT)  # threshold +0.10 from the model's 0.5
    key(pygame.K_s)
    edited = calibrate.run(
        screen, source=str(clip), model=model, output=out, max_frames=5, cameras=[]
    )
    assert out.exists()
    saved = handplay.Calibration.load(out)
    assert saved == edited
    (u0, v0), (u1, v1) = view_of(a), view_of(b)
    assert saved.mirror is False
    assert saved.play_area == pytest.approx((1 - u1, v0, 1 - u0, v1), abs=1e-3)
    assert saved.threshold == pytest.approx(0.6)
    assert saved.camera == str(clip)
    # the mapping it produces: the play area's corners are the corners of the play space
    # (mirror off: camera x grows with view x)
    w, h = FRAME_SIZE
    x0, y0, x1, y1 = saved.play_area
    top_left = saved.to_norm(x0 * w - 0.5, y0 * h - 0.5, FRAME_SIZE)
    bottom_right = saved.to_norm(x1 * w - 0.5, y1 * h - 0.5, FRAME_SIZE)
    assert top_left == pytest.approx((0, 0), abs=1e-6)
    assert bottom_right == pytest.approx((1, 1), abs=1e-6)
    centre = saved.to_screen(
        (x0 + x1) / 2 * w - 0.5, (y0 + y1) / 2 * h - 0.5, FRAME_SIZE, (1280, 720)
    )
    assert centre == pytest.approx((639.5, 359.5), abs=1e-6)


def test_too_small_drag_is_refused_and_reset_restores_whole_view(screen, clip_and_model, tmp_path):
    clip, model = clip_and_model
    post_drag(preview_px(0.3, 0.3), preview_px(0.7, 0.8))
    post_drag(preview_px(0.5, 0.5), preview_px(0.52, 0.9))  # 2 % wide: refused
    cal = calibrate.run(
        screen, source=str(clip), model=model, output=tmp_path / "c.json", max_frames=3, cameras=[]
    )
    assert cal.play_area[0] == pytest.approx(view_of(preview_px(0.3, 0.3))[0], abs=1e-3)
    key(pygame.K_r)
    cal = calibrate.run(
        screen, source=str(clip), model=model, output=tmp_path / "c.json", max_frames=3, cameras=[]
    )
    assert cal.play_area == (0.0, 0.0, 1.0, 1.0)
    assert cal.threshold is None, "untouched slider: keep following the model's threshold"
    assert not (tmp_path / "c.json").exists(), "nothing is written without Save"


def _wait_for_cursor(cal_screen: calibrate.CalibrationScreen, frames: int = 400):
    for _ in range(frames):
        cal_screen.update()
        if cal_screen.trails:
            return next(iter(cal_screen.trails.values()))[-1]
        pygame.time.wait(10)
    raise AssertionError("no hand cursor appeared")


def test_live_cursor_follows_the_edited_mapping(screen, clip_and_model, tmp_path):
    clip, model = clip_and_model
    cal_screen = calibrate.CalibrationScreen(str(clip), model, tmp_path / "c.json", cameras=[])
    try:
        size = cal_screen.size
        cursor = _wait_for_cursor(cal_screen)
        nx, ny = cal_screen.calibration().to_norm(DISC[0], DISC[1], FRAME_SIZE)
        expected = (nx * size[0], ny * size[1])
        assert cursor == pytest.approx(expected, abs=12), "default: mirrored, whole view"
        # a play area around the disc: the cursor moves to where the new mapping puts it
        for event in (
            pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=preview_px(0.5, 0.1), button=1),
            pygame.event.Event(pygame.MOUSEBUTTONUP, pos=preview_px(0.9, 0.6), button=1),
        ):
            assert cal_screen.handle_event(event)
        cal_screen.trails.clear()
        cursor = _wait_for_cursor(cal_screen)
        edited = cal_screen.calibration()
        assert edited.play_area != (0.0, 0.0, 1.0, 1.0)
        nx, ny = edited.to_norm(DISC[0], DISC[1], FRAME_SIZE)
        expected = (nx * size[0], ny * size[1])
        assert cursor == pytest.approx(expected, abs=25)
        assert not cal_screen.handle_event(
            pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0, unicode="")
        )
        cal_screen.draw(screen)  # draws preview, heatmap, peaks and cursors without error
    finally:
        cal_screen.stop()


def test_no_camera_and_no_source_shows_how_to_fix(screen):
    cal_screen = calibrate.CalibrationScreen(None, cameras=[])
    assert cal_screen.inp is None
    assert "No camera" in cal_screen.message and "--source" in cal_screen.message
    cal_screen.update()
    cal_screen.draw(screen)


def test_game_key_c_opens_calibration_and_returns(clip_and_model):
    from games.wave.app import Options, WaveGame
    from games.wave.world import STEP

    _, model = clip_and_model
    pygame.init()
    try:
        game = WaveGame(Options(source=5, model=str(model), fast=True, mute=True))
        assert game.inp is None  # camera 5 does not open: mouse mode
        key(pygame.K_c)
        # Esc arrives while the calibration screen runs its own loop
        pygame.time.set_timer(
            pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0, unicode=""), 300, loops=1
        )
        game.frame(STEP)
        assert game.running, "Esc closed the calibration screen, not the game"
        assert game.mouse is not None and "no camera" in game.field.status
        game.frame(STEP)
    finally:
        pygame.quit()


def test_full_screen_test_lights_the_corner_a_hand_reaches(screen, clip_and_model, tmp_path):
    clip, model = clip_and_model
    cal_screen = calibrate.CalibrationScreen(str(clip), model, tmp_path / "c.json", cameras=[])
    try:
        # a play area that puts the still disc near the bottom-right corner of the screen
        # (mirrored view: u = 1 - 80.5/320 = 0.748, v = 60.5/180 = 0.336)
        cal_screen.cal = cal_screen.cal.with_changes(play_area=(0.3, 0.05, 0.7766, 0.371))
        key_t = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_t, mod=0, unicode="t")
        assert cal_screen.handle_event(key_t) and cal_screen.test_mode
        _wait_for_cursor(cal_screen)
        w, h = cal_screen.size
        m = calibrate.TEST_TARGET_R + 20
        assert cal_screen.reached == {(w - m, h - m)}
        cal_screen.draw(screen)
        esc = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0, unicode="")
        assert cal_screen.handle_event(esc), "Esc first leaves the test..."
        assert not cal_screen.test_mode
        assert not cal_screen.handle_event(esc), "...then the screen"
    finally:
        cal_screen.stop()


def test_saved_file_is_what_input_reads(screen, clip_and_model):
    """Save with the default path; a new Input(calibration=None) maps hands through it."""
    import time

    clip, model = clip_and_model
    post_drag(preview_px(0.5, 0.1), preview_px(0.9, 0.6))
    key(pygame.K_s)
    saved = calibrate.run(screen, source=str(clip), model=model, max_frames=3, cameras=[])
    assert handplay.Calibration.load() == saved  # written to the user's default path
    with handplay.Input(str(clip), model=model, post_events=False) as inp:
        assert inp.calibration == saved
        for _ in range(300):
            if inp.hands:
                break
            time.sleep(0.01)
        hand = inp.hands[0]
    expected = saved.to_norm(DISC[0], DISC[1], FRAME_SIZE)
    assert hand.norm_pos == pytest.approx(expected, abs=0.05)
    assert 0 < hand.norm_pos[0] < 1 and 0 < hand.norm_pos[1] < 1, "inside the dragged area"


@pytest.mark.parametrize("open_", [True, False])
def test_preview_shows_each_hands_openness(screen, tmp_path, open_disc_model, open_):
    """Format 2: "open 100%" with a full bar, or "closed 0%" with an empty one, under the ring."""
    from handplay._calibrate_draw import OPEN_BAR

    clip = write_clip(tmp_path / "hand.mp4", disc_clip([lambda i: (*DISC, open_)], FRAME_SIZE, 90))
    cal_screen = calibrate.CalibrationScreen(
        str(clip), open_disc_model, tmp_path / "c.json", cameras=[]
    )
    drawn = []
    original = cal_screen.painter._openness

    def spy(surface, hand, centre, r, colour, threshold):
        original(surface, hand, centre, r, colour, threshold)
        drawn.append((hand, centre, r, colour, threshold))

    cal_screen.painter._openness = spy
    try:
        _wait_for_cursor(cal_screen)
        for _ in range(10):  # a few frames: the hand's openness has settled
            cal_screen.update()
            pygame.time.wait(30)
        cal_screen.draw(screen)
    finally:
        cal_screen.stop()
    hand, centre, r, colour, threshold = drawn[-1]
    assert hand.open is open_ and threshold == 0.5
    label = cal_screen.painter.openness_label(hand)
    state, percent = label.split()
    assert state == ("open" if open_ else "closed")
    assert int(percent.rstrip("%")) == pytest.approx(100 if open_ else 0, abs=10)
    w, h = OPEN_BAR
    right_end = (int(centre[0] + w / 2) - 4, int(centre[1] + r + 8 + h / 2))
    assert (tuple(screen.get_at(right_end))[:3] == colour) is open_  # a full bar, or an empty one


def test_a_format_1_model_shows_open_without_a_bar(screen, clip_and_model, tmp_path):
    clip, model = clip_and_model
    cal_screen = calibrate.CalibrationScreen(str(clip), model, tmp_path / "c.json", cameras=[])
    try:
        _wait_for_cursor(cal_screen)
        hand = cal_screen.inp.hands[0]
        cal_screen.draw(screen)
    finally:
        cal_screen.stop()
    assert hand.openness is None and cal_screen.painter.openness_label(hand) == "open"


def test_reach_buttons_time_each_reach_suggest_one_and_save_it(screen, clip_and_model, tmp_path):
    """The reach row: each reach's ms measured on the live frames, a suggestion from the disc's
    size, and the chosen reach saved and run by the preview."""
    clip, model = clip_and_model
    out = tmp_path / "c.json"
    cal_screen = calibrate.CalibrationScreen(str(clip), model, out, cameras=[])
    try:
        for _ in range(400):
            cal_screen.update()
            if cal_screen.reach_ms and cal_screen.suggested_reach():
                break
            pygame.time.wait(10)
        assert set(cal_screen.reach_ms) == {"near", "room", "hall"}
        assert all(ms is not None and ms > 0 for ms in cal_screen.reach_ms.values())
        # the disc model's 320x180 input reads the 320x180 clip at scale 1: a 16 px radius is 4
        # cells at stride 4, above the 3-cell minimum, so the nearest (cheapest) reach will do
        name, cells = cal_screen.suggested_reach()
        assert name == "near" and cells == pytest.approx(DISC[2] / 4, rel=0.15)
        cal_screen.draw(screen)
        assert cal_screen.inp.detector.input_size == (320, 180)
        click = pygame.event.Event(
            pygame.MOUSEBUTTONDOWN, pos=cal_screen.buttons["reach_hall"].rect.center, button=1
        )
        assert cal_screen.handle_event(click)
        assert cal_screen.inp.detector.input_size == (640, 360), "the preview runs at hall"
        assert cal_screen.handle_event(
            pygame.event.Event(pygame.KEYDOWN, key=pygame.K_f, mod=0, unicode="f")
        )
        assert cal_screen.calibration().reach == "near", "F steps on, from hall back to near"
        assert cal_screen.handle_event(
            pygame.event.Event(pygame.KEYDOWN, key=pygame.K_f, mod=0, unicode="f")
        )
        cal_screen.draw(screen)
        assert cal_screen._press("save")
        assert handplay.Calibration.load(out).reach == "room"
    finally:
        cal_screen.stop()
