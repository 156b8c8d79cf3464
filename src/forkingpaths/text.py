"""Text from data sets and models made safe to print to a terminal or write to a text file.

Group names, item wording, model answers and server error messages are data, but a
terminal executes some characters in them: ESC starts CSI sequences (``ESC[2J`` clears
the screen) and OSC sequences (OSC 52 writes the clipboard, OSC 8 makes hidden links),
BEL rings, CR and backspace overwrite what was printed. :func:`safe_text` shows every
such character as a visible escape (``\\x1b``) instead, so nothing is lost but nothing is
executed. Bidirectional overrides are escaped too: they reorder how a line reads.

Apply it at the output point, to each value that came from outside the program.
"""

from __future__ import annotations

import re

#: C0 controls except tab and newline, DEL, the C1 controls, and the bidi embedding,
#: override and isolate controls (U+202A–U+202E, U+2066–U+2069).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_ON_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(value: object, *, one_line: bool = False) -> str:
    """``str(value)`` with control characters shown as ``\\xNN`` / ``\\uNNNN`` escapes.

    Tab and newline are kept (they only move the cursor forward) unless ``one_line`` is
    set, for values that must stay on one line (a table cell, an error line).
    """
    pattern = _UNSAFE_ON_ONE_LINE if one_line else _UNSAFE
    return pattern.sub(_escape, str(value))
