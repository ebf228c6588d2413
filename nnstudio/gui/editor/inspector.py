"""The inspector: edits the selected layer (name and parameters) or, with nothing selected, the design itself.

Every change is pushed as an undo command; what the inspector shows follows the document's events and
the latest shape inference, so undo, redo and canvas edits keep it current.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core import DesignEvent, InferenceResult, fmt_shape, layer_type
from nnstudio.core.inference import format_count
from nnstudio.core.recipe_text import output_and_loss

from ..base.theme import canvas_colours, group_colour, mix
from .commands import RenameCommand, SetDesignInfoCommand, SetParamCommand
from .param_form import ParamForm, heading_label
from .session import DesignSession

# Parameters that only matter in one mode of the layer: hidden in the other.
_ONLY_WHEN = {
    ("Input", "features"): ("mode", "vector"),
    ("Input", "channels"): ("mode", "image"),
    ("Input", "height"): ("mode", "image"),
    ("Input", "width"): ("mode", "image"),
}


def _dim(text: str = "", parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    pal = label.palette()
    label.setStyleSheet(f"color: {mix(pal.base().color(), pal.text().color(), 0.62).name()}")
    return label


def _rule() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


def diagnostics_html(diagnostics, link_layers: bool = False) -> str:
    """Problems as rich text: a red dot for errors, an amber triangle for warnings; optionally each
    message links to its layer (the link text is the layer id)."""
    colours = canvas_colours()
    rows = []
    for d in diagnostics:
        colour = colours.error if d.severity == "error" else colours.warning
        mark = "●" if d.severity == "error" else "▲"
        text = html.escape(d.message)
        if link_layers and d.layer_id is not None:
            text = f"<a href='{html.escape(d.layer_id)}'>{text}</a>"
        rows.append(f"<span style='color:{colour.name()}'>{mark}</span> {text}")
    return "<br>".join(rows)


class Inspector(QScrollArea):
    """Shows and edits the selection; `layer_activated(id)` asks the window to select and show a layer."""

    layer_activated = Signal(str)
    layer_shown = Signal(str)  # the one layer now shown ("" for the design or a multiple selection)

    def __init__(self, session: DesignSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.session = session
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # never clip: scroll both ways
        self.layer_ids: list[str] = []
        self.form: ParamForm | None = None
        self.pages = QStackedWidget()
        self.setWidget(self.pages)
        self._build_design_page()
        self._build_layer_page()
        self._build_many_page()
        session.changed.connect(self._on_changed)
        session.inferred.connect(self._on_inferred)
        self.show_layers([])

    @property
    def design(self):
        return self.session.design

    # ---- pages -----------------------------------------------------------------------------------

    def _page(self) -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        layout = QVBoxLayout(page)
        m = self.fontMetrics().height() // 2
        layout.setContentsMargins(m, m, m, m)
        layout.setSpacing(m)
        self.pages.addWidget(page)
        return page, layout

    def _build_design_page(self) -> None:
        self.design_page, layout = self._page()
        layout.addWidget(heading_label("Design"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.design_name = QLineEdit()
        self.design_name.setObjectName("designName")
        self.design_name.setToolTip("The design's title, shown in the window title and in exports")
        self.design_name.setMaxLength(200)
        self.design_name.editingFinished.connect(self._commit_design_name)
        self.design_name_error = QLabel()
        self.design_name_error.setObjectName("designNameError")
        self.design_name_error.setWordWrap(True)
        self.design_name_error.setStyleSheet(f"color: {canvas_colours().error.name()}")
        self.design_name_error.hide()
        self.design_description = QPlainTextEdit()
        self.design_description.setObjectName("designDescription")
        self.design_description.setToolTip("Notes about this design: what it is for, what you learned")
        self.design_description.setPlaceholderText("What is this network for?")
        self.design_description.setTabChangesFocus(True)
        self.design_description.setMaximumHeight(self.fontMetrics().height() * 8)
        self.design_description.textChanged.connect(self._commit_description)
        form.addRow("Name", self.design_name)
        form.addRow("", self.design_name_error)
        form.addRow("Notes", self.design_description)
        layout.addLayout(form)
        layout.addWidget(_rule())
        layout.addWidget(heading_label("Totals"))
        self.design_totals = QLabel()
        self.design_totals.setObjectName("designTotals")
        self.design_totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.design_totals)
        layout.addWidget(heading_label("Problems"))
        self.design_problems = QLabel()
        self.design_problems.setObjectName("designProblems")
        self.design_problems.setWordWrap(True)
        self.design_problems.setTextFormat(Qt.TextFormat.RichText)
        self.design_problems.linkActivated.connect(self.layer_activated.emit)
        layout.addWidget(self.design_problems)
        layout.addWidget(_dim("Select a layer on the canvas to edit it. Drag layers in from the palette; "
                              "drag from a block's right port to another block to connect them."))
        layout.addStretch(1)

    def _build_layer_page(self) -> None:
        self.layer_page, layout = self._page()
        header = QHBoxLayout()
        self.layer_swatch = QLabel()
        self.layer_swatch.setFixedWidth(max(4, self.fontMetrics().height() // 4))
        self.layer_title = heading_label("")
        self.layer_title.setObjectName("layerTitle")
        header.addWidget(self.layer_swatch)
        header.addWidget(self.layer_title, 1)
        layout.addLayout(header)
        self.layer_description = _dim()
        self.layer_description.setObjectName("layerDescription")
        layout.addWidget(self.layer_description)

        name_form = QFormLayout()
        name_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("layerName")
        self.name_edit.setToolTip("The layer's name: letters, digits and underscores; used in generated code")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.name_edit.textEdited.connect(lambda _text: self.name_error.hide())
        self.name_error = QLabel()
        self.name_error.setObjectName("layerNameError")
        self.name_error.setWordWrap(True)
        self.name_error.setStyleSheet(f"color: {canvas_colours().error.name()}")
        self.name_error.hide()
        name_form.addRow("Name", self.name_edit)
        name_form.addRow("", self.name_error)
        layout.addLayout(name_form)
        layout.addWidget(_rule())
        self.params_heading = heading_label("Parameters")
        layout.addWidget(self.params_heading)
        self.form_holder = QVBoxLayout()
        self.form_holder.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.form_holder)
        self.param_error = QLabel()
        self.param_error.setObjectName("paramError")
        self.param_error.setWordWrap(True)
        self.param_error.setStyleSheet(f"color: {canvas_colours().error.name()}")
        self.param_error.hide()
        layout.addWidget(self.param_error)
        self.params_rule = _rule()
        layout.addWidget(self.params_rule)
        layout.addWidget(heading_label("Shapes"))
        self.layer_info = QLabel()
        self.layer_info.setObjectName("layerInfo")
        self.layer_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layer_info.setWordWrap(True)
        layout.addWidget(self.layer_info)
        self.layer_problems = QLabel()
        self.layer_problems.setObjectName("layerProblems")
        self.layer_problems.setWordWrap(True)
        self.layer_problems.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.layer_problems)
        self.layer_extras = QVBoxLayout()  # views other packages add under a layer (the activation curve)
        self.layer_extras.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.layer_extras)
        layout.addStretch(1)

    def _build_many_page(self) -> None:
        self.many_page, layout = self._page()
        self.many_title = heading_label("")
        self.many_title.setObjectName("selectionTitle")
        layout.addWidget(self.many_title)
        self.many_info = QLabel()
        self.many_info.setObjectName("selectionInfo")
        self.many_info.setWordWrap(True)
        layout.addWidget(self.many_info)
        layout.addWidget(_dim("Select a single layer to edit its parameters."))
        layout.addStretch(1)

    # ---- showing ---------------------------------------------------------------------------------

    def show_layers(self, layer_ids: list[str]) -> None:
        """Show what is selected: nothing → the design, one layer → its editor, several → a summary."""
        layer_ids = [lid for lid in layer_ids if lid in self.design.layers]
        if len(layer_ids) == 1 and self.layer_ids == layer_ids and self.form is not None:
            self._refresh_info()
            return
        self.layer_ids = layer_ids
        if not layer_ids:
            self._show_design()
            self.pages.setCurrentWidget(self.design_page)
        elif len(layer_ids) == 1:
            self._build_form(layer_ids[0])
            self.pages.setCurrentWidget(self.layer_page)
        else:
            self.pages.setCurrentWidget(self.many_page)
        self._refresh_info()
        self.layer_shown.emit(layer_ids[0] if len(layer_ids) == 1 else "")

    def _show_design(self) -> None:
        if not self.design_name.hasFocus():
            self.design_name.setText(self.design.name)
        self.design_name_error.hide()
        if self.design_description.toPlainText() != self.design.description:
            self.design_description.blockSignals(True)
            self.design_description.setPlainText(self.design.description)
            self.design_description.blockSignals(False)

    def _build_form(self, layer_id: str) -> None:
        layer = self.design.layers[layer_id]
        ltype = layer_type(layer.type)
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
            self.form = None
        self.name_edit.setText(layer.name)
        self.name_error.hide()
        self.param_error.hide()
        colour = group_colour(ltype.group if ltype else "")
        self.layer_swatch.setStyleSheet(f"background: {colour.name()}; border-radius: 2px")
        self.layer_title.setText(f"{layer.type}  <span style='font-weight:normal'>· "
                                 f"{html.escape(ltype.group if ltype else '')}</span>")
        self.layer_description.setText(ltype.description if ltype else "")
        specs = ltype.params if ltype else {}
        self.form = ParamForm(specs, layer.params)
        self.form.setObjectName("layerParams")
        self.form.edited.connect(self._commit_param)
        self.form_holder.addWidget(self.form)
        self.params_heading.setVisible(bool(specs))
        self.params_rule.setVisible(bool(specs))
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        if self.form is None or len(self.layer_ids) != 1:
            return
        layer = self.design.layers[self.layer_ids[0]]
        for (type_name, key), (other, wanted) in _ONLY_WHEN.items():
            if type_name == layer.type:
                self.form.set_row_visible(key, layer.params.get(other) == wanted)

    def _refresh_info(self) -> None:
        result = self.session.inference
        page = self.pages.currentWidget()
        if page is self.design_page:
            self._refresh_design_totals(result)
        elif page is self.layer_page and self.layer_ids:
            self._refresh_layer_info(self.layer_ids[0], result)
        elif page is self.many_page:
            n = len(self.layer_ids)
            total = sum(result.params.get(lid, 0) for lid in self.layer_ids)
            problems = sum(len(result.for_layer(lid)) for lid in self.layer_ids)
            self.many_title.setText(f"{n} layers selected")
            self.many_info.setText(f"Parameters: {format_count(total)}\nProblems: {problems}")

    def _refresh_design_totals(self, result: InferenceResult) -> None:
        design = self.design
        self.design_totals.setText(
            f"Layers: {len(design.layers)}\nConnections: {len(design.connections)}\n"
            f"Parameters: {format_count(result.total_params)}")
        if not result.diagnostics:
            self.design_problems.setText("None — the design is complete.")
        else:
            self.design_problems.setText(diagnostics_html(result.diagnostics, link_layers=True))

    def _refresh_layer_info(self, layer_id: str, result: InferenceResult) -> None:
        shape = result.shapes.get(layer_id)
        inputs = result.input_shapes.get(layer_id, [])
        lines = []
        if inputs:
            lines.append("Input: " + ", ".join(fmt_shape(s) for s in inputs))
        lines.append("Output: " + (fmt_shape(shape) if shape is not None else "unknown"))
        if shape is not None:
            lines.append(f"Parameters: {format_count(result.params.get(layer_id, 0))}")
        layer = self.design.layers.get(layer_id)
        if layer is not None and layer.type == "Output":  # what it applies and its loss follow the recipe
            training = self.design.training
            lines.append("Trains as: " + output_and_loss(str(layer.params.get("task", "")), training.recipe,
                                                         training.regression_loss))
        self.layer_info.setText("\n".join(lines))
        problems = result.for_layer(layer_id)
        self.layer_problems.setText(diagnostics_html(problems))
        self.layer_problems.setVisible(bool(problems))

    # ---- following the document ------------------------------------------------------------------

    def _on_changed(self, event: DesignEvent) -> None:
        if event.kind == "reset":
            self.layer_ids = []
            self.show_layers([])
            return
        if event.kind == "meta_changed" and not self.layer_ids:
            self._show_design()
            return
        if event.kind == "training_changed":  # an Output's "Trains as" line follows the recipe
            self._refresh_info()
            return
        if len(self.layer_ids) != 1 or event.layer_id != self.layer_ids[0]:
            return
        if event.kind == "param_changed" and self.form is not None:
            self.form.set_value(event.key, event.value)
            self._apply_visibility()
        elif event.kind == "renamed":
            self.name_edit.setText(event.value)
            self.name_error.hide()

    def _on_inferred(self, result: InferenceResult) -> None:
        self._refresh_info()

    # ---- editing ---------------------------------------------------------------------------------

    def _commit_param(self, key: str, value) -> None:
        if len(self.layer_ids) != 1:
            return
        command = SetParamCommand(self.design, self.layer_ids[0], key, value)
        if self.session.push(command):
            self.param_error.hide()
        else:
            self.param_error.setText(str(command.error))
            self.param_error.show()
            self.form.set_value(key, self.design.layers[self.layer_ids[0]].params[key])

    def _commit_name(self) -> None:
        if len(self.layer_ids) != 1:
            return
        layer = self.design.layers.get(self.layer_ids[0])
        name = self.name_edit.text()
        if layer is None or name == layer.name:
            return
        command = RenameCommand(self.design, layer.id, name)
        if self.session.push(command):
            self.name_error.hide()
        else:
            self.name_error.setText(str(command.error))
            self.name_error.show()

    def _commit_design_name(self) -> None:
        name = self.design_name.text()
        if name == self.design.name:
            return
        command = SetDesignInfoCommand(self.design, name=name)
        if self.session.push(command):
            self.design_name_error.hide()
        else:
            self.design_name_error.setText(str(command.error))
            self.design_name_error.show()

    def _commit_description(self) -> None:
        text = self.design_description.toPlainText()
        if text != self.design.description:
            self.session.push(SetDesignInfoCommand(self.design, description=text))

    # ---- for tests and the window ----------------------------------------------------------------

    def param_editor(self, key: str) -> QWidget:
        assert self.form is not None, "no single layer is shown"
        return self.form.editor(key)
