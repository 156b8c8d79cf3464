"""Generic readers every instrument's loaders share: tables (CSV, JSONL, Parquet), cells, Hugging Face datasets, params.

Instrument-specific items and their loaders live in the instrument's own folder
(``forkingpaths/instruments/<name>/``).
"""
