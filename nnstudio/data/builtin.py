"""The small real datasets bundled with scikit-learn: iris, wine, breast cancer, diabetes and digits."""

from __future__ import annotations

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.settings import BUILTIN_DATASETS, BUILTIN_REGRESSION

from .source import SourceData, task_for_classes

DIGITS_IMAGE_SHAPE = (1, 8, 8)


def _bunch(name: str):
    # Imported here: scikit-learn is slow to import and the app should start without it.
    # Only loaders for files shipped inside scikit-learn are used; nothing is downloaded.
    from sklearn import datasets

    loaders = {
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
        "diabetes": datasets.load_diabetes,
        "digits": datasets.load_digits,
    }
    try:
        return loaders[name]()
    except (OSError, ValueError) as error:
        raise DataError(f"the bundled '{name}' dataset could not be read ({error}); "
                        "reinstalling scikit-learn should repair it") from error


def load_builtin(name: str, as_images: bool = False) -> SourceData:
    """One bundled dataset; digits pixels are scaled to 0..1 and come as 1x8x8 images when `as_images`."""
    if name not in BUILTIN_DATASETS:
        raise DataError(f"'{name}' is not a built-in dataset; choose one of {', '.join(BUILTIN_DATASETS)}")
    bunch = _bunch(name)
    x = np.asarray(bunch.data, dtype=np.float64)
    feature_names = tuple(str(f) for f in bunch.feature_names)
    input_shape: tuple[int, ...] = (x.shape[1],)
    if name == "digits":
        x = x / 16.0
        if as_images:
            input_shape = DIGITS_IMAGE_SHAPE
            feature_names = ()
            x = x.reshape(len(x), *DIGITS_IMAGE_SHAPE)
    if name in BUILTIN_REGRESSION:
        y = np.asarray(bunch.target, dtype=np.float32).reshape(-1, 1)
        task, class_names = "regression", ()
    else:
        y = np.asarray(bunch.target, dtype=np.int64)
        class_names = tuple(str(c) for c in bunch.target_names)
        task = task_for_classes(len(class_names))
    return SourceData(name=name, x=x.astype(np.float32), y=y, task=task, class_names=class_names,
                      feature_names=feature_names, input_shape=input_shape)
