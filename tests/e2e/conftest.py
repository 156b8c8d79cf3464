"""Helpers for end-to-end tests: spec files and the installed command."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import yaml

CLI = str(Path(sys.executable).with_name("forkingpaths"))


def write_spec(path: Path, **overrides) -> Path:
    spec = {
        "name": "resilience",
        "instrument": {"name": "survey"},
        "data": {"loader": "builtin", "params": {"name": "values"}, "limit": 8},
        "models": ["llamacpp"],
        "factors": {"option_order": ["original", "reversed"], "label_style": ["letters", "numbers"], "template": ["plain", "survey"]},
        "output_dir": str(path.parent / "runs"),
        "analysis": {"n_resamples": 100},
        **overrides,
    }
    path.write_text(yaml.safe_dump(spec))
    return path


def cached_count(cache_dir: Path) -> int:
    """Rows in the cache, read by a second connection as any other process would."""
    db = cache_dir / "cache.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def cli_env(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, "FORKINGPATHS_CACHE_DIR": str(cache_dir), "COLUMNS": "120"}
