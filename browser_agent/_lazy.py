"""Package names imported on first use (PEP 562), so importing a package costs only what
its caller reads: the MCP server and `browser-agent --version` start without the model
client, the agent loop and their dependencies."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's `__getattr__` and `__dir__`, given its `globals()` and `exports` (the
    module defining them, relative to the package: ".events" -> its public names, as its
    `TYPE_CHECKING` import lists them). A name is imported when first read, then kept in
    the namespace: later reads skip this."""
    package = namespace["__name__"]
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
