"""Judge items: the loaders of every layout and :func:`load_pair_items`, the entry point the instrument uses."""

from forkingpaths.instruments.judge.data.loaders import load_pair_items

__all__ = ["load_pair_items"]
