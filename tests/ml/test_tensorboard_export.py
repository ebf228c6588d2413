"""`nnstudio runs DESIGN --tensorboard DIR`: TensorBoard's own reader gets back the store's scalars."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from training_helpers import one_cpu_thread  # noqa: F401 - autouse fixture

from nnstudio.cli import main as cli_main
from nnstudio.ml.sweep import parse_set, run_sweep
from nnstudio.runs import RunStore

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the optional tensorboard extra is not installed")
ROOT = Path(__file__).resolve().parents[2]


def test_exported_scalars_and_histograms_read_back_equal_to_the_store(tmp_path: Path) -> None:
    design = Path(shutil.copy(ROOT / "resources/examples/playground-circle.nnstudio", tmp_path / "c.nnstudio"))
    store_path = tmp_path / "nnstudio-runs" / "runs.sqlite"
    run_sweep(design, [parse_set("training.optimizer=sgd,adam")], store_path=store_path, epochs=3)
    assert cli_main(["runs", str(design), "--tensorboard", str(tmp_path / "tb")]) == 0
    with RunStore(store_path) as store:
        runs = store.runs()
        folders = {p.name.rsplit("-", 1)[1]: p for p in (tmp_path / "tb").iterdir()}
        assert set(folders) == {r.uid for r in runs}
        for run in runs:
            acc = event_accumulator.EventAccumulator(str(folders[run.uid]), size_guidance={
                event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0})
            acc.Reload()
            history = store.history(run.uid)
            for tag, key in (("loss/train", "train_loss"), ("loss/val", "val_loss"),
                             ("accuracy/val", "val_accuracy"), ("learning_rate", "learning_rate"),
                             ("grad_norm/total", "grad_norm")):
                events = acc.Scalars(tag)
                assert [e.step for e in events] == [h.epoch for h in history]
                # TensorBoard keeps float32: equal to the store's float64 within float32 rounding.
                assert [e.value for e in events] == pytest.approx([getattr(h, key) for h in history], rel=1e-6)
            layer = sorted(history[0].grad_norms)[0]
            assert [e.value for e in acc.Scalars(f"grad_norm/{layer}")] == pytest.approx(
                [h.grad_norms[layer] for h in history], rel=1e-6)
            histograms = acc.Tags()["histograms"]
            assert histograms and all(t.startswith("weights/") for t in histograms)
            from nnstudio.ml.run_restore import restore_run

            weights = restore_run(store, run).state_dict
            for tag in histograms:
                (event,) = acc.Histograms(tag)
                tensor = weights[tag.removeprefix("weights/")]
                assert event.step == 3 and event.histogram_value.num == tensor.numel()
                assert event.histogram_value.min == pytest.approx(float(tensor.min()), rel=1e-6)
                assert event.histogram_value.max == pytest.approx(float(tensor.max()), rel=1e-6)


def test_export_without_tensorboard_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnstudio.ml import tensorboard_export

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if the extra were not installed
    with pytest.raises(tensorboard_export.TensorBoardUnavailable, match=r"pip install 'nnstudio\[tensorboard\]'"):
        tensorboard_export.export_runs(None, [], tmp_path)
