"""Bounded history: curves and logs halve their resolution when full and always show the newest point."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.gui.training.history import (
    DecimatingList,
    DecimatingSeries,
    HistogramSnapshot,
    TrainingHistory,
    distribution_image,
)


def test_series_keeps_bounded_memory_and_the_newest_point():
    series = DecimatingSeries(capacity=16)
    for i in range(10_000):
        series.append(float(i), float(i) * 2)
        x, y = series.data()
        assert len(x) <= 17
        assert x[-1] == i and y[-1] == 2 * i  # never lags behind
    assert np.all(np.diff(x) > 0)
    assert series.seen == 10_000 and series.stride >= 512
    assert x[0] == 0.0  # the start of the run stays


def test_series_points_are_evenly_spaced_after_halving():
    series = DecimatingSeries(capacity=8)
    for i in range(64):
        series.append(float(i), 0.0)
    x, _y = series.data()
    stored = x[:-1] if x[-1] % series.stride else x  # the newest point rides along unless it was stored
    assert np.ptp(np.diff(stored)) == 0 and stored[0] == 0.0


def test_list_halving():
    log: DecimatingList[int] = DecimatingList(capacity=4)
    for i in range(100):
        log.append(i)
    items = log.items()
    assert len(items) <= 5 and items[-1] == 99 and items[0] == 0


def test_bad_capacity_is_refused():
    with pytest.raises(ValueError):
        DecimatingSeries(capacity=5)


def test_history_rows_and_curves():
    history = TrainingHistory(curve_capacity=8)
    for i in range(50):
        history.add_row({"epoch_position": i / 10, "epoch": 1 + i // 10, "train_loss": 1.0 / (i + 1),
                         "val_loss": None if i < 5 else 0.5, "train_accuracy": 0.5, "learning_rate": 0.03},
                        {"dense1": 0.1 * i})
    assert len(history.rows) == 50
    assert len(history.loss_train) <= 9 and len(history.loss_val) <= 9
    assert history.accuracy_train.last()[1] == 50.0  # percent
    assert "dense1" in history.grad_norms
    history.clear()
    assert history.empty and not history.grad_norms


def test_distribution_image_rebins_onto_a_common_range():
    snapshots = [HistogramSnapshot(float(i), -1.0 - i, 1.0 + i, np.ones(30)) for i in range(5)]
    image, (x0, x1, y0, y1) = distribution_image(snapshots, columns=20, rows=40)
    assert image.shape == (40, 20)
    assert (x0, x1) == (0.0, 4.0) and y1 == 5.0 and y0 == -5.0
    assert image.max() == pytest.approx(1.0)
    # The first snapshot spans only the middle fifth of the common range.
    first = image[:, 0]
    assert first[:10].sum() == 0 and first[15:25].sum() > 0
    assert distribution_image([]) is None
