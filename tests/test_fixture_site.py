"""The loopback fixture site itself: server endpoints, the page generator, and the pages.

Other tests trust these fixtures to behave exactly as documented, so they are checked
on their own, mostly without a browser.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http.client import HTTPConnection
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright
from selectolax.lexbor import LexborHTMLParser

from browser_agent.testing import SITE_DIR, FixtureServer, generate_page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PLAIN_PAGES = ["long.html", "modal.html", "mutate.html", "popup.html", "upload.html"]


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as s:
        yield s


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    """One request, read in full, without following redirects, so tests see what was sent."""
    parts = urlsplit(url)
    conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        method = "POST" if data is not None else "GET"
        conn.request(method, target, body=data, headers={"Connection": "close", **(headers or {})})
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def body_elements(html: str) -> int:
    tree = LexborHTMLParser(html)
    return len(tree.css("body *"))


def multipart(
    fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    """Encode a multipart/form-data body the way a browser does."""
    boundary = "----fixture" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, data in files:
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; name="
            f'"{name}"; filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


# -- server -------------------------------------------------------------------------


def test_two_loopback_origins(server: FixtureServer) -> None:
    a, b = urlsplit(server.origin), urlsplit(server.other_origin)
    assert a.hostname == b.hostname == "127.0.0.1"
    assert a.port != b.port
    assert server.url("/form.html") == server.origin + "/form.html"
    assert server.other_url("x.html") == server.other_origin + "/x.html"


def test_serves_pages_with_types_and_no_store(server: FixtureServer) -> None:
    for url in (server.url("/"), server.url("/index.html"), server.other_url("/form.html")):
        resp = fetch(url)
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        assert resp.headers["Cache-Control"] == "no-store"
        assert b"<h1>" in resp.body
    js = fetch(server.url("/shop/shop.js"))
    assert js.headers["Content-Type"].startswith("text/javascript")
    assert b"Blue Kettle" in js.body
    assert fetch(server.url("/nope.html")).status == 404
    assert fetch(server.url("/../server.py")).status == 404
    assert "/index.html" in server.requests


def test_every_page_is_linked_and_offline() -> None:
    index = (SITE_DIR / "index.html").read_text("utf-8")
    for page in SITE_DIR.rglob("*.html"):
        rel = page.relative_to(SITE_DIR).as_posix()
        if "/" not in rel and rel != "index.html":
            assert f'href="{rel}"' in index, rel
        text = page.read_text("utf-8")
        # Only the injection page may even mention another host, and only as bait.
        if rel != "injection.html":
            assert "http://" not in text.replace("http://localhost/", ""), rel
            assert "https://" not in text, rel


def test_origin_placeholders_are_substituted(server: FixtureServer) -> None:
    html = fetch(server.url("/iframes.html")).text()
    assert "{{" not in html
    assert f'src="{server.other_origin}/frame_child.html"' in html


def test_urlencoded_submission(server: FixtureServer) -> None:
    body = urlencode([("name", "Ada"), ("topping", "cheese"), ("topping", "olives")]).encode()
    resp = fetch(server.url("/submit"), body, {"Content-Type": "application/x-www-form-urlencoded"})
    page = resp.text()
    assert resp.status == 200 and '<dl id="received">' in page.replace("'", '"')
    assert "<dt>name</dt><dd>Ada</dd>" in page
    sub = server.wait_submission(timeout=1)
    assert sub.method == "POST" and sub.path == "/submit"
    assert sub.fields == {"name": ["Ada"], "topping": ["cheese", "olives"]}
    assert sub.files == {}


def test_get_submission(server: FixtureServer) -> None:
    fetch(server.url("/submit?q=blue+kettle&page=2"))
    sub = server.wait_submission(timeout=1)
    assert sub.method == "GET"
    assert sub.fields == {"q": ["blue kettle"], "page": ["2"]}


def test_multipart_submission_with_file(server: FixtureServer) -> None:
    payload = bytes(range(256)) * 4
    body, ctype = multipart(
        [("full_name", "Grace Hopper"), ("password", "hunter2"), ("note", "é ü")],
        [("attachment", "notes.bin", payload), ("empty", "", b"")],
    )
    page = fetch(server.url("/submit"), body, {"Content-Type": ctype}).text()
    assert "<dd>hunter2</dd>" in page
    assert "notes.bin (1024 bytes)" in page
    sub = server.wait_submission(timeout=1)
    assert sub.fields == {
        "full_name": ["Grace Hopper"],
        "password": ["hunter2"],
        "note": ["é ü"],
    }
    assert sub.files == {"attachment": ("notes.bin", payload)}
    assert sub.first("full_name") == "Grace Hopper"


def test_wait_submission_times_out(server: FixtureServer) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError):
        server.wait_submission(timeout=0.1)
    assert time.perf_counter() - t0 < 1


def test_echo_waits_and_echoes(server: FixtureServer) -> None:
    t0 = time.perf_counter()
    resp = fetch(server.url("/api/echo?delay_ms=200&value=hello%20world"))
    data = json.loads(resp.body)
    elapsed = time.perf_counter() - t0
    assert resp.headers["Content-Type"] == "application/json"
    assert data == {"value": "hello world"}
    assert 0.19 <= elapsed < 2


def test_redirects_and_slow_page(server: FixtureServer) -> None:
    loop = fetch(server.url("/redirect/loop"))
    assert loop.status == 302 and loop.headers["Location"] == "/redirect/loop"
    to = fetch(server.url("/redirect/to?url=/form.html"))
    assert to.status == 302 and to.headers["Location"] == "/form.html"
    t0 = time.perf_counter()
    slow = fetch(server.url("/slow.html?ms=150"))
    assert b"Delayed 150 ms" in slow.body
    assert time.perf_counter() - t0 >= 0.14


def test_generated_page_size(server: FixtureServer) -> None:
    html = fetch(server.url("/gen/1000.html")).text()
    assert abs(body_elements(html) - 1000) <= 50
    seeded = fetch(server.url("/gen/1000.html?seed=7")).text()
    assert seeded == generate_page(1000, seed=7) != html


def test_a_generated_page_without_forms_keeps_every_element_and_control(
    server: FixtureServer,
) -> None:
    with_forms = LexborHTMLParser(fetch(server.url("/gen/3000.html")).text())
    without = LexborHTMLParser(fetch(server.url("/gen/3000.html?forms=0")).text())
    assert with_forms.css("form") and not without.css("form")
    for css in ("body *", "input", "select", "label[for]", "button[type=submit]", "a", "table"):
        assert len(without.css(css)) == len(with_forms.css(css)), css
    assert fetch(server.url("/gen/3000.html?forms=1")).text() == generate_page(3000)


def test_generate_page_is_deterministic_and_fast() -> None:
    assert generate_page(500) == generate_page(500)
    assert generate_page(500, seed=1) != generate_page(500, seed=2)
    for n in (1, 30, 999, 5000):
        assert abs(body_elements(generate_page(n, seed=n)) - n) <= max(1, n // 20)
    tree = LexborHTMLParser(generate_page(2000))
    for tag in ("section", "h2", "p", "ul", "a", "button", "input", "select", "table", "label"):
        assert tree.css_first(tag) is not None, tag
    assert tree.css_first("script") is None
    t0 = time.perf_counter()
    big = generate_page(100_000)
    assert time.perf_counter() - t0 < 2
    assert abs(body_elements(big) - 100_000) <= 5_000


def test_stop_is_prompt_while_a_request_hangs() -> None:
    srv = FixtureServer().start()
    outcome: list[BaseException | bytes] = []

    def hang() -> None:
        try:
            with urllib.request.urlopen(srv.url("/api/never"), timeout=20) as resp:
                outcome.append(resp.read())
        except Exception as exc:  # RemoteDisconnected, URLError, reset: all mean "no answer"
            outcome.append(exc)

    client = threading.Thread(target=hang, daemon=True)
    client.start()
    assert srv.wait_request("/api/never", timeout=5) == "/api/never"
    t0 = time.perf_counter()
    srv.stop()
    assert time.perf_counter() - t0 < 1
    client.join(timeout=5)
    assert not client.is_alive() and outcome
    assert isinstance(outcome[0], BaseException)  # closed without an answer


# -- in a real browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def sync_pw() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(sync_pw: Playwright) -> Iterator[Browser]:
    browser = sync_pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[Page]:
    """A fresh page where anything not on loopback is aborted, and every abort remembered."""
    context = chromium.new_context()
    blocked: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(5000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not blocked, blocked
    assert not errors, errors


def test_browser_submits_form(browser_page: Page, server: FixtureServer) -> None:
    page = browser_page
    page.goto(server.url("/form.html"))
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.test")
    page.get_by_label("Attachment").set_input_files(
        {"name": "a.txt", "mimeType": "text/plain", "buffer": b"hello file"}
    )
    page.get_by_role("button", name="Submit order").click()
    sub = server.wait_submission()
    assert sub.first("full_name") == "Ada Lovelace"
    assert sub.first("email") == "ada@example.test"
    assert sub.fields["topping"] == ["olives"] and sub.first("size") == "medium"
    assert sub.first("token") == "hidden-token-42"
    assert "customer_id" not in sub.fields  # disabled controls are not sent
    assert sub.files["attachment"] == ("a.txt", b"hello file")
    page.wait_for_url("**/submit")
    assert "Ada Lovelace" in page.locator("#received").inner_text()


def test_browser_pages_work(browser_page: Page, server: FixtureServer) -> None:
    page = browser_page
    # Pages not exercised below load without script errors or off-loopback requests.
    for path in PLAIN_PAGES:
        page.goto(server.url(path))
    page.goto(server.url("/settle.html"))
    page.get_by_role("button", name="Fetch").click()
    page.get_by_text("fetched", exact=True).wait_for()
    page.goto(server.url("/alerts.html"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Show confirm").click()
    assert page.locator("#confirm-result").inner_text() == "confirmed"
    page.goto(server.url("/spa.html"))
    page.get_by_role("button", name="Add item").click()
    page.get_by_role("button", name="Clicked 0 times").click()
    page.get_by_role("tab", name="Specs").click()
    assert page.get_by_role("button", name="Pick Item 4").is_visible()
    assert page.get_by_role("button", name="Clicked 1 times").is_visible()
    assert page.get_by_text("Specs panel").is_visible()
    page.goto(server.url("/iframes.html"))
    cross = page.frame_locator("iframe[title='Cross origin frame']")
    cross.get_by_role("button", name="Frame button").click()
    assert cross.get_by_text("Frame clicked").is_visible()
    page.goto(server.url("/shadow.html"))
    page.get_by_role("button", name="Shadow button").click()
    assert page.get_by_text("Shadow clicked 1").is_visible()
    page.goto(server.url("/hostile.html"))
    page.get_by_role("button", name="Safe button").click()
    page.get_by_role("button", name="Check leaks").click()
    assert "globals added: none" in page.locator("#leaks").inner_text()
    assert "traps hit: none" in page.locator("#leaks").inner_text()


def test_browser_shop_checkout(browser_page: Page, server: FixtureServer) -> None:
    page = browser_page
    page.goto(server.url("/shop/index.html"))
    page.get_by_label("Search products").fill("kettle")
    page.get_by_label("Search products").press("Enter")
    page.get_by_role("link", name="Blue Kettle").click()
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Cart (1)").click()
    page.get_by_role("link", name="Checkout").click()
    page.get_by_label("Full name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.test")
    page.get_by_label("Street address").fill("1 Loop Road")
    page.get_by_label("City").fill("Paris")
    page.get_by_label("Country").select_option(label="France")
    page.get_by_label("Express").check()
    page.get_by_label("I agree").check()
    page.get_by_role("button", name="Place order").click()
    sub = server.wait_submission()
    assert sub.first("items") == "Blue Kettle x1"
    assert sub.first("country") == "fr" and sub.first("shipping") == "express"
    assert sub.first("agree") == "yes" and sub.first("total") == "34.99"
