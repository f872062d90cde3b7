"""Synthetic YOLO-layout ONNX models: the output is a constant tensor of known candidate boxes.

No YOLO weights can be had (AGPL or downloaded at run time), so the decoder is tested against graphs
whose output is exactly what a YOLOv5/v7 (`[N, boxes, 5+classes]`) or YOLOv8/11 (`[N, 4+classes, boxes]`)
export would emit for given candidates. The output still depends on the input (plus 0 x its mean) so the
batch size follows the input's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def candidate_rows(
    candidates: Sequence[tuple[tuple[float, float, float, float], int, float, float]], classes: int
) -> np.ndarray:
    """v5 rows `cx, cy, w, h, objectness, class scores` from (x1, y1, x2, y2 input px, class, score, obj)."""
    rows = np.zeros((len(candidates), 5 + classes), np.float32)
    for i, ((x1, y1, x2, y2), cls, score, obj) in enumerate(candidates):
        rows[i, :4] = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
        rows[i, 4] = obj
        rows[i, 5 + cls] = score
    return rows


def write_model(path: Path, output: np.ndarray, size: int, *, static_batch: bool = False) -> Path:
    """A model taking float `[N, 3, size, size]` and answering `output` (`[a, b]`) for every image."""
    batch: int | str = 1 if static_batch else "batch"
    const = numpy_helper.from_array(output[None].astype(np.float32), "const")
    axes = numpy_helper.from_array(np.array([1, 2], np.int64), "axes")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Unsqueeze", ["nothing", "axes"], ["per_image"]),
        helper.make_node("Add", ["const", "per_image"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_synthetic",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [batch, *output.shape])],
        initializer=[const, axes, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
