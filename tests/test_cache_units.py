"""The action cache without a browser: what its key holds, values read again from page
text, and a store that readers never see half-written while writers race."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
import pytest

from browser_agent.cache import ActionCache, CacheError, cache_key
from browser_agent.cache.store import Miss
from browser_agent.cache.values import derive, recompute
from browser_agent.llm import load_tools
from browser_agent.recording import Footer, Header, ObservationLine, StepLine

TOOLS = load_tools()

RECEIVED = """# Received
item
Sencha
total
€12.50
name
Ada Lovelace"""

CART = """# Your cart
- Red Mug ×1 €8.50
  [4] spinbutton "Qty" value="1"
- Steel Water Bottle ×1 €19.95
  [7] spinbutton "Qty" value="1"
Total: €28.45
[9] link "Checkout\""""


# --------------------------------------------------------------------------- keys


def test_the_key_is_task_origin_path_tools_formats_and_the_users_key() -> None:
    key = cache_key("Buy tea", "http://127.0.0.1:8000/shop/index.html?v=1#top", TOOLS)
    # The start URL's query and fragment are not part of it; surrounding blanks neither.
    assert key == cache_key("  Buy tea\n", "http://127.0.0.1:8000/shop/index.html", TOOLS)
    assert key == cache_key("Buy tea", "HTTP://127.0.0.1:8000/shop/index.html?v=2", TOOLS)
    others = {
        cache_key("Buy coffee", "http://127.0.0.1:8000/shop/index.html", TOOLS),
        cache_key("Buy tea", "http://127.0.0.1:8001/shop/index.html", TOOLS),
        cache_key("Buy tea", "http://127.0.0.1:8000/shop/cart.html", TOOLS),
        cache_key("Buy tea", "http://127.0.0.1:8000/shop/index.html", TOOLS[:-1]),
        cache_key("Buy tea", "http://127.0.0.1:8000/shop/index.html", TOOLS, "v2"),
    }
    assert key not in others and len(others) == 5
    # A tool's description may be reworded; its parameters may not change.
    reworded = msgspec.json.decode(msgspec.json.encode(TOOLS))
    reworded[0]["function"]["description"] = "Something else."
    assert cache_key("Buy tea", "http://127.0.0.1:8000/shop/index.html", reworded) == key
    reworded[0]["function"]["parameters"]["properties"]["extra"] = {"type": "string"}
    assert cache_key("Buy tea", "http://127.0.0.1:8000/shop/index.html", reworded) != key


# ------------------------------------------------------------------------- values


def test_a_value_read_off_the_page_is_read_again_at_its_place() -> None:
    answer = "Ordered one box of Sencha for Ada Lovelace; the order cost €12.50."
    task = "Order one box of Sencha for Ada Lovelace"
    template = derive(answer, task, {0: "# Tea House", 3: RECEIVED})
    assert template is not None and len(template.slots) == 1
    again = recompute(template, {3: RECEIVED.replace("€12.50", "€14.00")})
    assert again is not None
    assert again.text == answer.replace("€12.50", "€14.00")
    assert again.changed == (("€12.50", "€14.00"),)
    # Unchanged page, unchanged answer.
    same = recompute(template, {3: RECEIVED})
    assert same is not None and same.text == answer and same.changed == ()
    # The page no longer has the place: the answer cannot be given again.
    assert recompute(template, {3: "# Received\nSold out"}) is None
    assert recompute(template, {0: RECEIVED}) is None  # that page was not seen this time


def test_alike_lines_keep_their_order_and_labels() -> None:
    answer = "The cart holds a Red Mug and a Steel Water Bottle (€28.45), the bottle €19.95"
    template = derive(answer, "Put a Red Mug and a Steel Water Bottle in the cart", {5: CART})
    assert template is not None and len(template.slots) == 2
    live = CART.replace("€19.95", "€17.00").replace("€28.45", "€25.50")
    again = recompute(template, {5: live})
    assert again is not None
    assert again.text == (
        "The cart holds a Red Mug and a Steel Water Bottle (€25.50), the bottle €17.00"
    )
    # Refs and quantities in the lines do not matter; only the value's place does.
    moved = live.replace("[4]", "[40]").replace('value="1"', 'value="2"')
    assert recompute(template, {5: moved}) == again
    # A line of the same shape added above is not taken for the value: its label differs.
    received = "# Received\nsubtotal\n€12.50\nshipping\n€3.00\ntotal\n€15.50"
    paid = derive("Paid €15.50 in all", "Order tea", {2: received})
    assert paid is not None
    live = received.replace("total\n€15.50", "discount\n€1.00\ntotal\n€14.50")
    assert recompute(paid, {2: live}) is not None
    assert recompute(paid, {2: live}).text == "Paid €14.50 in all"  # type: ignore[union-attr]


def test_a_value_from_an_earlier_page_is_taken_from_that_page() -> None:
    product = '# Sencha\nPrice: €12.50\n[1] button "Add to basket"'
    template = derive("Sencha costs €12.50", "Order Sencha", {1: product, 3: "# Thanks"})
    assert template is not None and template.slots[0].anchor.step == 1
    again = recompute(template, {1: product.replace("12.50", "9.00"), 3: "# Thanks"})
    assert again is not None and again.text == "Sencha costs €9.00"


def test_values_the_task_gave_or_the_model_worked_out() -> None:
    # From the task: kept as it is, even though a page shows it too.
    task = "Ship to 12 Analytical Street and say the total"
    template = derive("Sent to 12 Analytical Street", task, {0: "12 Analytical Street"})
    assert template is not None and template.slots == ()
    # "1" of the task is not the "1" inside "12": the second one is read off the page.
    t2 = derive("Order 1 of 12.50", "buy 1 box", {0: "Total 12.50"})
    assert t2 is not None and [t2.text[s.start : s.end] for s in t2.slots] == ["12.50"]
    # On no page and not in the task: the model worked it out; nothing can give it back.
    assert derive("Two boxes cost €25.00", "Order tea", {3: RECEIVED}) is None
    # Placeholders of secrets and words without digits are never values.
    plain = derive("typed {{card2}} for Ada", "Order tea", {0: "nothing"})
    assert plain is not None and plain.slots == ()


# -------------------------------------------------------------------------- store


def _entry(key: str, steps: int, *, success: bool = True) -> bytes:
    """A recording of one session, as a cache entry holds it (`steps` padded steps)."""
    lines: list[object] = [Header(task="t", settings={"cache_key": key})]
    for n in range(1, steps + 1):
        obs = ObservationLine(full=True, text="x" * 2000 + str(n))
        lines.append(StepLine(n=n, url="http://127.0.0.1/", observation=obs))
    lines.append(Footer(success=success, reason="done", steps=steps))
    return b"".join(msgspec.json.encode(line) + b"\n" for line in lines)


def _put(cache: ActionCache, key: str, data: bytes) -> None:
    partial = cache.partial()
    partial.write_bytes(data)
    cache.commit(partial, key)


def test_readers_never_see_a_torn_entry_while_writers_race(tmp_path: Path) -> None:
    """Four writers replace one entry 25 times each with entries of different sizes
    (up to ~600 kB) while a reader loads it: every load is a whole entry."""
    cache = ActionCache(tmp_path / "cache")
    key = "k" * 32
    _put(cache, key, _entry(key, 1))
    errors: list[str] = []
    stop = threading.Event()

    def write(w: int) -> None:
        for i in range(25):
            _put(cache, key, _entry(key, 1 + (w * 25 + i) % 300))

    def read_all() -> None:
        while not stop.is_set():
            found = cache.load(key)
            if isinstance(found, Miss):
                errors.append(found.reason)
            elif found.footer is None or found.footer.steps != len(found.steps):
                errors.append(f"{len(found.steps)} steps of {found.footer}")

    reader = threading.Thread(target=read_all)
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    assert errors == []
    assert cache.keys() == [key]
    assert list((tmp_path / "cache" / ".partial").iterdir()) == []


def test_entries_that_cannot_serve_are_misses_with_a_reason(tmp_path: Path) -> None:
    cache = ActionCache(tmp_path / "cache")
    key = "a" * 32
    assert cache.load(key) == Miss("no entry for this task")
    cache.directory.mkdir()
    cache.path(key).write_bytes(b"not json\n{}\n")
    assert "unreadable" in _reason(cache.load(key))
    cache.path(key).write_bytes(_entry(key, 2)[:-20])  # the footer torn off
    assert _reason(cache.load(key)) == "the entry is incomplete"
    cache.path(key).write_bytes(_entry(key, 2, success=False))
    assert _reason(cache.load(key)) == "the entry is not from a successful run"
    cache.path(key).write_bytes(_entry("b" * 32, 2))  # renamed by hand
    assert _reason(cache.load(key)) == "the entry was written for another key"
    cache.path(key).write_bytes(_entry(key, 2))
    assert not isinstance(cache.load(key), Miss)
    assert cache.clear() == 1 and cache.keys() == []


def _reason(found: object) -> str:
    assert isinstance(found, Miss), found
    return found.reason


def test_a_cache_that_cannot_be_written_says_why(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CacheError, match="cannot create the action cache"):
        ActionCache(tmp_path / "file" / "cache").partial()
    # A partial file that vanished (the directory cleared by hand mid-run): the entry
    # stays as it was and the error says where.
    cache = ActionCache(tmp_path / "cache")
    key = "c" * 32
    _put(cache, key, _entry(key, 2))
    gone = cache.partial()
    with pytest.raises(CacheError, match="cannot store the entry"):
        cache.commit(gone, key)
    found = cache.load(key)
    assert not isinstance(found, Miss) and len(found.steps) == 2


# -------------------------------------------------------------------- bench figures


def test_bench_agent_cache_targets_are_judged_per_round() -> None:
    from browser_agent.bench.agent import _cached_figures

    def run(first: float, second: float, calls: int, changed: tuple[int, int]) -> dict[str, object]:
        phase = {"calls": 0, "success": True, "step_ms": [10.0]}
        return {
            "first": {**phase, "wall_ms": first, "calls": 4},
            "second": {**phase, "wall_ms": second, "calls": calls},
            "changed": {**phase, "wall_ms": 1.0, "calls": changed[0], "diverged": changed[1]},
            "ratio": second / first,
        }

    good = {"a": [run(1000, 250, 0, (1, 1)), run(1000, 290, 0, (2, 1))]}
    figures = _cached_figures(good)
    assert figures["target_met"] and figures["second_calls"] == 0
    assert figures["ratio"]["a"] == pytest.approx(0.27)
    assert figures["changed"]["a"] == {"calls": [1, 2], "diverged": [1, 1], "wall_ms": 1.0}
    assert not _cached_figures({"a": [run(1000, 250, 1, (1, 1))]})["target_met"]  # a call
    assert not _cached_figures({"a": [run(1000, 350, 0, (1, 1))]})["target_met"]  # too slow
    assert not _cached_figures({"a": [run(1000, 250, 0, (3, 1))]})["target_met"]  # 2 too many
