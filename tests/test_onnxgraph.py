"""The detector graph edit without the `onnx` package (blurkit.detect.onnxgraph), checked
against the `onnx` package's own edit (a test dependency only) on the real model files."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from blurkit.detect import centerface, scrfd
from blurkit.detect.onnxgraph import GraphError, make_dynamic

onnx = pytest.importorskip("onnx")   # the `test` extra installs it

CENTERFACE_DIMS = {name: ["N", ch, "h", "w"] for name, ch in centerface._OUTPUTS.items()}
SCRFD_DIMS = {f"{kind}_{s}": [1, "n", w] for kind, w in {"score": 1, "bbox": 4, "kps": 10}.items()
              for s in scrfd._STRIDES}


def onnx_reference(path, output_dims):
    """What blurkit did with the onnx package before onnxgraph existed."""
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(path))
    weights = {init.name for init in model.graph.initializer}
    real = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(real)
    return update_inputs_outputs_dims(model, {real[0].name: ["N", 3, "H", "W"]}, output_dims)


@pytest.mark.parametrize("file, dims", [("centerface.onnx", CENTERFACE_DIMS),
                                        ("scrfd_2.5g_bnkps.onnx", SCRFD_DIMS)])
def test_same_graph_as_the_onnx_package_makes(models_dir, file, dims):
    original = (models_dir / file).read_bytes()
    ours = onnx.load_from_string(make_dynamic(original, dims))
    assert ours == onnx_reference(models_dir / file, dims)
    onnx.checker.check_model(ours)
    before = onnx.load_from_string(original)
    weights = {init.name for init in before.graph.initializer}
    assert [i.name for i in ours.graph.input] == [i.name for i in before.graph.input
                                                  if i.name not in weights]   # the image only
    dim = ours.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dim] == ["N", 3, "H", "W"]
    assert ours.graph.initializer == before.graph.initializer       # weights byte for byte


def test_the_edited_graph_runs_at_any_size(models_dir):
    net = centerface.CenterFaceNet(models_dir / "centerface.onnx")
    for h, w in [(96, 160), (224, 64)]:
        boxes, scores, marks = net.infer(np.zeros((h, w, 3), np.uint8), 0.5)
        assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_bad_input_is_refused_with_a_reason(models_dir):
    data = (models_dir / "centerface.onnx").read_bytes()
    with pytest.raises(GraphError, match="no dimensions given for output"):
        make_dynamic(data, {"537": ["N", 1, "h", "w"]})
    with pytest.raises(GraphError, match="dimensions"):
        make_dynamic(data, {**CENTERFACE_DIMS, "537": ["N", 1, "h"]})
    with pytest.raises(GraphError, match="is 1, not 2"):
        make_dynamic(data, {**CENTERFACE_DIMS, "537": ["N", 2, "h", "w"]})
    with pytest.raises(GraphError):
        make_dynamic(data[:5000], CENTERFACE_DIMS)
    with pytest.raises(GraphError):
        make_dynamic(b"\x0b\x0c not protobuf", CENTERFACE_DIMS)


def test_a_detector_starts_without_importing_onnx(models_dir, tmp_path):
    """Also when the derived graph has to be made (a fresh models folder)."""
    fresh = tmp_path / "models"
    fresh.mkdir()
    (fresh / "centerface.onnx").symlink_to(models_dir / "centerface.onnx")
    code = ("import sys; from pathlib import Path; from blurkit.detect.centerface import "
            f"CenterFaceNet; CenterFaceNet(Path({str(fresh)!r}) / 'centerface.onnx'); "
            "print(sorted(m for m in sys.modules if m == 'onnx' or m.startswith('onnx.')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert list((fresh / "derived").glob("centerface.*.onnx"))
