"""Playground share links become designs; what a link holds that cannot be used is named, never fatal."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from nnstudio.core.errors import FormatError
from nnstudio.io import dumps, load_design, loads
from nnstudio.io.playground_link import describe_import, design_from_link, parse_link
from nnstudio.open_playground_cli import add_arguments, main

# A lesson's link as state.ts serialises it (hsf-training's regularisation exercise).
LESSON = ("https://playground.tensorflow.org/#activation=relu&batchSize=5&dataset=gauss&regDataset=reg-plane&"
          "learningRate=0.03&regularizationRate=0&noise=50&networkShape=8,8,8,8,8,8&seed=0.66131&"
          "showTestData=false&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&"
          "ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false&"
          "problem=classification&initZero=false&hideText=false")


def _hidden(design):
    return [(layer.params["units"], layer.params["activation"]) for layer in design.layers.values()
            if layer.type == "Dense"]


def test_a_full_lesson_link_becomes_its_design():
    design, state = design_from_link(LESSON)
    assert _hidden(design) == [(8, "relu")] * 6
    spec, training = design.dataset, design.training
    assert (spec.source, spec.name, spec.samples, spec.noise, spec.train_percent) == ("playground", "gauss", 500,
                                                                                      0.5, 50)
    assert spec.features == ("x1", "x2") and spec.seed == 66131
    assert (training.recipe, training.until_paused, training.init) == ("playground", True, "playground")
    assert (training.batch_size, training.learning_rate, training.regularization) == (5, 0.03, "none")
    output = [layer for layer in design.layers.values() if layer.type == "Output"][0]
    assert output.params["task"] == "binary" and output.params["units"] == 1
    assert state.notes == [] and state.unknown == []
    assert "hideText" in state.display and "showTestData" not in state.display  # showTestData is applied
    assert (design.view.show_test_data, design.view.discretize) == (False, False)  # the link says false
    assert "Playground page settings NN Studio does not use: " in "\n".join(describe_import(state))


@pytest.mark.parametrize("show, discretize", [("true", "false"), ("false", "true"), ("true", "true")])
def test_show_test_data_and_discretize_become_the_designs_view(show, discretize):
    link = f"#showTestData={show}&discretize={discretize}&dataset=xor&collectStats=false&x_hide=true&tutorial=x"
    design, state = design_from_link(link)
    assert design.view.show_test_data is (show == "true") and design.view.discretize is (discretize == "true")
    assert state.notes == [] and state.unknown == []
    told = describe_import(state)
    assert told == ["Playground page settings NN Studio does not use: collectStats, x_hide, tutorial"]
    saved = loads(dumps(design))  # and they travel in the file
    assert (saved.view.show_test_data, saved.view.discretize) == (show == "true", discretize == "true")


def test_a_view_key_that_is_not_true_or_false_is_named_and_read_as_playground_reads_it():
    design, state = design_from_link("#showTestData=yes&discretize=false")
    assert design.view.show_test_data is True and design.view.discretize is False
    assert state.notes == ["showTestData=yes: not true or false; read as true, as Playground does"]


def test_regression_features_and_regularisation_are_read():
    design, _ = design_from_link("#problem=regression&regDataset=reg-gauss&dataset=xor&regularization=L1&"
                                 "regularizationRate=0.003&x=false&y=true&xSquared=true&sinX=true&"
                                 "networkShape=&percTrainData=70&learningRate=0.1&batchSize=30")
    assert design.dataset.name == "reg-gauss" and design.dataset.samples == 1200
    assert design.dataset.features == ("x2", "x1^2", "sin(x1)")
    assert design.dataset.train_percent == 70
    assert _hidden(design) == []  # no hidden layer: inputs straight to the output
    assert [layer.type for layer in design.layers.values()] == ["Input", "Output"]
    assert design.layers["L1"].params["features"] == 3
    assert (design.training.regularization, design.training.regularization_rate) == ("l1", 0.003)
    assert (design.training.learning_rate, design.training.batch_size) == (0.1, 30)


def test_bad_values_are_named_with_their_key_and_defaults_kept():
    design, state = design_from_link("activation=swish&learningRate=abc&batchSize=2.5&noise=80&"
                                     "networkShape=4,x&percTrainData=5&dataset=moon&favourite=blue&colour")
    assert state.notes == [
        "activation=swish: not one of relu, tanh, sigmoid, linear; kept tanh",
        "learningRate=abc: not a number; kept 0.03",
        "batchSize=2.5: not a whole number; kept 10",
        "noise=80: outside 0…50; kept 0.0",
        "networkShape=4,x: needs whole numbers of neurons, 1 or more, separated by commas; kept 4,2",
        "percTrainData=5: outside 10…90; kept 50",
        "dataset=moon: not one of circle, xor, gauss, spiral; kept circle",
        "colour=: has no '=' and no value; kept the default",
    ]
    assert state.unknown == ["favourite"]
    assert _hidden(design) == [(4, "tanh"), (2, "tanh")]
    assert "not Playground settings, ignored: favourite" in describe_import(state)


@pytest.mark.parametrize("text", ["", "hello", "https://playground.tensorflow.org/", "#", "#&&"])
def test_text_without_settings_is_refused(text):
    with pytest.raises(FormatError, match="not a Playground link"):
        design_from_link(text)


def test_a_link_with_every_feature_off_is_refused():
    with pytest.raises(FormatError, match="every input feature off"):
        design_from_link("#x=false&y=false")


def test_seed_text_becomes_a_data_seed():
    assert parse_link("#seed=0.12345").data_seed == 12345
    assert parse_link("#seed=42").data_seed == 42
    assert parse_link("#seed=hello").data_seed == parse_link("#seed=hello").data_seed >= 0


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="nnstudio open-playground")
    add_arguments(parser)
    return main(parser.parse_args(list(argv)))


def test_the_cli_writes_the_design_and_lists_what_it_left(tmp_path, capsys):
    out = tmp_path / "lesson.nnstudio"
    assert _cli("#networkShape=3&dataset=xor&foo=1&learningRate=-1", "-o", str(out)) == 0
    design = load_design(out)
    assert _hidden(design) == [(3, "tanh")] and design.dataset.name == "xor"
    err = capsys.readouterr().err
    assert "learningRate=-1: outside 1e-06…10; kept 0.03" in err and "ignored: foo" in err


def test_the_cli_refuses_non_links_with_exit_2_and_no_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "nnstudio", "open-playground", "not a link", "-o",
                             str(tmp_path / "x.nnstudio")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "not a Playground link" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.nnstudio").exists()
