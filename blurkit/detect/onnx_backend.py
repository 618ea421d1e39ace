"""Loading the ONNX detectors with onnxruntime.

The detector files ship with a fixed input size (CenterFace 32x32, SCRFD 640x640). Both are
fully convolutional, so the graph's input and output dimensions are made symbolic in memory
before the session is created: the hash-checked file on disk is never changed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx.tools.update_model_dims import update_inputs_outputs_dims

ort.set_default_logger_severity(3)  # the models carry harmless "initializer in graph inputs" warnings


def dynamic_model_bytes(path: Path, output_dims: dict[str, list]) -> bytes:
    """The model at `path` with a symbolic N x 3 x H x W input and the given output dims."""
    model = onnx.load(str(path))
    initializers = {init.name for init in model.graph.initializer}
    real_inputs = [i for i in model.graph.input if i.name not in initializers]
    # Initializers listed as inputs block constant folding; they are weights, not inputs.
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    if len(real_inputs) != 1:
        raise ValueError(f"{path.name}: expected one image input, found {len(real_inputs)}")
    input_dims = {real_inputs[0].name: ["N", 3, "H", "W"]}
    model = update_inputs_outputs_dims(model, input_dims, output_dims)
    return model.SerializeToString()


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


def padded(rgb: np.ndarray, stride: int) -> np.ndarray:
    """`rgb` padded at the bottom/right with black to a multiple of `stride` (no resampling)."""
    height, width = rgb.shape[:2]
    ph = (-height) % stride
    pw = (-width) % stride
    if ph == 0 and pw == 0:
        return rgb
    return cv2.copyMakeBorder(rgb, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
