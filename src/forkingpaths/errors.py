"""User-facing errors: each renders as one line (or one line per problem) with no traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; the CLI prints it without a traceback and exits non-zero."""

    exit_code = 1


class SpecError(UserError):
    """An invalid spec. ``problems`` holds one ``key.path: message`` line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + p for p in problems))


class DataError(UserError):
    """Bad input data. The message names the file, the row or key, and what was expected."""

    exit_code = 2


class RunDirectoryError(UserError):
    """A folder that is not a finished run (no manifest, files that do not match it, an unreadable file)."""

    exit_code = 2
