"""Format versions: which version this build writes, and the one-step migrations that bring old files forward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nnstudio.core.errors import FormatError, NNStudioError

from .paths import describe

FORMAT = "nnstudio.design"
VERSION = 3

Migration = Callable[[dict[str, Any]], dict[str, Any]]
# MIGRATIONS[n] turns a version-n file (parsed JSON) into a version-(n+1) one. When the format changes:
# bump VERSION, add MIGRATIONS[VERSION - 1], add a golden file under tests/io/golden/v<VERSION>/ and keep
# every older golden file: they are the promise that old designs keep opening.


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added `training.recipe` and `training.until_paused`; a version-1 file trained the PyTorch way
    for its set number of epochs, and keeps doing so."""
    training = data.get("training")
    if isinstance(training, dict):
        training.setdefault("recipe", "pytorch")
        training.setdefault("until_paused", False)
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 added the view settings `view.show_test_data` and `view.discretize` (Playground's "Show test
    data" and "Discretize output"); a version-2 file showed neither."""
    view = data.get("view")
    if isinstance(view, dict):
        view.setdefault("show_test_data", False)
        view.setdefault("discretize", False)
    return data


MIGRATIONS: dict[int, Migration] = {1: _v1_to_v2, 2: _v2_to_v3}


def check_header(data: Any) -> int:
    """Check `format` and `version` of a parsed file; return the version it was written in."""
    if not isinstance(data, dict):
        raise FormatError(f"a design file holds one JSON object with \"format\": \"{FORMAT}\", "
                          f"not {describe(data)}")
    if "format" not in data:
        raise FormatError(f"this is not an NN Studio design: there is no \"format\": \"{FORMAT}\"")
    if data["format"] != FORMAT:
        raise FormatError(f"must be \"{FORMAT}\", not {describe(data['format'])}: this is not an NN Studio design",
                          path="format")
    if "version" not in data:
        raise FormatError("is missing: the file must say which format version it was written in",
                          path="version")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise FormatError(f"must be a whole number, not {describe(version)}", path="version")
    if version < 1:
        raise FormatError(f"must be 1 or more, not {version}", path="version")
    if version > VERSION:
        raise FormatError(f"this file was written by a newer NN Studio (format version {version}); "
                          f"this version reads up to version {VERSION}", path="version")
    return version


def migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Bring a parsed file from `version` to VERSION one step at a time, through every MIGRATIONS entry."""
    while version < VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise FormatError(f"this NN Studio cannot upgrade format version {version} to {version + 1}",
                              path="version")
        try:
            data = step(data)
        except NNStudioError:
            raise
        except Exception as exc:  # an old file's shape may surprise a migration: the user gets words
            raise FormatError(f"could not upgrade the file from format version {version} to {version + 1}: "
                              f"{type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise FormatError(f"upgrading from format version {version} did not give a design")
        version += 1
        data["version"] = version
    return data
