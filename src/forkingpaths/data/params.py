"""Checked access to a loader's ``data.params``, so a typo is an error rather than a silent default."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from forkingpaths.errors import DataError


class Params:
    """The ``data.params`` mapping of one loader, validated against the keys it understands."""

    def __init__(self, values: Mapping[str, Any], known: Collection[str], loader: str) -> None:
        for key in values:
            if key not in known:
                expected = ", ".join(sorted(known)) or "(none)"
                raise DataError(f"data.params.{key}: not an option of loader {loader!r}; expected one of {expected}")
        self._values = dict(values)

    def text(self, key: str, default: str | None = None) -> str | None:
        """A text option, or ``default`` when not given."""
        value = self._values.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise DataError(f"data.params.{key}: expected non-empty text, got {value!r}")
        return value

    def required_text(self, key: str, why: str) -> str:
        value = self.text(key)
        if value is None:
            raise DataError(f"data.params.{key}: required ({why})")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        """One of ``choices``; without a default the option is required."""
        value = self.text(key, default)
        if value is None:
            raise DataError(f"data.params.{key}: required; expected one of {', '.join(choices)}")
        if value not in choices:
            raise DataError(f"data.params.{key}: unknown value {value!r}; expected one of {', '.join(choices)}")
        return value
