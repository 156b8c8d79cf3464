"""forkingpaths: alignment evaluations treated as measurements across forking design choices."""

__version__ = "0.1.0"
