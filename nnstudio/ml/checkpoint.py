"""Checkpoints: weights (and optimizer moments) as safetensors, the design and training state as metadata.

Loading never runs code: the file is parsed as safetensors only (a length, a JSON header, raw tensor
bytes), its header is checked before anything is read into tensors, a SHA-256 over the tensors catches
corrupted data, and the tensor names and shapes must match the model its own design builds — which is
built on the "meta" device, so a hostile design costs no memory. Pickles are refused by their first byte.

Layout: model tensors under their parameter names (`fc1.weight`); optimizer state as `optim.<i>.<key>`
and random-number state as `rng.<name>` (uint8); both are listed in the metadata, so a layer called
`optim` or `rng` cannot be confused with them. Metadata (all strings): format, version, design (the
.nnstudio JSON), training (epoch, step, optimizer name, hyper-parameters, metrics history tail),
optimizer (param groups and state listing), rng (names) and sha256. Since version 2 the SHA-256 covers
every metadata entry as well as the tensors, and exactly these keys may appear; the training state and
both listings are validated by `nnstudio.io.checkpoint_meta` (types, ranges, sizes) and every random-number
state must be one a CPU generator accepts. Version 1 files (checksum over tensors only) are still read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nnstudio.core.document import Design
from nnstudio.core.errors import FormatError, NNStudioError, SaveError
from nnstudio.core.text import shown
from nnstudio.io.checkpoint_meta import TENSOR, read_optimizer_listing, read_rng_listing, read_training_state
from nnstudio.io.regular_file import open_regular

FORMAT = "nnstudio.checkpoint"
VERSION = "2"
READABLE_VERSIONS = ("1", "2")
METADATA_KEYS = frozenset({"format", "version", "design", "training", "optimizer", "rng", "sha256"})
OPTIM_PREFIX = "optim."
RNG_PREFIX = "rng."
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit
_DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8), "F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8), "I32": (torch.int32, 4), "I16": (torch.int16, 2), "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1), "BOOL": (torch.bool, 1),
}
_DTYPE_NAMES = {dtype: name for name, (dtype, _) in _DTYPES.items()}


@dataclass
class Checkpoint:
    design: Design
    state_dict: dict[str, torch.Tensor]
    training_state: dict[str, Any]
    optimizer_state: dict[str, Any] | None  # torch's optimizer state_dict layout, tensors on the CPU
    rng_state: dict[str, torch.Tensor] = field(default_factory=dict)
    path: str | None = None


# ---- saving ----------------------------------------------------------------------------------------

def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    design: Design,
    training_state: dict[str, Any],
    *,
    optimizer_state: dict[str, Any] | None = None,
    rng_state: dict[str, torch.Tensor] | None = None,
    learning_rate: float | None = None,
) -> None:
    """Write a checkpoint atomically (temporary file, fsync, rename); SaveError if it cannot be written.

    `learning_rate` replaces a tensor learning rate in the optimizer's groups (graph mode keeps it on
    the device, and reading it here would be a needless device sync).
    """
    from safetensors.torch import save as safetensors_bytes

    from nnstudio.io import dumps
    from nnstudio.io.atomic import write_atomic

    tensors: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        tensors[name] = _host(tensor)
    optimizer_meta = None
    if optimizer_state is not None:
        optimizer_meta = _optimizer_listing(optimizer_state, tensors, learning_rate)
    for name, tensor in (rng_state or {}).items():
        key = RNG_PREFIX + name
        if key in tensors:
            raise SaveError(f"could not save {os.fspath(path)}: the name {key} is used twice")
        tensors[key] = _host(tensor)
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "design": dumps(design),
        "training": json.dumps(_plain(training_state), allow_nan=False),
        "optimizer": json.dumps(optimizer_meta, allow_nan=False),
        "rng": json.dumps(sorted(rng_state or {})),
    }
    metadata["sha256"] = checkpoint_digest(tensors, metadata)
    try:
        data = safetensors_bytes(tensors, metadata=metadata)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise SaveError(f"could not save {os.fspath(path)}: {exc}") from None
    write_atomic(path, data)


def _host(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to("cpu").contiguous().clone()


def _optimizer_listing(
    state: dict[str, Any], tensors: dict[str, torch.Tensor], learning_rate: float | None
) -> dict[str, Any]:
    listing: dict[str, dict[str, Any]] = {}
    for index, entry in state.get("state", {}).items():
        keys: dict[str, Any] = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                name = f"{OPTIM_PREFIX}{int(index)}.{key}"
                if name in tensors:
                    raise SaveError(f"the tensor name {name} is used twice")
                tensors[name] = _host(value)
                keys[key] = "tensor"
            else:
                keys[key] = _plain(value)
        listing[str(int(index))] = keys
    groups = []
    for group in state.get("param_groups", []):
        plain = {}
        for key, value in group.items():
            if isinstance(value, torch.Tensor):
                value = learning_rate if key == "lr" and learning_rate is not None else float(value)
            plain[key] = _plain(value)
        groups.append(plain)
    return {"state": listing, "param_groups": groups}


def _plain(value: Any) -> Any:
    """JSON-able copy: tuples become lists, non-finite floats None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes, independent of the order in the file (version 1)."""
    return _tensor_hash(tensors).hexdigest()


def checkpoint_digest(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
    """SHA-256 over the tensors and every metadata entry but the digest itself (version 2): a flipped bit
    in a key name or a value of the metadata is caught like one in the weights."""
    digest = _tensor_hash(tensors)
    for key in sorted(metadata):
        if key == "sha256":
            continue
        value = metadata[key].encode("utf-8", "surrogatepass")
        digest.update(b"\x00meta|" + key.encode("utf-8", "surrogatepass") + f"|{len(value)}|".encode() + value)
    return digest.hexdigest()


def _tensor_hash(tensors: dict[str, torch.Tensor]) -> Any:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        digest.update(f"{name}|{_DTYPE_NAMES.get(t.dtype, str(t.dtype))}|{list(t.shape)}|".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest


# ---- loading ---------------------------------------------------------------------------------------

def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and check a checkpoint; FormatError ("… is not an NN Studio checkpoint: …") if anything is off."""
    shown = os.fspath(path)

    def refuse(reason: str) -> FormatError:
        return FormatError(f"{shown} is not an NN Studio checkpoint: {reason}", file=shown)

    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(8)
            header_len = _check_start(head, size, refuse)
            header_bytes = handle.read(header_len)
            if len(header_bytes) != header_len:
                raise refuse("the file is truncated")
            data = handle.read()
    except OSError as exc:
        raise FormatError(f"could not read {shown}: {exc.strerror or exc}", file=shown) from None
    header = _parse_header(header_bytes, refuse)
    metadata = header.pop("__metadata__", None)
    _check_metadata(metadata, refuse)
    _check_entries(header, len(data), refuse)
    tensors = _read_tensors(header_bytes, head, data, refuse)
    expected = (tensor_digest(tensors) if metadata["version"] == "1"
                else checkpoint_digest(tensors, metadata))
    if expected != metadata.get("sha256"):
        raise refuse("its data is corrupted (the checksum does not match)")
    design = _design(metadata["design"], refuse)
    try:
        training = read_training_state(metadata.get("training", "{}"))
        optimizer_meta = read_optimizer_listing(metadata.get("optimizer", "null"))
        rng_names = read_rng_listing(metadata.get("rng", "[]"))
    except FormatError as exc:
        raise refuse(str(exc).removeprefix("its ")) from None
    optimizer_state, optim_names = _optimizer_state(optimizer_meta, tensors, refuse)
    rng = {name: _rng_tensor(name, tensors, refuse) for name in rng_names}
    extra = optim_names | {RNG_PREFIX + name for name in rng_names}
    weights = {k: v for k, v in tensors.items() if k not in extra}
    _check_against_design(design, weights, refuse)
    return Checkpoint(design, weights, training, optimizer_state, rng, shown)


def _check_start(head: bytes, size: int, refuse: Any) -> int:
    if len(head) < 8:
        raise refuse("the file is too short to hold a safetensors header (empty or truncated)")
    header_len = int.from_bytes(head, "little")
    if 2 <= header_len <= MAX_HEADER_BYTES and 8 + header_len <= size:
        return header_len
    # Not a safetensors start: say what it looks like (only to explain; nothing of it is ever parsed).
    if head[:1] == b"\x80" and 2 <= head[1] <= 5 or head[:1] in (b"(", b"c", b"]", b"}"):
        raise refuse("it looks like a Python pickle, which NN Studio never opens because loading one can run "
                     "any code")
    if head[:4] == b"PK\x03\x04":
        raise refuse("it is a zip archive (a PyTorch .pt/.pth file?); NN Studio reads safetensors checkpoints "
                     "only, because PyTorch's own format can run code when loaded")
    if 2 <= header_len <= MAX_HEADER_BYTES:
        raise refuse("the file is truncated (it ends inside its header)")
    raise refuse(f"its header length ({header_len:,} bytes) is impossible for a safetensors file")


def _parse_header(header_bytes: bytes, refuse: Any) -> dict[str, Any]:
    if not header_bytes.lstrip().startswith(b"{"):
        raise refuse("its header is not a safetensors header")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise refuse("its header is not valid JSON (corrupted file)") from None
    if not isinstance(header, dict):
        raise refuse("its header is not a JSON object")
    return header


def _check_metadata(metadata: Any, refuse: Any) -> None:
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise refuse("it has no NN Studio metadata (a safetensors file from another program?)")
    if metadata.get("format") != FORMAT:
        raise refuse(f"its format is {str(metadata.get('format'))[:40]!r}, not {FORMAT!r}")
    version = metadata.get("version")
    if version not in READABLE_VERSIONS:
        raise refuse(f"it is checkpoint version {shown(str(version), 20)}, and this NN Studio reads versions "
                     f"{' and '.join(READABLE_VERSIONS)} (a newer NN Studio may read it)")
    for key in ("design", "sha256") if version == "1" else sorted(METADATA_KEYS):
        if key not in metadata:
            raise refuse(f"its metadata lacks '{key}'")
    unknown = sorted(set(metadata) - METADATA_KEYS)
    if unknown:
        raise refuse(f"its metadata holds an unknown entry {shown(repr(unknown[0]), 60)} (corrupted, or written "
                     "by another program)")


def _check_entries(header: dict[str, Any], data_len: int, refuse: Any) -> None:
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise refuse(f"tensor {name[:60]!r} has a malformed entry")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _DTYPES:
            raise refuse(f"tensor {name[:60]!r} has an unknown type {str(dtype)[:20]!r}")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**40 for d in shape)):
            raise refuse(f"tensor {name[:60]!r} has a malformed shape")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise refuse(f"tensor {name[:60]!r} has malformed data offsets")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            raise refuse(f"tensor {name[:60]!r} lies outside the file (truncated or corrupted)")
        if end - begin != math.prod(shape) * _DTYPES[dtype][1]:
            raise refuse(f"tensor {name[:60]!r} has a size that does not match its shape")
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise refuse("its tensors overlap or leave gaps (corrupted file)")
        position = end
    if position != data_len:
        raise refuse("the file's length does not match its header (truncated or extended)")


def _read_tensors(header_bytes: bytes, head: bytes, data: bytes, refuse: Any) -> dict[str, torch.Tensor]:
    from safetensors.torch import load as safetensors_load

    try:
        return safetensors_load(head + header_bytes + data)
    except Exception as exc:  # noqa: BLE001 - safetensors' own error type
        raise refuse(f"its tensors cannot be read ({str(exc)[:120]})") from None


def _design(text: str, refuse: Any) -> Design:
    from nnstudio.io import loads

    try:
        return loads(text)
    except NNStudioError as exc:
        raise refuse(f"its design is invalid: {exc}") from None


def _rng_tensor(name: str, tensors: dict[str, torch.Tensor], refuse: Any) -> torch.Tensor:
    """A random-number state the trainer can set: uint8, and accepted by a scratch CPU generator."""
    tensor = tensors.get(RNG_PREFIX + name)
    if tensor is None:
        raise refuse(f"its random state {name} is missing")
    if tensor.dtype != torch.uint8 or tensor.dim() != 1:
        raise refuse(f"its random state {name} is {_describe(tensor)}, not a generator state")
    try:
        torch.Generator().set_state(tensor)
    except (RuntimeError, ValueError, TypeError):
        raise refuse(f"its random state {name} is not a valid generator state") from None
    return tensor


def _optimizer_state(
    meta: Any, tensors: dict[str, torch.Tensor], refuse: Any
) -> tuple[dict[str, Any] | None, set[str]]:
    if meta is None:
        return None, set()
    names: set[str] = set()
    state: dict[int, dict[str, Any]] = {}
    for index, keys in meta["state"].items():  # indices are ints, keys identifiers (checkpoint_meta)
        entry: dict[str, Any] = {}
        for key, value in keys.items():
            if value == TENSOR:
                name = f"{OPTIM_PREFIX}{index}.{key}"
                if name not in tensors:
                    raise refuse(f"its optimizer tensor {name[:60]} is missing")
                names.add(name)
                entry[key] = tensors[name]
            else:
                entry[key] = value
        state[index] = entry
    return {"state": state, "param_groups": meta["param_groups"]}, names


def _check_against_design(design: Design, weights: dict[str, torch.Tensor], refuse: Any) -> None:
    from .builder import build_model

    try:
        with torch.device("meta"):
            expected = build_model(design).state_dict()
    except NNStudioError as exc:
        raise refuse(f"its design cannot be built: {exc}") from None
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing:
        raise refuse(f"weights for {', '.join(missing[:5])} are missing")
    if unexpected:
        raise refuse(f"it holds tensors its design has no place for: {', '.join(n[:60] for n in unexpected[:5])}")
    for name, tensor in expected.items():
        got = weights[name]
        if tuple(got.shape) != tuple(tensor.shape) or got.dtype != tensor.dtype:
            raise refuse(f"{name} is {_describe(got)} but its design needs {_describe(tensor)}")


def _describe(t: torch.Tensor) -> str:
    return f"{'×'.join(str(d) for d in t.shape) or 'a scalar'} ({_DTYPE_NAMES.get(t.dtype, t.dtype)})"

