"""The `nnstudio` command: open the window, or validate / train / render / export from the shell.

Heavy modules (torch, Qt) are imported only by the sub-command that needs them, so `nnstudio validate`
answers quickly and a user's mistake prints one line and a non-zero exit, never a traceback. Opening the
window (`nnstudio`, `nnstudio FILE`, `nnstudio open …`) takes a short path that builds no other verb's
parser and imports nothing but the window's first stage (issue 9: the first paint comes first).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnstudio import __version__

if TYPE_CHECKING:
    import argparse

SUBCOMMANDS = ("validate", "train", "render", "export", "open", "open-playground", "explain", "sweep", "runs",
               "landscape", "lr-find", "report", "import")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    import argparse

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

    p = sub.add_parser("explain", help="one training step stage by stage: forward, loss, backward, update")
    from nnstudio import explain_cli

    explain_cli.add_arguments(p)

    from nnstudio import open_playground_cli

    p = sub.add_parser("open-playground", help="turn a TensorFlow Playground share link into a design")
    open_playground_cli.add_arguments(p)

    p = sub.add_parser("render", help="draw a design's diagram as SVG or PNG")
    p.add_argument("file", help="a .nnstudio design")
    p.add_argument("-o", "--output", required=True, help="OUT.svg or OUT.png")

    p = sub.add_parser("export", help="export a trained checkpoint to other formats")
    p.add_argument("checkpoint", help="a checkpoint (.safetensors) saved by NN Studio")
    p.add_argument("--format", required=True, choices=("onnx", "safetensors", "pt", "pt2", "python"))
    p.add_argument("-o", "--output", required=True, help="where to write (a folder for --format python)")
    _add_run_commands(sub)
    _add_optimization_verbs(sub)

    from nnstudio import report_cli

    report_cli.add_arguments(sub.add_parser("report", help="write a self-contained HTML report about a checkpoint"))

    from nnstudio import import_cli

    import_cli.add_arguments(sub.add_parser("import", help="import an ONNX file or .pt2 program as a design"))
    return parser


def _add_run_commands(sub: argparse._SubParsersAction) -> None:
    """`sweep` and `runs` (issue 16): their options live in their own modules."""
    from nnstudio import runs_cli, sweep_cli

    sweep_cli.add_arguments(sub.add_parser("sweep", help="train combinations of settings into the run store"))
    runs_cli.add_arguments(sub.add_parser("runs", help="list a design's stored runs (table, --json, --tensorboard)"))


def _add_optimization_verbs(sub: argparse._SubParsersAction) -> None:
    """`landscape` and `lr-find` (issue 14): each verb's arguments live in its own module."""
    from nnstudio import landscape_cli, lrfind_cli

    landscape_cli.add_arguments(sub.add_parser("landscape", help="draw the loss landscape around a checkpoint"))
    lrfind_cli.add_arguments(sub.add_parser("lr-find", help="find a learning rate with Smith's range test"))


def _open_parser() -> argparse.ArgumentParser:
    """`nnstudio [open] [FILE] [--smoke]`: the window's own small parser (the first paint waits for nothing)."""
    import argparse

    parser = argparse.ArgumentParser(prog="nnstudio open", description="Open a design in the window.")
    parser.add_argument("--smoke", action="store_true",
                        help="open the window, paint it once and exit (a start-up check for installers)")
    parser.add_argument("file", nargs="?", help="a .nnstudio design (default: the Playground example)")
    return parser


def _opens_window(args_list: list[str]) -> bool:
    words = [a for a in args_list if a != "--smoke"]
    return not words or (words[0] == "open" and not any(w in ("-h", "--help", "--version") for w in words))


def _user_error() -> type[Exception]:
    """The exception class of a user's mistake (imported only when something was raised)."""
    from nnstudio.core.errors import NNStudioError

    return NNStudioError


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
    if _opens_window(args_list):
        words = list(args_list)
        if "open" in words:
            words.remove("open")  # the verb (the first "open"); a file may be called "open" too
        if len(words) <= 1 and not any(w.startswith("-") for w in words):
            file = words[0] if words else None  # plain `nnstudio [FILE]`: no parser to build
        else:
            args = _open_parser().parse_args(words)
            file, smoke = args.file, args.smoke
        from nnstudio.gui.shell.app import run

        try:
            return run(file, smoke=smoke)
        except KeyboardInterrupt:
            print("nnstudio open: interrupted", file=sys.stderr)
            return 130
    args = _parser().parse_args(args_list)
    command = args.command or "open"
    try:
        if command == "open":
            from nnstudio.gui.shell.app import run

            return run(getattr(args, "file", None), smoke=args.smoke)
        if command == "validate":
            from nnstudio.validate_cli import validate

            return validate(args.file)
        if command == "train":
            from nnstudio import train_cli

            return train_cli.main(args)
        if command == "explain":
            from nnstudio import explain_cli

            return explain_cli.main(args)
        if command == "render":
            return _render(args.file, args.output)
        if command == "open-playground":
            from nnstudio import open_playground_cli

            return open_playground_cli.main(args)
        if command == "export":
            from nnstudio.ml.export import export_cli

            return export_cli(args.checkpoint, args.format, args.output)
        if command in ("sweep", "runs"):
            from nnstudio import runs_cli, sweep_cli

            return (sweep_cli if command == "sweep" else runs_cli).main(args)
        if command in ("landscape", "lr-find"):
            from nnstudio import landscape_cli, lrfind_cli

            return (landscape_cli if command == "landscape" else lrfind_cli).main(args)
        if command == "report":
            from nnstudio import report_cli

            return report_cli.main(args)
        if command == "import":
            from nnstudio import import_cli

            return import_cli.main(args)
    except _user_error() as exc:
        from nnstudio.core.text import shown

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
    from nnstudio.gui.canvas.render import render_design
    from nnstudio.io import load_design

    render_design(load_design(file), output)
    print(f"wrote {output}")
    return EXIT_OK
