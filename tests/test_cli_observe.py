"""`browser-agent observe`: a saved page is read without reaching the network, `--timings`
says where the time went, `--max-chars` works or is refused, `--offline --json` has the
live JSON's schema, and a bare host is tried as https:// (and said)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from browser_agent.cli import EXIT_FAILED, EXIT_OK, main
from browser_agent.extractors.offline import serialize_html
from browser_agent.testing import FixtureServer

ROOT = Path(__file__).resolve().parent.parent
FORM = ROOT / "fixtures" / "site" / "form.html"


def observe(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["observe", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_saved_page_never_reaches_the_network(
    site: FixtureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A saved page's scripts, styles and images on other hosts (here: the fixture site,
    slow on purpose) are not fetched: nothing waits for them and none is requested."""
    slow = site.url("/slow.html?ms=20000")
    page = tmp_path / "saved.html"
    (tmp_path / "local.css").write_text("h1 { color: #333 }")
    page.write_text(
        "<!doctype html><html><head><title>Saved article</title>"
        f"<link rel='stylesheet' href='{slow}&css'><link rel='stylesheet' href='local.css'>"
        f"<script src='{slow}&js'></script></head><body><h1>A saved article</h1>"
        f"<p>Its text.</p><img src='{slow}&img' alt='chart'><a href='{slow}'>More</a>"
        "</body></html>"
    )
    before = len(site.requests)
    code, out, err = observe(capsys, str(page), "--timings")
    assert code == EXIT_OK, err
    assert "# A saved article" in out and '[1] link "More"' in out
    assert not [r for r in site.requests[before:] if "slow.html" in r]
    timings = err.strip().splitlines()[-1]
    for stage in ("launch", "new page", "load", "observe", "wall", "close"):
        assert f"{stage} " in timings, timings


def test_offline_json_has_the_live_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = observe(capsys, str(FORM), "--json")
    live: dict[str, Any] = json.loads(out)
    code2, out2, _ = observe(capsys, str(FORM), "--json", "--offline")
    offline: dict[str, Any] = json.loads(out2)
    assert code == code2 == EXIT_OK
    assert set(live) == set(offline) == {
        "source", "url", "title", "version", "full", "truncated", "text", "elements", "timings",
    }  # fmt: skip
    assert (live["source"], offline["source"]) == ("live", "offline")
    assert live["title"] == offline["title"] and live["url"] == offline["url"]
    assert offline["text"] == serialize_html(FORM.read_text())
    for data in (live, offline):
        first = next(iter(data["elements"].values()))
        assert set(first) == {"tag", "role", "name", "value", "states", "bbox"}
    names = {e["name"] for e in offline["elements"].values()}
    assert "Full name" in names and len(offline["elements"]) == offline["text"].count("] ")
    assert all(e["bbox"] is None for e in offline["elements"].values())  # no layout offline
    assert all(len(e["bbox"]) == 4 for e in live["elements"].values())


def test_max_chars_caps_the_live_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = observe(capsys, str(FORM), "--json", "--max-chars", "400")
    data = json.loads(out)
    assert code == EXIT_OK and data["truncated"] is True
    assert len(data["text"]) < len(serialize_html(FORM.read_text()))


def test_a_bare_host_is_tried_as_https_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = observe(capsys, "localhost:1/page")
    lines = err.strip().splitlines()
    assert code == EXIT_FAILED and out == ""
    assert lines[0] == "note: localhost:1/page has no scheme: trying https://localhost:1/page"
    assert len(lines) == 2 and lines[1].startswith("error: goto failed")
