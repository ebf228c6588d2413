"""Data as a source gives it (before shuffling and splitting), and the rule that turns targets into classes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.text import excerpt

TASKS = ("binary", "multiclass", "regression")
# A numeric target is read as class labels when it holds whole numbers only, with at most this many values.
MAX_NUMERIC_CLASSES = 20
# More distinct text labels than this is almost always the wrong target column (names, ids, ...).
MAX_CLASSES = 1000


@dataclass(frozen=True, eq=False)
class SourceData:
    """Features and targets as loaded, in the source's order."""

    name: str
    x: np.ndarray  # float32, (n, *input_shape)
    y: np.ndarray  # int64 (n,) class indices, or float32 (n, k) regression targets
    task: str
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    points: np.ndarray | None = None  # raw 2-D points (Playground sets only)


def task_for_classes(count: int) -> str:
    return "binary" if count == 2 else "multiclass"


def encode_targets(
    values: np.ndarray | Sequence[str],
    *,
    file: str | None = None,
    column: str | None = None,
    row_of: Callable[[int], int] | None = None,
) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """Decide classification or regression and encode: `(y, task, class_names)`.

    Text labels are classes in sorted order. Numbers are classes when all are whole and there are at most
    `MAX_NUMERIC_CLASSES` distinct values; otherwise they are regression targets of shape `(n, 1)`.
    `row_of` maps a sample index to the row number an error should name.
    """
    where = f"the target column '{excerpt(column)}'" if column else "the target"
    row_of = row_of or (lambda i: i + 1)
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        numbers = values.astype(np.float64, copy=False).reshape(-1)
        finite = np.isfinite(numbers)
        if not finite.all():
            first = int(np.argmin(finite))
            raise DataError(f"the target is {describe_number(numbers[first])}; every target must be a finite "
                            "number: fix or remove this row", file=file, row=row_of(first), column=column)
        distinct = np.unique(numbers)
        if len(distinct) <= MAX_NUMERIC_CLASSES and np.array_equal(distinct, np.round(distinct)):
            names = tuple(str(int(v)) for v in distinct)
            y = np.searchsorted(distinct, numbers).astype(np.int64)
            return y, _classification_task(names, where, file, column), names
        return numbers.astype(np.float32).reshape(-1, 1), "regression", ()
    labels = [str(v) for v in values]
    distinct_labels = sorted(set(labels))
    if len(distinct_labels) > MAX_CLASSES:
        raise DataError(f"{where} holds {len(distinct_labels)} different text values; a class label column has "
                        f"at most {MAX_CLASSES}. Is this the right target column?", file=file, column=column)
    index = {label: i for i, label in enumerate(distinct_labels)}
    y = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    names = tuple(distinct_labels)
    return y, _classification_task(names, where, file, column), names


def _classification_task(names: tuple[str, ...], where: str, file: str | None, column: str | None) -> str:
    if len(names) < 2:
        only = names[0] if names else ""
        raise DataError(f"{where} has only one class ('{excerpt(only)}'); a classifier needs examples of at least "
                        "two classes", file=file, column=column)
    return task_for_classes(len(names))


def describe_number(value: float) -> str:
    if np.isnan(value):
        return "NaN (not a number)"
    return "infinite (or too large for a number)"
