"""Every place that names the Output's activation or the loss tells the truth under each training recipe:
the words come from one table (nnstudio.core.recipe_text), checked here against what the trainer computes."""

from __future__ import annotations

import html

import pytest
import torch
from training_helpers import one_cpu_thread, playground  # noqa: F401 - the fixture is autouse

from nnstudio.cli import main
from nnstudio.core.catalogue import layer_activation
from nnstudio.core.recipe_text import design_output_and_loss, loss_title, output_activation
from nnstudio.io import save_design
from nnstudio.ml.explain import loss_name
from nnstudio.ml.trainer import Trainer

ACTIVATIONS = {"identity": lambda z: z, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def _losses_by_hand(task: str, recipe: str, z: torch.Tensor, y: torch.Tensor) -> float:
    """The loss the words name, computed from the words' own formula (not from NN Studio's loss code)."""
    out = ACTIVATIONS[output_activation(task, recipe)](z)
    title = loss_title(task, recipe)
    if title == "½(out − t)² on t = ±1":
        return float((0.5 * (out - (2 * y - 1)) ** 2).mean())
    if title == "½(out − y)²":
        return float((0.5 * (out - y) ** 2).mean())
    if title == "binary cross-entropy":
        return float(-(y * torch.log(out) + (1 - y) * torch.log(1 - out)).mean())
    assert title == "mean squared error", title
    return float(((out - y) ** 2).mean())


@pytest.mark.parametrize("recipe", ["pytorch", "playground"])
@pytest.mark.parametrize("dataset", ["circle", "reg-plane"])
def test_the_named_activation_and_loss_are_what_the_trainer_computes(recipe: str, dataset: str) -> None:
    task = "regression" if dataset.startswith("reg-") else "binary"
    trainer = Trainer(playground(dataset=dataset, task=task, recipe=recipe, device="cpu"), publish_hz=0)
    x, y = trainer.x_train[:64].double(), trainer.y_train[:64].double()
    with torch.no_grad():
        z = trainer.model.double()(x)
        ours = float(trainer.loss_fn(z, y))
    assert ours == pytest.approx(_losses_by_hand(task, recipe, z, y), rel=1e-9)
    assert layer_activation("Output", {"task": task}, recipe) == output_activation(task, recipe)


def test_the_words_for_each_recipe() -> None:
    assert output_activation("binary") == "sigmoid" and output_activation("binary", "playground") == "tanh"
    assert output_activation("regression", "playground") == "identity"
    assert output_activation("multiclass", "playground") == "softmax"  # refused to train; not called tanh
    assert loss_title("binary", "playground") == "½(out − t)² on t = ±1"
    assert loss_title("regression", "pytorch", "huber") == "Huber loss"
    assert layer_activation("Output", {"task": "binary"}) == "sigmoid"  # the default stays PyTorch's
    assert loss_name("regression", playground=True).endswith("½(out − y)²")
    assert loss_name("binary", playground=True).startswith("Playground's squared error")


def test_validate_names_the_recipes_output_and_loss(tmp_path, capsys) -> None:
    for recipe, activation, loss in (("playground", "Output (tanh)", "½(out − t)² on t = ±1 (Playground recipe)"),
                                     ("pytorch", "Output (sigmoid)", "binary cross-entropy (PyTorch recipe)")):
        path = tmp_path / f"{recipe}.nnstudio"
        save_design(playground(recipe=recipe), path)
        assert main(["validate", str(path)]) == 0
        out = capsys.readouterr().out
        assert activation in out and f"trains as: {'tanh' if recipe == 'playground' else 'logit (sigmoid)'} " \
            f"output, {loss}" in out, out
        assert ("sigmoid" in out) == (recipe == "pytorch") and ("cross-entropy" in out) == (recipe == "pytorch")


def test_the_train_table_and_the_report_name_the_loss_they_show(tmp_path, capsys) -> None:
    design = playground(dataset="reg-plane", task="regression", recipe="playground", epochs=1, device="cpu")
    design.set_dataset(samples=100)
    path = tmp_path / "reg.nnstudio"
    save_design(design, path)
    assert main(["train", str(path), "--out", str(tmp_path / "c.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "output and loss  linear output, ½(out − y)² (Playground recipe)" in out
    assert main(["report", str(tmp_path / "c.safetensors"), "-o", str(tmp_path / "r.html"), "--no-diagram"]) == 0
    text = html.unescape((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "Output and loss: linear output, ½(out − y)² (Playground recipe)" in text
    assert "Loss: linear output, ½(out − y)²" in text and "mean squared error" not in text
    assert design_output_and_loss(design) == "linear output, ½(out − y)² (Playground recipe)"
