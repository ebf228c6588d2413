"""check_fit: a design's Input and Output against a dataset, in messages a learner can act on."""

from __future__ import annotations

import pytest

from nnstudio.core.settings import DatasetSpec
from nnstudio.data import Dataset, check_fit, load_dataset


def dataset(**changes) -> Dataset:
    return load_dataset(DatasetSpec().with_changes(**changes))


@pytest.fixture(scope="module")
def circle3() -> Dataset:
    return dataset(name="circle", features=["x1", "x2", "x1^2"])


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return dataset(source="builtin", name="iris")


def test_a_fitting_design_gets_no_messages(circle3: Dataset, iris: Dataset) -> None:
    assert check_fit(circle3, (3,), "binary", 1) == []
    assert check_fit(circle3, (3,), "multiclass", 2) == []  # two softmax units also classify two classes
    assert check_fit(iris, (4,), "multiclass", 3) == []
    assert check_fit(dataset(name="reg-gauss"), (2,), "regression", 1) == []
    digits = dataset(source="builtin", name="digits", as_images=True)
    assert check_fit(digits, (1, 8, 8), "multiclass", 10) == []


def test_input_feature_count_mismatch_names_the_features(circle3: Dataset) -> None:
    assert check_fit(circle3, (2,), "binary", 1, input_name="in") == [
        "Input 'in' takes 2 features but the circle dataset gives 3 (x1, x2, x1^2): set features to 3"]


def test_without_a_layer_name_the_message_still_reads(circle3: Dataset) -> None:
    [message] = check_fit(circle3, (1,), "binary", 1)
    assert message.startswith("The Input layer takes 1 feature but the circle dataset gives 3")


def test_images_versus_vectors(iris: Dataset) -> None:
    digits_flat = dataset(source="builtin", name="digits")
    digits_images = dataset(source="builtin", name="digits", as_images=True)
    [message] = check_fit(digits_flat, (1, 8, 8), "multiclass", 10, input_name="in")
    assert "takes 1×8×8 images but digits gives 64 features" in message
    assert "turn on 'As images'" in message
    [message] = check_fit(digits_images, (64,), "multiclass", 10, input_name="in")
    assert "takes 64 features but digits gives 1×8×8 images" in message
    assert "image mode" in message and "turn off 'As images'" in message
    [message] = check_fit(digits_images, (3, 28, 28), "multiclass", 10, input_name="in")
    assert "set channels to 1, height to 8 and width to 8" in message
    [message] = check_fit(iris, (1, 2, 2), "multiclass", 3)
    assert "vector mode with 4 features" in message and "As images" not in message


def test_output_units_must_match_the_classes(iris: Dataset) -> None:
    assert check_fit(iris, (4,), "multiclass", 2, output_name="out") == [
        "Output 'out' has 2 units but iris has 3 classes (setosa, versicolor, virginica): set units to 3"]
    [message] = check_fit(iris, (4,), "multiclass", 4, output_name="out")
    assert "has 4 units" in message


def test_binary_output_on_a_multiclass_dataset(iris: Dataset) -> None:
    [message] = check_fit(iris, (4,), "binary", 1, output_name="out")
    assert message == ("Output 'out' is a binary classifier but iris has 3 classes (setosa, versicolor, "
                       "virginica): set task to multiclass with 3 units")


def test_regression_output_on_a_classification_dataset(circle3: Dataset) -> None:
    [message] = check_fit(circle3, (3,), "regression", 1, output_name="out")
    assert "does regression but the circle dataset is a classification dataset with 2 classes" in message
    assert message.endswith("set task to binary with 1 unit")


def test_multiclass_output_with_wrong_units_on_a_binary_dataset(circle3: Dataset) -> None:
    [message] = check_fit(circle3, (3,), "multiclass", 3, output_name="out")
    assert "set units to 2 (or task to binary with 1 unit)" in message


def test_classifier_output_on_a_regression_dataset() -> None:
    diabetes = dataset(source="builtin", name="diabetes")
    [message] = check_fit(diabetes, (10,), "multiclass", 3, output_name="out")
    assert message == ("Output 'out' is a multi-class classifier but diabetes is a regression dataset (it "
                       "predicts 1 number per sample): set task to regression with 1 unit")
    [message] = check_fit(diabetes, (10,), "regression", 2, output_name="out")
    assert message == "Output 'out' has 2 units but diabetes has 1 target value per sample: set units to 1"


def test_input_and_output_problems_are_both_reported(iris: Dataset) -> None:
    messages = check_fit(iris, (2,), "binary", 1, input_name="in", output_name="out")
    assert len(messages) == 2
    assert messages[0].startswith("Input 'in'") and messages[1].startswith("Output 'out'")


def test_unknown_task_is_reported(iris: Dataset) -> None:
    [message] = check_fit(iris, (4,), "ranking", 3)
    assert "unknown task 'ranking'" in message
