"""Keyvend: sell API keys and let any application verify them."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("keyvend")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
