"""The import report: what was imported, and every node that has no catalogue equivalent, with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from nnstudio.core.errors import NNStudioError


@dataclass(frozen=True)
class Unsupported:
    """One graph node the importer could not map: its name, its op type and why."""

    node: str
    op_type: str
    reason: str

    def line(self) -> str:
        return f"node '{self.node}' ({self.op_type}): {self.reason}"


@dataclass
class ImportReport:
    source: str
    unsupported: list[Unsupported] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    layers: int = 0
    parameters: int = 0

    @property
    def ok(self) -> bool:
        return not self.unsupported

    def lines(self) -> list[str]:
        head = f"{self.source}: {self.layers} layers, {self.parameters:,} parameters"
        out = [head] if self.layers else []
        out += [f"unsupported {u.line()}" for u in self.unsupported]
        out += [f"note: {n}" for n in self.notes]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


class ModelImportError(NNStudioError):
    """A model could not be imported; `report` lists every unsupported node (nothing was written)."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        self.report = report
        detail = ""
        if report is not None and report.unsupported:
            shown = [u.line() for u in report.unsupported[:8]]
            more = len(report.unsupported) - len(shown)
            detail = "\n  " + "\n  ".join(shown) + (f"\n  ... and {more} more" if more > 0 else "")
        super().__init__(message + detail)
