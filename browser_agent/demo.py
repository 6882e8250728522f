"""`browser-agent demo`: the main job on the embedded fixture site, no key, no network."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from fixtures.server import FixtureServer

from .browser import Browser


async def run_demo(json_output: bool = False, console: Console | None = None) -> int:
    """Observe the bundled shop, change it, and show that only the change was shipped."""
    console = console or Console()
    with FixtureServer() as site:
        async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
            page = await browser.new_page()
            await page.goto(site.url("/shop/index.html"))
            first = await page.observe()
            pw = page.playwright_page
            await pw.locator("input").first.fill("kettle")
            second = await page.observe()
    if json_output:
        print(
            json.dumps(
                {
                    "url": second.url,
                    "text": second.text,
                    "observations": [
                        {"full": o.full, "version": o.version, "timings": o.timings}
                        for o in (first, second)
                    ],
                }
            )
        )
        return 0
    console.rule(f"[bold]{second.title}[/] {second.url}")
    console.print(second.text, markup=False, highlight=False)
    table = Table(title="observations")
    for col in ("version", "kind", "total ms", "in page ms", "changed refs"):
        table.add_column(col, justify="right")
    for o in (first, second):
        table.add_row(
            str(o.version),
            "full" if o.full else "delta",
            f"{o.timings['total']:.1f}",
            f"{o.timings['in_page']:.1f}",
            str(len(o.changed) + len(o.added) + len(o.removed)),
        )
    console.print(table)
    return 0
