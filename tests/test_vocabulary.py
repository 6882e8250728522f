"""The role table, name rules and word lists live once, in extractors/js/vocabulary.json:
the in-page serializer and actions get them from the driver, the offline serializer
reads the same file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser_agent.extractors import offline
from browser_agent.extractors.driver import serializer_source

JS = Path(__file__).resolve().parent.parent / "extractors" / "js"
VOCAB = json.loads((JS / "vocabulary.json").read_text("utf-8"))


def test_the_in_page_serializer_is_handed_the_vocabulary_file() -> None:
    source = serializer_source()
    assert source.endswith(f"({(JS / 'vocabulary.json').read_text('utf-8')})")
    assert "((VOCAB) =>" in source


def test_the_offline_serializer_reads_the_same_vocabulary() -> None:
    assert set(VOCAB["interactiveRoles"]) == offline.INTERACTIVE_ROLES
    assert set(VOCAB["nameFromContent"]) == offline.NAME_FROM_CONTENT
    assert VOCAB["plainInputRoles"] == offline.PLAIN_INPUT_ROLES
    assert set(VOCAB["actionWords"]) == offline.ACTION_WORDS
    assert set(VOCAB["classNoise"]) == offline.CLASS_NOISE
    assert tuple(VOCAB["handlerAttributes"]) == offline.HANDLER_ATTRS
    assert VOCAB["maxName"] == offline.MAX_NAME


@pytest.mark.parametrize(
    "word", ["menuitemcheckbox", "glyphicon", "hamburger", "data-bs-dismiss", "treeitem"]
)
def test_no_source_spells_out_a_list_of_the_vocabulary(word: str) -> None:
    sources = [*JS.rglob("*.js"), Path(offline.__file__)]
    assert [p.name for p in sources if word in p.read_text("utf-8")] == []
