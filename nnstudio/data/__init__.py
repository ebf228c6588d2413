"""Datasets for NN Studio: a `DatasetSpec` in, numpy arrays ready for training out (never torch or Qt)."""

from .builtin import load_builtin
from .check import check_fit, dataset_diagnostics
from .dataset import Dataset, clear_cache, fit_standardization, load_dataset, train_count
from .playground import (
    GENERATORS,
    PlaygroundGrid,
    generate_playground,
    make_circle,
    make_gauss,
    make_reg_gauss,
    make_reg_plane,
    make_spiral,
    make_xor,
    playground_features,
    playground_grid,
)
from .source import SourceData, encode_targets
from .tabular import MAX_FILE_BYTES, load_csv, load_npz, resolve_path

__all__ = [
    "GENERATORS",
    "MAX_FILE_BYTES",
    "Dataset",
    "PlaygroundGrid",
    "SourceData",
    "check_fit",
    "dataset_diagnostics",
    "clear_cache",
    "encode_targets",
    "fit_standardization",
    "generate_playground",
    "load_builtin",
    "load_csv",
    "load_dataset",
    "load_npz",
    "make_circle",
    "make_gauss",
    "make_reg_gauss",
    "make_reg_plane",
    "make_spiral",
    "make_xor",
    "playground_features",
    "playground_grid",
    "resolve_path",
    "train_count",
]
