"""Launch or connect to a browser; hand out pages that observe and act by ref."""

from __future__ import annotations

import contextlib
import html
import os
import socket
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
from playwright.async_api import Browser as PWBrowser
from playwright.async_api import (
    BrowserContext,
    Playwright,
    Request,
    Route,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError

from .discovery import LAUNCH_ARGS, find_chromium
from .exceptions import ConfigurationError
from .hosts import Resolver, any_blocked, blocks_addresses, matches, url_host
from .launch_flags import with_features
from .page import Page

NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss"})
"""Schemes a domain policy checks by host; under a policy every other scheme is refused
except the in-page ones below."""
IN_PAGE_URLS = ("data:", "blob:", "about:blank", "about:srcdoc", "chrome-error:")
"""URLs that reach neither the network nor the file system: a page's own data and blob
resources, blank and srcdoc documents, Chromium's error page."""


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].strip().lower() if ":" in url else ""


def host_allowed(url: str, allowed: Sequence[str] | None, blocked: Sequence[str] = ()) -> bool:
    """Domain policy with wildcards (`*.example.com`), on the canonical host.

    Without a policy everything passes. With one, http(s) and ws(s) are checked by host
    and every other scheme is refused (`file:`, `chrome:`, `view-source:`, `ftp:`...)
    except the in-page URLs of `IN_PAGE_URLS`.
    """
    if allowed is None and not blocked:
        return True
    if _scheme(url) not in NETWORK_SCHEMES:
        return url.lower().startswith(IN_PAGE_URLS)
    host = url_host(url)
    if not host or any(matches(host, pat, block=True) for pat in blocked):
        return False
    if allowed is None:
        return True
    return any(matches(host, pat) for pat in allowed)


def blocked_reason(url: str, allowed: Sequence[str] | None, blocked: Sequence[str] = ()) -> str:
    """Why the domain policy refuses `url`, in words the model can act on."""
    scheme = _scheme(url)
    if scheme not in NETWORK_SCHEMES:
        return f"{scheme or 'this'}: URLs are refused under the domain policy (only http and https)"
    host = url_host(url) or url
    if any(matches(host, pat, block=True) for pat in blocked):
        return f"{host} is blocked by the domain policy (blocked_domains)"
    return f"{host} is not in the allowed domains ({', '.join(allowed or ())})"


def resolver_rules(allowed: Sequence[str] | None, blocked: Sequence[str] = ()) -> str | None:
    """A Chromium `--host-resolver-rules` value that makes disallowed host names unresolvable.

    Defence in depth below the request router: it also covers what Playwright's routing
    misses (redirect hops, WebSockets, workers), so evil.example is never even looked up.
    Launch-only; current Chromium applies `MAP *` to IP literals as well, but the policy
    does not rely on that: the black-hole proxy (`proxy_bypass`) covers them everywhere.
    """
    if allowed is None and not blocked:
        return None
    rules = []
    for p in blocked:
        host = _bare(p).rstrip(".")
        rules += [f"MAP {host} ~NOTFOUND", f"MAP {host}. ~NOTFOUND"]  # and its root-dot form
        if host == "localhost":
            rules += ["MAP *.localhost ~NOTFOUND", "MAP *.localhost. ~NOTFOUND"]
    if allowed is not None:
        rules.append("MAP * ~NOTFOUND")
        rules += [f"EXCLUDE {_bare(p)}" for p in allowed]
    return ", ".join(rules)


BLACKHOLE_PROXY = "http://127.0.0.1:1"
"""Where a context with an allowlist sends every request for a host outside it: a
loopback port nothing listens on (tcpmux), so the connection is refused in the browser's
own network stack and nothing leaves it."""

WEBRTC_POLICY_FLAGS = (
    "--force-webrtc-ip-handling-policy",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)
"""Under a domain policy WebRTC gets no path out: no UDP at all (STUN/TURN packets and
their page-chosen usernames would go straight past the proxy), and TCP only through
the proxy, which is the black hole for every host outside an allowlist. Launch-only:
a running browser (`connect`) cannot take it."""

CLOSE_TIMEOUT = 10.0
"""Bound (s) on closing a context or a browser, so teardown never hangs a caller."""

_GLOB = frozenset("*?[")


def proxy_bypass(allowed: Sequence[str] | None) -> str | None:
    """The proxy bypass list that lets exactly the allowed hosts go direct.

    Every context made through `Browser` gets `BLACKHOLE_PROXY` with this list, so the
    browser's network stack refuses what the request router never sees: redirect hops
    of any method (to IP literals too), workers, service workers, and everything on a
    browser reached with `connect`, which cannot take launch-time resolver rules.
    `<-loopback>` removes Chromium's implicit loopback bypass (127.0.0.2, [::1] and
    localhost are not 127.0.0.1). None when there is no allowlist, or when a pattern is
    a glob other than `*.domain` (Playwright's own fetch could not honour it; the
    router and, on launch, the resolver rules still apply).
    """
    if allowed is None:
        return None
    rules = ["<-loopback>"]
    for pattern in allowed:
        host = _bare(pattern)
        if host.startswith("*."):
            head, rest = "*.", host[2:]
        else:
            head, rest = "", host
        if not rest or any(c in _GLOB for c in rest):
            return None
        if ":" in rest and not rest.startswith("["):
            rest = f"[{rest}]"  # an IPv6 literal
        # `*.x` also matches x itself (host_allowed does); the bare entry also lets
        # Playwright's fetch (route.fetch), which matches suffixes, go direct.
        rules += [rest, f"*.{rest}"] if head else [rest]
    return ",".join(rules)


def needs_router(allowed: Sequence[str] | None, blocked: Sequence[str] = ()) -> bool:
    """Whether the policy needs the request router to be enforced at all.

    An allowlist of plain hosts and `*.domain` patterns is enforced by the browser's
    network stack alone (the black-hole proxy for every host outside it, hops, workers
    and WebSockets included), at no cost per request. Intercepting every request costs
    a round trip through Playwright's driver and ours on each of them (and the router
    fetches documents itself), so it is kept for what the proxy cannot express: a
    blocklist, or globs other than `*.domain`.
    """
    if blocked:
        return True
    return allowed is not None and proxy_bypass(allowed) is None


def _bare(pattern: str) -> str:
    pattern = pattern.lower().strip()
    if "://" in pattern:
        pattern = urlsplit(pattern).hostname or ""
    return pattern


class Browser:
    """A browser (launched or remote) and one default context; pages come from `new_page`."""

    def __init__(
        self,
        playwright: Playwright,
        browser: PWBrowser,
        context: BrowserContext,
        *,
        allowed_domains: Sequence[str] | None = None,
        blocked_domains: Sequence[str] = (),
        owns_browser: bool = True,
        debug_endpoint: str | None = None,
        is_local: bool = True,
        owns_playwright: bool = True,
        policy_router: bool | None = None,
    ) -> None:
        self._pw = playwright
        self._browser = browser
        self._context = context
        self.allowed_domains = list(allowed_domains) if allowed_domains is not None else None
        self.blocked_domains = list(blocked_domains)
        if policy_router is None:
            policy_router = needs_router(allowed_domains, blocked_domains)
        self.policy_router = policy_router
        """Whether every request also goes through the request router (see `launch`)."""
        self._owns = owns_browser
        self._owns_pw = owns_playwright
        # host:port of a CDP endpoint pages may use directly (see extractors/cdp.py).
        self.debug_endpoint = debug_endpoint
        self.is_local = is_local
        """Whether the browser shares our file system (uploads can pass paths)."""
        self._pages: dict[Any, Page] = {}
        self.resolver_rules: str | None = None
        """The --host-resolver-rules this browser was launched with (None if connected)."""
        self.blocked: list[str] = []
        """URLs the domain policy refused, latest last (the 50 most recent)."""
        self.refusals = 0
        """How many requests the policy refused so far (`blocked` keeps only the last)."""
        self._resolver = Resolver() if blocks_addresses(self.blocked_domains) else None
        self._resolved_out: dict[str, str] = {}
        """Names found to resolve to a blocked address → the pattern they fall under."""
        context.on("page", self._on_page)
        context.on("requestfailed", self._on_request_failed)

    # ---- construction ----

    @classmethod
    def launch(
        cls,
        headless: bool = True,
        allowed_domains: Sequence[str] | None = None,
        *,
        blocked_domains: Sequence[str] = (),
        executable_path: str | os.PathLike[str] | None = None,
        args: Sequence[str] = (),
        viewport: tuple[int, int] = (1280, 800),
        direct_cdp: bool = True,
        policy_router: bool | None = None,
    ) -> _Opening:
        """`async with Browser.launch() as browser:` (or `browser = await Browser.launch()`).

        `policy_router`: None (default) routes requests through our router only when the
        network stack cannot enforce the domain policy alone (a blocklist, globs); True
        always does, which also answers a form whose redirect leaves the policy with a
        page that says why (otherwise the action's error says it), at the cost of a trip
        through the driver for every request.
        """

        async def open_() -> Browser:
            path = find_chromium(executable_path)
            extra = list(args)
            rules = resolver_rules(allowed_domains, blocked_domains)
            if rules is not None:
                extra.append(f"--host-resolver-rules={rules}")
                extra += WEBRTC_POLICY_FLAGS
            endpoint = None
            if direct_cdp:
                # A loopback debugging port lets the serializer skip Playwright's relay.
                port = _free_port()
                extra.append(f"--remote-debugging-port={port}")
                endpoint = f"127.0.0.1:{port}"
            pw = await async_playwright().start()
            try:
                # Ctrl-C reaches the whole process group: the interactive session
                # turns it into "stop the task", so the browser must not close on it.
                browser = await pw.chromium.launch(
                    executable_path=path,
                    headless=headless,
                    args=with_features([*LAUNCH_ARGS, *extra]),
                    handle_sigint=False,
                )
                context = await policy_context(
                    browser, allowed_domains, viewport={"width": viewport[0], "height": viewport[1]}
                )
            except BaseException:
                await pw.stop()
                raise
            self = cls(
                pw,
                browser,
                context,
                allowed_domains=allowed_domains,
                blocked_domains=blocked_domains,
                debug_endpoint=endpoint,
                policy_router=policy_router,
            )
            self.resolver_rules = rules
            await self._install_policy()
            return self

        return _Opening(open_)

    @classmethod
    def connect(
        cls,
        url: str,
        allowed_domains: Sequence[str] | None = None,
        *,
        blocked_domains: Sequence[str] = (),
        timeout: float = 30.0,
        policy_router: bool | None = None,
    ) -> _Opening:
        """Drive a remote browser: a CDP endpoint (http://host:9222, ws://…/devtools/browser/…)
        or a Playwright browser server (any other ws:// URL).

        A running browser cannot take resolver rules, so the domain policy travels with
        each context instead: the black-hole proxy, `route_web_socket` and, where the
        proxy cannot express the policy or `policy_router=True`, the request router.
        """

        async def open_() -> Browser:
            scheme = urlsplit(url).scheme
            if scheme not in ("http", "https", "ws", "wss"):
                raise ConfigurationError(f"cannot connect to {url!r}: expected http(s):// or ws://")
            pw = await async_playwright().start()
            try:
                endpoint = None
                if scheme in ("http", "https") or "/devtools/browser/" in url:
                    browser = await pw.chromium.connect_over_cdp(url, timeout=timeout * 1000)
                    owns = False
                    endpoint = urlsplit(url).netloc
                else:
                    browser = await pw.chromium.connect(url, timeout=timeout * 1000)
                    owns = True
                context = await policy_context(browser, allowed_domains)
            except PlaywrightError as exc:
                await pw.stop()
                raise ConfigurationError(connect_failure(url, exc.message)) from exc
            except BaseException:
                await pw.stop()
                raise
            self = cls(
                pw,
                browser,
                context,
                allowed_domains=allowed_domains,
                blocked_domains=blocked_domains,
                owns_browser=owns,
                debug_endpoint=endpoint,
                is_local=urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"),
                policy_router=policy_router,
            )
            await self._install_policy()
            return self

        return _Opening(open_)

    # ---- policy ----

    @property
    def has_policy(self) -> bool:
        return self.allowed_domains is not None or bool(self.blocked_domains)

    def allows(self, url: str) -> bool:
        """Whether the domain policy lets the browser reach `url` (as far as is known
        without a look-up: see `refusal` for names that resolve to a blocked address)."""
        if not host_allowed(url, self.allowed_domains, self.blocked_domains):
            return False
        return not self._resolved_out or url_host(url) not in self._resolved_out

    def blocked_reason(self, url: str) -> str:
        host = url_host(url)
        if host in self._resolved_out:
            pattern = self._resolved_out[host]
            return f"{host} resolves to {pattern}, which the domain policy blocks"
        return blocked_reason(url, self.allowed_domains, self.blocked_domains)

    async def refusal(self, url: str) -> str | None:
        """Why the policy refuses `url`, or None; a blocklist that names addresses (or
        `localhost`) also refuses a name that resolves to one of them."""
        if not self.allows(url):
            return self.blocked_reason(url)
        host = url_host(url)
        if (
            self._resolver is None
            or not host
            or url.split(":", 1)[0].lower()
            not in (
                "http",
                "https",
                "ws",
                "wss",
            )
        ):
            return None
        pattern = any_blocked(await self._resolver.addresses(host), self.blocked_domains)
        if pattern is None:
            return None
        self._resolved_out[host] = pattern
        return self.blocked_reason(url)

    async def _install_policy(self) -> None:
        if not self.has_policy:
            return
        if self.policy_router:
            await self._context.route("**/*", self._route)
        # Cheap (no per-request interception) and the only place a refused WebSocket
        # is seen: Playwright reports no request events for WebSockets.
        await self._context.route_web_socket(lambda _url: True, self._route_ws)

    async def _route(self, route: Route) -> None:
        request = route.request
        if await self.refusal(request.url) is not None:
            self._refused(request.url)
            await route.abort("blockedbyclient")
            return
        if request.resource_type != "document":
            # Playwright brings a subresource's redirect hops back through here; what
            # it never routes is refused below: the black-hole proxy, the resolver rules.
            await route.fallback()
            return
        reads = request.method in ("GET", "HEAD")
        if not reads and _file_parts_missing(request):
            # Chromium hands the router a form's file parts empty: a re-fetch would send
            # them so. Let the browser send it; an off-policy hop then dies at the proxy.
            await route.fallback()
            return
        # Playwright does not route redirect hops: fetch documents ourselves without
        # following redirects and refuse a hop that leaves the policy (fail closed).
        try:
            response = await route.fetch(max_redirects=0)
        except PlaywrightError:
            with contextlib.suppress(PlaywrightError):
                await route.abort("failed")
            return
        location = response.headers.get("location")
        if 300 <= response.status < 400 and location:
            target = urljoin(request.url, location)
            if await self.refusal(target) is not None:
                self._refused(target)
                if reads:
                    # goto turns this into PolicyBlockedError with the reason.
                    await route.abort("blockedbyclient")
                else:
                    # A form's answer: the action that sent it only learns that the
                    # navigation failed, so the document itself says why.
                    await route.fulfill(
                        status=403,
                        content_type="text/html; charset=utf-8",
                        body=_blocked_page(request.url, target, self.blocked_reason(target)),
                    )
                return
        await route.fulfill(response=response)

    async def _route_ws(self, ws: WebSocketRoute) -> None:
        if await self.refusal(ws.url) is None:
            ws.connect_to_server()
        else:
            self._refused(ws.url)
            await ws.close(code=1008, reason="blocked by the domain policy")

    def _on_request_failed(self, request: Request) -> None:
        """Keep hops refused below the router (proxy, resolver rules) in `blocked` too."""
        failure = request.failure or ""
        if "ERR_BLOCKED_BY_CLIENT" not in failure and not self.allows(request.url):
            self._refused(request.url)

    def _refused(self, url: str) -> None:
        self.refusals += 1
        self.blocked.append(url)
        del self.blocked[:-50]

    # ---- pages ----

    def _on_page(self, pw_page: Any) -> None:
        if pw_page not in self._pages:
            self._pages[pw_page] = Page(pw_page, self)

    async def new_context(self, *, viewport: tuple[int, int] = (1280, 800)) -> Browser:
        """A Browser over a fresh context of this browser: its own cookies, storage and
        cache, the same domain policy. Its `close()` closes only that context."""
        ctx = await policy_context(
            self._browser,
            self.allowed_domains,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        b = Browser(
            self._pw,
            self._browser,
            ctx,
            allowed_domains=self.allowed_domains,
            blocked_domains=self.blocked_domains,
            owns_browser=False,
            debug_endpoint=self.debug_endpoint,
            is_local=self.is_local,
            owns_playwright=False,
            policy_router=self.policy_router,
        )
        b.resolver_rules = self.resolver_rules
        try:
            await b._install_policy()
        except BaseException:
            await b.close()
            raise
        return b

    async def new_page(self) -> Page:
        pw_page = await self._context.new_page()
        self._on_page(pw_page)
        page = self._pages[pw_page]
        await page.attach()
        return page

    @property
    def pages(self) -> list[Page]:
        """Open pages, including tabs and popups the page opened itself."""
        return [self._pages[p] for p in self._context.pages if p in self._pages]

    @property
    def context(self) -> BrowserContext:
        return self._context

    @property
    def playwright_browser(self) -> PWBrowser:
        return self._browser

    @property
    def version(self) -> str:
        return self._browser.version

    async def close(self) -> None:
        """Close the context, and the browser and Playwright when they are ours.

        Shielded and bounded: a caller being cancelled (Ctrl-C, a cancel scope, a
        budget) still closes its pages and leaves no browser process behind.
        """
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(CLOSE_TIMEOUT), contextlib.suppress(PlaywrightError):
                await self._context.close()
            if self._owns:
                with anyio.move_on_after(CLOSE_TIMEOUT), contextlib.suppress(PlaywrightError):
                    await self._browser.close()
            if self._owns_pw:
                with anyio.move_on_after(CLOSE_TIMEOUT):
                    await self._pw.stop()

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def policy_context(
    browser: PWBrowser, allowed: Sequence[str] | None, **options: Any
) -> BrowserContext:
    """A new context whose hosts outside `allowed` go to the black-hole proxy.

    Works the same on a launched browser, over CDP and on a Playwright server (the
    proxy is set per context with `Target.createBrowserContext`).
    """
    bypass = proxy_bypass(allowed)
    if bypass is not None:
        options["proxy"] = {"server": BLACKHOLE_PROXY, "bypass": bypass}
    return await browser.new_context(**options)


def _file_parts_missing(request: Request) -> bool:
    """Whether a multipart body came to the router with a file part left empty.

    Chromium does not pass file-backed parts (`<input type=file>` set from disk) to
    request interception, so such a body cannot be re-sent by `route.fetch`. An empty
    file looks the same; it only costs the explanatory page, never the block.
    """
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data") or "boundary=" not in ctype:
        return False
    boundary = ctype.split("boundary=", 1)[1].split(";", 1)[0].strip().strip('"')
    body = request.post_data_buffer or b""
    for part in body.split(b"--" + boundary.encode()):
        head, sep, data = part.partition(b"\r\n\r\n")
        named = b'filename="' in head and b'filename=""' not in head
        if sep and named and data.removesuffix(b"\r\n") == b"":
            return True
    return False


def _blocked_page(url: str, target: str, why: str) -> str:
    """The document shown when a form's answer redirects off the domain policy."""
    e = html.escape
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Blocked by the domain policy</title></head><body>"
        "<h1>Blocked by the domain policy</h1>"
        f"<p>The form sent to {e(url)} was answered with a redirect to {e(target)}: "
        f"{e(why)}. Nothing was sent there.</p></body></html>"
    )


def connect_failure(url: str, message: str) -> str:
    """What went wrong connecting to `url`, in one line that says what to do about it."""
    first = message.strip().splitlines()[0] if message.strip() else "no answer"
    first = first.removeprefix("BrowserType.connect_over_cdp: ").removeprefix(
        "BrowserType.connect: "
    )
    if "Executable doesn't exist" in first:
        missing = first.split(" at ", 1)[-1]
        return (
            f"the Playwright server at {url} has no browser to launch ({missing} does not "
            "exist there): start it on a Chromium it has, `playwright launch-server "
            '--browser chromium --config FILE` with {"executablePath": "/usr/bin/chromium"} '
            "in FILE (or `playwright run-server --unsafe` and ?launch-options= in the URL), "
            "or run `playwright install chromium` where the server runs"
        )
    if "ECONNREFUSED" in first:
        kind = "Chromium with --remote-debugging-port" if url.startswith("http") else "server"
        return f"nothing listens at {url} (connection refused): is the {kind} running?"
    return f"cannot connect to {url}: {first}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Opening:
    """Lets `Browser.launch()` be used with `async with` or plain `await`."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._browser: Browser | None = None

    def __await__(self) -> Generator[Any, None, Browser]:
        return self._factory().__await__()

    async def __aenter__(self) -> Browser:
        self._browser = await self._factory()
        return self._browser

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            await self._browser.close()
