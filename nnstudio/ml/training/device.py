"""Which device a fit runs on: 'auto', cpu, cuda, cuda:N or mps, checked against this computer."""

from __future__ import annotations

import torch

from nnstudio.core.errors import TrainingError


def resolve_device(spec: str | torch.device | None) -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; an unavailable device is a TrainingError."""
    text = str(spec or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise TrainingError(f"unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TrainingError("training on CUDA was requested, but this computer has no usable CUDA GPU "
                                "(or this PyTorch was built without CUDA): choose auto or cpu")
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise TrainingError(f"there is no GPU cuda:{index}; this computer has "
                                f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise TrainingError("training on MPS was requested, but Apple's Metal backend is not available")
        return device
    if device.type != "cpu":
        raise TrainingError(f"unsupported device {spec!r}: use auto, cpu, cuda, cuda:N or mps")
    return device
