#!/usr/bin/env bash
# Build NN Studio as a one-folder application (dist/nnstudio/) with PyInstaller, then check that it starts.
#
#     packaging/build_bundle.sh                 # build and smoke-test
#     SMOKE_ONLY=1 packaging/build_bundle.sh    # smoke-test an existing dist/nnstudio
#     PYTHON=/path/to/python packaging/build_bundle.sh
#
# Slow (several minutes: PyTorch alone is hundreds of MB) and not part of the test suite.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
APP="$DIST/nnstudio/nnstudio"
cd "$ROOT"

step() { printf '\n== %s\n' "$*"; }

if [[ -z "${SMOKE_ONLY:-}" ]]; then
    if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
        step "installing PyInstaller"
        "$PYTHON" -m pip install "pyinstaller>=6.10"
    fi
    if ! ls resources/icons/nnstudio-256.png >/dev/null 2>&1; then
        step "rendering the icons"
        QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/render_icons.py
    fi
    step "building $DIST/nnstudio with PyInstaller $("$PYTHON" -m PyInstaller --version)"
    started=$(date +%s)
    "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$DIST" --workpath "$WORK" packaging/nnstudio.spec
    echo "built in $(( $(date +%s) - started )) s"
fi

[[ -x "$APP" ]] || { echo "no executable at $APP" >&2; exit 1; }

# ---- smoke tests: each runs the bundled executable, never the source tree -----------------------------------
export QT_QPA_PLATFORM=offscreen
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH"  # so nothing can be imported from the repository by accident

step "nnstudio --version"
"$APP" --version

EXAMPLE="$DIST/nnstudio/_internal/resources/examples/playground-circle.nnstudio"
if [[ -f "$EXAMPLE" ]]; then
    step "nnstudio validate (bundled example)"
    "$APP" validate "$EXAMPLE"
else
    echo "(no bundled playground-circle example yet: validate skipped)"
fi

# PyTorch inside the bundle: train one epoch and export it, where the train command exists.
if [[ -f "$EXAMPLE" ]] && "$APP" train --help >/dev/null 2>&1; then
    step "nnstudio train + export (PyTorch, safetensors and ONNX inside the bundle)"
    if "$APP" train --help | grep -q -- "--out"; then
        "$APP" train "$EXAMPLE" --epochs 1 --out "$SCRATCH/run.safetensors"
        for format in pt safetensors pt2 onnx python; do
            "$APP" export "$SCRATCH/run.safetensors" --format "$format" -o "$SCRATCH/exported-$format"
        done
    else
        echo "(train has no --out option: skipped)"
    fi
fi

# The window: open it briefly where the application offers a smoke flag.
if "$APP" --help 2>&1 | grep -q -- "--smoke"; then
    step "nnstudio --smoke (opens the window offscreen and closes it)"
    timeout 120 "$APP" --smoke
else
    step "opening the window for 10 s (offscreen)"
    set +e
    timeout 10 "$APP" >"$SCRATCH/window.log" 2>&1
    status=$?
    set -e
    if [[ $status -ne 124 ]]; then  # 124: still running when the timeout ended it, i.e. it started
        cat "$SCRATCH/window.log"
        echo "the window exited early with status $status" >&2
        exit 1
    fi
    echo "the window was still running after 10 s: started"
fi

step "bundle size"
du -sh "$DIST/nnstudio"
echo "OK: $APP"
