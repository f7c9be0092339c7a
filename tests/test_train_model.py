import numpy as np
import onnxruntime as ort
import pytest
import torch

from training.export import export_onnx, read_metadata
from training.model import build_model, count_macs, fold_input_scale


@pytest.mark.parametrize(("arch", "stride"), [("mobile", 4), ("mobile", 8), ("vgg", 4)])
def test_output_grid_and_ranges(arch, stride):
    net = build_model(arch, 0.5, stride).eval()
    heat, size, open_ = net(torch.rand(2, 3, 96, 160))
    assert heat.shape == size.shape == open_.shape == (2, 1, 96 // stride, 160 // stride)
    assert heat.min() >= 0 and heat.max() <= 1 and size.min() > 0
    assert open_.min() >= 0 and open_.max() <= 1


def test_inputs_that_are_not_multiples_of_32_still_work():
    net = build_model("mobile", 0.5).eval()
    heat, _, _ = net(torch.rand(1, 3, 68, 100))
    assert heat.shape == (1, 1, 17, 25)


def test_vgg_baseline_costs_far_more_than_handnet():
    mobile, _ = count_macs(build_model("mobile"), (320, 192))
    vgg, _ = count_macs(build_model("vgg"), (320, 192))
    assert vgg > 100 * mobile


def test_export_follows_the_contract(tmp_path):
    net = build_model("mobile", 0.5).eval()
    path = tmp_path / "m.onnx"
    diff = export_onnx(net, path, (96, 64), 0.35, {"lr": 0.1}, {"recall": 0.5}, 0.6)
    assert diff <= 1e-4
    assert not list(tmp_path.glob("*.data"))  # self-contained
    meta = read_metadata(path)
    assert meta["handplay.format"] == "2"
    assert float(meta["handplay.open_threshold"]) == 0.6
    assert meta["handplay.stride"] == "4"
    assert meta["handplay.input_size"] == "96x64"
    assert float(meta["handplay.threshold"]) == 0.35
    assert '"lr": 0.1' in meta["handplay.train_config"]
    assert '"recall": 0.5' in meta["handplay.metrics"]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["heatmap", "size", "open"]
    heat, size, open_ = sess.run(None, {"image": np.zeros((1, 3, 128, 224), np.float32)})
    assert heat.shape == size.shape == open_.shape == (1, 1, 32, 56)


@pytest.mark.parametrize("arch", ["mobile", "vgg"])
def test_folding_the_input_scale_changes_no_output(arch):
    net = build_model(arch, 0.5).eval()
    with torch.no_grad():  # BN statistics off their defaults, so the fold is not trivially exact
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    folded = fold_input_scale(net).eval()
    # an image with a bright border: the padded edge is where a wrong fold would show
    x = torch.rand(2, 3, 64, 96)
    x[..., :2, :] = 1.0
    with torch.no_grad():
        for a, b in zip(net(x, logits=True), folded(x, logits=True), strict=True):
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)
    assert not folded.norm.divide and net.norm.divide  # the original is untouched
    with pytest.raises(ValueError, match="not folded yet"):
        fold_input_scale(folded)


def test_export_refuses_a_size_off_the_stride(tmp_path):
    with pytest.raises(ValueError, match="multiples of stride 4"):
        export_onnx(build_model("mobile", 0.5), tmp_path / "m.onnx", (98, 64), 0.3)


def test_a_format_1_checkpoint_loads_with_a_fresh_open_head():
    from training.checkpoint import load_weights

    net = build_model("mobile", 0.5)
    old = {k: v for k, v in net.state_dict().items() if ".open." not in k}
    fresh = build_model("mobile", 0.5)
    assert sorted(load_weights(fresh, old)) == ["heads.open.bias", "heads.open.weight"]
    assert torch.equal(fresh.state_dict()["heads.heat.weight"], old["heads.heat.weight"])
    old["heads.extra.weight"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="heads.extra.weight"):
        load_weights(build_model("mobile", 0.5), old)
