import numpy as np
import onnx
import pytest

import handplay.testing as ht
from handplay import Detector, ModelError


def test_blank_frame_gives_no_hands(disc_model):
    det = Detector(disc_model)
    assert det.detect(ht.render_disc_frame((640, 360), [])) == []
    heat = det.heatmap(ht.render_disc_frame((640, 360), []))
    assert heat.dtype == np.float32 and heat.max() < 0.05


@pytest.mark.parametrize("frame_size", [(640, 360), (320, 240), (1280, 720)])
def test_discs_found_in_frame_pixels(disc_model, frame_size):
    w, h = frame_size
    s = w / 640
    discs = [(0.25 * w + 3.3 * s, 0.4 * h + 1.7 * s, 30 * s), (0.7 * w, 0.6 * h, 18 * s)]
    found = Detector(disc_model).detect(ht.render_disc_frame(frame_size, discs))
    assert len(found) == 2
    for x, y, r in discs:
        best = min(found, key=lambda d: np.hypot(d.x - x, d.y - y))
        assert np.hypot(best.x - x, best.y - y) < 1.5 * s + 0.5
        assert best.radius == pytest.approx(r, rel=0.15)
        assert 0.5 < best.score <= 1.0


def test_a_lower_threshold_for_one_call_reports_weaker_peaks(disc_model):
    det = Detector(disc_model)
    frame = ht.render_disc_frame((640, 360), [(200, 180, 30)])
    score = det.detect(frame)[0].score
    det.threshold = min(0.99, score + 0.01)  # the disc is now below the threshold...
    assert det.detect(frame) == []
    weaker = det.detect(frame, threshold=score - 0.01)  # ...and found with a lower floor
    assert len(weaker) == 1 and weaker[0].score == pytest.approx(score)
    assert det.threshold == min(0.99, score + 0.01)  # the call did not change the setting
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        det.detect(frame, threshold=1.5)


def test_heatmap_is_cropped_to_the_frame_and_peaks_under_the_disc(disc_model):
    det = Detector(disc_model)  # 320x180, stride 4
    heat = det.heatmap(ht.render_disc_frame((640, 480), [(100, 300, 30)]))
    # 640x480 scales by 0.375 into 240x180 of the 320x180 input: 60x45 cells cover the frame
    assert heat.shape == (45, 60)
    i, j = np.unravel_index(heat.argmax(), heat.shape)
    assert abs((j + 0.5) * 4 / 0.375 - 100) < 12 and abs((i + 0.5) * 4 / 0.375 - 300) < 12


def test_portrait_frame_fills_a_portrait_input(disc_model):
    frame = ht.render_disc_frame((360, 640), [(120.0, 400.0, 24.0)])
    turned = Detector(disc_model)  # 320x180 input; a 360x640 frame goes into 180x320
    heat = turned.heatmap(frame)
    # 360x640 scales by 0.5 into 180x320: 45x80 cells, all of the frame at twice the pixels of
    # the landscape input (which would fit it into 101x180: 0.28125, 26x45 cells)
    assert heat.shape == (80, 45)
    [d] = turned.detect(frame)
    assert np.hypot(d.x - 120, d.y - 400) < 1.5 and d.radius == pytest.approx(24, rel=0.15)
    plain = Detector(disc_model, match_orientation=False)
    assert plain.heatmap(frame).shape == (45, 26)
    # landscape frames are unaffected, and the input turns back for them
    land = ht.render_disc_frame((640, 360), [(200.0, 100.0, 20.0)])
    assert turned.heatmap(land).shape == plain.heatmap(land).shape == (45, 80)


def test_input_size_override_rounds_to_stride(disc_model):
    det = Detector(disc_model, input_size=(330, 181))
    assert det.input_size == (332, 184)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match=r"nope\.onnx does not exist; pass model=None"):
        Detector(tmp_path / "nope.onnx")


def test_not_onnx(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a model")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Detector(bad)


def _edited(disc_model, tmp_path, edit):
    model = onnx.load(disc_model)
    edit(model)
    path = tmp_path / "edited.onnx"
    onnx.save(model, path)
    return path


def test_missing_metadata_is_listed(disc_model, tmp_path):
    def drop(model):
        keep = [
            p
            for p in model.metadata_props
            if p.key not in ("handplay.stride", "handplay.threshold")
        ]
        del model.metadata_props[:]
        model.metadata_props.extend(keep)

    with pytest.raises(ModelError, match=r"\['handplay.stride', 'handplay.threshold'\]"):
        Detector(_edited(disc_model, tmp_path, drop))


def _identity_model(tmp_path, name, dims):
    """A model whose only node copies its input to 'heatmap', with full metadata."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", [name], ["heatmap"])],
        "g",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    for key, value in {
        "handplay.format": "1",
        "handplay.stride": "4",
        "handplay.input_size": "32x32",
        "handplay.threshold": "0.5",
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path = tmp_path / "identity.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("name", "dims", "message"),
    [
        ("image", [3, "H", "W"], "must have rank 4"),
        ("image", ["N", 1, "H", "W"], "must have 3 channels"),
        ("pixels", ["N", 3, "H", "W"], "no input named 'image'"),
    ],
)
def test_wrong_input_is_explained(tmp_path, name, dims, message):
    with pytest.raises(ModelError, match=message):
        Detector(_identity_model(tmp_path, name, dims))


def test_unknown_format_version(disc_model, tmp_path):
    def edit(model):
        for p in model.metadata_props:
            if p.key == "handplay.format":
                p.value = "7"

    with pytest.raises(ModelError, match="handplay.format '7'"):
        Detector(_edited(disc_model, tmp_path, edit))


def test_bad_frame_is_named(disc_model):
    with pytest.raises(ValueError, match="H×W×3 uint8 BGR"):
        Detector(disc_model).detect(np.zeros((10, 10), np.uint8))


def test_format_1_detections_have_no_open_score(disc_model):
    det = Detector(disc_model)
    [d] = det.detect(ht.render_disc_frame((640, 360), [(200.0, 150.0, 24.0)]))
    assert det.format == "1" and det.open_threshold is None and d.open is None


def test_format_2_reads_the_open_output_at_each_peak(open_disc_model):
    det = Detector(open_disc_model)
    assert det.format == "2" and det.open_threshold == pytest.approx(0.5)
    frame = ht.render_disc_frame((640, 360), [(160.0, 150.0, 24.0, True), (460, 200, 24, False)])
    found = sorted(det.detect(frame), key=lambda d: d.x)
    assert len(found) == 2
    assert found[0].open > 0.9 and found[1].open < 0.1  # the open disc, then the closed one
    assert all(d.score > 0.5 for d in found)  # every hand is found, open or closed
    assert Detector(open_disc_model, open_threshold=0.8).open_threshold == 0.8


def test_format_2_without_open_output_or_threshold_is_refused(open_disc_model, tmp_path):
    def drop_key(model):
        keep = [p for p in model.metadata_props if p.key != "handplay.open_threshold"]
        del model.metadata_props[:]
        model.metadata_props.extend(keep)

    with pytest.raises(ModelError, match="handplay.open_threshold"):
        Detector(_edited(open_disc_model, tmp_path, drop_key))

    def drop_open(model):
        keep = [o for o in model.graph.output if o.name != "open"]
        del model.graph.output[:]
        model.graph.output.extend(keep)

    with pytest.raises(ModelError, match="no output named 'open'"):
        Detector(_edited(open_disc_model, tmp_path, drop_open))
