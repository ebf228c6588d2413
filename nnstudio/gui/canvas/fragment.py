"""Copied pieces of a design: selected layers plus the connections among them, as JSON on the clipboard."""

from __future__ import annotations

import atexit
import json
import math
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from nnstudio.core import Design

MIME_FRAGMENT = "application/x-nnstudio-fragment+json"
FRAGMENT_FORMAT = "nnstudio.fragment"
_MAX_BYTES = 8 * 1024 * 1024
_MAX_LAYERS = 10_000

Fragment = dict[str, Any]


def make_fragment(design: Design, layer_ids: Iterable[str]) -> Fragment:
    """The chosen layers (in document order) and the connections that stay inside the selection."""
    chosen = set(layer_ids)
    layers = [
        {"id": layer.id, "type": layer.type, "name": layer.name, "params": dict(layer.params),
         "position": [layer.position[0], layer.position[1]]}
        for layer in design.layers.values() if layer.id in chosen
    ]
    connections = [[c.source, c.target] for c in design.connections if c.source in chosen and c.target in chosen]
    return {"format": FRAGMENT_FORMAT, "version": 1, "layers": layers, "connections": connections}


def fragment_to_mime(fragment: Fragment) -> QMimeData:
    mime = QMimeData()
    mime.setData(MIME_FRAGMENT, json.dumps(fragment, ensure_ascii=False).encode("utf-8"))
    return mime


def put_on_clipboard(fragment: Fragment) -> None:
    QGuiApplication.clipboard().setMimeData(fragment_to_mime(fragment))
    global _clipboard_used
    if not _clipboard_used:
        _clipboard_used = True
        atexit.register(_release_clipboard)


_clipboard_used = False


def _release_clipboard() -> None:
    """Hand our data back while Python still runs: Qt frees the clipboard's data after the interpreter
    is gone, and freeing data created from Python at that point crashes the process on exit."""
    app = QGuiApplication.instance()
    if app is None:
        return
    mime = QGuiApplication.clipboard().mimeData()
    if mime is not None and mime.hasFormat(MIME_FRAGMENT):
        QGuiApplication.clipboard().clear()


def fragment_from_mime(mime: QMimeData | None) -> Fragment | None:
    """The fragment on the clipboard, or None when there is none or it is malformed (never raises)."""
    if mime is None or not mime.hasFormat(MIME_FRAGMENT):
        return None
    raw = bytes(mime.data(MIME_FRAGMENT).data())
    if len(raw) > _MAX_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if _well_formed(data) else None


def _well_formed(data: Any) -> bool:
    """Structure only; the document's own checks refuse bad types, names and values when pasting."""
    if not isinstance(data, dict) or data.get("format") != FRAGMENT_FORMAT:
        return False
    layers, connections = data.get("layers"), data.get("connections")
    if not isinstance(layers, list) or not isinstance(connections, list) or len(layers) > _MAX_LAYERS:
        return False
    ids = set()
    for item in layers:
        if not isinstance(item, dict):
            return False
        if not all(isinstance(item.get(k), str) for k in ("id", "type", "name")):
            return False
        if not isinstance(item.get("params"), dict):
            return False
        pos = item.get("position")
        if not (isinstance(pos, list) and len(pos) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pos)):
            return False
        ids.add(item["id"])
    if len(ids) != len(layers):
        return False
    return all(isinstance(c, list) and len(c) == 2 and c[0] in ids and c[1] in ids for c in connections)


def fragment_bounds(fragment: Fragment) -> tuple[float, float]:
    """Top-left corner of the fragment's layers (where a paste at the cursor anchors it)."""
    xs = [item["position"][0] for item in fragment["layers"]] or [0.0]
    ys = [item["position"][1] for item in fragment["layers"]] or [0.0]
    return min(xs), min(ys)
