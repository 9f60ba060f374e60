# cellc weight files from Python, in the format of cellc's runtime/checkpoint.ts: a JSON header
# (format "cellc-weights", version 1, dtype float32, little-endian; the data file's name, byte
# length and FNV-1a checksum; per weight its name, shape, byte offset and length) beside a binary
# file of float32 values. Reading checks every field, the checksum and that every value is finite
# before anything is handed back; writing is atomic (data file, then header renamed over the old
# one, then the old data file removed), as cellc's own saveWeights. Inlined into every module
# the PyTorch backend prints (everything after the marker line), so a generated file needs
# nothing but torch.
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

# ---- inline from here


class CellcWeightsError(ValueError):
    """A cellc weights file that cannot be read, or weights that do not fit a module."""


_cellc_saves = [0]


def _cellc_fnv1a(data: bytes) -> str:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "%08x" % h


def _cellc_header_path(path: str) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or path == "":
        raise CellcWeightsError("a weights path must be a non-empty string")
    return path if path.endswith(".json") else path + ".json"


def _cellc_base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _cellc_is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2**53 - 1


def read_cellc_weights(path: str) -> Dict[str, Tensor]:
    """The weights of a cellc checkpoint (header JSON + .bin), by name, as float32 tensors.

    `path` is the header, with or without ".json". Every field is checked; a bad file raises
    CellcWeightsError saying what is wrong, and nothing is returned."""
    if sys.byteorder != "little":
        raise CellcWeightsError("cellc weights files are little-endian; this big-endian platform is not supported")
    hdr_path = _cellc_header_path(path)
    try:
        with open(hdr_path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CellcWeightsError(f"cannot read weights header {hdr_path}: {e}") from None
    try:
        h = json.loads(text)
    except ValueError as e:
        raise CellcWeightsError(f"{hdr_path} is not a weights header (invalid JSON: {e})") from None

    def bad(what: str):
        raise CellcWeightsError(f"{hdr_path} is not a valid weights header: {what}")

    if not isinstance(h, dict):
        bad("expected an object")
    if h.get("format") != "cellc-weights" or h.get("dtype") != "float32":
        raise CellcWeightsError(f"{hdr_path} is not a cellc float32 weights header")
    if h.get("version") != 1:
        raise CellcWeightsError(f"{hdr_path} has format version {h.get('version')!r}; this reader reads version 1")
    if h.get("endianness", "little") != "little":
        bad('"endianness" must be "little"')
    data = h.get("data")
    if not isinstance(data, str) or data in ("", ".", "..") or "/" in data or "\\" in data:
        bad(f'"data" must name a file beside the header, got {data!r}')
    byte_length = h.get("byteLength")
    if not _cellc_is_count(byte_length) or byte_length % 4 != 0:
        bad(f'"byteLength" must be a whole number of float32s in bytes, got {byte_length!r}')
    checksum = h.get("checksum")
    if not isinstance(checksum, str) or len(checksum) != 8 or any(c not in "0123456789abcdef" for c in checksum):
        bad(f'"checksum" must be 8 hex digits, got {checksum!r}')
    entries = h.get("weights")
    if not isinstance(entries, list):
        bad('"weights" must be an array')
    spans: List[Tuple[int, int, str]] = []
    names = set()
    for i, w in enumerate(entries):
        at = f"weights[{i}]"
        if not isinstance(w, dict):
            bad(f"{at} must be an object")
        name, shape, offset, length = w.get("name"), w.get("shape"), w.get("offset"), w.get("length")
        if not isinstance(name, str) or name == "":
            bad(f"{at}.name must be a non-empty string, got {name!r}")
        if name in names:
            bad(f"{at}: the name {name!r} appears twice")
        names.add(name)
        if not isinstance(shape, list) or not all(_cellc_is_count(d) for d in shape):
            bad(f"{at} ({name!r}).shape must be an array of sizes, got {shape!r}")
        size = math.prod(shape)
        if not _cellc_is_count(length) or length != size:
            bad(f"{at} ({name!r}).length must be {size} (the product of its shape), got {length!r}")
        if not _cellc_is_count(offset) or offset % 4 != 0:
            bad(f"{at} ({name!r}).offset must be a byte offset that is a multiple of 4, got {offset!r}")
        if offset + length * 4 > byte_length:
            bad(f"{at} ({name!r}) spans bytes {offset} to {offset + length * 4}, past the end of the data ({byte_length} bytes)")
        if length > 0:
            spans.append((offset, offset + length * 4, name))
    spans.sort()
    for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
        if a1 > b0:
            bad(f"weights {an!r} and {bn!r} overlap in the data (bytes {b0} to {a1})")

    data_path = os.path.join(os.path.dirname(hdr_path), data)
    try:
        with open(data_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise CellcWeightsError(f"cannot read weights data {data_path} named by {hdr_path}: {e}") from None
    if len(raw) != byte_length:
        raise CellcWeightsError(f"weights data {data_path} has {len(raw)} bytes; its header says {byte_length}")
    if _cellc_fnv1a(raw) != checksum:
        raise CellcWeightsError(f"weights data {data_path} is corrupt (checksum mismatch)")
    values = torch.frombuffer(bytearray(raw), dtype=torch.float32) if raw else torch.zeros(0)
    out: Dict[str, Tensor] = {}
    for w in entries:
        start = w["offset"] // 4
        t = values[start : start + w["length"]].clone().reshape(w["shape"])
        if not bool(torch.isfinite(t).all()):
            raise CellcWeightsError(f"weights data {data_path}: weight {w['name']!r} holds a non-finite value; nothing was loaded")
        out[w["name"]] = t
    return out


def write_cellc_weights(path: str, weights: Dict[str, Tensor]) -> str:
    """Writes weights (name -> tensor, in order) as a cellc checkpoint, atomically; returns the
    header's path. cellc's Model.loadWeights and importTorch read it."""
    if sys.byteorder != "little":
        raise CellcWeightsError("cellc weights files are little-endian; this big-endian platform is not supported")
    hdr_path = _cellc_header_path(path)
    folder = os.path.dirname(hdr_path) or "."
    stem = os.path.basename(hdr_path)[: -len(".json")]
    tensors = []
    entries = []
    offset = 0
    for name, value in weights.items():
        if not isinstance(name, str) or name == "":
            raise CellcWeightsError(f"weight names must be non-empty strings, got {name!r}")
        t = value.detach().to("cpu", torch.float32).contiguous()
        if not bool(torch.isfinite(t).all()):
            raise CellcWeightsError(f"not saving weights to {hdr_path}: weight {name!r} holds a non-finite value; a checkpoint holds finite numbers only")
        tensors.append(t.reshape(-1))
        entries.append({"name": name, "shape": list(t.shape), "offset": offset * 4, "length": t.numel()})
        offset += t.numel()
    raw = torch.cat(tensors).numpy().tobytes() if tensors else b""
    _cellc_saves[0] += 1
    data_name = f"{stem}.{_cellc_base36(int(time.time() * 1000))}-{_cellc_base36(os.getpid())}-{_cellc_base36(_cellc_saves[0])}.bin"
    header = {
        "format": "cellc-weights",
        "version": 1,
        "dtype": "float32",
        "endianness": "little",
        "data": data_name,
        "byteLength": len(raw),
        "checksum": _cellc_fnv1a(raw),
        "weights": entries,
    }
    old_data: Optional[str] = None
    try:
        with open(hdr_path, "rb") as f:
            old = json.loads(f.read().decode("utf-8")).get("data")
        if isinstance(old, str) and "/" not in old and "\\" not in old:
            old_data = os.path.join(folder, old)
    except (OSError, ValueError, AttributeError):
        old_data = None

    def write_synced(file: str, content: bytes) -> None:
        with open(file, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())

    os.makedirs(folder, exist_ok=True)
    data_path = os.path.join(folder, data_name)
    data_tmp = data_path + ".tmp"
    hdr_tmp = f"{hdr_path}.{os.getpid()}.tmp"
    try:
        write_synced(data_tmp, raw)
        os.replace(data_tmp, data_path)
        write_synced(hdr_tmp, (json.dumps(header, indent=1) + "\n").encode("utf-8"))
        os.replace(hdr_tmp, hdr_path)
    except OSError as e:
        for f in (data_tmp, data_path, hdr_tmp):
            try:
                os.unlink(f)
            except OSError:
                pass
        raise CellcWeightsError(f"saving weights to {hdr_path} failed ({e}); the previous checkpoint, if any, is unchanged") from None
    if old_data is not None and old_data != data_path:
        try:
            os.unlink(old_data)
        except OSError:
            pass
    return hdr_path


def _cellc_layer_prefix(available: Dict[str, Tensor], names: List[str], layer: Optional[str], where: str) -> str:
    """The prefix under which `names` are found: "layer/" when a layer is named; "" when the file
    holds them as they are; else the one layer of a model checkpoint ("lstm/W_i") holding all."""
    if layer is not None:
        return layer + "/"
    if all(n in available for n in names):
        return ""
    layers = sorted({k.split("/", 1)[0] for k in available if "/" in k})
    fits = [l for l in layers if all(f"{l}/{n}" in available for n in names)]
    if len(fits) == 1:
        return fits[0] + "/"
    if len(fits) > 1:
        raise CellcWeightsError(f"{where}: several layers hold this cell's parameters ({', '.join(fits)}); pass layer=")
    missing = [n for n in names if n not in available]
    raise CellcWeightsError(
        f"{where}: no weights for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} "
        f"(the file holds {', '.join(list(available)[:8])}{' ...' if len(available) > 8 else ''})"
    )


def _cellc_copy_in(module: torch.nn.Module, params: List[Tuple[str, str]], weights: Dict[str, Tensor], prefix: str, where: str) -> None:
    """Copies weights[prefix + spec name] into each parameter, after checking every one fits."""
    chosen = []
    for attr, spec in params:
        key = prefix + spec
        if key not in weights:
            raise CellcWeightsError(f"{where}: no weight {key!r}")
        p = getattr(module, attr)
        w = weights[key]
        if list(w.shape) != list(p.shape):
            raise CellcWeightsError(f"{where}: weight {key!r} has shape {list(w.shape)}, the parameter {spec} has {list(p.shape)}")
        chosen.append((p, w))
    with torch.no_grad():
        for p, w in chosen:
            p.copy_(w)
