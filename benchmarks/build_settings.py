"""``--config name=value,...``: build a benchmark's NeurEco models with other
:class:`~sklearn_neureco.BuildConfig` constants, to compare a setting with the default on
the same cases and seeds (two runs, one with the option and one without)."""

from __future__ import annotations

import argparse
import dataclasses

from sklearn_neureco import BuildConfig


def _value(text: str, default):
    """``text`` as the type of the field's ``default`` (``None`` for ``none``)."""
    if text.lower() == "none":
        return None
    if isinstance(default, tuple):
        return tuple(int(part) for part in text.split("/"))
    return int(text) if isinstance(default, int) else float(text)


def build_config(text: str) -> BuildConfig | None:
    """The :class:`BuildConfig` that ``"weight_penalty=1,hidden_sizes=1/2/4"`` describes
    (tuples' items separated by ``/``); ``None`` for an empty text (the package's default).
    An argparse type: an unknown name or a bad value is a usage error."""
    if not text:
        return None
    defaults = BuildConfig()
    fields = {f.name for f in dataclasses.fields(BuildConfig)}
    changes = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected name=value with a BuildConfig field as name "
                f"({', '.join(sorted(fields))})"
            )
        try:
            changes[name] = _value(value.strip(), getattr(defaults, name))
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{item!r}: {error}") from None
    return BuildConfig(**changes)


def describe(config: BuildConfig) -> str:
    """The constants of ``config`` that differ from the package's, as ``name=value``."""
    default = dataclasses.asdict(BuildConfig())
    changed = {k: v for k, v in dataclasses.asdict(config).items() if v != default[k]}
    return "BuildConfig(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=build_config,
        default=None,
        help="build NeurEco with these BuildConfig constants, e.g. 'weight_penalty=1' "
        "(default: the package's)",
    )
