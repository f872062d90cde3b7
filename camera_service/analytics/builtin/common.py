"""Helpers of the built-in detectors: ONNX Runtime sessions with explicit threads, image resizing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np


def ort_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session using exactly `threads` intra-op threads (no spinning extra cores)."""
    import onnxruntime as ort

    if not path.is_file():
        raise FileNotFoundError(f"model {path} is missing: run scripts/install-models.sh")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def resize_rgb(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of an HxWx3 uint8 RGB image (libswscale through PyAV)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    out: np.ndarray = frame.reformat(width=width, height=height, interpolation="BILINEAR").to_ndarray()
    return out
