"""ONNX Runtime sessions tuned for a small CPU."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort


# where the pose engine runs (--device): auto takes the GPU when onnxruntime has a working
# CUDA provider (the gpu extra, docs/scale.md), else the CPU
DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class DeviceError(RuntimeError):
    """--device cuda where onnxruntime cannot run on a GPU; or an unknown device."""


def resolve_device(device: str) -> str:
    """auto | cpu | cuda -> cpu | cuda: what sessions will be made for."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}: choose {', '.join(DEVICES)}")
    has_cuda = CUDA in ort.get_available_providers()
    if device == "cuda" and not has_cuda:
        raise DeviceError(
            f"--device cuda: this onnxruntime ({ort.__version__}, providers "
            f"{', '.join(ort.get_available_providers())}) has no CUDA provider; on a machine "
            f"with an NVIDIA GPU run `bash scripts/setup --gpu`")
    return "cuda" if device == "cuda" or (device == "auto" and has_cuda) else "cpu"


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def make_session(path: str | Path, threads: int | None = None,
                 device: str = "cpu") -> ort.InferenceSession:
    """A session on the CPU, or on the GPU (``device`` cuda; auto resolves first)."""
    device = resolve_device(device)
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
    providers = [CUDA, CPU] if device == "cuda" else [CPU]
    session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
    if device == "cuda" and session.get_providers()[0] != CUDA:
        # onnxruntime falls back to the CPU with only a warning when CUDA's libraries are
        # missing: asked for the GPU, say so instead of running 10x slower unannounced
        raise DeviceError(f"--device cuda: onnxruntime could not start its CUDA provider "
                          f"(CUDA or cuDNN libraries missing?); providers in use: "
                          f"{', '.join(session.get_providers())}")
    return session
