"""`python -m browser_agent`: the same CLI as the `browser-agent` command."""

import sys

from .cli import main

sys.exit(main())
