"""Observations built from text, for tests of what compares them (no browser)."""

from __future__ import annotations

import json
import re

from browser_agent.observation import Element, Observation

_LINE = re.compile(r'^\s*\[(\d+)\] (\S+)(?: ("(?:[^"\\]|\\.)*"))?(.*)$')
_VALUE = re.compile(r'value=("(?:[^"\\]|\\.)*")')
_STATES = ("checked", "expanded", "collapsed", "pressed", "selected", "disabled", "focused")


def obs(text: str, *, version: int = 1, url: str = "http://127.0.0.1/page") -> Observation:
    """An observation whose elements are read back from its element lines:
    `[4] checkbox "I agree" checked`, `[9] textbox "Qty" value="2"`."""
    elements = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        ref, role, name, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4)
        v = _VALUE.search(rest)
        states = tuple(s for s in _STATES if re.search(rf"\b{s}\b", rest))
        elements[ref] = Element(
            ref=ref,
            tag=role,
            role=role,
            name=json.loads(name) if name else "",
            value=json.loads(v.group(1)) if v else None,
            states=states,
            bbox=(0.0, 0.0, 10.0, 10.0),
        )
    return Observation(
        text=text,
        elements=elements,
        full=False,
        added=(),
        removed=(),
        changed=(),
        version=version,
        url=url,
        title="",
        timings={},
    )
