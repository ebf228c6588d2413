"""Data-file messages name the row, recognise UTF-16, read numbers strictly and echo only short escaped excerpts."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnstudio.core import Design
from nnstudio.core.errors import DataError
from nnstudio.data import load_csv


def _csv(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    return path


def test_utf16_without_a_bom_is_named(tmp_path: Path) -> None:
    text = "x1,x2,label\n1,2,a\n3,4,b\n"
    for encoding in ("utf-16-le", "utf-16-be", "utf-16"):
        with pytest.raises(DataError, match="UTF-16"):
            load_csv(_csv(tmp_path, text.encode(encoding)))


def test_a_byte_that_is_not_utf8_names_its_row_even_far_into_the_file(tmp_path: Path) -> None:
    rows = b"".join(b"%d,%d,a\n" % (i, i) for i in range(5000))
    path = _csv(tmp_path, b"x1,x2,label\n" + rows + b"7,\xff8,b\n" + rows)
    with pytest.raises(DataError, match=r"row 5002: this line is not UTF-8 text \(byte 0xff at byte 3"):
        load_csv(path)


@pytest.mark.parametrize("cell", ["1_000", "١٢", "１２", "0x10", "1 2"])
def test_numbers_are_read_as_csv_files_write_them(tmp_path: Path, cell: str) -> None:
    path = _csv(tmp_path, f"x1,x2,label\n1,{cell},a\n3,4,b\n".encode())
    with pytest.raises(DataError, match=r"row 2, column 'x2': .* is not a number"):
        load_csv(path)


def test_plain_numbers_and_spaces_around_them_still_read(tmp_path: Path) -> None:
    data = load_csv(_csv(tmp_path, b"x1,x2,label\n 3 ,-1.5e2,a\n+.5,4.,b\n"))
    assert data.x.tolist() == [[3.0, -150.0], [0.5, 4.0]]


def test_a_nul_byte_or_an_escape_in_a_cell_is_shown_escaped(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"x1,x2,label\n1,a\x00\x1b[2Jb,a\n3,4,b\n")
    with pytest.raises(DataError) as info:
        load_csv(path)
    message = str(info.value)
    assert "\x00" not in message and "\x1b" not in message and "a\\x00\\x1b[2Jb" in message


def test_a_foreign_file_is_echoed_only_as_short_excerpts(tmp_path: Path) -> None:
    secret = "root:x:0:0:root:/root:/bin/bash" + "S" * 200
    path = _csv(tmp_path, f"{secret},other\n1,2\n3,4\n".encode())
    with pytest.raises(DataError) as info:
        load_csv(path, target="label")
    message = str(info.value)
    assert "S" * 40 not in message and "root:x:0:0:root:/root:/bin/bashSS" not in message


def test_the_cli_names_a_data_file_outside_the_design_folder_before_reading_it(tmp_path: Path, capsys) -> None:
    import json

    from nnstudio.cli import main
    from nnstudio.io import dumps

    folder = tmp_path / "shared" / "designs"
    folder.mkdir(parents=True)
    outside = tmp_path / "private.csv"
    outside.write_text("secret-first-line-" + "s" * 300 + "\n1\n2\n", encoding="utf-8")
    design = Design("x")
    a = design.add_layer("Input", "inp", {"features": 2})
    b = design.add_layer("Output", "out", {"task": "binary", "units": 1})
    design.connect(a.id, b.id)
    data = json.loads(dumps(design))
    data["dataset"].update(source="csv", path="../../private.csv")
    path = folder / "d.nnstudio"
    path.write_text(json.dumps(data), encoding="utf-8")
    main(["validate", str(path)])
    captured = capsys.readouterr()
    assert f"reading data from {outside.resolve()}, which is outside the design's folder" in captured.err
    assert "s" * 40 not in captured.out + captured.err
    assert main(["train", str(path), "--epochs", "1"]) == 2
    captured = capsys.readouterr()
    assert f"reading data from {outside.resolve()}" in captured.err.splitlines()[0]
    (folder / "inside.csv").write_text("x1,x2,y\n1,2,a\n3,4,b\n", encoding="utf-8")
    data["dataset"].update(path="inside.csv")
    path.write_text(json.dumps(data), encoding="utf-8")
    main(["validate", str(path)])
    assert "reading data from" not in capsys.readouterr().err
