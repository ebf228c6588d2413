"""Where NN Studio finds its bundled resources and keeps its settings, recovery files and preferences."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

import nnstudio

DESIGN_SUFFIX = ".nnstudio"
DEFAULT_EXAMPLE = "playground-circle"

# Overrides for tests, portable installs and the crash-recovery test's child process.
DATA_DIR_ENV = "NNSTUDIO_DATA_DIR"
CONFIG_DIR_ENV = "NNSTUDIO_CONFIG_DIR"


def resources_dir() -> Path:
    return Path(nnstudio.__file__).resolve().parent.parent / "resources"


def examples_dir() -> Path:
    return resources_dir() / "examples"


def example_paths() -> list[Path]:
    """The bundled example designs, sorted by name; empty when none are installed."""
    folder = examples_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == DESIGN_SUFFIX and p.is_file())


def example_title(path: Path) -> str:
    """'digits-cnn.nnstudio' → 'Digits CNN' style menu text."""
    words = path.stem.replace("_", "-").split("-")
    known = {"cnn": "CNN", "mlp": "MLP", "rnn": "RNN"}
    return " ".join(known.get(w.lower(), w.capitalize() if i == 0 else w) for i, w in enumerate(words))


def default_design_path() -> Path:
    return examples_dir() / f"{DEFAULT_EXAMPLE}{DESIGN_SUFFIX}"


def app_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location) if location else Path.home() / ".nnstudio"


def recovery_dir() -> Path:
    return app_data_dir() / "recovery"


def app_settings() -> QSettings:
    """The user's settings: window geometry, recent files and preferences."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return QSettings(str(Path(override) / "nnstudio.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "NN Studio", "NN Studio")
