"""Playground's "Show test data" and "Discretize output" checkboxes, wherever they sit, mirror the design's view
settings (`view.show_test_data`, `view.discretize`): toggling one is an undoable edit that every other follows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox

from nnstudio.gui.editor.commands import SetViewCommand

VIEW_CHECKS = {"show_test_data": "Show test data", "discretize": "Discretize output"}


class _ViewCheck(QObject):
    """Keeps one checkbox and one view setting equal; a child of the checkbox, so it goes when the box goes."""

    def __init__(self, check: QCheckBox, session: Any, key: str) -> None:
        super().__init__(check)
        self.check, self.session, self.key = check, session, key
        check.toggled.connect(self.toggled)
        session.changed.connect(self.on_event)
        self.show()

    def value(self) -> bool:
        return bool(getattr(self.session.design.view, self.key))

    def show(self) -> None:
        if self.check.isChecked() != self.value():
            self.check.setChecked(self.value())  # its own toggled handlers redraw; `toggled` below sees no change

    def toggled(self, on: bool) -> None:
        if self.value() != bool(on):
            self.session.push(SetViewCommand(self.session.design, self.key, bool(on)))
            self.show()  # a refused edit puts the box back

    def on_event(self, event: Any) -> None:
        if event.kind in ("view_changed", "reset"):
            self.show()


def bind_view_check(check: QCheckBox, session: Any, key: str) -> QCheckBox:
    """Make `check` show and edit the design's view setting `key` (one of VIEW_CHECKS)."""
    if key not in VIEW_CHECKS:
        raise ValueError(f"{key!r} is not one of {', '.join(VIEW_CHECKS)}")
    _ViewCheck(check, session, key)
    return check


def bind_output_checks(controller: Any) -> None:
    """The Output dock's two checkboxes follow the design (they drive its plot and the canvas's neuron maps)."""
    output = controller.plots.output
    bind_view_check(output.test_check, controller.session, "show_test_data")
    bind_view_check(output.discrete_check, controller.session, "discretize")
