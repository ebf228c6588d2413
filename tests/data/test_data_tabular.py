"""CSV and NPZ import: the happy paths, the classification/regression rule, and every error naming its place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnstudio.core.errors import DataError
from nnstudio.core.settings import DatasetSpec
from nnstudio.data import clear_cache, load_csv, load_dataset, load_npz, tabular


def write(folder: Path, text: str, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_error(folder: Path, text: str, target: str = "") -> DataError:
    path = write(folder, text)
    with pytest.raises(DataError) as caught:
        load_csv(path, target)
    assert caught.value.file == str(path)
    return caught.value


# ---- CSV happy paths -------------------------------------------------------------------------------------

def test_csv_with_class_names_in_the_last_column(tmp_path: Path) -> None:
    path = write(tmp_path, "length,width,species\n1.5,0.2,setosa\n4.7,1.4,versicolor\n1.4,0.2,setosa\n"
                           "6.0,2.5,virginica\n")
    data = load_csv(path)
    assert data.feature_names == ("length", "width")
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert data.task == "multiclass"
    np.testing.assert_array_equal(data.y, [0, 1, 0, 2])
    np.testing.assert_allclose(data.x, [[1.5, 0.2], [4.7, 1.4], [1.4, 0.2], [6.0, 2.5]], rtol=1e-6)
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    assert data.input_shape == (2,)


def test_csv_target_chosen_by_name_from_the_middle(tmp_path: Path) -> None:
    path = write(tmp_path, "a,label,b\n1,yes,2\n3,no,4\n5,yes,6\n")
    data = load_csv(path, "label")
    assert data.feature_names == ("a", "b")
    assert data.task == "binary" and data.class_names == ("no", "yes")
    np.testing.assert_array_equal(data.y, [1, 0, 1])
    np.testing.assert_array_equal(data.x, [[1, 2], [3, 4], [5, 6]])
    assert load_csv(path, "LABEL").class_names == ("no", "yes")  # a unique case-insensitive match is fine


def test_csv_whole_number_targets_with_few_values_are_classes(tmp_path: Path) -> None:
    path = write(tmp_path, "x,y,label\n0.1,0.2,-1\n0.3,0.4,1\n0.5,0.6,1.0\n")
    data = load_csv(path)
    assert data.task == "binary" and data.class_names == ("-1", "1")
    np.testing.assert_array_equal(data.y, [0, 1, 1])


def test_csv_fractional_targets_are_regression(tmp_path: Path) -> None:
    path = write(tmp_path, "x,price\n1,10.5\n2,11\n3,12.25\n")
    data = load_csv(path)
    assert data.task == "regression" and data.class_names == ()
    assert data.y.shape == (3, 1) and data.y.dtype == np.float32
    np.testing.assert_allclose(data.y[:, 0], [10.5, 11, 12.25])


def test_csv_many_whole_numbers_are_regression(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i * 3}\n" for i in range(21))
    assert load_csv(write(tmp_path, "x,count\n" + rows)).task == "regression"
    rows = "".join(f"{i},{i % 20}\n" for i in range(40))
    data = load_csv(write(tmp_path, "x,digit\n" + rows))
    assert data.task == "multiclass" and data.class_names == tuple(str(i) for i in range(20))


def test_csv_tolerates_bom_semicolons_blank_lines_crlf_and_trailing_delimiters(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffa;b;class;\r\n1;2;x;\r\n\r\n3;4;y;\r\n".encode())
    data = load_csv(path)
    assert data.feature_names == ("a", "b") and data.class_names == ("x", "y")
    np.testing.assert_array_equal(data.x, [[1, 2], [3, 4]])


def test_csv_through_load_dataset_with_a_path_relative_to_the_design(tmp_path: Path) -> None:
    (tmp_path / "sets").mkdir()
    rows = "".join(f"{i},{i % 3},{'abc'[i % 3]}\n" for i in range(30))
    write(tmp_path / "sets", "a,b,kind\n" + rows, "kinds.csv")
    spec = DatasetSpec(source="csv", path="sets/kinds.csv", train_percent=70)
    d = load_dataset(spec, base_dir=tmp_path)
    assert d.name == "kinds.csv" and d.source == "csv"
    assert d.num_train == 21 and d.num_val == 9
    assert d.task == "multiclass" and d.class_names == ("a", "b", "c") and d.output_units == 3
    assert d.grid is None
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(spec, base_dir=tmp_path / "elsewhere")


def test_the_cache_notices_a_changed_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a,t\n1,x\n2,y\n3,x\n")
    spec = DatasetSpec(source="csv", path=str(path))
    assert load_dataset(spec).class_names == ("x", "y")
    write(tmp_path, "a,t\n1,x\n2,y\n3,z\n4,z\n")
    assert load_dataset(spec).class_names == ("x", "y", "z")


# ---- CSV errors ------------------------------------------------------------------------------------------

def test_csv_non_number_cell_names_row_and_column(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,b,label\n1,2,x\n3,four,y\n")
    assert (error.row, error.column) == (3, "b")
    assert "'four' is not a number" in str(error)
    assert "row 3" in str(error) and "column 'b'" in str(error)


def test_csv_rows_are_counted_as_lines_in_the_file(tmp_path: Path) -> None:
    # A blank line and a quoted cell spanning two lines still count as lines.
    error = csv_error(tmp_path, 'a,b,label\n1,2,"two\nlines"\n\n3,oops,y\n')
    assert (error.row, error.column) == (5, "b")


def test_csv_ragged_row(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,b,label\n1,2,x\n3,y\n5,6,z\n")
    assert error.row == 3 and "2 cells but the header names 3 columns" in str(error)
    error = csv_error(tmp_path, "a,b,label\n1,2,x,extra\n")
    assert error.row == 2


def test_csv_empty_file(tmp_path: Path) -> None:
    assert "empty" in str(csv_error(tmp_path, ""))
    assert "empty" in str(csv_error(tmp_path, "\n\n  \n"))


def test_csv_header_only(tmp_path: Path) -> None:
    assert "no data rows" in str(csv_error(tmp_path, "a,b,label\n"))


def test_csv_too_few_rows(tmp_path: Path) -> None:
    assert "only 1 data row" in str(csv_error(tmp_path, "a,b,label\n1,2,x\n"))


def test_csv_missing_target_column(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,b,label\n1,2,x\n3,4,y\n", target="class")
    assert error.column == "class" and error.row == 1
    assert "the columns are a, b, label" in str(error)


@pytest.mark.parametrize(("cell", "words"), [("nan", "NaN"), ("inf", "infinite"), ("-Infinity", "infinite"),
                                             ("1e999", "infinite")])
def test_csv_non_finite_cells(tmp_path: Path, cell: str, words: str) -> None:
    error = csv_error(tmp_path, f"a,b,label\n1,2,x\n3,4,y\n5,{cell},x\n")
    assert (error.row, error.column) == (4, "b")
    assert words in str(error)


def test_csv_non_finite_numeric_target(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,value\n1,0.5\n2,nan\n3,1.5\n")
    assert (error.row, error.column) == (3, "value")


def test_csv_empty_cells(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,b,label\n1,,x\n3,4,y\n")
    assert (error.row, error.column) == (2, "b") and "empty" in str(error)
    error = csv_error(tmp_path, "a,b,label\n1,2,x\n3,4,\n")
    assert (error.row, error.column) == (3, "label") and "target cell is empty" in str(error)


def test_csv_without_a_header_row(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "1,2,3\n4,5,6\n")
    assert error.row == 1 and "header row" in str(error)


def test_csv_duplicate_column_names(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,a,label\n1,2,x\n3,4,y\n")
    assert error.column == "a" and error.row == 1


def test_csv_with_only_a_target_column(tmp_path: Path) -> None:
    assert "only the target column" in str(csv_error(tmp_path, "label\nx\ny\n"))


def test_csv_target_with_a_single_class(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,label\n1,x\n2,x\n")
    assert "only one class" in str(error) and error.column == "label"


def test_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b,label\n1,2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        load_csv(path)


def test_csv_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="folder"):
        load_csv(tmp_path)


def test_csv_huge_files_are_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "a,label\n" + "1,x\n2,y\n" * 100)
    monkeypatch.setattr(tabular, "MAX_FILE_BYTES", 100)
    with pytest.raises(DataError, match="loads data files of up to"):
        load_csv(path)


def test_csv_too_many_values_are_refused_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "a,b,label\n" + "1,2,x\n3,4,y\n" * 50)
    monkeypatch.setattr(tabular, "MAX_CSV_CELLS", 30)
    with pytest.raises(DataError, match="more than 10 rows") as caught:
        load_csv(path)
    assert caught.value.row == 12


def test_csv_cell_too_large_for_the_csv_reader(tmp_path: Path) -> None:
    error = csv_error(tmp_path, "a,label\n1,x\n" + "9" * 200_000 + ",y\n")
    assert error.row == 3


# Characters that make near-CSV text: delimiters, quotes, line ends, digits, signs, words numpy knows.
_CSV_TOKENS = st.sampled_from(list(",;\t\n\r\"' .-+e0123456789abcxyz") + ["nan", "inf", "\x00", "é", "\ufeff"])
_NEAR_CSV = st.lists(_CSV_TOKENS, max_size=200).map("".join)
# Rows of plausible cells, often of the right width: gets past the header into the per-cell checks.
_CELLS = st.sampled_from(["1", "2.5", "-3", "0", "nan", "inf", "1e999", "", " ", "a", "b", "label", '"4,5"', "x"])
_TABLES = st.lists(st.lists(_CELLS, min_size=1, max_size=4).map(",".join), max_size=8).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(_TABLES, _NEAR_CSV, st.text(max_size=200)),
       target=st.sampled_from(["", "a", "label", "x", "9"]))
def test_garbage_csv_text_raises_nothing_but_data_errors(text: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "garbage.csv"
        path.write_text(text, encoding="utf-8")
        try:
            data = load_csv(path, target)
        except DataError:
            return
        assert data.x.dtype == np.float32 and len(data.x) == len(data.y) >= 2
        assert np.isfinite(data.x).all()


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=300), percent=st.integers(10, 90))
def test_garbage_bytes_through_load_dataset_raise_nothing_but_data_errors(blob: bytes, percent: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for source in ("csv", "npz"):
            path = Path(folder) / f"garbage.{source}"
            path.write_bytes(blob)
            clear_cache()
            try:
                d = load_dataset(DatasetSpec(source=source, path=path.name, train_percent=percent), folder)
            except DataError:
                continue
            assert d.num_train >= 1 and d.num_val >= 1


# ---- NPZ -------------------------------------------------------------------------------------------------

def savez(folder: Path, name: str = "data.npz", **arrays) -> Path:
    path = folder / name
    np.savez(path, **arrays)
    return path


def npz_error(path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        load_npz(path)
    assert caught.value.file == str(path)
    return caught.value


def test_npz_classification_with_whole_number_labels(tmp_path: Path) -> None:
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.array([3, 1, 1, 3, 7, 7, 1, 3, 7, 1])
    data = load_npz(savez(tmp_path, X=x, y=y))
    assert data.task == "multiclass" and data.class_names == ("1", "3", "7")
    np.testing.assert_array_equal(data.y, [1, 0, 0, 1, 2, 2, 0, 1, 2, 0])
    np.testing.assert_array_equal(data.x, x)
    assert data.feature_names == ("x1", "x2") and data.input_shape == (2,)


def test_npz_text_labels_and_bool_labels(tmp_path: Path) -> None:
    x = np.zeros((4, 3))
    data = load_npz(savez(tmp_path, X=x, y=np.array(["dog", "cat", "dog", "cat"])))
    assert data.class_names == ("cat", "dog") and data.task == "binary"
    np.testing.assert_array_equal(data.y, [1, 0, 1, 0])
    data = load_npz(savez(tmp_path, X=x, y=np.array([True, False, False, True])))
    assert data.class_names == ("0", "1")
    data = load_npz(savez(tmp_path, X=x, y=np.array([b"\xff", b"a", b"a", b"\xff"])))
    assert data.class_names == ("a", "\ufffd")


def test_npz_regression_single_and_several_targets(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(30, 4))
    data = load_npz(savez(tmp_path, X=x, y=x[:, 0] * 0.37))
    assert data.task == "regression" and data.y.shape == (30, 1)
    data = load_npz(savez(tmp_path, X=x, y=x[:, :3]))
    assert data.task == "regression" and data.y.shape == (30, 3)
    d = load_dataset(DatasetSpec(source="npz", path="data.npz"), tmp_path)
    assert d.target_dim == 3 and d.output_units == 3


def test_npz_images(tmp_path: Path) -> None:
    x = np.random.default_rng(1).integers(0, 255, size=(12, 5, 6), dtype=np.uint8)
    data = load_npz(savez(tmp_path, X=x, y=np.arange(12) % 2))
    assert data.input_shape == (1, 5, 6) and data.x.shape == (12, 1, 5, 6) and data.feature_names == ()
    data = load_npz(savez(tmp_path, X=np.zeros((6, 3, 4, 4), dtype=np.float32), y=np.arange(6) % 3))
    assert data.input_shape == (3, 4, 4)


def test_npz_object_arrays_are_refused_without_unpickling(tmp_path: Path) -> None:
    path = savez(tmp_path, X=np.zeros((3, 2)), y=np.array(["a", {"b": 1}, None], dtype=object))
    error = npz_error(path)
    assert error.column == "y" and "never unpickles" in str(error)


def test_a_pickle_file_is_refused(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"X": [1, 2], "y": [0, 1]}))
    assert "not an NPZ archive" in str(npz_error(path))


def test_npz_other_errors(tmp_path: Path) -> None:
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    assert "single array" in str(npz_error(single))
    assert "no array y" in str(npz_error(savez(tmp_path, X=np.zeros((3, 2)), labels=np.zeros(3))))
    assert "same length" in str(npz_error(savez(tmp_path, X=np.zeros((3, 2)), y=np.zeros(4))))
    assert "features must be numbers" in str(npz_error(savez(tmp_path, X=np.array([["a"], ["b"]]), y=[0, 1])))
    assert "at least 2" in str(npz_error(savez(tmp_path, X=np.zeros((1, 2)), y=[0])))
    x = np.zeros((5, 2))
    x[3, 1] = np.nan
    error = npz_error(savez(tmp_path, X=x, y=[0, 1, 0, 1, 0]))
    assert (error.row, error.column) == (4, "X")
    error = npz_error(savez(tmp_path, X=np.zeros((3, 2)), y=np.array([1.0, np.inf, 2.5])))
    assert (error.row, error.column) == (2, "y")
    assert "shape" in str(npz_error(savez(tmp_path, X=np.zeros((2, 1, 1, 1, 1)), y=[0, 1])))


def test_npz_huge_arrays_are_refused_from_their_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = savez(tmp_path, X=np.zeros((100, 10)), y=np.arange(100) % 2)
    monkeypatch.setattr(tabular, "MAX_NPZ_VALUES", 999)
    error = npz_error(path)
    assert error.column == "X" and "1,000 values" in str(error)


def test_truncated_npz(tmp_path: Path) -> None:
    path = savez(tmp_path, X=np.zeros((100, 10)), y=np.arange(100) % 2)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    npz_error(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_not_read(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    with pytest.raises(DataError, match="named pipe"):
        load_csv(pipe)
