"""The `nnstudio` command: open the window, or validate / train / render / export from the shell.

Heavy modules (torch, Qt) are imported only by the sub-command that needs them, so `nnstudio validate`
answers quickly and a user's mistake prints one line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nnstudio import __version__
from nnstudio.core.errors import NNStudioError
from nnstudio.core.text import shown

SUBCOMMANDS = ("validate", "train", "render", "export", "open")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnstudio",
        description="NN Studio: build neural networks visually and watch them learn. "
        "With no command, opens the window (on FILE, or on the Playground example).",
    )
    parser.add_argument("--version", action="version", version=f"NN Studio {__version__}")
    parser.add_argument("--smoke", action="store_true",
                        help="open the window, paint it once and exit (a start-up check for installers)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("open", help="open a design in the window (the default command)")
    p.add_argument("file", nargs="?", help="a .nnstudio design (default: the Playground example)")

    p = sub.add_parser("validate", help="check a design: per-layer shapes, parameters and problems")
    p.add_argument("file", help="a .nnstudio design")

    p = sub.add_parser("train", help="train a design on the command line")
    try:
        from nnstudio import train_cli
    except ImportError:  # pragma: no cover - only while the trainer is being built
        train_cli = None
    if train_cli is not None:
        train_cli.add_arguments(p)

    p = sub.add_parser("render", help="draw a design's diagram as SVG or PNG")
    p.add_argument("file", help="a .nnstudio design")
    p.add_argument("-o", "--output", required=True, help="OUT.svg or OUT.png")

    p = sub.add_parser("export", help="export a trained checkpoint to other formats")
    p.add_argument("checkpoint", help="a checkpoint (.safetensors) saved by NN Studio")
    p.add_argument("--format", required=True, choices=("onnx", "safetensors", "pt", "pt2", "python"))
    p.add_argument("-o", "--output", required=True, help="where to write (a folder for --format python)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `nnstudio FILE` opens FILE in the window.
    smoke = "--smoke" in args_list
    if smoke:
        args_list.remove("--smoke")
    if args_list and args_list[0] not in SUBCOMMANDS and not args_list[0].startswith("-"):
        args_list.insert(0, "open")
    if smoke:
        args_list.insert(0, "--smoke")
    _never_fail_on_output()
    args = _parser().parse_args(args_list)
    command = args.command or "open"
    try:
        if command == "open":
            from nnstudio.gui.app import run

            return run(getattr(args, "file", None), smoke=args.smoke)
        if command == "validate":
            from nnstudio.validate_cli import validate

            return validate(args.file)
        if command == "train":
            from nnstudio import train_cli

            return train_cli.main(args)
        if command == "render":
            return _render(args.file, args.output)
        if command == "export":
            from nnstudio.ml.export import export_cli

            return export_cli(args.checkpoint, args.format, args.output)
    except NNStudioError as exc:
        print(f"nnstudio {command}: {shown(str(exc), None)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"nnstudio {command}: interrupted", file=sys.stderr)
        return 130
    return EXIT_FAILED  # pragma: no cover


def _never_fail_on_output() -> None:
    """A terminal that cannot show a character gets an escape for it, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot be reconfigured
                pass


def _render(file: str, output: str) -> int:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from nnstudio.gui.render import render_design
    from nnstudio.io import load_design

    render_design(load_design(file), output)
    print(f"wrote {output}")
    return EXIT_OK
