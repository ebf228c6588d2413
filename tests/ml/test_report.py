"""`nnstudio report`: one self-contained HTML file, checked by parsing it and in a real headless browser."""

from __future__ import annotations

import base64
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from training_helpers import chain, one_cpu_thread, playground  # noqa: F401

from nnstudio.cli import main
from nnstudio.data import load_dataset
from nnstudio.ml.checkpoint import load_checkpoint
from nnstudio.ml.report import collect_report
from nnstudio.ml.report_charts import encode_png
from nnstudio.ml.trainer import Trainer

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "headless_shell")


def shapes_design():
    design = chain([
        ("Input", {"mode": "image", "channels": 3, "height": 32, "width": 32}),
        ("Conv2d", {"filters": 6, "kernel": 5, "padding": 2, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 4, "stride": 4}),
        ("Conv2d", {"filters": 8, "kernel": 3, "padding": 1, "activation": "relu"}),
        ("MaxPool2d", {"kernel": 2, "stride": 2}),
        ("Flatten", {}),
        ("Output", {"task": "multiclass", "units": 4}),
    ], "Tiny shapes")
    design.set_dataset(source="builtin", name="shapes", samples=240, train_percent=75)
    design.set_training(epochs=2, optimizer="adam", learning_rate=0.003, batch_size=32, device="cpu")
    return design


@pytest.fixture(scope="module")
def cnn_report(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("report")
    trainer = Trainer(shapes_design(), publish_hz=0, publish_epoch_end=True)
    trainer.fit()
    checkpoint = folder / "shapes.safetensors"
    trainer.save_checkpoint(checkpoint)
    out = folder / "report.html"
    assert main(["report", str(checkpoint), "-o", str(out)]) == 0
    return checkpoint, out


def decode_png(data: bytes) -> np.ndarray:
    """An independent reader for the 8-bit RGB, filter-0 PNGs the report writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 3)


def test_png_encoder_round_trips() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(rgb)), rgb)


def test_report_is_self_contained_with_every_section(cnn_report) -> None:
    _, out = cnn_report
    text = out.read_text(encoding="utf-8")
    for heading in ("Design", "Settings", "Training curves", "Results on the validation data", "Training health",
                    "Inside the convolutions", "Feature maps of one sample", "Most confidently wrong"):
        assert f">{heading}<" in text, heading
    # Nothing to fetch: every src is a data URI; the only URLs are SVG namespace names.
    assert not re.findall(r"""(?:src|href)\s*=\s*["'](?!data:)""", text)
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {"http://www.w3.org/2000/svg",
                                                            "http://www.w3.org/1999/xlink"}
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) >= 6
    for encoded in images:
        assert decode_png(base64.b64decode(encoded)).size > 0
    assert "<svg" in text and "conv" in text  # the diagram and the kernels of the first conv layer


def test_confusion_rows_sum_to_validation_class_counts(cnn_report) -> None:
    checkpoint_path, out = cnn_report
    checkpoint = load_checkpoint(checkpoint_path)
    dataset = load_dataset(checkpoint.design.dataset)
    data = collect_report(checkpoint, dataset)
    assert np.array_equal(data.results.confusion.sum(axis=1), np.bincount(dataset.y_val, minlength=4))
    counts = " ".join(f">{int(c)}<" for c in data.results.confusion.reshape(-1))
    assert all(token in out.read_text(encoding="utf-8") for token in counts.split())
    assert data.kernels[0].images.shape == (6, 5, 5, 3)


def test_report_for_playground_and_bad_input(tmp_path, capsys) -> None:
    trainer = Trainer(playground(epochs=2, device="cpu"), publish_hz=0, publish_epoch_end=True)
    trainer.fit()
    trainer.save_checkpoint(tmp_path / "c.safetensors")
    out = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "c.safetensors"), "-o", str(out), "--no-diagram"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Validation points (mistakes in red)" in text and "Inside the convolutions" not in text
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    assert main(["report", str(tmp_path / "bad.safetensors"), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnstudio report:")


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.mark.skipif(_browser() is None, reason="no headless Chromium on this machine (apt-get install chromium)")
def test_report_renders_in_a_headless_browser_without_network(cnn_report, tmp_path) -> None:
    _, out = cnn_report
    text = out.read_text(encoding="utf-8")
    # A copy with a probe script that reports how many images decoded (the report itself allows no script).
    probe = ("<script>addEventListener('load',()=>{const i=[...document.images];"
             "document.title='loaded '+i.filter(x=>x.complete&&x.naturalWidth>0).length+'/'+i.length+"
             "' svg '+document.querySelectorAll('svg').length;});</script>")
    text = re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", text).replace("</body>", probe + "</body>")
    page = tmp_path / "probe.html"
    page.write_text(text, encoding="utf-8")
    command = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # any network fetch fails
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([*command, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    title = re.search(r"<title>(.*?)</title>", dom).group(1)
    loaded, total = map(int, re.search(r"loaded (\d+)/(\d+)", title).groups())
    assert total >= 6 and loaded == total, title
    assert int(re.search(r"svg (\d+)", title).group(1)) >= 5
    shot = tmp_path / "shot.png"
    subprocess.run([*command, f"--screenshot={shot}", "--window-size=1000,2000", out.as_uri()],
                   capture_output=True, timeout=120)
    picture = decode_png_any(shot.read_bytes())
    assert picture.std() > 10  # something was drawn (not a blank page)


def decode_png_any(data: bytes) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage.fromData(data, "PNG").convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull()
    return np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes()).astype(float)
