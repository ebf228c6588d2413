"""Where a design's run store lives: `nnstudio-runs/runs.sqlite` beside the design, or the user's data folder.

One store per design folder keeps runs next to the work they belong to (copy the folder, the runs come
along). Bundled examples, and folders NN Studio cannot write to, use `<data folder>/runs/<folder hash>/`
instead, so trying an example never writes into the installation. The data folder is `$NNSTUDIO_DATA_DIR`
when set (tests, portable installs), else the caller's choice (the window passes Qt's AppDataLocation),
else the same folder found without Qt (`platform_data_dir`), so the command line and the window agree.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

STORE_FOLDER = "nnstudio-runs"
STORE_FILE = "runs.sqlite"
CHECKPOINT_FOLDER = "checkpoints"
DATA_DIR_ENV = "NNSTUDIO_DATA_DIR"


def data_dir(default: str | os.PathLike[str] | None = None) -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(default) if default else platform_data_dir()


def platform_data_dir() -> Path:
    """The folder Qt's AppDataLocation names for NN Studio, found without Qt (so the CLI and the window agree)."""
    import sys

    app = Path("NN Studio") / "NN Studio"
    if sys.platform == "win32":
        base = os.environ.get("APPDATA")
        return Path(base) / app if base else Path.home() / ".nnstudio"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / app
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / app


def _bundled_folder() -> Path:
    return (Path(__file__).resolve().parents[2] / "resources").resolve()  # nnstudio/runs/location.py -> repo root


def store_path_for(design_path: str | os.PathLike[str] | None,
                   default_data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The store file for a design (None: an unsaved design, whose runs go to the data folder)."""
    if design_path is not None:
        folder = Path(design_path).resolve().parent
        if not _is_within(folder, _bundled_folder()) and _writable(folder):
            return folder / STORE_FOLDER / STORE_FILE
        key = hashlib.sha256(str(folder).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return data_dir(default_data_dir) / "runs" / key / STORE_FILE
    return data_dir(default_data_dir) / "runs" / "unsaved" / STORE_FILE


def checkpoint_folder(store_path: str | os.PathLike[str]) -> Path:
    return Path(store_path).parent / CHECKPOINT_FOLDER


def design_key(design_path: str | os.PathLike[str] | None) -> str:
    """How runs name their design inside a store: the file name (the store is per folder)."""
    return Path(design_path).name if design_path is not None else ""


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _writable(folder: Path) -> bool:
    store = folder / STORE_FOLDER
    if store.is_dir():
        return os.access(store, os.W_OK | os.X_OK)
    return os.access(folder, os.W_OK | os.X_OK)
