"""The version of browser-agent, in a module of its own so anything can read it
without importing the package's public surface."""

__version__ = "0.1.0"
