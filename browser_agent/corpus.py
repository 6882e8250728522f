"""Locate the shared benchmark corpus (`../shared/corpus`), if this checkout has one."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path


def default_corpus() -> Path | None:
    """`../shared/corpus/articles` from the working directory or from the checkout."""
    here = Path(__file__).resolve().parent.parent
    for base in (Path.cwd(), here):
        candidate = (base / ".." / "shared" / "corpus" / "articles").resolve()
        if candidate.is_dir():
            return candidate
    return None


def iter_pages(directory: Path) -> Iterator[tuple[str, str]]:
    """(name, html) for every .html / .html.gz page in `directory`, sorted by name."""
    for path in sorted(directory.iterdir()):
        if path.name.endswith(".html.gz"):
            yield (
                path.name[: -len(".gz")],
                gzip.decompress(path.read_bytes()).decode("utf-8", "replace"),
            )
        elif path.name.endswith((".html", ".htm")):
            yield path.name, path.read_text("utf-8", "replace")
