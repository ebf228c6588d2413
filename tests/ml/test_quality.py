"""Quality bars: the trainer actually learns the reference problems (CPU, fixed seeds).

The settings were chosen to reach the bars with a margin while keeping each test to a few seconds.
"""

from __future__ import annotations

from nnstudio.ml.callbacks import LambdaCallback
from nnstudio.ml.trainer import Trainer

try:
    from training_helpers import PLAYGROUND_ALL_FEATURES, digits_cnn, one_cpu_thread, playground  # noqa: F401 - autouse
except ImportError:  # tests/ml became a package
    from .training_helpers import PLAYGROUND_ALL_FEATURES, digits_cnn, one_cpu_thread, playground  # noqa: F401


def val_accuracies(design, every_epoch: bool = False) -> list[float]:
    """Validation accuracy after each epoch (or only the final one: publishing costs time)."""
    frames = []
    trainer = Trainer(design, device="cpu", publish_hz=0, publish_epoch_end=every_epoch,
                      callbacks=[LambdaCallback(on_publish=frames.append)])
    trainer.fit()
    assert trainer.epoch == design.training.epochs
    return [f.val_accuracy for f in frames if f.reason in ("epoch_end", "end")]


def test_playground_default_learns_the_circle() -> None:
    # Playground's defaults: circle, noise 0, x1 and x2, Dense 4 tanh, Dense 2 tanh, one binary output,
    # plain SGD at 0.03, batch 10, Playground's U(-0.5, 0.5) initialisation. With seed 0 the validation
    # accuracy passes 0.98 after ~170 epochs; 200 epochs (5000 steps) leave a margin.
    design = playground(hidden=(4, 2), activation="tanh", optimizer="sgd", learning_rate=0.03, batch_size=10,
                        init="playground", epochs=200, seed=0)
    design.set_dataset(noise=0.0)
    accuracies = val_accuracies(design)
    assert accuracies[-1] >= 0.98, accuracies


def test_spiral_with_two_hidden_layers_of_eight() -> None:
    # All seven Playground features, two Dense layers of 8 tanh neurons, Adam at 0.01, batch 10:
    # above 0.9 after ~15 epochs; 40 epochs leave a margin.
    design = playground(hidden=(8, 8), features=PLAYGROUND_ALL_FEATURES, dataset="spiral", activation="tanh",
                        optimizer="adam", learning_rate=0.01, batch_size=10, init="playground", epochs=40, seed=0)
    accuracies = val_accuracies(design)
    assert accuracies[-1] >= 0.9, accuracies


def test_digits_cnn_in_ten_epochs() -> None:
    # 1x8x8 digits (standardised, 80 % for training), Conv2d 8 3x3 ReLU, 2x2 max pool, Flatten, Dense 32
    # ReLU, 10-class output; Adam at 0.01, batch 32.
    design = digits_cnn(filters=8, optimizer="adam", learning_rate=0.01, batch_size=32, epochs=10, seed=0)
    accuracies = val_accuracies(design, every_epoch=True)
    assert len(accuracies) == 10
    assert accuracies[-1] >= 0.95, accuracies
