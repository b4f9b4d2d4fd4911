"""bench/README.md holds one section per benchmark, between its `<!-- NAME:start -->` / `<!-- NAME:end -->`
markers; each script rewrites only its own."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, section: str, path: Path = README) -> None:
    """Replace the section `name` (markers included in `section`), or append it when the markers are missing."""
    start, end = markers(name)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
