"""ONNX Runtime sessions tuned for a small CPU."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def make_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    so = ort.SessionOptions()
    # ALL is 2-3x faster than the lower levels on these models
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or default_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Two sessions (detector, landmarks) spinning on 2 cores starve each other.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
