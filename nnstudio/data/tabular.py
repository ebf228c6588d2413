"""Reading the user's own data: CSV tables with a header row, and NPZ archives holding arrays X and y.

Every problem becomes a `DataError` naming the file and, where it applies, the line as a person counts
lines in the file (the header is line 1) and the column. Caps keep a huge or hostile file from exhausting
memory: files over `MAX_FILE_BYTES` are refused before reading, tables over `MAX_CSV_CELLS` values while
reading, and NPZ arrays over `MAX_NPZ_VALUES` values from their headers, before anything is allocated.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.text import excerpt
from nnstudio.io.regular_file import kind_of, open_regular

from .source import SourceData, describe_number, encode_targets

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_CSV_CELLS = 20_000_000
MAX_COLUMNS = 10_000
MAX_NPZ_VALUES = 100_000_000
MIN_ROWS = 2  # one sample to train on and one to validate
_SNIFF_CHARS = 65_536
_MAX_SHOWN_COLUMNS = 12
# A number as CSV files write it: ASCII digits, optional sign, decimal point and exponent (and nan / inf,
# which the finiteness check then refuses by name). Python's float() takes more — '1_000', Arabic-Indic
# digits, full-width digits — that spreadsheets, NumPy and the exported train.py would read differently.
# Spaces around a number are allowed, as they are around column names and class labels.
_NUMBER = re.compile(r"[ \t]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)[ \t]*\Z",
                     re.IGNORECASE)


def resolve_path(path: str | Path, base_dir: str | Path | None = None) -> Path:
    """The file a dataset spec's `path` names: relative paths start from `base_dir` (the design's folder)."""
    text = str(path).strip()
    if not text:
        raise DataError("no file chosen: set the dataset's path to a CSV or NPZ file")
    try:
        resolved = Path(text).expanduser()
        if not resolved.is_absolute() and base_dir is not None:
            resolved = Path(base_dir).expanduser() / resolved
        return Path(os.path.abspath(resolved))
    except (RuntimeError, ValueError, OSError) as error:
        raise DataError(f"the path cannot be used ({error})", file=text) from error


def file_signature(path: Path) -> tuple[int, int, int]:
    """`(modification time in ns, size, inode)` of a regular file within the size cap; refuses others."""
    file = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError("the file does not exist; check the path (a relative path starts from the design "
                        "file's folder)", file=file) from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise DataError(f"the file cannot be opened ({reason})", file=file) from error
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{kind_of(info.st_mode)}; choose a CSV or NPZ file", file=file)
    if info.st_size > MAX_FILE_BYTES:
        raise DataError(f"the file is {info.st_size / 2**20:.0f} MB; NN Studio loads data files of up to "
                        f"{MAX_FILE_BYTES // 2**20} MB. Use a sample of the data", file=file)
    return info.st_mtime_ns, info.st_size, info.st_ino


# ---- CSV -------------------------------------------------------------------------------------------------

def load_csv(path: str | Path, target: str = "") -> SourceData:
    """A CSV table: a header row of column names, then one sample per row; `target` names the column to
    predict (empty: the last). Feature columns must hold numbers; the target may hold class names."""
    path = Path(path)
    file = str(path)
    file_signature(path)
    try:
        with open_regular(path) as raw:
            _refuse_utf16(raw.read(4), file)
            raw.seek(0)
            with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
                return _read_csv(handle, file, target.strip(), path.name)
    except UnicodeDecodeError as error:
        # The decoder reads ahead in chunks, so the row being parsed is not the one with the bad byte.
        raise _not_utf8(path, file) from error
    except OSError as error:
        raise DataError(f"the file could not be read ({error.strerror or error})", file=file) from error


def _refuse_utf16(start: bytes, file: str) -> None:
    if start[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(start) == 4 and (start[1::2] == b"\x00\x00"
                                                                       or start[0::2] == b"\x00\x00")):
        raise DataError("the file is UTF-16 text; save it as 'CSV UTF-8'", file=file)


def _not_utf8(path: Path, file: str) -> DataError:
    """The first line (as an editor counts them) holding bytes that are not UTF-8, and the first such byte."""
    try:
        with open_regular(path) as raw:
            for number, line in enumerate(raw, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return DataError(f"this line is not UTF-8 text (byte 0x{line[exc.start]:02x} at byte "
                                     f"{exc.start + 1} of the line); save the file as 'CSV UTF-8'", file=file,
                                     row=number)
    except OSError:
        pass
    return DataError("the file is not UTF-8 text; save it as 'CSV UTF-8'", file=file)


def _read_csv(handle: IO[str], file: str, target: str, title: str) -> SourceData:
    delimiter = _delimiter(handle.readline(_SNIFF_CHARS))
    handle.seek(0)
    records = _records(csv.reader(handle, delimiter=delimiter), file)

    header, header_line = None, 0
    for line, cells in records:
        if not _is_blank(cells):
            header, header_line = cells, line
            break
    if header is None:
        raise DataError("the file is empty; it needs a header row of column names, then one row per sample",
                        file=file)
    names = _column_names(header, file, header_line)
    target_index = _target_index(names, target, file, header_line)
    target_name = names[target_index]
    feature_columns = [i for i in range(len(names)) if i != target_index]
    if not feature_columns:
        raise DataError(f"the file has only the target column '{excerpt(target_name)}'; add at least one feature "
                        "column", file=file, row=header_line)

    width = len(names)
    max_rows = max(MAX_CSV_CELLS // width, MIN_ROWS)
    features = array("d")
    targets: list[str] = []
    lines = array("q")
    for line, cells in records:
        if _is_blank(cells):
            continue
        if len(cells) != width:
            cells = _fit_width(cells, width, file, line)
        if len(targets) >= max_rows:
            raise DataError(f"the file has more than {max_rows:,} rows of {width} columns; NN Studio loads up "
                            f"to {MAX_CSV_CELLS:,} values from a CSV file. Use a sample of the data", file=file,
                            row=line)
        for i in feature_columns:
            features.append(_number(cells[i], file, line, names[i]))
        label = cells[target_index].strip()
        if not label:
            raise DataError("the target cell is empty; every row needs a target value", file=file, row=line,
                            column=target_name)
        targets.append(label)
        lines.append(line)

    count = len(targets)
    if count == 0:
        raise DataError(f"the file has a header but no data rows; add at least {MIN_ROWS} rows of samples",
                        file=file)
    if count < MIN_ROWS:
        raise DataError(f"the file has only {count} data row; it needs at least {MIN_ROWS} (one to train on "
                        "and one to validate)", file=file)

    x = np.frombuffer(features, dtype=np.float64).reshape(count, len(feature_columns))
    finite = np.isfinite(x)
    if not finite.all():
        row, col = (int(v) for v in np.argwhere(~finite)[0])
        raise DataError(f"the value is {describe_number(x[row, col])}; features must be finite numbers: fix or "
                        "remove this row", file=file, row=int(lines[row]), column=names[feature_columns[col]])

    numeric = _all_numbers(targets)
    y, task, class_names = encode_targets(numeric if numeric is not None else targets, file=file,
                                          column=target_name, row_of=lambda i: int(lines[i]))
    return SourceData(name=title, x=x.astype(np.float32), y=y, task=task, class_names=class_names,
                      feature_names=tuple(names[i] for i in feature_columns),
                      input_shape=(len(feature_columns),))


def _delimiter(first_line: str) -> str:
    # Comma unless the header plainly uses semicolons (spreadsheets in many locales) or tabs.
    if "," in first_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in first_line:
            return candidate
    return ","


def _records(reader: Iterator[list[str]], file: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    consumed = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataError(f"the row cannot be read as CSV ({error})", file=file, row=consumed + 1) from error
        start = consumed + 1
        consumed = reader.line_num  # type: ignore[attr-defined]
        yield start, cells


def _is_blank(cells: list[str]) -> bool:
    return not cells or (len(cells) == 1 and not cells[0].strip())


def _column_names(header: list[str], file: str, line: int) -> list[str]:
    cells = [c.strip() for c in header]
    while len(cells) > 1 and not cells[-1]:  # a trailing delimiter is not a column
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise DataError(f"the header names {len(cells):,} columns; NN Studio loads at most {MAX_COLUMNS:,}",
                        file=file, row=line)
    if all(_is_number(c) for c in cells):
        raise DataError("the first row holds numbers, not column names; add a header row that names each "
                        "column (for example x1,x2,label)", file=file, row=line)
    names = [c or f"column {i + 1}" for i, c in enumerate(cells)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError("two columns have this name; give each column its own name", file=file, row=line,
                            column=name)
        seen.add(name)
    return names


def _target_index(names: list[str], target: str, file: str, line: int) -> int:
    if not target:
        return len(names) - 1
    if target in names:
        return names.index(target)
    folded = [i for i, name in enumerate(names) if name.casefold() == target.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(f"there is no column with this name; the columns are {_show_names(names)}. Set the "
                    "target to one of them (or leave it empty for the last column)", file=file, row=line,
                    column=target)


def _show_names(names: list[str]) -> str:
    # Column names come from the file: a short escaped excerpt of each, never whole lines of it.
    shown = ", ".join(excerpt(name, 30) for name in names[:_MAX_SHOWN_COLUMNS])
    more = len(names) - _MAX_SHOWN_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def _fit_width(cells: list[str], width: int, file: str, line: int) -> list[str]:
    if len(cells) > width and not any(c.strip() for c in cells[width:]):
        return cells[:width]  # trailing delimiters only
    raise DataError(f"the row has {len(cells)} cells but the header names {width} columns; every row needs "
                    "one value per column", file=file, row=line)


def _number(text: str, file: str, line: int, column: str) -> float:
    if _NUMBER.match(text):
        return float(text)
    if not text.strip():
        raise DataError("the cell is empty; feature columns need a number in every row", file=file, row=line,
                        column=column)
    raise DataError(f"'{excerpt(text.strip(), 30)}' is not a number; feature columns must hold numbers written "
                    "with the digits 0-9 (only the target column may hold class names)", file=file, row=line,
                    column=column)


def _is_number(text: str) -> bool:
    return _NUMBER.match(text) is not None


def _all_numbers(texts: list[str]) -> np.ndarray | None:
    values = np.empty(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        if not _NUMBER.match(text):
            return None
        values[i] = float(text)
    return values


# ---- NPZ -------------------------------------------------------------------------------------------------

def load_npz(path: str | Path) -> SourceData:
    """An NPZ archive (`numpy.savez`) with features `X` of shape (n, k), (n, H, W) or (n, C, H, W) and
    targets `y` of shape (n,) or (n, k). Nothing is unpickled: object arrays are refused."""
    path = Path(path)
    file = str(path)
    file_signature(path)
    try:
        with open_regular(path) as raw:
            return _read_npz(raw, file, path.name)
    except OSError as error:
        raise DataError(f"the file could not be read ({error.strerror or error})", file=file) from None


def _read_npz(raw: IO[bytes], file: str, title: str) -> SourceData:
    try:
        archive = np.load(raw, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError("this is not an NPZ archive NumPy can read; save one with numpy.savez(path, X=X, y=y) "
                        "(pickled data is never loaded)", file=file) from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError("this holds a single array (.npy), not an archive; save features and targets together "
                        "with numpy.savez(path, X=X, y=y)", file=file)
    with archive:
        missing = [key for key in ("X", "y") if key not in archive.files]
        if missing:
            held = ", ".join(archive.files[:_MAX_SHOWN_COLUMNS]) or "no arrays"
            raise DataError(f"the archive has no array {' or '.join(missing)} (it holds {held}); it needs X "
                            "(features) and y (targets)", file=file)
        x = _read_member(archive, "X", file)
        y = _read_member(archive, "y", file)
    return _npz_source(x, y, file, title)


def _read_member(archive: np.lib.npyio.NpzFile, key: str, file: str) -> np.ndarray:
    # Read the .npy header first, so a bad dtype or an enormous shape is refused before any allocation.
    try:
        with archive.zip.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"array {key} is damaged or not a NumPy array", file=file, column=key) from error
    if dtype.hasobject:
        raise DataError(f"array {key} holds Python objects, which could only be loaded by unpickling, and "
                        f"NN Studio never unpickles data; save {key} as numbers (or text labels for y), e.g. "
                        f"numpy.savez(path, {key}=numpy.asarray({key}, dtype='float32'))", file=file, column=key)
    if math.prod(shape) > MAX_NPZ_VALUES:
        raise DataError(f"array {key} has {math.prod(shape):,} values; NN Studio loads at most "
                        f"{MAX_NPZ_VALUES:,}. Use a sample of the data", file=file, column=key)
    try:
        return archive[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"array {key} could not be read ({error})", file=file, column=key) from error


def _npz_source(x: np.ndarray, y: np.ndarray, file: str, title: str) -> SourceData:
    if x.dtype.kind not in "biuf":
        raise DataError(f"X holds {_kind_name(x.dtype)}; features must be numbers", file=file, column="X")
    if x.ndim == 0 or x.ndim > 4:
        raise DataError(f"X has shape {x.shape}; use (samples, features), (samples, height, width) or "
                        "(samples, channels, height, width)", file=file, column="X")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    elif x.ndim == 3:
        x = x.reshape(x.shape[0], 1, *x.shape[1:])
    if y.ndim == 0 or y.ndim > 2:
        raise DataError(f"y has shape {y.shape}; use (samples,) or (samples, targets)", file=file, column="y")
    if len(y) != len(x):
        raise DataError(f"X has {len(x)} samples but y has {len(y)}; they must have the same length",
                        file=file, column="y")
    if len(x) < MIN_ROWS:
        raise DataError(f"the archive has {len(x)} sample(s); it needs at least {MIN_ROWS} (one to train on and "
                        "one to validate)", file=file)
    if any(d == 0 for d in x.shape[1:]):
        raise DataError(f"X has shape {x.shape}: each sample has no values", file=file, column="X")

    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if not finite.all():
        first = int(np.argmin(finite))
        raise DataError(f"sample {first + 1} of X holds a NaN or infinite value; features must be finite "
                        "numbers", file=file, row=first + 1, column="X")

    if y.ndim == 2 and y.shape[1] != 1:
        if y.dtype.kind not in "biuf":
            raise DataError(f"y holds {_kind_name(y.dtype)}; several target columns must be numbers",
                            file=file, column="y")
        if y.shape[1] == 0:
            raise DataError("y has no target columns", file=file, column="y")
        values = y.astype(np.float64)
        good = np.isfinite(values).all(axis=1)
        if not good.all():
            first = int(np.argmin(good))
            raise DataError(f"sample {first + 1} of y holds a NaN or infinite value; targets must be finite",
                            file=file, row=first + 1, column="y")
        targets, task, class_names = values.astype(np.float32), "regression", ()
    else:
        flat = y.reshape(-1)
        if flat.dtype.kind in "US":
            labels = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat.tolist()]
            targets, task, class_names = encode_targets(labels, file=file, column="y")
        elif flat.dtype.kind in "biuf":
            targets, task, class_names = encode_targets(flat, file=file, column="y")
        else:
            raise DataError(f"y holds {_kind_name(y.dtype)}; targets must be numbers or text labels", file=file,
                            column="y")

    input_shape = tuple(int(d) for d in x.shape[1:])
    names = tuple(f"x{i + 1}" for i in range(input_shape[0])) if len(input_shape) == 1 else ()
    return SourceData(name=title, x=x.astype(np.float32), y=targets, task=task, class_names=class_names,
                      feature_names=names, input_shape=input_shape)


def _kind_name(dtype: np.dtype) -> str:
    return {"U": "text", "S": "bytes", "c": "complex numbers", "M": "dates", "m": "time spans",
            "V": "structured records", "O": "Python objects"}.get(dtype.kind, f"values of type {dtype}")
