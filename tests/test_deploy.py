"""training.deploy: the OpenCV-4.6 deployment copy of a model, its sidecar, and the shipped files.

The C++ side (OpenCV 4.6 itself) is tested in test_cpp_example.py.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import handplay.testing as ht
from handplay.detector import DEFAULT_MODEL
from training.deploy import deployment_graph, main, write_deployment

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "examples" / "cpp" / "models"
#: Ops the OpenCV 4.6 importer rejects in handplay's graphs (with dynamic or constant operands).
REJECTED = {"Shape", "Gather", "Concat", "Slice", "Cast", "Unsqueeze", "Constant", "Clip"}


def _ops(path):
    return {n.op_type for n in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("open_output", [False, True])
def test_disc_model_deploys_for_both_orientations(tmp_path, open_output):
    model = ht.make_disc_model(tmp_path / "disc.onnx", open_output=open_output, threshold=0.4)
    sidecar = json.loads(write_deployment(model, tmp_path / "out").read_text())
    assert sidecar["format"] == (2 if open_output else 1)
    assert sidecar["stride"] == 4 and sidecar["threshold"] == 0.4
    assert sidecar["open_threshold"] == (0.5 if open_output else None)
    assert sidecar["outputs"] == ["heatmap", "size"] + (["open"] if open_output else [])
    assert [m["input_size"] for m in sidecar["models"]] == [[320, 180], [180, 320]]
    for entry in sidecar["models"]:
        path = tmp_path / "out" / entry["file"]
        assert not _ops(path) & REJECTED
        assert max(entry["parity"].values()) < 1e-4
        dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in dims] == [1, 3, entry["input_size"][1], entry["input_size"][0]]


def test_deployed_disc_model_gives_the_same_outputs_on_a_frame(tmp_path):
    model = ht.make_disc_model(tmp_path / "disc.onnx", open_output=True)
    write_deployment(model, tmp_path, portrait=False)
    frame = ht.render_disc_frame((320, 180), [(100.0, 90.0, 20.0), (220.0, 60.0, 15.0, False)])
    x = (frame[:, :, ::-1].transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
    names = ["heatmap", "size", "open"]
    ref = ort.InferenceSession(str(model)).run(names, {"image": x})
    got = ort.InferenceSession(str(tmp_path / "hand_deploy_320x180.onnx")).run(names, {"image": x})
    assert ref[0].max() > 0.9 and ref[2].min() == 0.0 and ref[2].max() == 1.0  # a real test
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g, r, atol=1e-5, rtol=1e-5)


def _graph_with(op, *inputs):
    """image -> op(image, constants...) -> Sigmoid -> heatmap; a size-free format-1 model."""
    consts = [
        numpy_helper.from_array(np.float32(v).reshape(()), f"c{i}") for i, v in enumerate(inputs)
    ]
    names = ["image"] + [c.name for c in consts] if op == "Clip" else ["image", consts[0].name]
    nodes = [
        helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("ReduceMean", ["pooled"], ["grey"], axes=[1], keepdims=1),
        helper.make_node(op, ["grey"] + names[1:], ["clamped"]),
        helper.make_node("Sigmoid", ["clamped"], ["heatmap"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, ["N", 1, "h", "w"])],
        consts,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(
    "op, bounds, expect",
    [("Max", (0.5,), np.maximum), ("Min", (0.5,), np.minimum), ("Clip", (0.4, 0.55), None)],
)
def test_max_min_clip_with_constants_become_relu_arithmetic(op, bounds, expect):
    model = _graph_with(op, *bounds)
    deployed = deployment_graph(model, (64, 32))
    assert {n.op_type for n in deployed.graph.node} <= {
        "AveragePool",
        "ReduceMean",
        "Add",
        "Mul",
        "Relu",
        "Sigmoid",
    }
    x = np.linspace(0, 1, 3 * 32 * 64, dtype=np.float32).reshape(1, 3, 32, 64)
    (got,) = ort.InferenceSession(deployed.SerializeToString()).run(None, {"image": x})
    grey = x.reshape(1, 3, 8, 4, 16, 4).mean(axis=(3, 5)).mean(axis=1, keepdims=True)
    inner = expect(grey, bounds[0]) if expect else np.clip(grey, *bounds)
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-inner)), atol=1e-6)
    assert grey.min() < min(bounds) and grey.max() > max(bounds)  # both sides of the bounds seen


def test_shipped_model_deploys_at_a_size_whose_upsampling_is_not_2x(tmp_path):
    """320x180: the stride-16 grid is 23 rows, upsampled from 12, so Resize keeps its sizes."""
    sidecar = json.loads(write_deployment(DEFAULT_MODEL, tmp_path, (320, 180)).read_text())
    assert [m["input_size"] for m in sidecar["models"]] == [[320, 180], [180, 320]]
    for entry in sidecar["models"]:
        assert max(entry["parity"].values()) < 1e-4
        assert not _ops(tmp_path / entry["file"]) & REJECTED


def test_a_size_that_is_not_a_stride_multiple_is_refused(tmp_path):
    model = ht.make_disc_model(tmp_path / "disc.onnx")
    with pytest.raises(ValueError, match="multiples of stride 4"):
        write_deployment(model, tmp_path, (322, 180))


def test_cli_writes_the_files(tmp_path, capsys):
    model = ht.make_disc_model(tmp_path / "disc.onnx")
    main([str(model), "--out", str(tmp_path / "o"), "--size", "160x96", "--no-portrait"])
    assert "hand_deploy_160x96.onnx" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "hand.json",
        "hand_deploy_160x96.onnx",
        "hand_deploy_96x96.onnx",  # the second look's patches
    ]
    look = json.loads((tmp_path / "o" / "hand.json").read_text())["look"]
    assert look["file"] == "hand_deploy_96x96.onnx" and look["input_size"] == [96, 96]
    assert (look["span"], look["floor"], look["looks"]) == (3.0, 0.3, 4)
    # a new size, no look: the earlier files do not linger
    main([str(model), "--out", str(tmp_path / "o"), "--size", "128x64", "--no-look"])
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "hand.json",
        "hand_deploy_128x64.onnx",
        "hand_deploy_64x128.onnx",
    ]


def test_shipped_deployment_files_match_the_shipped_model():
    """The files beside the C++ example come from today's hand.onnx. If this fails, rerun
    ``python -m training.deploy handplay/models/hand.onnx --out examples/cpp/models``."""
    sidecar = json.loads((SHIPPED / "hand.json").read_text())
    assert sidecar["source_sha256"] == hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
    meta = {p.key: p.value for p in onnx.load(str(DEFAULT_MODEL)).metadata_props}
    assert sidecar["format"] == int(meta["handplay.format"])
    assert sidecar["threshold"] == float(meta["handplay.threshold"])
    for entry in [*sidecar["models"], sidecar["look"]]:
        assert not _ops(SHIPPED / entry["file"]) & REJECTED
