import pytest

from handplay.calibration import Calibration, Smoothing, default_path


def test_defaults_when_no_file():
    assert not default_path().exists()
    assert Calibration.load() == Calibration()


def test_save_load_round_trip(tmp_path):
    cal = Calibration(
        camera="clip.mp4",
        mirror=False,
        play_area=(0.1, 0.2, 0.9, 0.8),
        threshold=0.4,
        smoothing=Smoothing(min_cutoff=2.0, beta=0.1),
    )
    path = cal.save()
    assert path == default_path()
    assert Calibration.load() == cal


def test_mapping_mirror_and_play_area():
    frame, screen = (200, 100), (1000, 500)
    plain = Calibration(mirror=False, play_area=(0.25, 0.0, 0.75, 1.0))
    # camera x = 49.5 is the left edge of the play area (u = 0.25); screen pixel centres are at
    # integers, so the screen's left edge is x = -0.5
    assert plain.to_screen(49.5, 49.5, frame, screen) == pytest.approx((-0.5, 249.5))
    assert plain.to_screen(149.5, 99.5, frame, screen) == pytest.approx((999.5, 499.5))
    mirrored = Calibration(mirror=True)
    assert mirrored.to_norm(0 - 0.5, 0, frame)[0] == pytest.approx(1.0)
    assert mirrored.to_norm(200 - 0.5, 0, frame)[0] == pytest.approx(0.0)
    assert plain.scale(frame, screen) == pytest.approx(0.5 * (10.0 + 5.0))


@pytest.mark.parametrize("area", [(0.5, 0, 0.4, 1), (0, 0, 1.2, 1), (-0.1, 0, 1, 1)])
def test_bad_play_area_is_named(area):
    with pytest.raises(ValueError, match="play_area"):
        Calibration(play_area=area)


def test_bad_file_names_file_and_keys(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"mirror": true, "zoom": 2}')
    with pytest.raises(ValueError, match=r"c\.json.*unknown keys \['zoom'\]"):
        Calibration.load(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        Calibration.load(path)
