"""What a CNN's layers see: feature maps of one sample, kernels as images, gradient saliency and Grad-CAM.

All functions take a built `DesignModule` and one sample (a `(C, H, W)` array, prepared like the training
data), run on the CPU copy they are given, and return numpy arrays: the window, the report and the tests
draw the same numbers. Nothing here changes the model's weights or its train/eval mode for longer than
the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .builder import DesignModule

MAP_LAYER_TYPES = ("Conv2d", "MaxPool2d", "AvgPool2d")


@dataclass(frozen=True)
class KernelImages:
    """A convolution's kernels drawn as pictures: `images` is `(filters, kh, kw, 3)` in 0..1, grey = 0.

    For a first layer on RGB input each kernel is one colour picture (what colour and edge it responds
    to); otherwise `channel` picks one input channel of every kernel, drawn in grey.
    """

    layer: str
    images: np.ndarray
    in_channels: int
    channel: int | None  # None: the kernel's own colours (RGB or single-channel input)
    scale: float  # the max |weight| that maps to full brightness
    learned: bool = False  # True: the change since the initial weights, not the weights
    per_kernel: bool = False  # True: each kernel scaled to its own largest |value| (`scale` is the largest)


def map_layers(model: DesignModule) -> list[str]:
    """Names of the convolution and pooling layers, in execution order."""
    return [s.name for s in model.steps if s.type in MAP_LAYER_TYPES and len(s.shape) == 3]


def conv_layers(model: DesignModule) -> list[str]:
    return [s.name for s in model.steps if s.type == "Conv2d"]


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    was = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was)


def _batch(model: DesignModule, sample: np.ndarray | torch.Tensor) -> torch.Tensor:
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = torch.as_tensor(np.asarray(sample, dtype=np.float32) if not isinstance(sample, torch.Tensor) else sample)
    return x.to(device, torch.float32).reshape(1, *model.input_shape)


@torch.no_grad()
def feature_maps(model: DesignModule, sample: np.ndarray | torch.Tensor) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every conv / pooling layer's output for one sample, `(channels, h, w)` each, and the output scores
    passed through the task's activation (class probabilities for classifiers)."""
    with _evaluating(model):
        out, acts = model.forward_with_activations(_batch(model, sample))
        maps = {name: acts[name][0].float().cpu().numpy() for name in map_layers(model)}
        if model.task == "multiclass":
            out = torch.softmax(out, dim=1)
        elif model.task == "binary":
            out = torch.sigmoid(out)
    return maps, out[0].float().cpu().numpy()


def initial_weights(design: Any) -> dict[str, torch.Tensor]:
    """The weights a fresh `Trainer` starts this design from (its seed and initialisation scheme).

    Mirrors the trainer's set-up (tests/ml/test_cnn_views.py checks that they agree), so that the views can
    show what training *changed*: a short run leaves first-layer kernels close to their random start.
    """
    from .builder import build_model, initialize

    seed = design.training.seed
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(design)
        initialize(model, design.training.init, generator)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def kernel_images(model: DesignModule, layer: str, channel: int | None = None,
                  initial: dict[str, Any] | None = None, per_kernel: bool = False) -> KernelImages:
    """The kernels of Conv2d `layer` as images, symmetric around grey (0.5) with one scale for the layer;
    with `initial` weights, the change since them (what training learned) instead. `per_kernel` scales each
    kernel to its own largest |value| (then `scale` is the largest of those)."""
    conv = getattr(model, layer)
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"{layer} is not a Conv2d layer")
    w = conv.weight.detach().float().cpu().numpy()  # (F, C, kh, kw)
    if initial is not None:
        w = w - np.asarray(initial[f"{layer}.weight"], dtype=np.float32)
    scale = float(np.abs(w).max()) or 1.0
    in_channels = w.shape[1]
    if channel is None and in_channels == 3:
        rgb = w.transpose(0, 2, 3, 1)
    else:
        c = 0 if channel is None else int(channel)
        rgb = np.repeat(w[:, c][..., None], 3, axis=3)
        channel = None if in_channels == 1 else c
    divisor = scale
    if per_kernel:
        divisor = np.abs(rgb).reshape(len(rgb), -1).max(axis=1)[:, None, None, None]
        divisor = np.where(divisor > 0, divisor, 1.0)
    return KernelImages(layer, np.clip(0.5 + 0.5 * rgb / divisor, 0.0, 1.0), in_channels, channel, scale,
                        learned=initial is not None, per_kernel=per_kernel)


# Names of the eight sign patterns of a colour's (r, g, b) deviation from grey, for the kernel labels.
_COLOUR_SIGNS = {(1, 0, 0): "red", (0, 1, 0): "green", (0, 0, 1): "blue", (1, 1, 0): "yellow",
                 (1, 0, 1): "magenta", (0, 1, 1): "cyan"}
_OPPOSITE = {"red": "cyan", "green": "magenta", "blue": "yellow", "yellow": "blue", "magenta": "green",
             "cyan": "red"}


def _colour_name(rgb: np.ndarray) -> str:
    """The nearest of six hues for an (r, g, b) direction (its sign pattern around its own mean)."""
    centred = rgb - rgb.mean()
    key = tuple(int(v > 0) for v in centred)
    return _COLOUR_SIGNS.get(key, "grey")


def describe_kernel(kernel: np.ndarray) -> str:
    """A short label for one first-layer kernel `(3, kh, kw)`, from its weights: what it mostly responds to.

    The kernel splits into a brightness level (the mean over everything: a response to light or dark areas),
    a colour part (each channel's mean minus the mean over channels: a response to hue anywhere), a
    brightness-edge part (the least-squares plane through the channel-mean kernel: light on one side, dark
    on the other), a spot part (the least-squares centred paraboloid r² through it: a light or dark centre
    in the opposite surround) and the rest. The label names the largest of the first four — `"light"` /
    `"dark"`, `"red+ cyan−"`, `"edge —"` / `"edge |"` / `"edge /"` / `"edge \\"` (the edge's direction),
    `"light spot"` / `"dark spot"` — or `"texture"` when the rest holds most of the energy (a kernel still
    close to its random start).
    """
    w = np.asarray(kernel, dtype=np.float64)
    c, kh, kw = w.shape
    total = float((w ** 2).sum()) or 1.0
    means = w.mean(axis=(1, 2))
    colour = means - means.mean()
    colour_energy = float((colour ** 2).sum()) * kh * kw
    grey = w.mean(axis=0)
    ys, xs = np.mgrid[0:kh, 0:kw].astype(np.float64)
    ys, xs = ys - ys.mean(), xs - xs.mean()
    gx = float((grey * xs).sum() / (xs ** 2).sum())
    gy = float((grey * ys).sum() / (ys ** 2).sum())
    edge_energy = c * float(((gx * xs + gy * ys) ** 2).sum())
    level_energy = c * kh * kw * float(grey.mean()) ** 2
    radial = xs ** 2 + ys ** 2
    radial -= radial.mean()  # orthogonal to the level; by symmetry also to the edge plane
    spot = float((grey * radial).sum() / (radial ** 2).sum())
    spot_energy = c * spot ** 2 * float((radial ** 2).sum())
    if max(colour_energy, edge_energy, level_energy, spot_energy) < 0.25 * total:
        return "texture"
    if spot_energy > max(colour_energy, edge_energy, level_energy):
        return "light spot" if spot < 0 else "dark spot"  # a light centre: the values fall with r²
    if level_energy > max(colour_energy, edge_energy):
        return "light" if grey.mean() > 0 else "dark"
    if colour_energy >= edge_energy:
        name = _colour_name(means)
        return f"{name}+ {_OPPOSITE.get(name, 'grey')}−" if name != "grey" else "grey"
    # The edge runs across the gradient; image y grows downwards.
    angle = (np.degrees(np.arctan2(-gy, gx)) + 90.0) % 180.0
    return "edge " + ("—", "/", "|", "\\")[int(((angle + 22.5) % 180.0) // 45.0)]


def low_frequency_share(weights: Any) -> float:
    """The share of a convolution's kernel energy `(F, C, kh, kw)` in its lowest spatial frequencies (the
    constant and the first harmonic along each axis of the kernels' 2-D DFT): 1.0 for smooth blobs and
    ramps, about 9 / (kh·kw) for white noise. How readable kernels are as colour and edge detectors."""
    w = np.asarray(weights, dtype=np.float64)
    kh, kw = w.shape[-2:]
    power = np.abs(np.fft.fft2(w, axes=(-2, -1))) ** 2
    fy = np.minimum(np.arange(kh), kh - np.arange(kh))
    fx = np.minimum(np.arange(kw), kw - np.arange(kw))
    low = (fy[:, None] <= 1) & (fx[None, :] <= 1)
    total = float(power.sum())
    return float(power[..., low].sum() / total) if total > 0 else 0.0


def kernel_labels(model: DesignModule, layer: str) -> list[str]:
    """`describe_kernel` for each kernel of a first layer on RGB input (empty for other layers)."""
    conv = getattr(model, layer)
    if not isinstance(conv, nn.Conv2d) or conv.in_channels != 3:
        return []
    return [describe_kernel(k) for k in conv.weight.detach().float().cpu().numpy()]


def saliency(model: DesignModule, sample: np.ndarray | torch.Tensor, layer: str, channel: int) -> np.ndarray:
    """|d mean(map) / d input|, max over colour channels, scaled to 0..1: which pixels drive that feature map."""
    with _evaluating(model):
        x = _batch(model, sample).requires_grad_(True)
        _, acts = model.forward_with_activations(x)
        acts[layer][0, channel].mean().backward()
    grad = x.grad[0].abs().amax(dim=0).cpu().numpy()
    model.zero_grad(set_to_none=True)
    top = float(grad.max())
    return grad / top if top > 0 else grad


def grad_cam(model: DesignModule, sample: np.ndarray | torch.Tensor, layer: str,
             target: int | None = None) -> tuple[np.ndarray, int]:
    """Grad-CAM (Selvaraju et al. 2017) of `layer` for class `target` (default: the predicted one), upsampled
    to the input size and scaled to 0..1; returns the map and the class it explains."""
    with _evaluating(model):
        x = _batch(model, sample)
        out, acts = model.forward_with_activations(x)
        a = acts[layer]
        if target is None:
            target = int(out[0].argmax()) if out.shape[1] > 1 else int(out[0, 0] > 0)
        score = out[0, target] if out.shape[1] > 1 else (out[0, 0] if target == 1 else -out[0, 0])
        (grads,) = torch.autograd.grad(score, a)
    weights = grads[0].mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * a[0]).sum(dim=0)).detach()
    cam = nn.functional.interpolate(cam[None, None], size=tuple(model.input_shape[1:]), mode="bilinear",
                                    align_corners=False)[0, 0].cpu().numpy()
    top = float(cam.max())
    return (cam / top if top > 0 else cam), target


def sample_image(sample: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> np.ndarray:
    """A `(C, H, W)` sample as an `(H, W, 3)` picture in 0..1 (undoing standardisation; grey for 1 channel)."""
    x = np.asarray(sample, dtype=np.float32)
    if mean is not None and std is not None:
        x = x * std + mean
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 1:
        x = (x - low) / (high - low) if high > low else np.zeros_like(x)
    if x.shape[0] == 3:
        return x.transpose(1, 2, 0)
    return np.repeat(x[0][..., None], 3, axis=2)
