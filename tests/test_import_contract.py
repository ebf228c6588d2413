"""The layering rule: core, io and data never import torch or Qt; ml never imports Qt."""

import subprocess
import sys

import pytest

FORBIDDEN = {
    "nnstudio.core": ("torch", "PySide6", "pyqtgraph"),
    "nnstudio.io": ("torch", "PySide6", "pyqtgraph"),
    "nnstudio.data": ("torch", "PySide6", "pyqtgraph"),
    "nnstudio.ml": ("PySide6", "pyqtgraph"),
    "nnstudio.validate_cli": ("torch", "PySide6", "pyqtgraph"),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(getattr(pkg, '__path__', []), pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in {FORBIDDEN[package]!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{package} imported {out.stdout.strip()}"
