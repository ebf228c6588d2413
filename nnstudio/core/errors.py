"""The family of user-facing errors: each message is something a person can act on."""

from __future__ import annotations

from .text import excerpt, shown


class NNStudioError(Exception):
    """Base of every error NN Studio shows to a user instead of a traceback."""


class DesignError(NNStudioError):
    """An edit to a design was refused (unknown layer, bad value, cycle, ...)."""

    def __init__(self, message: str, layer_id: str | None = None) -> None:
        super().__init__(message)
        self.layer_id = layer_id


class UnknownLayerTypeError(DesignError):
    pass


class UnknownLayerError(DesignError):
    pass


class ParameterError(DesignError):
    """A parameter value is of the wrong type, out of range, or not one of the choices."""


class LayerNameError(DesignError):
    """A layer name is invalid or already taken."""


class InvalidConnectionError(DesignError):
    """A connection is refused: duplicate, port already connected, self loop, or a cycle."""


class CycleError(InvalidConnectionError):
    pass


class FormatError(NNStudioError):
    """A design file (or checkpoint) could not be read; `path` is the JSON path where it went wrong."""

    def __init__(self, message: str, path: str = "", file: str | None = None) -> None:
        self.path = path
        self.file = file
        self.reason = message
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{message}")


class DataError(NNStudioError):
    """A dataset could not be loaded or does not fit the design; names the file, row and column."""

    def __init__(
        self, message: str, file: str | None = None, row: int | None = None, column: str | None = None
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        parts = []
        if file:
            parts.append(shown(str(file), None))
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column '{excerpt(column, 40)}'")  # a column name comes from the file: keep it short
        prefix = (", ".join(parts) + ": ") if parts else ""
        super().__init__(prefix + message)


class TrainingError(NNStudioError):
    """Training stopped because of a problem the user must know about (NaN loss, out of memory, ...)."""


class ExportError(NNStudioError):
    """A model could not be exported."""


class SaveError(NNStudioError):
    """A file could not be written; the previous file on disk is untouched."""
