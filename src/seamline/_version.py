"""The package version, in one place (core modules record it without importing the package)."""

__version__ = "0.1.0"
