"""The action cache: the second run of a task is free.

`Agent(..., cache=DIR)` (or `browser-agent run|batch --cache DIR`) keeps the recording of
the last successful run of each task, keyed by the task text, the start URL's origin and
path, the model's tool set, the runtime's formats and an optional key of the user's. The
next run of the same task replays those steps without the model, checking each before it
acts, and hands over to the model at the first step the page differs; a successful run
replaces the entry.

```
from browser_agent.cache import ActionCache

agent = Agent(task, llm=pool, start_url=url, cache="~/.cache/browser-agent")
result = await agent.run()
result.cache.outcome, result.cache.cached_steps, result.cache.model_steps
ActionCache("~/.cache/browser-agent").clear()
```
"""

from ..records import CacheSummary
from .key import cache_key
from .store import ActionCache, CacheError, as_cache

__all__ = ["ActionCache", "CacheError", "CacheSummary", "as_cache", "cache_key"]
