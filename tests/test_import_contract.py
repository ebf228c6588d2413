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


def test_the_import_linter_contracts_hold() -> None:
    """pyproject.toml's [tool.importlinter] contracts (layers, no torch/Qt below ml/gui, no cycles), as CI runs them."""
    pytest.importorskip("importlinter")
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}  # this checkout's nnstudio, whatever is installed
    out = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                          "lint_imports_command()"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "broken" not in out.stdout.lower().replace("0 broken", "")
