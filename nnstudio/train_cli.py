"""`nnstudio train FILE`: train a design from the shell, with a progress bar, final metrics and checkpoints.

Exit codes: 0 trained (or stopped by Ctrl+C after saving what there was: 130), 1 training failed (NaN
loss, out of memory, no such device, a checkpoint that cannot be written), 2 the design, its data or a
resumed checkpoint cannot be used. Errors print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from nnstudio.core.errors import DataError, DesignError, FormatError, NNStudioError, SaveError, TrainingError
from nnstudio.core.recipe_text import design_output_and_loss
from nnstudio.ml.callbacks import Callback  # light: no torch until training starts

from .cli_output import console_for, is_terminal, json_safe, styled, table

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "nnstudio train"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a .nnstudio design; its dataset paths are relative to it")
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs to train (default: the design's setting)")
    parser.add_argument("--device", metavar="DEVICE",
                        help="auto, cpu, cuda, cuda:N or mps (default: the design's setting)")
    parser.add_argument("--out", metavar="CHECKPOINT", help="save the trained weights here (.safetensors)")
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint saved by NN Studio")
    parser.add_argument("--metrics-json", metavar="PATH", help="write the final metrics and per-epoch history")
    from nnstudio import distributed_cli

    distributed_cli.add_arguments(parser)


class ProgressLine(Callback):
    """A Trainer callback showing progress: a live rich progress bar on a terminal, or plain lines at most
    once a second when the output is a file or a pipe."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = is_terminal(stream)
        self.last_line = 0.0
        self.epochs: list[dict[str, Any]] = []
        self._progress: Any = None
        self._task: Any = None

    def on_publish(self, telemetry: Any) -> None:
        if telemetry.reason in ("epoch_end", "end"):
            self.epochs.append(telemetry.metrics())
        if self.tty:
            self._draw(telemetry)
            return
        now = time.monotonic()
        if telemetry.reason == "end" or now - self.last_line >= 1.0:
            self.stream.write(self.describe(telemetry) + "\n")
            self.stream.flush()
            self.last_line = now

    def _draw(self, t: Any) -> None:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        if self._progress is None:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                      TextColumn("{task.fields[figures]}"), console=console_for(self.stream),
                                      auto_refresh=False, transient=False)
            self._progress.start()
            self._task = self._progress.add_task("", total=1.0, figures="")
        self._progress.update(self._task, completed=min(1.0, max(0.0, t.progress)),
                              description=f"epoch {t.epoch}/{t.epochs}", figures="  ".join(self.figures(t)))
        self._progress.refresh()

    def on_fit_end(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @staticmethod
    def figures(t: Any) -> list[str]:
        parts = []
        if t.train_loss is not None:
            parts.append(f"loss {t.train_loss:.4g}")
        if t.val_loss is not None:
            parts.append(f"val {t.val_loss:.4g}")
        if t.val_accuracy is not None:
            parts.append(f"acc {t.val_accuracy:.3f}")
        if t.steps_per_second:
            parts.append(f"{t.steps_per_second:,.0f} steps/s")
        if t.reason != "end" and t.eta_seconds is not None:
            parts.append(f"ETA {_duration(t.eta_seconds)}")
        return parts

    def describe(self, t: Any) -> str:
        """The plain line written when the output is not a terminal."""
        return "  ".join([f"epoch {t.epoch}/{t.epochs} {t.progress * 100:3.0f}%", *self.figures(t)])


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def main(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr

    def fail(code: int, message: str) -> int:
        print(f"{PROG}: {message}", file=err)
        return code

    if getattr(args, "nproc_per_node", None) is not None:
        from nnstudio import distributed_cli

        return distributed_cli.launch(args)
    if args.epochs is not None and args.epochs < 1:
        return fail(EXIT_BAD_INPUT, f"--epochs must be at least 1, not {args.epochs}")
    from nnstudio.io import load_design

    path = Path(args.file)
    try:
        design = load_design(path)
    except NNStudioError as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    if args.epochs is not None:
        design.set_training(epochs=args.epochs)

    from nnstudio.ml.checkpoint import load_checkpoint
    from nnstudio.ml.faults import DivergedError
    from nnstudio.ml.trainer import Trainer

    initial = None
    if args.resume:
        try:
            initial = load_checkpoint(args.resume)
        except NNStudioError as exc:
            return fail(EXIT_BAD_INPUT, str(exc))
    from nnstudio.data.path_policy import outside_notice

    notice = outside_notice(design.dataset, path.resolve().parent)
    if notice:
        print(f"{PROG}: {notice}", file=err)  # shown before the file is read
    epochs = design.training.epochs
    progress = ProgressLine(err)
    try:
        callbacks: list[Callback] = [progress]
        if getattr(args, "record", False) or getattr(args, "store", None):
            from nnstudio.ml.run_recorder import recorder_for

            callbacks.append(recorder_for(path, args.store))
        trainer = Trainer(design, base_dir=path.resolve().parent, callbacks=callbacks, device=args.device,
                          initial_state=initial, publish_hz=4.0, publish_epoch_end=True)
    except (DataError, DesignError, FormatError) as exc:
        return fail(EXIT_BAD_INPUT, str(exc))
    except NNStudioError as exc:
        return fail(EXIT_FAILED, str(exc))

    interrupted = False
    error: TrainingError | None = None
    start_step = trainer.step
    try:
        trainer.fit(epochs)
    except TrainingError as exc:
        error = exc
    except KeyboardInterrupt:
        interrupted = True
        progress.on_fit_end()
    final = trainer.last_telemetry
    if error is not None:
        fail(EXIT_FAILED, str(error))
    elif final is not None:
        _print_summary(out, trainer, final)
    code = EXIT_INTERRUPTED if interrupted else EXIT_FAILED if error is not None else EXIT_OK
    diverged = isinstance(error, DivergedError)  # the trainer put the last finite weights back: keep them
    if args.out and (error is None or diverged):
        try:
            trainer.save_checkpoint(args.out)
            if diverged:
                when = f"from step {error.good_step}" if error.good_step else "the initial weights"
                print(f"saved the last finite weights ({when}) to {args.out}", file=out)
            else:
                print(f"saved checkpoint {args.out}", file=out)
        except SaveError as exc:
            code = fail(EXIT_FAILED, str(exc))
    if args.metrics_json:
        try:
            _write_metrics(Path(args.metrics_json), trainer, progress.epochs, final, error, start_step)
        except OSError as exc:
            code = fail(EXIT_FAILED, f"could not write {args.metrics_json}: {exc.strerror or exc}")
    return code


def _print_summary(out: TextIO, trainer: Any, final: Any) -> None:
    rows = [("epochs", f"{trainer.epoch}"), ("steps", f"{trainer.step:,}")]
    rows.append(("output and loss", design_output_and_loss(trainer.design) or "-"))  # the losses below are these
    for label, value in (("train loss", final.train_loss), ("train accuracy", final.train_accuracy),
                         ("val loss", final.val_loss), ("val accuracy", final.val_accuracy)):
        if value is not None:
            rows.append((label, f"{value:.4f}"))
    rows.append(("device", f"{trainer.device} ({trainer.graph_mode.replace('_', ' ')})"))
    console_for(out).print(table([("", "left"), ("", "left")], [(styled(k, "bold"), v) for k, v in rows],
                                 header=False))


def _write_metrics(path: Path, trainer: Any, epochs: list[dict[str, Any]], final: Any,
                   error: TrainingError | None, start_step: int) -> None:
    fit_seconds = final.elapsed if final is not None else None
    data: dict[str, Any] = {
        "epochs": trainer.epoch,
        "steps": trainer.step,
        "train_loss": final.train_loss if final else None,
        "train_accuracy": final.train_accuracy if final else None,
        "val_loss": final.val_loss if final else None,
        "val_accuracy": final.val_accuracy if final else None,
        "steps_per_second": (trainer.step - start_step) / fit_seconds if fit_seconds else None,
        "seconds": fit_seconds,
        "device": str(trainer.device),
        "graph_mode": trainer.graph_mode,
        "task": trainer.task,
        "error": str(error) if error is not None else None,
        "history": [{k: v for k, v in e.items() if k != "reason"} for e in epochs],
    }
    if trainer.task == "regression":
        data.pop("train_accuracy")
        data.pop("val_accuracy")
    path.write_text(json.dumps(json_safe(data), indent=2) + "\n", encoding="utf-8")

