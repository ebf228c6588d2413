"""What a design's Output applies and which loss trains it, in words, for each training recipe.

One place for every label that names them: the canvas block, the inspector, `nnstudio validate`, the training
panel, the explain texts, the Output dock, the report and the CLI's train table. Under the PyTorch recipe a
binary Output is a logit trained with binary cross-entropy (sigmoid gives the probability), a multi-class
Output logits with cross-entropy (softmax), a regression Output linear values with MSE / MAE / Huber. Under
TensorFlow Playground's recipe (nnstudio/ml/playground_recipe.py) a binary Output is a tanh neuron trained with
½(out − t)² on targets t = ±1, a regression Output linear with ½(out − y)².
"""

from __future__ import annotations

# The Output's activation and loss under the PyTorch recipe (nnstudio.core.catalogue re-exports both).
OUTPUT_ACTIVATION = {"regression": "identity", "binary": "sigmoid", "multiclass": "softmax"}
TASK_LOSS = {"regression": "mean squared error (or MAE / Huber)", "binary": "binary cross-entropy",
             "multiclass": "cross-entropy"}
# The Output's activation under Playground's recipe (a multi-class Output cannot train under it).
PLAYGROUND_OUTPUT_ACTIVATION = {"binary": "tanh", "regression": "identity"}
REGRESSION_LOSS_TITLES = {"mse": "mean squared error", "mae": "mean absolute error", "huber": "Huber loss"}
PLAYGROUND_LOSS_TITLES = {"binary": "½(out − t)² on t = ±1", "regression": "½(out − y)²"}


def output_activation(task: str, recipe: str = "pytorch") -> str | None:
    """The activation the Output applies for `task` under `recipe` ('sigmoid', 'tanh', 'identity', ...)."""
    if recipe == "playground" and task in PLAYGROUND_OUTPUT_ACTIVATION:
        return PLAYGROUND_OUTPUT_ACTIVATION[task]
    return OUTPUT_ACTIVATION.get(task)


def loss_title(task: str, recipe: str = "pytorch", regression_loss: str = "mse") -> str:
    """The loss a `task` Output trains with: 'binary cross-entropy', '½(out − t)² on t = ±1', ..."""
    if recipe == "playground" and task in PLAYGROUND_LOSS_TITLES:
        return PLAYGROUND_LOSS_TITLES[task]
    if task == "regression":
        return REGRESSION_LOSS_TITLES.get(regression_loss, regression_loss)
    return TASK_LOSS.get(task, task)


def output_and_loss(task: str, recipe: str = "pytorch", regression_loss: str = "mse") -> str:
    """One line for a label: 'tanh output, ½(out − t)² on t = ±1 (Playground recipe)'. (A multi-class Output
    under the Playground recipe, which refuses to train, is described without naming a recipe.)"""
    activation = output_activation(task, recipe)
    kind = {"sigmoid": "logit (sigmoid)", "softmax": "logits (softmax)", "identity": "linear"}.get(
        activation or "", activation or task)
    playground = recipe == "playground" and task in PLAYGROUND_LOSS_TITLES
    where = " (Playground recipe)" if playground else " (PyTorch recipe)" if recipe != "playground" else ""
    return f"{kind} output, {loss_title(task, recipe, regression_loss)}{where}"


def design_output_and_loss(design: object) -> str | None:
    """`output_and_loss` for a design's first Output layer and training settings; None without an Output."""
    layers = getattr(design, "layers", {})
    for layer in layers.values():
        if layer.type == "Output":
            training = design.training  # type: ignore[attr-defined]
            return output_and_loss(str(layer.params.get("task", "")), training.recipe, training.regression_loss)
    return None
