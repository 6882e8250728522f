"""`bench mcp`: how it reads Playwright MCP's answers, and that it runs (and skips
Playwright MCP cleanly) without npm."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_agent.bench import mcp as bench

SNAPSHOT = """\
- generic [active] [ref=e1]:
  - navigation "Shop" [ref=e5]:
    - link "Cart (0)" [ref=e8] [cursor=pointer]:
      - /url: cart.html
  - search [ref=e9]:
    - searchbox "Search products" [ref=e10]
    - button "Search" [ref=e11]
  - heading "Welcome" [level=1] [ref=e13]
  - radio "Express (next day, \\"fast\\")" [ref=e28]
"""

RESULT = """\
### Ran Playwright code
```js
await page.getByRole('link', { name: 'Blue Kettle' }).click();
```
### Page
- Page URL: http://127.0.0.1:1/shop/product.html?id=1
### Snapshot
- [Snapshot](.playwright-mcp/page-1.yml)"""


def test_playwright_results_are_read_with_the_snapshot_file_they_link(tmp_path: Path) -> None:
    (tmp_path / ".playwright-mcp").mkdir()
    (tmp_path / ".playwright-mcp" / "page-1.yml").write_text(SNAPSHOT)
    pw = bench.Playwright(tmp_path, "/bin/chromium")
    seen, inline = pw.seen(RESULT)
    assert inline == len(RESULT) and len(seen) == len(RESULT) + 1 + len(SNAPSHOT)
    refs, whole = pw.refs(seen)
    assert whole
    assert refs[("link", "Cart (0)")] == "e8" and refs[("searchbox", "Search products")] == "e10"
    assert refs[("radio", 'Express (next day, \\"fast\\")')] == "e28"
    assert ("navigation", "Shop") in refs and ("heading", "Welcome") in refs
    step = bench.BenchStep("click", "link", "Cart (")
    assert bench._find(refs, step) == "e8"  # a cart count the snapshot may lag on
    assert pw.call_for(step, "e8", "") == ("browser_click", {"target": "e8", "element": "Cart ("})


def test_the_bench_runs_our_flows_and_skips_playwright_mcp_without_npm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = bench.shutil.which
    monkeypatch.setattr(bench.shutil, "which", lambda n: None if n == "npm" else real(n))
    result = bench.run_sync(json_output=True, repeat=1)
    assert result["playwright_mcp"] == {"version": None, "skipped": "npm or node is not installed"}
    ours = result["overall"]["browser-agent"]
    assert ours["calls"] == sum(len(s) for s in bench._flows().values())
    assert ours["chars_per_action"] > 0 and ours["latency_ms"]["p50"] > 0
    assert "ratios" not in result and set(result["flows"]) == set(bench._flows())
