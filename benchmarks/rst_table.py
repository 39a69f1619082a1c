"""The benchmarks' tables as reStructuredText, for the documentation's Benchmarks page."""

from __future__ import annotations


def write_table(path, caption: str, header: list[str], rows: list[list[str]]) -> None:
    """Write ``caption`` and a simple table of ``header`` and ``rows`` (strings) to ``path``."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    text = [caption, "", rule, line(header), rule, *(line(r) for r in rows), rule, ""]
    with open(path, "w") as f:
        f.write("\n".join(text))
