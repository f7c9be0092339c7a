"""A deployment copy of a handplay model for OpenCV's ``dnn`` (4.6 and later), plus its sidecar.

Run: ``python -m training.deploy MODEL.onnx --out DIR [--size WxH] [--no-portrait] [--no-look]``;
e.g. the one command that refreshes the files the C++ example ships::

    python -m training.deploy handplay/models/hand.onnx --out examples/cpp/models

OpenCV 5 reads ``hand.onnx`` as it is, but the OpenCV that apps bundle (Debian's 4.6, older
openFrameworks addons) does not: its importer fails on the dynamic ``Shape`` → ``Gather`` →
``Concat`` chains that size the upsampling, on the 3-input ``Clip`` (opset 11+), and on
``Max``/``Min`` with a constant. The deployment file is the same network, rewritten:

- the input size is fixed (``1×3×H×W``; one file per orientation), so every shape computation is
  a constant and is folded away (:func:`fold_constants`): each ``Resize`` then has constant
  ``sizes``, which 4.6 reads;
- ``Clip``, ``Max`` and ``Min`` with constant bounds become ``Relu``, ``Add`` and ``Mul``
  (``clip(x, lo, hi) = hi − relu(hi − lo − relu(x − lo))``), so the outputs keep their meaning
  (the ``size`` output is still the clamped radius) and the C++ side needs no extra step;
- a ``Conv`` without ``kernel_shape`` (optional in ONNX) gets it from its weight's shape.

Only standard ONNX ops, one self-contained file. Every file is checked (:func:`parity_check`):
onnxruntime on the deployment file, and OpenCV's ``dnn`` (the Python one) on it, against
onnxruntime on the original, within 1e-4 on ``heatmap`` and ``open`` and 1e-4 relative on
``size``.

**The sidecar** ``hand.json``: OpenCV's ``dnn`` gives no access to ONNX ``metadata_props``, and a
C++ app should not need a protobuf reader to learn the stride and thresholds, so they are written
beside the model as a small JSON file (the deployment ONNX keeps its ``metadata_props`` too):
``format``, ``stride``, ``threshold``, ``open_threshold`` (format 2, else null), the output
names, and ``models``: one ``{"file", "input_size": [W, H]}`` per orientation. A frame goes into
the model whose orientation matches it (the Python detector's portrait rule). ``look`` (absent
when written with ``look=False``) describes the second look of :mod:`handplay.detector`: its own
fixed-size file for the square patches, ``{"file", "input_size": [S, S], "span", "floor",
"looks"}`` (the patch side in hand radii, the candidate floor, and how many candidates a frame).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from handplay import contract, detector
from handplay.sources import argument_type, parse_size

log = logging.getLogger(__name__)

SIDECAR = "hand.json"
PARITY_TOLERANCE = 1e-4
#: What the sidecar's ``layout`` says, so a reader can check it knows this version. (``look``
#: was added without a new layout: a reader that does not know it reads the frame pass.)
SIDECAR_VERSION = 1


def deployment_name(input_size: tuple[int | str, int | str]) -> str:
    """The file name of the deployment model for ``input_size``: ``hand_deploy_WxH.onnx``."""
    return f"hand_deploy_{input_size[0]}x{input_size[1]}.onnx"


def write_deployment(
    model_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    input_size: tuple[int, int] | None = None,
    portrait: bool = True,
    look: bool = True,
) -> Path:
    """Write OpenCV-4.6-loadable copies of a handplay model and the sidecar ``hand.json``.

    Args:
        model_path: a handplay ``.onnx`` (format 1 or 2; dynamic or fixed input size).
        out_dir: the folder to write into (created if missing).
        input_size: ``(width, height)``, multiples of the stride; ``None`` for the model's
            ``handplay.input_size``.
        portrait: also write the turned input (height × width), the one the Python detector
            feeds portrait frames; the C++ detector picks by the frame's orientation.
        look: also write the second look's patch-sized file (``LOOK_SIZE`` square) and its
            settings, so the C++ detector looks again as ``handplay.Detector`` does.

    Returns:
        The path of the sidecar ``hand.json``. Other ``hand_deploy_*.onnx`` files in
        ``out_dir`` (an earlier model's sizes) are removed.

    Raises:
        ValueError: the model lacks handplay metadata, or the size is not a stride multiple.
        RuntimeError: a parity check failed (the rewrite changed the outputs).
    """
    model_path, out_dir = Path(model_path), Path(out_dir)
    model = onnx.load(str(model_path))
    meta = {p.key: p.value for p in model.metadata_props}
    fmt = meta.get(contract.FORMAT)
    if fmt not in contract.REQUIRED_METADATA:
        raise ValueError(
            f"{model_path} has handplay.format {fmt!r}; deploy reads formats "
            f"{list(contract.SUPPORTED_FORMATS)} (export it with python -m training.export)"
        )
    missing = [k for k in contract.REQUIRED_METADATA[fmt] if k not in meta]
    if missing:
        raise ValueError(f"{model_path} lacks the handplay metadata keys {missing}")
    stride = int(meta[contract.STRIDE])
    size = input_size or parse_size(meta[contract.INPUT_SIZE])
    if size[0] % stride or size[1] % stride:
        raise ValueError(f"input_size must be multiples of stride {stride}, not {size}")
    outputs = [o.name for o in model.graph.output if o.name in _OUTPUTS]
    sizes = [size] + ([(size[1], size[0])] if portrait and size[0] != size[1] else [])
    out_dir.mkdir(parents=True, exist_ok=True)

    def deploy(wh: tuple[int, int]) -> dict:
        deployed = deployment_graph(model, wh)
        path = out_dir / deployment_name(wh)
        onnx.save_model(deployed, str(path), save_as_external_data=False)
        diffs = parity_check(model_path, path, wh, outputs)
        log.info("wrote %s (%.0f kB), parity %s", path, path.stat().st_size / 1e3, diffs)
        return {"file": path.name, "input_size": list(wh), "parity": diffs}

    entries = [deploy(wh) for wh in sizes]
    extra = {}
    if look:
        side = detector.LOOK_SIZE
        extra["look"] = {
            **deploy((side, side)),
            "span": detector.LOOK_SPAN,
            "floor": detector.LOOK_FLOOR,
            "looks": detector.DEFAULT_LOOKS,
        }
    sidecar = {
        "layout": SIDECAR_VERSION,
        "format": int(fmt),
        "stride": stride,
        "threshold": float(meta[contract.THRESHOLD]),
        "open_threshold": float(meta[contract.OPEN_THRESHOLD]) if fmt == "2" else None,
        "input": contract.INPUT,
        "outputs": outputs,
        "models": entries,
        **extra,
        "source": model_path.name,
        "source_sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
    }
    path = out_dir / SIDECAR
    path.write_text(json.dumps(sidecar, indent=2) + "\n")
    # a new model at another size must not leave the old files beside it, looking current
    listed = {entry["file"] for entry in [*entries, *extra.values()]}
    for stale in out_dir.glob(deployment_name(("*", "*"))):
        if stale.name not in listed:
            stale.unlink()
    return path


_OUTPUTS = (contract.HEATMAP, contract.SIZE, contract.OPEN)


def deployment_graph(model: onnx.ModelProto, input_size: tuple[int, int]) -> onnx.ModelProto:
    """``model`` with its input fixed to ``1×3×H×W``, shapes folded, and no op OpenCV 4.6 rejects.

    The rewrite is exact up to float rounding (see :func:`parity_check`); metadata is kept.
    """
    w, h = input_size
    model = onnx.ModelProto.FromString(model.SerializeToString())  # a copy: never edit the caller's
    graph = model.graph
    (image,) = [i for i in graph.input if i.name == contract.INPUT]
    for dim, value in zip(image.type.tensor_type.shape.dim, (1, 3, h, w), strict=True):
        dim.Clear()
        dim.dim_value = value
    for out in graph.output:  # the inferred shapes replace the symbolic ones
        out.type.tensor_type.ClearField("shape")
    del graph.value_info[:]
    fold_constants(model)
    _rewrite_for_opencv(model)
    _drop_unused_initializers(graph)
    del graph.value_info[:]
    model = shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def fold_constants(model: onnx.ModelProto) -> None:
    """Evaluate every node whose inputs are known (initializers, constants, or the shape of a
    tensor whose shape inference knows), replacing it by an initializer. In place."""
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    inferred = shape_inference.infer_shapes(model, data_prop=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input):
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    known = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    keep = []
    for node in graph.node:
        value = None
        if node.op_type == "Shape" and node.input[0] in shapes:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            full = shapes[node.input[0]]
            value = [np.array(full[attrs.get("start", 0) : attrs.get("end", len(full))], np.int64)]
        elif node.domain in ("", "ai.onnx") and all(not i or i in known for i in node.input):
            feeds = {i: known[i] for i in node.input if i}
            value = ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds)
        if value is None:
            keep.append(node)
            continue
        for name, array in zip(node.output, value, strict=True):
            known[name] = np.asarray(array)
            graph.initializer.append(numpy_helper.from_array(np.asarray(array), name))
    del graph.node[:]
    graph.node.extend(keep)


def _rewrite_for_opencv(model: onnx.ModelProto) -> None:
    """Replace the ops OpenCV 4.6's importer rejects by equivalent standard ops. In place."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    counter = iter(range(1_000_000))

    def const(value: float | np.ndarray) -> str:
        name = f"deploy_const_{next(counter)}"
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def tmp() -> str:
        return f"deploy_tmp_{next(counter)}"

    def scalar(name: str) -> float | None:
        array = consts.get(name)
        return float(array.reshape(-1)[0]) if array is not None and array.size == 1 else None

    nodes = []
    for node in graph.node:
        op, ins, out = node.op_type, list(node.input), node.output[0]
        if op == "Clip":
            lo = scalar(ins[1]) if len(ins) > 1 and ins[1] else None
            hi = scalar(ins[2]) if len(ins) > 2 and ins[2] else None
            if (len(ins) > 1 and ins[1] and lo is None) or (len(ins) > 2 and ins[2] and hi is None):
                raise ValueError(f"Clip {node.name!r} has non-constant bounds; cannot deploy it")
            nodes += _clip(ins[0], lo, hi, out, const, tmp)
        elif op in ("Max", "Min") and len(ins) == 2 and any(scalar(i) is not None for i in ins):
            x, c = (ins[1], scalar(ins[0])) if scalar(ins[1]) is None else (ins[0], scalar(ins[1]))
            if op == "Max":
                nodes += _clip(x, c, None, out, const, tmp)
            else:
                nodes += _clip(x, None, c, out, const, tmp)
        elif op == "Conv" and not any(a.name == "kernel_shape" for a in node.attribute):
            # optional in ONNX (the weight's shape says it), required by 4.6's importer
            node.attribute.append(
                helper.make_attribute("kernel_shape", [int(d) for d in consts[ins[1]].shape[2:]])
            )
            nodes.append(node)
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)


def _clip(x: str, lo: float | None, hi: float | None, out: str, const, tmp) -> list:
    """``clip(x, lo, hi)`` from Relu, Add and Mul by constants (all OpenCV 4.6 reads):
    ``t = relu(x − lo)`` is ``max(x, lo) − lo``, and ``hi − relu(hi − lo − t)`` is
    ``min(max(x, lo), hi)``. Either bound may be missing."""
    nodes, base = [], 0.0
    if lo is not None:
        shifted, t = tmp(), tmp()
        nodes += [
            helper.make_node("Add", [x, const(-lo)], [shifted]),
            helper.make_node("Relu", [shifted], [t]),
        ]
        x, base = t, lo
    if hi is None:
        nodes.append(helper.make_node("Add", [x, const(base)], [out]))
        return nodes
    neg, gap, rgap, back = tmp(), tmp(), tmp(), tmp()
    nodes += [
        helper.make_node("Mul", [x, const(-1.0)], [neg]),
        helper.make_node("Add", [neg, const(hi - base)], [gap]),
        helper.make_node("Relu", [gap], [rgap]),
        helper.make_node("Mul", [rgap, const(-1.0)], [back]),
        helper.make_node("Add", [back, const(hi)], [out]),
    ]
    return nodes


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def parity_check(
    original: str | os.PathLike[str],
    deployed: str | os.PathLike[str],
    input_size: tuple[int, int],
    outputs: Sequence[str],
) -> dict[str, float]:
    """Compare the deployment file (onnxruntime, and OpenCV's dnn) with onnxruntime on the
    original, on two random images of ``input_size``.

    Returns:
        The largest difference per runtime: ``{"onnxruntime": d, "opencv": d}`` (absolute on
        ``heatmap`` and ``open``, relative on ``size``, which is in pixels).

    Raises:
        RuntimeError: a difference above 1e-4.
    """
    import cv2

    w, h = input_size
    rng = np.random.default_rng(0)
    # noise, and a smooth image (the net's responses on noise are small)
    smooth = cv2.resize(rng.random((3, h // 8, w // 8), np.float32).transpose(1, 2, 0), (w, h))
    images = [rng.random((1, 3, h, w), np.float32), smooth.transpose(2, 0, 1)[None].copy()]
    ref_sess = ort.InferenceSession(str(original), providers=["CPUExecutionProvider"])
    dep_sess = ort.InferenceSession(str(deployed), providers=["CPUExecutionProvider"])
    net = cv2.dnn.readNetFromONNX(str(deployed))
    worst = {"onnxruntime": 0.0, "opencv": 0.0}
    for x in images:
        ref = ref_sess.run(list(outputs), {contract.INPUT: x})
        net.setInput(x, contract.INPUT)
        got = {
            "onnxruntime": dep_sess.run(list(outputs), {contract.INPUT: x}),
            "opencv": list(net.forward(list(outputs))),
        }
        for runtime, values in got.items():
            for name, r, g in zip(outputs, ref, values, strict=True):
                diff = np.abs(r - g)
                if name == contract.SIZE:
                    diff = diff / np.maximum(np.abs(r), 1.0)
                worst[runtime] = max(worst[runtime], float(diff.max()))
    for runtime, diff in worst.items():
        if diff > PARITY_TOLERANCE:
            raise RuntimeError(
                f"deployment parity check failed for {deployed} on {runtime}: max difference "
                f"{diff:.2e} > {PARITY_TOLERANCE:g} against onnxruntime on {original}"
            )
    return {k: float(f"{v:.3g}") for k, v in worst.items()}


def main(argv: Sequence[str] | None = None) -> None:
    """Write deployment models and ``hand.json`` for a handplay model."""
    parser = argparse.ArgumentParser(prog="python -m training.deploy", description=__doc__)
    parser.add_argument("model", help="a handplay .onnx (format 1 or 2)")
    parser.add_argument("--out", required=True, help="the folder for the files and hand.json")
    parser.add_argument(
        "--size",
        type=argument_type(parse_size),
        default=None,
        help="WIDTHxHEIGHT of the fixed input (default: the model's handplay.input_size)",
    )
    parser.add_argument(
        "--no-portrait", action="store_true", help="skip the turned (portrait) input file"
    )
    parser.add_argument("--no-look", action="store_true", help="skip the second look's patch file")
    args = parser.parse_args(argv)
    sidecar = write_deployment(
        args.model, args.out, args.size, portrait=not args.no_portrait, look=not args.no_look
    )
    written = json.loads(sidecar.read_text())
    for entry in [*written["models"], *([written["look"]] if "look" in written else [])]:
        print(f"wrote {Path(args.out) / entry['file']} (parity {entry['parity']})")
    print(f"wrote {sidecar}")


if __name__ == "__main__":
    main()
