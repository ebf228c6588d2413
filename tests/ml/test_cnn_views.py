"""Feature maps, kernels, saliency and Grad-CAM against direct computations on the same model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_report import shapes_design
from training_helpers import one_cpu_thread  # noqa: F401

from nnstudio.ml import cnn_views
from nnstudio.ml.trainer import Trainer


@pytest.fixture(scope="module")
def trained():
    trainer = Trainer(shapes_design(), publish_hz=0)
    initial = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    return trainer, initial


def test_initial_weights_are_the_trainers(trained) -> None:
    trainer, initial = trained
    again = cnn_views.initial_weights(trainer.design)
    assert initial.keys() == again.keys()
    assert all(torch.equal(initial[k], again[k]) for k in initial)


def test_maps_kernels_and_learned_change(trained) -> None:
    trainer, initial = trained
    model = trainer.model
    sample = trainer.dataset.x_val[3]
    maps, probs = cnn_views.feature_maps(model, sample)
    assert list(maps) == ["conv1", "maxpool1", "conv2", "maxpool2"]
    with torch.no_grad():
        direct = torch.relu(model.conv1(torch.tensor(sample[None])))[0].numpy()
    assert np.allclose(maps["conv1"], direct, atol=1e-6)
    assert probs.shape == (4,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    k = cnn_views.kernel_images(model, "conv1")
    w = model.conv1.weight.detach().numpy()
    assert k.images.shape == (6, 5, 5, 3) and k.scale == pytest.approx(float(np.abs(w).max()))
    assert np.allclose(k.images, 0.5 + 0.5 * w.transpose(0, 2, 3, 1) / k.scale)
    learned = cnn_views.kernel_images(model, "conv1", initial=initial)
    dw = w - initial["conv1.weight"].numpy()
    assert learned.learned and learned.scale == pytest.approx(float(np.abs(dw).max()))
    each = cnn_views.kernel_images(model, "conv1", initial=initial, per_kernel=True)
    top = np.abs(dw).reshape(6, -1).max(1)
    assert np.allclose(each.images, 0.5 + 0.5 * dw.transpose(0, 2, 3, 1) / top[:, None, None, None])
    deeper = cnn_views.kernel_images(model, "conv2", channel=2)
    assert deeper.channel == 2 and np.allclose(deeper.images[..., 0], deeper.images[..., 1])


def test_saliency_and_grad_cam_match_autograd(trained) -> None:
    trainer, _ = trained
    model = trainer.model
    sample = trainer.dataset.x_val[0]
    heat = cnn_views.saliency(model, sample, "conv2", 1)
    x = torch.tensor(sample[None], requires_grad=True)
    a = torch.relu(model.conv2(model.maxpool1(torch.relu(model.conv1(x)))))
    a[0, 1].mean().backward()
    g = x.grad[0].abs().amax(0).numpy()
    assert np.allclose(heat, g / g.max(), atol=1e-6)
    cam, target = cnn_views.grad_cam(model, sample, "conv2")
    assert cam.shape == (32, 32) and 0 <= cam.min() and cam.max() == pytest.approx(1.0)
    with torch.no_grad():
        assert target == int(model(torch.tensor(sample[None])).argmax())
    assert model.training  # the views leave the model's mode as they found it


def test_kernel_labels_name_colour_and_edge_detectors() -> None:
    yy, xx = np.mgrid[0:5, 0:5].astype(float)
    red = np.zeros((3, 5, 5))
    red[0] = 1.0
    assert cnn_views.describe_kernel(red) == "red+ cyan−"
    assert cnn_views.describe_kernel(-red) == "cyan+ red−"
    light_above = np.stack([2.0 - yy] * 3)  # light above, dark below: a horizontal edge
    assert cnn_views.describe_kernel(light_above) == "edge —"
    assert cnn_views.describe_kernel(np.stack([xx - 2.0] * 3)) == "edge |"
    assert cnn_views.describe_kernel(np.stack([xx + yy - 4.0] * 3)) == "edge /"
    assert cnn_views.describe_kernel(np.stack([xx - yy] * 3)) == "edge \\"
    noise = np.random.default_rng(0).normal(size=(3, 5, 5))
    assert cnn_views.describe_kernel(noise) == "texture"
    centre = np.stack([(xx - 2.0) ** 2 + (yy - 2.0) ** 2 - 4.0] * 3)  # dark centre, light surround
    assert cnn_views.describe_kernel(centre) == "dark spot"
    assert cnn_views.describe_kernel(-centre) == "light spot"
    assert cnn_views.describe_kernel(np.full((3, 5, 5), -1.0) + 0.3 * red) == "dark"  # dark red: darkness
    assert cnn_views.describe_kernel(np.full((3, 5, 5), 0.5)) == "light"
    # A red kernel with a little noise is still red; the labels of a model are its kernels' labels.
    assert cnn_views.describe_kernel(red + 0.1 * noise) == "red+ cyan−"


def test_kernel_labels_of_a_model_and_per_kernel_flag(trained) -> None:
    trainer, _ = trained
    model = trainer.model
    labels = cnn_views.kernel_labels(model, "conv1")
    w = model.conv1.weight.detach().numpy()
    assert labels == [cnn_views.describe_kernel(k) for k in w]
    assert cnn_views.kernel_labels(model, "conv2") == []  # deeper kernels see maps, not colours
    assert cnn_views.kernel_images(model, "conv1", per_kernel=True).per_kernel
    assert not cnn_views.kernel_images(model, "conv1").per_kernel


def test_low_frequency_share_of_smooth_and_noisy_kernels() -> None:
    yy, xx = np.mgrid[0:7, 0:7].astype(float)
    ramp = np.cos(2 * np.pi * xx / 7)[None, None]  # exactly the first harmonic
    assert cnn_views.low_frequency_share(ramp) == pytest.approx(1.0)
    checker = ((-1.0) ** (xx + yy))[None, None]  # the highest frequency: no low-frequency energy
    assert cnn_views.low_frequency_share(checker) < 0.05
    noise = np.random.default_rng(1).normal(size=(64, 3, 7, 7))
    assert cnn_views.low_frequency_share(noise) == pytest.approx(9 / 49, abs=0.03)
    # The direct sum over the DFT agrees with numpy's Parseval form for one kernel.
    k = noise[:1, :1]
    power = np.abs(np.fft.fft2(k[0, 0])) ** 2
    low = sum(power[i, j] for i in (0, 1, 6) for j in (0, 1, 6))
    assert cnn_views.low_frequency_share(k) == pytest.approx(low / (k ** 2).sum() / 49)
