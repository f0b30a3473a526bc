"""Every Python snippet in README.md and docs/*.md is an excerpt of a collected test file.

The examples run in the normal test command, so a snippet that is found verbatim in one of them
cannot rot. This test fails when someone edits a snippet in the Markdown only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def snippets() -> list[tuple[str, int, str]]:
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for n, match in enumerate(BLOCK.finditer(page.read_text()), 1):
            found.append((page.name, n, match.group(1)))
    return found


def test_docs_have_python_examples() -> None:
    pages = {page for page, _, _ in snippets()}
    assert "circuit-breakers-by-example.md" in pages
    assert {"README.md", "getting-started.md", "fixtures.md", "chaos.md"} <= pages
    assert len(list(EXAMPLES.rglob("test_example_*.py"))) >= 8


@pytest.mark.parametrize(
    ("page", "index", "code"), snippets(), ids=[f"{p}#{i}" for p, i, _ in snippets()]
)
def test_snippet_is_part_of_a_collected_example(page: str, index: int, code: str) -> None:
    sources = {str(f.relative_to(EXAMPLES)): f.read_text() for f in EXAMPLES.rglob("*.py")}
    hits = [name for name, text in sources.items() if code in text]
    assert hits, (
        f"{page}, python block {index} is not an excerpt of any file in docs/examples/; "
        f"copy it from the example (or change the example first):\n{code}"
    )
