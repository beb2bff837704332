"""seamline: image pipelines whose handoffs are declared, checked, reconciled and measured."""

__version__ = "0.1.0"
