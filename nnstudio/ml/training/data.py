"""The training data of a fit: checked against the model, resident on the device, watched by the collector."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nnstudio.core.errors import DataError

from ..builder import DesignModule
from ..optim import prepare_targets
from ..playground_recipe import playground_probability
from ..telemetry import PROBE_SAMPLES, TelemetryCollector
from ..view_frames import ViewFrameMaker

# A small training set is gathered in shuffled order once per epoch, and batches are zero-copy slices of it:
# that saves two small ops per step, which tiny models feel (about 4 % for Playground's MLP on a CPU). A
# large set is gathered batch by batch: each batch then stays in cache for the forward pass (8 % faster for
# a 25 MB set of 784-feature vectors) and the device holds no second, shuffled copy.
EPOCH_GATHER_BYTES = 4 << 20


def dataset_grid(dataset: Any) -> tuple[np.ndarray, int, tuple[float, float, float, float]] | None:
    """The decision-boundary grid of a 2-D Playground dataset: (features, resolution, extent), if any."""
    grid = getattr(dataset, "grid", None)
    if grid is None or getattr(grid, "features", None) is None:
        return None
    xs, ys = np.asarray(grid.xs), np.asarray(grid.ys)
    return np.asarray(grid.features), len(xs), (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))


def check_dataset(dataset: Any, model: DesignModule) -> None:
    from nnstudio.data import check_fit

    output = model.steps[-1]
    problems = check_fit(dataset, tuple(model.input_shape), model.task, int(output.shape[0]),
                         input_name=model.input_name, output_name=model.output_name)
    if problems:
        raise DataError("; ".join(problems))
    x, y = np.asarray(dataset.x_train), np.asarray(dataset.y_train)
    if len(x) == 0:
        raise DataError("the training set is empty: use a larger dataset or a larger training percentage")
    if tuple(x.shape[1:]) != tuple(model.input_shape):
        raise DataError(f"the data has samples of shape {tuple(x.shape[1:])} but the Input layer expects "
                        f"{tuple(model.input_shape)}")
    if len(y) != len(x):
        raise DataError(f"the data has {len(x)} samples but {len(y)} targets")


class TrainingData:
    """Trainer part: puts the dataset on the device (and builds the telemetry collector over it)."""

    def _load_data(self) -> None:
        ds, device = self.dataset, self.device

        def features(a: Any) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32).to(device)

        self.x_train = features(ds.x_train)
        self.y_train = prepare_targets(torch.as_tensor(np.asarray(ds.y_train)), self.task).to(device)
        self.x_val = self.y_val = None
        if getattr(ds, "x_val", None) is not None and len(ds.x_val) > 0:
            self.x_val = features(ds.x_val)
            self.y_val = prepare_targets(torch.as_tensor(np.asarray(ds.y_val)), self.task).to(device)
        self.n_train = len(self.x_train)
        self.batch_size = min(self.config.batch_size, self.n_train)
        grid = dataset_grid(ds)
        grid_tensor = None
        grid_resolution, grid_extent = 0, None
        if grid is not None:
            grid_tensor = features(grid[0])
            grid_resolution, grid_extent = grid[1], grid[2]
        self.collector = TelemetryCollector(
            self.model, device, self.loss_sum_fn, x_val=self.x_val, y_val=self.y_val,
            probe=self.x_train[:PROBE_SAMPLES], grid=grid_tensor, grid_resolution=grid_resolution,
            grid_extent=grid_extent, **self._recipe_telemetry())
        self._view_maker = ViewFrameMaker(self.collector)
        self._gather_per_epoch = self.x_train.numel() * 4 <= EPOCH_GATHER_BYTES

    def _recipe_telemetry(self) -> dict[str, Any]:
        """Under the Playground recipe the training loss shown is Playground's: the whole training set's mean
        loss with the current weights, and the boundary is (1 + tanh z) / 2."""
        if not self.config.playground:
            return {}
        extra: dict[str, Any] = {"x_train": self.x_train, "y_train": self.y_train}
        if self.task == "binary":
            extra["probability"] = playground_probability
        return extra
