"""A data file's text, YAML or JSON, with the one-line errors every loader shares.

``name`` is how the message refers to the file (the path the user wrote, or "builtin ratings"):
``people.yaml: file not found (looked for /abs/people.yaml)``, ``t.yaml line 4: not valid YAML
(mapping values are not allowed here)``, ``names.json line 2: truncated or malformed JSON (…)``
(the format of :mod:`forkingpaths.interop.jsonfiles`). YAML is read with ``safe_load`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from forkingpaths.errors import DataError
from forkingpaths.interop.jsonfiles import loads


def read_text(path: Path, name: str) -> str:
    """The file's UTF-8 text (a leading BOM dropped), or a one-line error naming it."""
    if not path.is_file():
        raise DataError(f"{name}: file not found (looked for {path})")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not valid UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise DataError(f"{name}: cannot read ({type(error).__name__}: {error})") from None


def read_yaml(path: Path, name: str) -> Any:
    """The YAML document of a file (``yaml.safe_load``); a syntax error names the file and its line."""
    text = read_text(path, name)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name} line {mark.line + 1}" if mark is not None else name
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DataError(f"{where}: not valid YAML ({problem})") from None


def read_json(path: Path, name: str) -> Any:
    """The JSON document of a file; a syntax error names the file and its line (interop.jsonfiles.loads)."""
    return loads(read_text(path, name), name)
