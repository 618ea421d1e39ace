"""Loading the ONNX detectors with onnxruntime.

The detector files ship with a fixed input size (CenterFace 32x32, SCRFD 640x640). Both are
fully convolutional, so the graph's input and output dimensions are made symbolic before the
session is created: the hash-checked file on disk is never changed. The edited graph is kept
beside it in `derived/` (named by the source's SHA-256 and the dimensions, with its own
SHA-256 in a side file), so a process that starts reads it instead of editing the graph
again. The edit itself is done on the protobuf wire format (`onnxgraph`): blurkit does not
depend on the `onnx` package (20 MB, ~0.5 s to import).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from blurkit.detect.onnxgraph import make_dynamic
from blurkit.fsutil import atomic_output
from blurkit.modelstore import file_sha256

DERIVED = "derived"
_RECIPE = 1   # bump when _make_dynamic changes the graph it writes (the move from the onnx
              # package to onnxgraph did not: tests/test_onnxgraph.py shows the same graph)

ort.set_default_logger_severity(3)  # the models carry harmless "initializer in graph inputs"
                                    # warnings


def dynamic_model_bytes(path: Path, output_dims: dict[str, list]) -> bytes:
    """The model at `path` (already hash-checked) with a symbolic N x 3 x H x W input and the
    given output dims: from `derived/` when a copy made from this very file is there and
    intact, else made now (and kept, when the folder is writable)."""
    key = hashlib.sha256(json.dumps([_RECIPE, file_sha256(path), output_dims],
                                    sort_keys=True).encode()).hexdigest()[:16]
    derived = path.parent / DERIVED / f"{path.stem}.{key}.onnx"
    check = derived.with_name(derived.name + ".sha256")
    try:
        if derived.is_file() and check.is_file():
            data = derived.read_bytes()
            if hashlib.sha256(data).hexdigest() == check.read_text(encoding="ascii").strip():
                return data
    except OSError:
        pass
    data = _make_dynamic(path, output_dims)
    try:
        derived.parent.mkdir(exist_ok=True)
        with atomic_output(derived, overwrite=True) as tmp:
            tmp.write_bytes(data)
        with atomic_output(check, overwrite=True) as tmp:
            tmp.write_text(hashlib.sha256(data).hexdigest() + "\n", encoding="ascii")
    except OSError:
        pass   # a read-only models folder: made again next time
    return data


def _make_dynamic(path: Path, output_dims: dict[str, list]) -> bytes:
    return make_dynamic(path.read_bytes(), output_dims, label=path.name)


def session(model_bytes: bytes, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle inference threads sleep instead of spinning: on a machine where other work runs
    # (the video encoder, a second worker, another user) spinning threads fight for the
    # cores; measured 115 ms instead of 65 ms per 768x432 pass on a busy 2-core machine.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def shrinking_run() -> ort.RunOptions:
    """Run options that give the arena's free chunks back to the system when the run ends
    (a network run now and then, among other work that needs the memory: video text)."""
    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def release_arena(sess: ort.InferenceSession) -> None:
    """Give the free chunks of the session's CPU memory arena back to the system.

    The arena grows to the largest network input of a file and keeps it: a watch folder's
    worker stayed at ~680 MB between files and its next large photo peaked ~120-180 MB
    higher than in a fresh worker (benchmarks/memory.py --warm). Called once per file (a
    32 x 32 run with arena shrinkage), it falls back to ~150 MB, at the cost of growing the
    arena again on the next file (page faults; no measurable change in a photo's time)."""
    inp = sess.get_inputs()[0]
    sess.run(None, {inp.name: np.zeros((1, 3, 32, 32), np.float32)}, shrinking_run())


def padded(rgb: np.ndarray, stride: int) -> np.ndarray:
    """`rgb` padded at the bottom/right with black to a multiple of `stride` (no resampling)."""
    height, width = rgb.shape[:2]
    ph = (-height) % stride
    pw = (-width) % stride
    if ph == 0 and pw == 0:
        return rgb
    return cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
