"""The training report: one self-contained HTML file about a checkpoint — design, settings, curves, results,
health findings and, for CNNs, kernels and one sample's feature maps.

`collect_report` computes everything from the checkpoint's weights, its saved history and its dataset
(with the same code the window uses: `results.evaluate`, `health.diagnose`, `cnn_views`); `render_html`
turns that into HTML whose images are inline data URIs and whose charts are inline SVG, so the file opens
in a browser without network access. The design diagram is drawn by the caller (it needs Qt) and handed in
as SVG text.
"""

from __future__ import annotations

import datetime as _dt
import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.recipe_text import design_output_and_loss

from . import cnn_views
from .health import Finding, HealthRecord, diagnose, gradient_flow
from .report_charts import (
    bars_svg,
    confusion_svg,
    heat_rgb,
    line_chart,
    png_data_uri,
    scatter_svg,
    tile,
)
from .results import ClassificationResults, RegressionResults, evaluate

MAX_MAPS_PER_LAYER = 16
GALLERY = 12


@dataclass
class ReportData:
    title: str
    description: str
    settings: dict[str, dict[str, Any]]
    history: list[dict[str, Any]]
    task: str
    results: ClassificationResults | RegressionResults | None
    findings: list[Finding]
    gradient_flow: dict[str, float]
    epochs: int
    steps: int
    kernels: list[cnn_views.KernelImages] = field(default_factory=list)
    kernel_labels: list[str] = field(default_factory=list)  # describe_kernel of each first-layer RGB kernel
    sample: np.ndarray | None = None  # (H, W, 3) picture of the sample whose maps are shown
    sample_caption: str = ""
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    cam: np.ndarray | None = None
    cam_caption: str = ""
    gallery: list[tuple[np.ndarray, str]] = field(default_factory=list)
    points: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (val points, true, wrong mask)
    trains_as: str = ""  # the Output's activation and loss under the design's recipe (recipe_text)


def probe_health(trainer: Any) -> Any:
    """Telemetry at the trainer's current weights after one backward pass over a training batch (no
    optimizer step): the gradient norms, dead and saturated shares the health rules read."""
    model, collector = trainer.model, trainer.collector
    x, y = trainer.x_train[:trainer.batch_size], trainer.y_train[:trainer.batch_size]
    was = model.training
    model.eval()
    try:
        model.zero_grad(set_to_none=True)
        trainer.loss_fn(model(x), y).backward()
    finally:
        model.train(was)
    host = collector.gather()
    telemetry = collector.build(
        host, steps_in_window=0, samples_in_window=0, reason="end", epoch=trainer.display_epoch,
        epochs=trainer.epoch, batch=trainer.batch, batches_per_epoch=trainer.batches_per_epoch,
        step=trainer.step, samples_seen=trainer.samples_seen, elapsed=0.0, learning_rate=trainer.learning_rate,
        steps_per_second=0.0, progress=1.0, eta_seconds=None)
    model.zero_grad(set_to_none=True)
    return telemetry


def collect_report(checkpoint: Any, dataset: Any) -> ReportData:
    """Everything the report shows, computed on the CPU from a loaded `Checkpoint` and its `Dataset`."""
    from .trainer import Trainer

    trainer = Trainer(checkpoint.design, dataset=dataset, initial_state=checkpoint, publish_hz=0, device="cpu")
    model = trainer.model
    now = probe_health(trainer)
    history = list(trainer.history)
    records = [HealthRecord(step=int(h.get("step", 0)), epoch=int(h.get("epoch", 0)), train_loss=h.get("train_loss"),
                            val_loss=h.get("val_loss"), val_accuracy=h.get("val_accuracy")) for h in history]
    last = HealthRecord.from_telemetry(now)
    records.append(HealthRecord(step=last.step, epoch=last.epoch, train_loss=None, val_loss=None,
                                grad_norms=last.grad_norms, dead=last.dead, saturated=last.saturated))
    design = checkpoint.design
    data = ReportData(
        title=design.name or "Untitled design", description=design.description,
        settings={"dataset": design.dataset.to_dict(), "training": design.training.to_dict()},
        history=history, task=model.task, results=evaluate(model, dataset), findings=diagnose(records),
        gradient_flow=last.grad_norms, epochs=trainer.epoch, steps=trainer.step,
        trains_as=design_output_and_loss(design) or "")
    if not data.gradient_flow:
        data.gradient_flow = gradient_flow(records)
    _cnn_part(data, model, dataset, design)
    _gallery(data, dataset)
    return data


def _cnn_part(data: ReportData, model: Any, dataset: Any, design: Any) -> None:
    convs = cnn_views.conv_layers(model)
    if not convs or len(dataset.x_val) == 0:
        return
    learned = cnn_views.kernel_images(model, convs[0], initial=cnn_views.initial_weights(design),
                                     per_kernel=True)
    data.kernels = [cnn_views.kernel_images(model, convs[0], per_kernel=True), learned]
    data.kernel_labels = cnn_views.kernel_labels(model, convs[0])
    if len(convs) > 1:
        data.kernels.append(cnn_views.kernel_images(model, convs[1], channel=0))
    sample = dataset.x_val[0]
    maps, probs = cnn_views.feature_maps(model, sample)
    data.maps = maps
    data.sample = cnn_views.sample_image(sample, dataset.feature_mean, dataset.feature_std)
    names = dataset.class_names
    true = names[int(dataset.y_val[0])] if names else ""
    if model.task == "multiclass":
        guess = names[int(np.argmax(probs))]
        data.sample_caption = f"validation sample 0: true {true}, predicted {guess} ({probs.max():.0%})"
    else:
        data.sample_caption = f"validation sample 0 (true {true})" if true else "validation sample 0"
    if model.task != "regression":
        cam, target = cnn_views.grad_cam(model, sample, convs[-1])
        data.cam = cam
        data.cam_caption = f"Grad-CAM of {convs[-1]} for class {names[target] if names else target}"


def _gallery(data: ReportData, dataset: Any) -> None:
    results = data.results
    if not isinstance(results, ClassificationResults):
        return
    names = results.class_names
    if len(dataset.input_shape) == 3:
        for m in results.mistakes[:GALLERY]:
            picture = cnn_views.sample_image(dataset.x_val[m.index], dataset.feature_mean, dataset.feature_std)
            data.gallery.append((picture, f"#{m.index}: {names[m.true]} → {names[m.predicted]} ({m.confidence:.0%})"))
    elif getattr(dataset, "points_val", None) is not None:
        wrong = results.predicted != np.asarray(dataset.y_val)
        data.points = (np.asarray(dataset.points_val), np.asarray(dataset.y_val), wrong)


# ---- HTML ------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1000px;color:#222;
padding:0 16px}
h1{margin-bottom:0}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f4f4f4}.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.finding{border-left:4px solid #e6a700;background:#fff8e1;padding:6px 10px;margin:6px 0}
.finding.error{border-color:#d32f2f;background:#fdecea}.ok{color:#2e7d32}
figure{margin:0}figcaption{font-size:12px;color:#555;max-width:420px}img.px{image-rendering:pixelated}
.muted{color:#777;font-size:12px}.diagram svg{max-width:100%;height:auto}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _img(rgb: np.ndarray, scale: int, alt: str) -> str:
    return f'<img class="px" alt="{_e(alt)}" src="{png_data_uri(rgb, scale)}">'


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: float) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.3f}"


def _curves(history: list[dict[str, Any]], task: str, trains_as: str = "") -> str:
    steps = [h.get("step", i) for i, h in enumerate(history)]
    loss = line_chart({"training": (steps, [h.get("train_loss") for h in history]),
                       "validation": (steps, [h.get("val_loss") for h in history])},
                      title="Loss", x_label="step", log_y=True)
    if trains_as:  # which loss the curves show: Playground's ½(out − t)² is not cross-entropy
        loss = f"<figure>{loss}<figcaption>Loss: {_e(trains_as)}</figcaption></figure>"
    if task == "regression":
        return loss
    acc = line_chart({"training": (steps, [h.get("train_accuracy") for h in history]),
                      "validation": (steps, [h.get("val_accuracy") for h in history])},
                     title="Accuracy", x_label="step")
    return f'<div class="row">{loss}{acc}</div>'


def _results_html(data: ReportData) -> str:
    r = data.results
    if r is None:
        return "<p class='muted'>No validation data.</p>"
    if isinstance(r, RegressionResults):
        true, pred = r.true[:, 0], r.predicted[:, 0]
        return (f"<p>MAE {r.mae:.4g} · RMSE {r.rmse:.4g} · R² {r.r2:.3f} over {len(true)} validation samples.</p>"
                '<div class="row">'
                + scatter_svg(true, pred, title="Predicted vs true", x_label="true", y_label="predicted", diagonal=True)
                + scatter_svg(pred, true - pred, title="Residuals", x_label="predicted", y_label="true − predicted",
                              zero_line=True) + "</div>")
    rows = [(name, _fmt(p), _fmt(rc), _fmt(f), int(s))
            for name, p, rc, f, s in zip(r.class_names, r.precision, r.recall, r.f1, r.support, strict=True)]
    out = [f"<p>Accuracy {r.accuracy:.3f} over {int(r.support.sum())} validation samples.</p>",
           '<div class="row">', confusion_svg(r.confusion, r.class_names, normalised=False),
           confusion_svg(r.normalised(), r.class_names, normalised=True), "</div>",
           "<h3>Per class</h3>", _table(rows, ("class", "precision", "recall", "F1", "samples"))]
    if data.gallery:
        out.append("<h3>Most confidently wrong</h3><div class='row'>")
        out += [f"<figure>{_img(pic, 3, cap)}<figcaption>{_e(cap)}</figcaption></figure>" for pic, cap in data.gallery]
        out.append("</div>")
    elif data.points is not None:
        points, _, wrong = data.points
        out.append("<h3>Validation points (mistakes in red)</h3>" + _points_svg(points, wrong))
    elif r.mistakes:
        rows2 = [(m.index, r.class_names[m.true], r.class_names[m.predicted], f"{m.confidence:.2f}")
                 for m in r.mistakes]
        out.append("<h3>Most confidently wrong</h3>" + _table(rows2, ("sample", "true", "predicted", "confidence")))
    return "".join(out)


def _points_svg(points: np.ndarray, wrong: np.ndarray, size: int = 300) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
             'aria-label="validation points"><rect width="100%" height="100%" fill="white" stroke="#bbb"/>']
    for (x, y), bad in zip(points[:3000], wrong[:3000], strict=False):
        cx, cy = (x + 6) / 12 * size, (6 - y) / 12 * size
        colour = "#d62728" if bad else "#9e9e9e"
        radius = 3.5 if bad else 2
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _health_html(data: ReportData) -> str:
    out = []
    if not data.findings:
        out.append("<p class='ok'>No health problems found.</p>")
    for f in data.findings:
        where = f"<b>{_e(f.layer)}</b>: " if f.layer else ""
        out.append(f"<div class='finding {_e(f.severity)}'>{where}<b>{_e(f.title)}</b> — {_e(f.explanation)}"
                   f"<br><i>Fix:</i> {_e(f.fix)}</div>")
    if data.gradient_flow:
        out.append(bars_svg(data.gradient_flow, title="Gradient flow: gradient norm per layer (one batch, log scale)"))
    return "".join(out)


def _cnn_html(data: ReportData) -> str:
    if not data.kernels:
        return ""
    out = ["<h2>Inside the convolutions</h2>"]
    for k in data.kernels:
        what = "RGB kernels" if k.channel is None else f"kernels, input channel {k.channel}"
        if k.learned:
            what += ", the change since the seed's initial weights (what training learned)"
        elif k is data.kernels[0] and data.kernel_labels:
            what += " (" + ", ".join(f"{i + 1}: {label}" for i, label in enumerate(data.kernel_labels)) + ")"
        if k.per_kernel:
            what += ", each scaled to its own range"
        pics = [k.images[i] for i in range(len(k.images))]
        scale = max(4, 48 // k.images.shape[1])
        out.append(f"<figure>{_img(tile(pics, min(16, len(pics)), gap=1), scale, k.layer)}"
                   f"<figcaption>{_e(k.layer)}: {len(pics)} {what} (grey = 0, largest ±{k.scale:.3g})"
                   "</figcaption></figure>")
    if data.sample is not None:
        out.append("<h3>Feature maps of one sample</h3><div class='row'>")
        out.append(f"<figure>{_img(data.sample, 4, 'sample')}"
                   f"<figcaption>{_e(data.sample_caption)}</figcaption></figure>")
        if data.cam is not None:
            blend = 0.55 * data.sample + 0.45 * heat_rgb(data.cam)
            out.append(f"<figure>{_img(blend, 4, 'Grad-CAM')}<figcaption>{_e(data.cam_caption)}</figcaption></figure>")
        out.append("</div>")
        for name, maps in data.maps.items():
            shown = maps[:MAX_MAPS_PER_LAYER]
            pics = [heat_rgb(m) for m in shown]
            scale = max(2, 64 // maps.shape[1])
            more = f" (first {len(shown)} of {len(maps)})" if len(maps) > len(shown) else ""
            out.append(f"<figure>{_img(tile(pics, min(8, len(pics)), gap=1), scale, name)}"
                       f"<figcaption>{_e(name)}: {len(maps)} maps of {maps.shape[1]}×{maps.shape[2]}{more}"
                       "</figcaption></figure>")
    return "".join(out)


def render_html(data: ReportData, diagram_svg: str | None = None) -> str:
    """The report as one HTML document (UTF-8 text, nothing fetched from anywhere)."""
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    settings = "".join(f"<h3>{_e(part.title())}</h3>" + _table(list(values.items()), ("setting", "value"))
                       for part, values in data.settings.items())
    curves = _curves(data.history, data.task, data.trains_as) if data.history else \
        "<p class='muted'>No history saved.</p>"
    diagram = f"<div class='diagram'>{diagram_svg}</div>" if diagram_svg else "<p class='muted'>(no diagram)</p>"
    return "".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        # Nothing may be fetched: images are data URIs, styles inline, no scripts at all.
        "<meta http-equiv='Content-Security-Policy' "
        "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{_e(data.title)} — NN Studio report</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(data.title)}</h1><p class='muted'>NN Studio {__version__} · {stamp} · "
        f"{data.epochs} epochs, {data.steps:,} steps</p>",
        f"<p>{_e(data.description)}</p>" if data.description else "",
        "<h2>Design</h2>", diagram,
        "<h2>Settings</h2>", f"<p>Output and loss: {_e(data.trains_as)}</p>" if data.trains_as else "",
        "<div class='row'>", settings, "</div>",
        "<h2>Training curves</h2>", curves,
        "<h2>Results on the validation data</h2>", _results_html(data),
        "<h2>Training health</h2>", _health_html(data),
        _cnn_html(data),
        "</body></html>\n",
    ])

