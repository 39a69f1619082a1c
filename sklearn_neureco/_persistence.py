"""Model files and checkpoints that load without running code and never half-exist.

File format (version 1)
-----------------------
::

    magic      12 bytes  b"\\x89NEURECO\\r\\n\\x1a\\n"
    version     2 bytes  unsigned, little-endian
    length      8 bytes  unsigned, little-endian: size of the payload
    payload    length    a zip of .npy arrays (numpy.savez), read with allow_pickle=False
    digest     32 bytes  SHA-256 of everything above

The digest covers the whole file, so any truncation or damaged byte is detected before
anything is parsed, and the payload is read with ``allow_pickle=False``, so loading
executes nothing from the file. The payload holds:

* ``meta``: UTF-8 JSON (as a ``uint8`` array) with ``format`` (``"sklearn-neureco"``),
  ``library_version``, ``kind`` (``"model"`` or ``"checkpoint"``), ``estimator``
  (constructor parameters, ``n_features_in``, ``feature_names``, ``n_outputs``,
  ``output_1d``, and for a model its build ``history``), ``models`` (one entry per stored
  network: ``layer_sizes``, ``links``, ``beta_reg``, ``record``) and ``best`` (index of
  the model loaded by default);
* ``input_shift``, ``input_scale``, ``output_shift``, ``output_scale``: the normalisation;
* ``m{k}.weights`` and ``m{k}.mask.{l}.{s}`` for each stored network ``k``.

A *checkpoint* is the same container holding the sequence of candidate networks of a build,
in order. Every write goes to a temporary file in the target folder, is flushed to disk
(``fsync``) and then atomically renamed over the target, so a crash or a kill at any
moment leaves either the previous file or the new one, never a broken one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FORMAT = "sklearn-neureco"
FORMAT_VERSION = 1
MAGIC = b"\x89NEURECO\r\n\x1a\n"
_HEADER = struct.Struct("<HQ")  # version, payload length
_DIGEST_SIZE = 32
_NORMALISATION = ("input_shift", "input_scale", "output_shift", "output_scale")


class ModelFileError(ValueError):
    """A file is not a valid sklearn-neureco model file (corrupt, truncated, foreign)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, creating missing folders.

    On any failure the temporary file is removed and a previous ``path`` is left intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600): give it the mode an ordinary write would,
        # or keep the mode of the file it replaces
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
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


def encode(meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise a container (see the module docstring) to bytes."""
    meta = {"format": FORMAT, **meta}
    payload = {name: np.asarray(arr) for name, arr in arrays.items()}
    for name, arr in payload.items():
        if arr.dtype == object:
            raise TypeError(f"array {name!r} has dtype object and cannot be stored")
    meta_bytes = json.dumps(meta, sort_keys=True).encode("utf-8")
    payload["meta"] = np.frombuffer(meta_bytes, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    body = MAGIC + _HEADER.pack(FORMAT_VERSION, buffer.tell()) + buffer.getvalue()
    return body + hashlib.sha256(body).digest()


def decode(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and verify a container; raise :class:`ModelFileError` if it is not valid."""
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file")
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ModelFileError(
            f"{path} is not a sklearn-neureco model file (wrong signature; a pickle or "
            "another format is never loaded)"
        )
    start = len(MAGIC) + _HEADER.size
    if len(data) < start + _DIGEST_SIZE:
        raise ModelFileError(f"{path} is truncated")
    version, length = _HEADER.unpack_from(data, len(MAGIC))
    if len(data) != start + length + _DIGEST_SIZE:
        raise ModelFileError(
            f"{path} is truncated or padded: {len(data)} bytes, expected "
            f"{start + length + _DIGEST_SIZE}"
        )
    if hashlib.sha256(data[: start + length]).digest() != data[start + length :]:
        raise ModelFileError(f"{path} fails its checksum: the file was modified or damaged")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {version}; this sklearn-neureco reads up to "
            f"{FORMAT_VERSION}: upgrade the package"
        )
    try:
        with np.load(io.BytesIO(data[start : start + length]), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ModelFileError(f"{path} has an unreadable payload: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a sklearn-neureco model file")
    return meta, arrays


def write_container(
    path, estimator_meta: dict, normalisation: dict, models: list, *, kind: str, best: int
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
    atomic_write_bytes(Path(path), encode(meta, arrays))


def read_container(path, model_number: int | None = None):
    """Read a container and pick one model: ``model_number`` (negative counts from the
    end), or the container's ``best`` by default.

    Returns ``(estimator_meta, normalisation, model)`` with ``model`` a dict holding
    ``layer_sizes``, ``masks``, ``w``, ``beta_reg`` and ``records`` (the build records of
    the models up to the one picked).
    """
    meta, arrays = decode(path)
    try:
        models = meta["models"]
        count = len(models)
        best = int(meta["best"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is inconsistent: {exc!r}") from exc
    if count == 0:
        raise ModelFileError(f"{path} holds no model yet")
    k = best if model_number is None else int(model_number)
    if not -count <= k < count:
        raise ValueError(
            f"model_number must be in [{-count}, {count - 1}]: {path} holds "
            f"{count} model(s), got {model_number}"
        )
    k %= count
    try:
        entry = models[k]
        masks = {
            (int(l), int(s)): arrays[f"m{k}.mask.{l}.{s}"].astype(bool) for l, s in entry["links"]
        }
        model = {
            "layer_sizes": tuple(int(n) for n in entry["layer_sizes"]),
            "masks": masks,
            "w": arrays[f"m{k}.weights"].astype(np.float64),
            "beta_reg": float(entry["beta_reg"]),
            "records": [m.get("record") for m in models[: k + 1]],
        }
        normalisation = {name: arrays[name].astype(np.float64) for name in _NORMALISATION}
        return meta["estimator"], normalisation, model
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} is inconsistent: {exc!r}") from exc
