"""Model files and checkpoints that load without running code and never half-exist.

File format (version 2)
-----------------------
::

    magic      12 bytes  b"\\x89NEURECO\\r\\n\\x1a\\n"
    version     2 bytes  unsigned, little-endian
    flags       2 bytes  unsigned, little-endian; bit 0: an authentication tag follows
    length      8 bytes  unsigned, little-endian: size of the payload
    payload    length    an uncompressed zip of .npy arrays (numpy.savez)
    checksum   32 bytes  SHA-256 of everything above
    tag        32 bytes  only with flag bit 0: HMAC-SHA256 of everything above, keyed

Version 1 files (no ``flags`` field, never a tag) are still read.

The *checksum* detects damage (truncation, a flipped byte) before anything is parsed. It
proves nothing about who wrote the file: anyone can edit a file and recompute it. The
optional *tag* does: a file saved with ``key=`` carries an HMAC-SHA256 of its content, and
a load given the same ``key`` refuses any file whose tag is missing or wrong. A load
without ``key`` checks the checksum only.

Whoever wrote it, a file is read as untrusted data. The header is checked before the rest
is read; only regular files are opened; the payload's members must be stored (not
compressed), named as this format defines and shaped as the declared network needs; arrays
are parsed from their ``.npy`` headers by hand (never ``pickle``, never an allocation sized
by a header alone), so what a file can make the loader allocate is bounded by its own size.
Every value is then checked (finite weights, positive scales, masks that fit the layers,
parameters of the right types); anything malformed raises :class:`ModelFileError`.

The payload holds:

* ``meta``: UTF-8 JSON (as a ``uint8`` array) with ``format`` (``"sklearn-neureco"``),
  ``library_version``, ``kind`` (``"model"`` or ``"checkpoint"``), ``estimator``
  (``class``, the estimator's class name, ``NeurEcoRegressor`` when absent; ``params``, its
  constructor parameters; ``n_features_in``, ``feature_names``, ``n_outputs``,
  ``output_1d``, ``classes``, and for a model its build ``history``), ``models`` (one entry
  per stored
  network: ``layer_sizes``, ``links``, ``beta_reg``, ``record``) and ``best`` (index of
  the model loaded by default). No file carries a path: ``checkpoint_address`` is never
  stored, so nothing in a file can direct where the package writes;
* ``input_shift``, ``input_scale``, ``output_shift``, ``output_scale``: the normalisation;
* ``m{k}.weights`` and ``m{k}.mask.{l}.{s}`` for each stored network ``k``.

A *checkpoint* is the same container holding the sequence of candidate networks of a build,
in order. Every write goes to a temporary file in the target folder, is flushed to disk
(``fsync``) and then atomically renamed over the target, so a crash or a kill at any
moment leaves either the previous file or the new one, never a broken one. A target that
exists and is not a regular file (a folder, a device such as ``/dev/null``, a FIFO) is
refused untouched. A target that is a symbolic link to a regular file is replaced by the
new file (the link itself, not the file it pointed to).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import os
import re
import stat
import struct
import tempfile
import zipfile
from numbers import Integral
from pathlib import Path

import numpy as np

from ._network import Network
from ._state import FittedState, state_of

FORMAT = "sklearn-neureco"
# The estimator whose containers hold pairs of networks (encoder, decoder)
COMPRESSOR = "NeurEcoCompressor"
FORMAT_VERSION = 2
MAGIC = b"\x89NEURECO\r\n\x1a\n"
_VERSION = struct.Struct("<H")
_HEADER_V1 = struct.Struct("<Q")  # payload length
_HEADER_V2 = struct.Struct("<HQ")  # flags, payload length
_FLAG_TAGGED = 1
_DIGEST_SIZE = 32
_NORMALISATION = ("input_shift", "input_scale", "output_shift", "output_scale")
# Weight layers a stored network may have: the build makes at most 3 (two hidden layers);
# the margin is for estimators of the family with deeper networks.
MAX_WEIGHT_LAYERS = 16
# Temporary files of a save: ".{target}.{pid}.{random}.neureco.tmp" beside the target.
_TMP_SUFFIX = ".neureco.tmp"


class ModelFileError(ValueError):
    """A file is not a valid sklearn-neureco model file (corrupt, truncated, foreign,
    malformed, or not authenticated by the key given)."""


class OtherEstimatorFile(ModelFileError):
    """A valid container read as another estimator's than it holds (``held``)."""

    def __init__(self, path, held: str):
        super().__init__(f"{path} holds a {held}: load it with {held}.load or sklearn_neureco.load")
        self.held = held


# --------------------------------------------------------------------------- writing
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def as_path(path, what: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path`; ``TypeError`` if it is not a str or
    path-like, ``ValueError`` if it is empty."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{what} must be a str or path-like, got {type(path).__name__}")
    if os.fspath(path) in ("", b""):
        raise ValueError(f"{what} must not be empty")
    return Path(path)


def check_target(path, what: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path`, if a file may be (re)written there.

    Raises ``TypeError`` for a value that is not a path, and ``ValueError`` for an empty
    path or one that exists and is not a regular file (or a link to one): replacing a
    folder, a device or a FIFO with a model file would destroy it.
    """
    path = as_path(path, what)
    try:
        mode = path.stat().st_mode  # follows links: a link to a regular file is fine
    except FileNotFoundError:
        return path  # nothing there (or a dangling link): a new file
    except NotADirectoryError as exc:
        raise ValueError(f"{what} {str(path)!r} cannot be created: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        raise ValueError(
            f"{what} {str(path)!r} exists and is {_file_type(mode)}, not a regular file: "
            "refusing to replace it"
        )
    return path


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _remove_orphans(path: Path) -> None:
    """Remove temporary files that earlier saves to ``path`` left when they were killed
    (named by this module, made by a process that no longer runs)."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)\.[^.]+" + re.escape(_TMP_SUFFIX))
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _process_exists(pid):
            continue  # a save under way in this or another live process
        try:
            os.unlink(entry.path)
        except OSError:
            pass


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating missing folders.

    On any failure the temporary file is removed and a previous ``path`` is left intact.
    A replaced file's permission bits are kept (never setuid, setgid or sticky bits).
    """
    path = check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=_TMP_SUFFIX, dir=path.parent
    )
    try:
        # mkstemp makes the file private (0600): give it the mode an ordinary write would,
        # or the permission bits of the file it replaces
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        check_target(path)  # it may have become a device or a folder meanwhile
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _key_bytes(key) -> bytes | None:
    if key is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes | bytearray):
        raise TypeError(f"key must be bytes or str, got {type(key).__name__}")
    if not key:
        raise ValueError("key must not be empty")
    return bytes(key)


def encode(meta: dict, arrays: dict[str, np.ndarray], *, key=None) -> bytes:
    """Serialise a container (see the module docstring) to bytes, with an authentication
    tag when ``key`` is given."""
    key = _key_bytes(key)
    meta = {"format": FORMAT, **meta}
    payload = {name: np.asarray(arr) for name, arr in arrays.items()}
    for name, arr in payload.items():
        if arr.dtype == object:
            raise TypeError(f"array {name!r} has dtype object and cannot be stored")
    meta_bytes = json.dumps(meta, sort_keys=True).encode("utf-8")
    payload["meta"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    flags = _FLAG_TAGGED if key is not None else 0
    body = MAGIC + _VERSION.pack(FORMAT_VERSION) + _HEADER_V2.pack(flags, buffer.tell())
    body += buffer.getvalue()
    body += hashlib.sha256(body).digest()
    if key is not None:
        body += hmac.new(key, body, hashlib.sha256).digest()
    return body


def write_container(
    path, estimator_meta: dict, normalisation: dict, models: list, *, kind: str, best: int, key=None
) -> None:
    """Write a container of ``models`` (dicts with ``network``, ``w``, ``beta_reg``,
    ``record``) sharing one normalisation, atomically."""
    arrays = {name: np.asarray(normalisation[name], dtype=np.float64) for name in _NORMALISATION}
    entries = []
    for k, model in enumerate(models):
        network = model["network"]
        arrays[f"m{k}.weights"] = np.asarray(model["w"], dtype=np.float64)
        links = []
        for (l, s), mask in network.masks.items():
            arrays[f"m{k}.mask.{l}.{s}"] = mask
            links.append([l, s])
        entries.append(
            {
                "layer_sizes": list(network.layer_sizes),
                "links": links,
                "beta_reg": float(model["beta_reg"]),
                "record": model.get("record"),
            }
        )
    meta = {
        "library_version": estimator_meta.get("library_version"),
        "kind": kind,
        "estimator": estimator_meta,
        "models": entries,
        "best": int(best),
    }
    atomic_write_bytes(path, encode(meta, arrays, key=key))


# --------------------------------------------------------------------------- reading
def _read_regular_file(path: Path) -> tuple[bytes, int, int]:
    """``(bytes, format version, flags)`` of ``path``, a regular file whose header is
    checked before the rest is read, and whose size is what its header declares."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ModelFileError(f"{path} is {_file_type(info.st_mode)}, not a model file")
    size = info.st_size
    with os.fdopen(fd, "rb") as handle:
        head = handle.read(len(MAGIC) + _VERSION.size)
        if not head.startswith(MAGIC) and not MAGIC.startswith(head):
            raise ModelFileError(
                f"{path} is not a sklearn-neureco model file (wrong signature; a pickle or "
                "another format is never loaded)"
            )
        if len(head) < len(MAGIC) + _VERSION.size:
            raise ModelFileError(f"{path} is truncated")
        (version,) = _VERSION.unpack_from(head, len(MAGIC))
        if version > FORMAT_VERSION or version < 1:
            raise ModelFileError(
                f"{path} has format version {version}; this sklearn-neureco reads 1 to "
                f"{FORMAT_VERSION}: upgrade the package"
            )
        header = _HEADER_V1 if version == 1 else _HEADER_V2
        rest = handle.read(header.size)
        if len(rest) < header.size:
            raise ModelFileError(f"{path} is truncated")
        flags, length = (0, *header.unpack(rest)) if version == 1 else header.unpack(rest)
        if flags & ~_FLAG_TAGGED:
            raise ModelFileError(f"{path} has unknown header flags {flags:#x}")
        tag_size = _DIGEST_SIZE if flags & _FLAG_TAGGED else 0
        expected = len(head) + header.size + length + _DIGEST_SIZE + tag_size
        if size != expected:
            raise ModelFileError(
                f"{path} is truncated or padded: {size} bytes, its header declares {expected}"
            )
        data = head + rest + handle.read(size - len(head) - header.size)
    if len(data) != expected:
        raise ModelFileError(f"{path} changed while it was read")
    return data, version, flags


def decode(path, *, key=None) -> tuple[dict, zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """Read and verify a container's bytes: the checksum, and with ``key`` the tag.

    Returns ``(meta, archive, members)``: the parsed JSON, the payload's zip and its
    members by array name, none of them read yet. Raises :class:`ModelFileError` for
    anything that is not a valid container.
    """
    path = Path(path)
    key = _key_bytes(key)
    data, version, flags = _read_regular_file(path)
    tagged = bool(flags & _FLAG_TAGGED)
    end = len(data) - (_DIGEST_SIZE if tagged else 0)
    checksum_at = end - _DIGEST_SIZE
    if not hmac.compare_digest(hashlib.sha256(data[:checksum_at]).digest(), data[checksum_at:end]):
        raise ModelFileError(f"{path} fails its checksum: the file was modified or damaged")
    if key is not None:
        if not tagged:
            raise ModelFileError(
                f"{path} carries no authentication tag: it was not saved with a key"
            )
        if not hmac.compare_digest(hmac.new(key, data[:end], hashlib.sha256).digest(), data[end:]):
            raise ModelFileError(
                f"{path} fails authentication: it was not saved with this key, or was "
                "modified since"
            )
    payload_at = len(MAGIC) + _VERSION.size + (_HEADER_V1 if version == 1 else _HEADER_V2).size
    try:
        archive = zipfile.ZipFile(io.BytesIO(data[payload_at:checksum_at]))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise ModelFileError(f"{path} has an unreadable payload: {exc}") from exc
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename[: -len(".npy")] if info.filename.endswith(".npy") else None
        if name is None or name in members:
            raise ModelFileError(f"{path} has an unexpected member {info.filename!r}")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise ModelFileError(f"{path} has a compressed member {info.filename!r}")
        members[name] = info
    if "meta" not in members:
        raise ModelFileError(f"{path} is not a sklearn-neureco model file (no meta)")
    raw = _read_array(path, archive, members["meta"], np.uint8, None)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path} has an unreadable meta: {type(exc).__name__}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a sklearn-neureco model file")
    return meta, archive, members


def _read_array(path, archive, info: zipfile.ZipInfo, dtype, shape) -> np.ndarray:
    """Parse one ``.npy`` member: its header must give ``dtype`` and ``shape`` (``None``:
    any 1-D length) and its size must be exactly what they need."""
    name = info.filename
    try:
        raw = archive.read(info)
        stream = io.BytesIO(raw)
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            got_shape, fortran, got_dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            got_shape, fortran, got_dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy version {version}")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, SyntaxError) as exc:
        raise ModelFileError(f"{path}: member {name!r} is unreadable: {exc}") from exc
    dtype = np.dtype(dtype)
    if got_dtype not in (dtype.newbyteorder("<"), dtype.newbyteorder(">")) or fortran:
        raise ModelFileError(f"{path}: {name!r} has dtype {got_dtype}, expected {dtype}")
    if shape is None:  # any length, but one dimension
        shape = got_shape if len(got_shape) == 1 else (-1,)
    if got_shape != shape:
        raise ModelFileError(f"{path}: {name!r} has shape {got_shape}, expected {shape}")
    if len(raw) - stream.tell() != math.prod(shape) * dtype.itemsize:
        raise ModelFileError(f"{path}: {name!r} does not hold the data its header declares")
    if dtype.kind == "b":  # any non-zero byte is True, as numpy would show it
        return np.frombuffer(raw, np.uint8, offset=stream.tell()).reshape(shape) != 0
    values = np.frombuffer(raw, dtype=got_dtype, offset=stream.tell()).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


# ------------------------------------------------------------------- validation of meta
class _Malformed(Exception):
    """What is wrong in a file's meta, turned into a ModelFileError naming the file."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _Malformed(message)


def is_int(value) -> bool:
    """A JSON integer (``True`` and ``False`` are not numbers here)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _int(value, what: str, low: int = 0, high: int | None = None) -> int:
    _require(is_int(value), f"{what} must be an integer, got {type(value).__name__}")
    _require(value >= low and (high is None or value <= high), f"{what} is out of range")
    return int(value)


def _float(value, what: str, low: float = -math.inf) -> float:
    _require(
        isinstance(value, int | float) and not isinstance(value, bool),
        f"{what} must be a number, got {type(value).__name__}",
    )
    _require(math.isfinite(value) and value >= low, f"{what} must be finite and >= {low}")
    return float(value)


def _scalar(value) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def check_record(record, what: str) -> dict:
    """A build record: a flat mapping of names to numbers, strings or lists of integers."""
    _require(isinstance(record, dict), f"{what} must be a mapping")
    for name, value in record.items():
        ok = _scalar(value) or (isinstance(value, list) and all(is_int(v) for v in value))
        _require(ok, f"{what}[{name!r}] must be a number, a string or a list of integers")
    return record


def _check_model_entry(entry, k: int) -> dict:
    what = f"models[{k}]"
    _require(isinstance(entry, dict), f"{what} must be a mapping")
    sizes = entry.get("layer_sizes")
    _require(
        isinstance(sizes, list) and 2 <= len(sizes) <= MAX_WEIGHT_LAYERS + 1,
        f"{what}.layer_sizes must be a list of 2 to {MAX_WEIGHT_LAYERS + 1} sizes",
    )
    sizes = tuple(_int(n, f"{what}.layer_sizes", low=1) for n in sizes)
    links = entry.get("links")
    _require(isinstance(links, list), f"{what}.links must be a list")
    pairs = []
    for pair in links:
        _require(isinstance(pair, list) and len(pair) == 2, f"{what}.links holds [target, source]")
        l = _int(pair[0], f"{what}.links target", low=1, high=len(sizes) - 1)
        s = _int(pair[1], f"{what}.links source", low=0, high=l - 1)
        pairs.append((l, s))
    _require(len(set(pairs)) == len(pairs), f"{what}.links repeats a block")
    beta = _float(entry.get("beta_reg"), f"{what}.beta_reg", low=0.0)
    record = entry.get("record")
    if record is not None:
        check_record(record, f"{what}.record")
    return {"layer_sizes": sizes, "links": pairs, "beta_reg": beta, "record": record}


def _check_estimator_meta(meta) -> dict:
    _require(isinstance(meta, dict), "estimator must be a mapping")
    params = meta.get("params")
    _require(isinstance(params, dict), "estimator.params must be a mapping")
    for name, value in params.items():
        _require(_scalar(value), f"parameter {name!r} must be a number, a string or null")
    n_features = _int(meta.get("n_features_in"), "n_features_in", low=1)
    n_outputs = _int(meta.get("n_outputs"), "n_outputs", low=1)
    output_1d = meta.get("output_1d")
    _require(isinstance(output_1d, bool), "output_1d must be true or false")
    _require(not output_1d or n_outputs == 1, "output_1d needs exactly one output")
    names = meta.get("feature_names")
    if names is not None:
        _require(
            isinstance(names, list)
            and len(names) == n_features
            and all(isinstance(n, str) for n in names),
            f"feature_names must be a list of {n_features} strings",
        )
    history = meta.get("history")
    if history is not None:
        _require(isinstance(history, list), "history must be a list")
        for i, record in enumerate(history):
            check_record(record, f"history[{i}]")
    name = meta.get("class", "NeurEcoRegressor")
    _require(isinstance(name, str), "class must be a string")
    classes = meta.get("classes")
    if classes is not None:
        _require(
            isinstance(classes, list) and all(_scalar(c) for c in classes),
            "classes must be a list of numbers or strings",
        )
    return meta


def _checked_container(path, key, *, compressor: bool):
    """Decode a container and check its structure: ``(meta, estimator, entries, archive,
    members, best)``. A compressor's models come in pairs, encoder then decoder, its
    ``best`` on an encoder; any other estimator's each map its inputs to its outputs."""
    meta, archive, members = decode(path, key=key)
    try:
        kind = meta.get("kind")
        _require(kind in ("model", "checkpoint"), f"kind must be model or checkpoint: {kind!r}")
        estimator = _check_estimator_meta(meta.get("estimator"))
    except _Malformed as exc:
        raise ModelFileError(f"{path} is inconsistent: {exc}") from None
    if (estimator.get("class") == COMPRESSOR) != compressor:
        raise OtherEstimatorFile(path, estimator.get("class", "NeurEcoRegressor"))
    try:
        models = meta.get("models")
        _require(isinstance(models, list), "models must be a list")
        _require(len(models) > 0, "it holds no model yet")
        entries = [_check_model_entry(entry, k) for k, entry in enumerate(models)]
        count = len(entries)
        best = _int(meta.get("best"), "best", low=0, high=count - 1)
        n_in, n_out = estimator["n_features_in"], estimator["n_outputs"]
        if compressor:
            _require(count % 2 == 0, "a compressor's models come in pairs, encoder and decoder")
            _require(best % 2 == 0, "best must point at an encoder (an even model number)")
        allowed = {"meta", *_NORMALISATION}
        for k, entry in enumerate(entries):
            sizes = entry["layer_sizes"]
            ends = (n_in, n_out)
            if compressor:  # data -> k coefficients -> data, k at most the data's width
                coefficients = entries[k - k % 2]["layer_sizes"][-1]
                _require(coefficients <= n_in, f"models[{k}] has more coefficients than inputs")
                ends = (n_in, coefficients) if k % 2 == 0 else (coefficients, n_out)
            _require(
                (sizes[0], sizes[-1]) == ends,
                f"models[{k}] has {sizes[0]} inputs and {sizes[-1]} outputs, not {ends}",
            )
            allowed.add(f"m{k}.weights")
            allowed.update(f"m{k}.mask.{l}.{s}" for l, s in entry["links"])
        unknown = sorted(set(members) - allowed)
        _require(not unknown, f"it holds arrays the format does not define: {unknown[:5]}")
        missing = sorted(allowed - set(members))
        _require(not missing, f"it lacks the arrays {missing[:5]}")
    except _Malformed as exc:
        raise ModelFileError(f"{path} is inconsistent: {exc}") from None
    return meta, estimator, entries, archive, members, best


def _pick(path, model_number, count: int, step: int = 1) -> int:
    """The index of model ``model_number`` (an integer, negative counts from the end)
    among ``count`` models stored ``step`` entries each."""
    if not -count <= model_number < count:
        raise ValueError(
            f"model_number must be in [{-count}, {count - 1}]: {path} holds "
            f"{count} model(s), got {model_number}"
        )
    return (int(model_number) % count) * step


def _read_network(path, archive, members, entry: dict, k: int) -> tuple[dict, np.ndarray]:
    """Model ``k``'s link masks and weights (checked finite)."""
    sizes = entry["layer_sizes"]
    masks = {
        (l, s): _read_array(
            path, archive, members[f"m{k}.mask.{l}.{s}"], bool, (sizes[l], sizes[s])
        )
        for l, s in entry["links"]
    }
    n_weights = sum(int(m.sum()) for m in masks.values()) + sum(sizes[1:])
    w = _read_array(path, archive, members[f"m{k}.weights"], np.float64, (n_weights,))
    if not np.all(np.isfinite(w)):
        raise ModelFileError(f"{path} holds weights that are not finite")
    return masks, w


def _read_normalisation(path, archive, members, n_in: int, n_out: int) -> dict:
    normalisation = {
        name: _read_array(
            path, archive, members[name], np.float64, (n_in if "input" in name else n_out,)
        )
        for name in _NORMALISATION
    }
    problems = []
    for name, values in normalisation.items():
        if not np.all(np.isfinite(values)):
            problems.append(f"a {name} that is not finite")
        elif name.endswith("scale") and not np.all(values > 0):
            problems.append(f"a {name} that is not positive")
    if problems:
        raise ModelFileError(f"{path} holds " + " and ".join(problems))
    return normalisation


def read_container(path, model_number: int | None = None, *, key=None):
    """Read a container and pick one model: ``model_number`` (negative counts from the
    end), or the container's ``best`` by default.

    Returns ``(estimator_meta, normalisation, model)`` with ``model`` a dict holding
    ``layer_sizes``, ``masks``, ``w``, ``beta_reg`` and ``records`` (the build records of
    the models up to the one picked). Everything returned has been checked: finite
    weights, positive finite scales, shapes that fit the network, values of the right
    types. Raises :class:`ModelFileError` otherwise.
    """
    if model_number is not None and not is_int(model_number):
        raise TypeError(f"model_number must be an integer, got {type(model_number).__name__}")

    def pick(count, best):
        return [best if model_number is None else _pick(path, model_number, count)]

    estimator, normalisation, models = _read_models(path, key, pick)
    return estimator, normalisation, models[0]


def _read_models(path, key, pick):
    """``(estimator_meta, normalisation, models)`` of the models ``pick(count, best)``
    numbers, read and checked as :func:`read_container` says, the file decoded once."""
    meta, estimator, entries, archive, members, best = _checked_container(
        path, key, compressor=False
    )
    models = []
    for k in pick(len(entries), best):
        entry = entries[k]
        masks, w = _read_network(path, archive, members, entry, k)
        models.append(
            {
                "layer_sizes": entry["layer_sizes"],
                "masks": masks,
                "w": w,
                "beta_reg": entry["beta_reg"],
                "records": [e["record"] for e in entries[: k + 1]],
            }
        )
    n_in, n_out = estimator["n_features_in"], estimator["n_outputs"]
    normalisation = _read_normalisation(path, archive, members, n_in, n_out)
    return estimator, normalisation, models


def read_compressor(path, model_number: int | None = None, *, key=None):
    """Read a compressor's container and pick one of its compressions (encoder and decoder
    pair): ``model_number`` (negative counts from the end), or the container's ``best``.

    Returns ``(estimator_meta, normalisation, halves, records)``: ``halves`` two dicts
    with ``layer_sizes``, ``masks`` and ``w``; ``records`` the build records stored up to
    the pair picked. Checked as :func:`read_container` checks.
    """
    if model_number is not None and not is_int(model_number):
        raise TypeError(f"model_number must be an integer, got {type(model_number).__name__}")
    meta, estimator, entries, archive, members, best = _checked_container(
        path, key, compressor=True
    )
    k = best if model_number is None else _pick(path, model_number, len(entries) // 2, step=2)
    halves = []
    for j in (k, k + 1):
        masks, w = _read_network(path, archive, members, entries[j], j)
        halves.append({"layer_sizes": entries[j]["layer_sizes"], "masks": masks, "w": w})
    n_in, n_out = estimator["n_features_in"], estimator["n_outputs"]
    normalisation = _read_normalisation(path, archive, members, n_in, n_out)
    records = [e["record"] for e in entries[: k + 1 : 2] if e["record"] is not None]
    return estimator, normalisation, halves, records


# ------------------------------------------------------------------- fitted states
def write_states(
    path, states: list[FittedState], params: dict, *, kind: str, best: int, key=None
) -> None:
    """Write fitted states of one build (sharing the normalisation and the data's shapes:
    a checkpoint's candidates, or one model) atomically. ``params`` are the estimator's
    constructor parameters that a file may carry (no path). A model file keeps the first
    state's whole build record; a checkpoint each state's last record."""
    from . import __version__

    first = states[0]
    meta = {
        "library_version": __version__,
        "class": first.estimator,
        "params": params,
        "n_features_in": int(first.n_features_in),
        "feature_names": None if first.feature_names is None else list(first.feature_names),
        "n_outputs": int(first.n_outputs),
        "output_1d": bool(first.output_1d),
        "classes": None if first.classes is None else list(first.classes),
    }
    if kind == "model":
        meta["history"] = first.history
    models = [
        {
            "network": state.network,
            "w": state.weights,
            "beta_reg": state.beta_reg,
            "record": state.history[-1] if kind == "checkpoint" and state.history else None,
        }
        for state in states
    ]
    write_container(path, meta, first.normalisation, models, kind=kind, best=best, key=key)


def read_state(path, model_number: int | None = None, *, key=None) -> tuple[FittedState, dict]:
    """The fitted state of one model of a file (see :func:`read_container`), and the
    constructor parameters the file carries (checked for type only: the estimator
    validates their values)."""
    meta, normalisation, stored = read_container(path, model_number, key=key)
    return _state_of_stored(meta, normalisation, stored), meta["params"]


def read_states(path, *, key=None) -> tuple[list[FittedState], dict]:
    """Every model of a file as a fitted state, in order (the file decoded once), and the
    constructor parameters it carries."""
    meta, normalisation, models = _read_models(path, key, lambda count, best: range(count))
    return [_state_of_stored(meta, normalisation, m) for m in models], meta["params"]


def _state_of_stored(meta: dict, normalisation: dict, stored: dict) -> FittedState:
    history = meta.get("history")
    if history is None:  # a checkpoint: the records of the models up to this one
        history = [r for r in stored["records"] if r is not None]
    names = meta.get("feature_names")
    classes = meta.get("classes")
    return state_of(
        meta.get("class", "NeurEcoRegressor"),  # files of format 1 held regressors only
        Network(stored["layer_sizes"], stored["masks"]),
        stored["w"],
        normalisation,
        beta_reg=stored["beta_reg"],
        n_features_in=int(meta["n_features_in"]),
        n_outputs=int(meta["n_outputs"]),
        output_1d=bool(meta["output_1d"]),
        feature_names=None if names is None else tuple(names),
        classes=None if classes is None else tuple(classes),
        history=history,
    )
