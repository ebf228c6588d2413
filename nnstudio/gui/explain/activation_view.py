"""The inspector's activation view: the selected layer's activation f(z) and f′(z), with the layer's live
pre-activation distribution drawn under it while training.

The curve and its autograd derivative come from `nnstudio.ml.activation_curves` (the model's own function);
the distribution is the trainer's telemetry histogram of z on its probe batch. Under the plot, the share
of z where the function is flat: a ReLU's dead side, the saturated tails of tanh and sigmoid.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from nnstudio.core.catalogue import ACTIVATION_TITLES, ACTIVATIONS

if TYPE_CHECKING:
    from ..training.controller import TrainingController
    from .host import ExplainWindow

REFRESH_SECONDS = 0.25  # the distribution follows training at most 4 times a second
CURVE_COLOUR = "#1f77b4"
SLOPE_COLOUR = "#d62728"
HISTOGRAM_COLOUR = (245, 147, 34, 120)


def layer_activation_function(layer: Any) -> str | None:
    """The elementwise activation a layer applies, if any (Output's sigmoid / softmax belong to its loss)."""
    if layer.type in ("Dense", "Conv2d"):
        name = layer.params.get("activation")
    elif layer.type == "Activation":
        name = layer.params.get("function")
    else:
        return None
    return name if name in ACTIVATIONS else None


class ActivationView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activationView")
        import pyqtgraph as pg

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel()
        self.title.setObjectName("activationTitle")
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("activationPlot")
        self.graphics.setBackground(self.palette().base().color())
        self.graphics.setMinimumHeight(220)
        self.curve_plot = self.graphics.addPlot(row=0, col=0)
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve_plot.addLegend(offset=(4, 4))
        self.curve_plot.setMenuEnabled(False)
        self.curve_plot.setMouseEnabled(x=False, y=False)
        self.f_item = self.curve_plot.plot(pen=pg.mkPen(CURVE_COLOUR, width=2), name="f(z)")
        self.df_item = self.curve_plot.plot(pen=pg.mkPen(SLOPE_COLOUR, width=2, style=Qt.PenStyle.DashLine),
                                            name="f′(z)")
        self.hist_plot = self.graphics.addPlot(row=1, col=0)
        self.hist_plot.setMaximumHeight(90)
        self.hist_plot.setMenuEnabled(False)
        self.hist_plot.setMouseEnabled(x=False, y=False)
        self.hist_plot.setXLink(self.curve_plot)
        # The same left-axis width above and below keeps the two z axes aligned.
        self.hist_plot.getAxis("left").setStyle(showValues=False)
        self.hist_plot.getAxis("left").setWidth(42)
        self.curve_plot.getAxis("left").setWidth(42)
        self.hist_plot.setLabel("bottom", "z (pre-activation)")
        self.hist_item = self.hist_plot.plot(stepMode="center", fillLevel=0, brush=HISTOGRAM_COLOUR,
                                             pen=pg.mkPen(HISTOGRAM_COLOUR[:3], width=1))
        layout.addWidget(self.graphics)
        self.share = QLabel()
        self.share.setObjectName("activationShare")
        self.share.setWordWrap(True)
        layout.addWidget(self.share)
        self.function: str | None = None
        self.layer_name = ""
        self.histogram: Any = None
        self._range = 0.0
        self._last = 0.0

    def show_layer(self, layer_name: str, function: str) -> None:
        changed = (layer_name, function) != (self.layer_name, self.function)
        self.layer_name, self.function = layer_name, function
        self.title.setText(f"<b>Activation: {ACTIVATION_TITLES.get(function, function)}</b> — f(z) and its "
                           "derivative f′(z) by autograd; below, this layer's z while training.")
        if changed:
            self.histogram = None
            self._range = 0.0
            self.hist_item.setData([], [])
            self.share.setText("Train to see where this layer's pre-activations z fall.")
            self._draw_curve(4.0)

    def _draw_curve(self, half_range: float) -> None:
        from nnstudio.ml.activation_curves import activation_curve

        half_range = max(4.0, min(half_range, 50.0))
        if abs(half_range - self._range) < 1e-9:
            return
        self._range = half_range
        curve = activation_curve(self.function or "identity", -half_range, half_range)
        self.f_item.setData(curve.z, curve.f)
        self.df_item.setData(curve.z, curve.df)
        self.curve_plot.setXRange(-half_range, half_range, padding=0.02)

    def set_histogram(self, histogram: Any, force: bool = False) -> bool:
        """Draw a telemetry `Histogram` of z (None clears it); throttled unless forced."""
        now = time.monotonic()
        if not force and now - self._last < REFRESH_SECONDS:
            return False
        self._last = now
        self.histogram = histogram
        if histogram is None or self.function is None:
            return True
        from nnstudio.ml.activation_curves import flat_share, flat_word

        high = float(histogram.high) or 1.0
        self._draw_curve(high * 1.05 if high > 4.0 else 4.0)
        self.hist_item.setData(histogram.edges, histogram.counts)
        share = flat_share(self.function, histogram.counts, histogram.low, histogram.high)
        self.share.setText(f"{share * 100:.0f} % of z are {flat_word(self.function)}: there f′(z) is below a "
                           f"tenth of its largest slope, so little gradient passes back. z spans "
                           f"[{histogram.low:.3g}, {histogram.high:.3g}].")
        return True


class ActivationInspector:
    """Puts an ActivationView under the inspector's layer page and feeds it the layer and the telemetry."""

    def __init__(self, window: ExplainWindow, training: TrainingController) -> None:
        self.window = window
        self.training = training
        self.view: ActivationView | None = None
        self.layer_id = ""
        window.inspector.layer_shown.connect(self._on_layer_shown)
        window.session.changed.connect(self._on_design_event)
        training.frame_drawn.connect(self._on_frame)

    def _ensure_view(self) -> ActivationView:
        if self.view is None:
            self.view = ActivationView()
            self.window.inspector.layer_extras.addWidget(self.view)
        return self.view

    def _on_layer_shown(self, layer_id: str) -> None:
        self.layer_id = layer_id
        layer = self.window.design.layers.get(layer_id) if layer_id else None
        function = layer_activation_function(layer) if layer is not None else None
        if function is None:
            if self.view is not None:
                self.view.hide()
            return
        view = self._ensure_view()
        view.show_layer(layer.name, function)
        view.show()
        latest = self.training.latest
        if latest is not None:
            view.set_histogram(latest.preactivation_histograms.get(layer.name), force=True)

    def _on_design_event(self, event: Any) -> None:
        if self.layer_id and event.layer_id == self.layer_id and event.kind in ("param_changed", "renamed"):
            self._on_layer_shown(self.layer_id)

    def _on_frame(self, telemetry: Any) -> None:
        view = self.view
        if view is None or not view.isVisible() or not self.layer_id or telemetry is None:
            return
        hist = telemetry.preactivation_histograms.get(view.layer_name)
        if hist is not None:
            view.set_histogram(hist, force=telemetry.reason in ("end", "paused"))
