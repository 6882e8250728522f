"""The MCP tools: names and argument shapes close to Playwright MCP's (an `element`
description beside the target), refs as the integers of our page text.

Each tool is a thin signature over `BrowserSession`: the SDK builds the JSON schema
from the annotations and validates arguments before the call, so a bad argument is a
tool error naming the field, never a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from .options import MAX_WAIT_S
from .session import BrowserSession, Reply

_Tool = TypeVar("_Tool", bound=Callable[..., Awaitable[CallToolResult]])

Ref = Annotated[int, Field(description="The element's ref: the number in [brackets] on its line")]
ElementNote = Annotated[
    str | None,
    Field(description="Human-readable description of the element (for the user; the ref decides)"),
]
OptionalRef = Annotated[int | None, Field(description="An element's ref, to act on or in it")]

_ACTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
_READS = ToolAnnotations(read_only_hint=True, open_world_hint=True)

PAGE_RESULT = (
    " Returns what it did, then the page: the lines changed since your last view of this "
    "tab (+ new or changed, - removed), or the whole page when that is shorter."
)


def _result(reply: Reply) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=reply.text)], is_error=reply.error)


def register(server: MCPServer, session: BrowserSession) -> None:
    """Add the browser tools to `server`, each driving `session`."""

    def tool(
        name: str, title: str, description: str, *, reads: bool = False
    ) -> Callable[[_Tool], _Tool]:
        return server.tool(
            name=name,
            title=title,
            description=description,
            annotations=_READS if reads else _ACTS,
            structured_output=False,
        )

    @tool("browser_navigate", "Navigate to a URL", "Open a URL in the current tab." + PAGE_RESULT)
    async def browser_navigate(
        url: Annotated[str, Field(description="The URL to open (with its scheme)")],
    ) -> CallToolResult:
        return _result(await session.navigate(url))

    @tool(
        "browser_observe",
        "Observe the page",
        'The current tab\'s page: one element per line, `[ref] role "name"` and state; lines '
        "without a ref are text. By default only what changed since your last view of this "
        "tab (the whole page the first time, or when that is shorter).",
        reads=True,
    )
    async def browser_observe(
        full: Annotated[bool, Field(description="Return the whole page, changed or not")] = False,
    ) -> CallToolResult:
        return _result(await session.observe(full))

    @tool("browser_click", "Click", "Click an element." + PAGE_RESULT)
    async def browser_click(
        ref: Ref,
        element: ElementNote = None,
        doubleClick: Annotated[bool, Field(description="Double-click instead")] = False,
        button: Annotated[
            Literal["left", "right", "middle"], Field(description="Mouse button")
        ] = "left",
    ) -> CallToolResult:
        return _result(await session.click(ref, double=doubleClick, button=button))

    @tool(
        "browser_type",
        "Type text",
        "Replace the text of an editable element; submit presses Enter after it. Secrets are "
        "typed as their {{placeholder}}." + PAGE_RESULT,
    )
    async def browser_type(
        ref: Ref,
        text: Annotated[str, Field(description="The text to type")],
        element: ElementNote = None,
        submit: Annotated[bool, Field(description="Press Enter afterwards")] = False,
    ) -> CallToolResult:
        return _result(await session.type(ref, text, submit=submit))

    @tool(
        "browser_select",
        "Select option",
        "Choose option(s) of a select, listbox or combobox, by visible label or value."
        + PAGE_RESULT,
    )
    async def browser_select(
        ref: Ref,
        values: Annotated[list[str], Field(description="The option(s) to select", min_length=1)],
        element: ElementNote = None,
    ) -> CallToolResult:
        return _result(await session.select(ref, values))

    @tool(
        "browser_check",
        "Check or uncheck",
        "Set a checkbox, radio button or switch on (default) or off." + PAGE_RESULT,
    )
    async def browser_check(
        ref: Ref,
        element: ElementNote = None,
        checked: Annotated[bool, Field(description="On (true) or off (false)")] = True,
    ) -> CallToolResult:
        return _result(await session.check(ref, checked))

    @tool(
        "browser_scroll",
        "Scroll",
        "Scroll the page, or the scrollable area holding an element, by about one screen "
        "(or `amount` px); top and bottom go to an end." + PAGE_RESULT,
    )
    async def browser_scroll(
        direction: Annotated[
            Literal["up", "down", "left", "right", "top", "bottom"], Field(description="Where to")
        ] = "down",
        ref: OptionalRef = None,
        amount: Annotated[float | None, Field(description="Pixels", gt=0)] = None,
    ) -> CallToolResult:
        return _result(await session.scroll(direction, ref, amount))

    @tool(
        "browser_press",
        "Press a key",
        "Press a key or chord (Enter, Escape, ArrowDown, Control+A) on the focused element, "
        "or on the element with this ref." + PAGE_RESULT,
    )
    async def browser_press(
        key: Annotated[str, Field(description="Key name or character, e.g. Enter or a")],
        ref: OptionalRef = None,
        element: ElementNote = None,
    ) -> CallToolResult:
        return _result(await session.press(key, ref))

    @tool("browser_back", "Go back", "Go back to the previous page of this tab." + PAGE_RESULT)
    async def browser_back() -> CallToolResult:
        return _result(await session.back())

    @tool(
        "browser_wait_for",
        "Wait for",
        f"Wait for text to appear or disappear (up to {session.options.wait_timeout:g} s), "
        "or for a time to pass; with nothing given, until the page settles." + PAGE_RESULT,
    )
    async def browser_wait_for(
        text: Annotated[str | None, Field(description="Text to wait for")] = None,
        textGone: Annotated[str | None, Field(description="Text to wait to disappear")] = None,
        time: Annotated[
            float | None, Field(description="Seconds to wait", ge=0, le=MAX_WAIT_S)
        ] = None,
    ) -> CallToolResult:
        return _result(await session.wait_for(text, textGone, time))

    @tool(
        "browser_extract",
        "Extract the content",
        "The page's main content as markdown or plain text (navigation and chrome stripped), "
        "for reading long pages.",
        reads=True,
    )
    async def browser_extract(
        format: Annotated[
            Literal["markdown", "text"], Field(description="Output format")
        ] = "markdown",
    ) -> CallToolResult:
        return _result(await session.extract(format))

    @tool(
        "browser_tabs",
        "Manage tabs",
        "List, open (new, optionally at a URL), select or close (the current one by default) "
        "browser tabs.",
    )
    async def browser_tabs(
        action: Annotated[
            Literal["list", "new", "select", "close"], Field(description="What to do")
        ],
        index: Annotated[int | None, Field(description="Tab index, for select and close")] = None,
        url: Annotated[str | None, Field(description="URL to open in the new tab")] = None,
    ) -> CallToolResult:
        return _result(await session.tabs(action, index, url))

    @tool("browser_close", "Close the browser", "Close the browser; the next call opens a new one.")
    async def browser_close() -> CallToolResult:
        return _result(await session.close())
