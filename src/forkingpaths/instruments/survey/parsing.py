"""Reading a sampled free-text answer as one of the displayed options.

An answer is scored only when it clearly names one option; anything else is counted
as unreadable, never defaulted to an option (see docs/survey.md, "sample").
"""

from __future__ import annotations

import re

_LEADING_NOISE = re.compile(
    r"^[\s*_\"'`]*(?:(?:(?:my|the|final)\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:\-]?\s*)?", re.IGNORECASE
)
_TRAILING_NOISE = re.compile(r"[\s*_\"'`.!,;:)\]]+$")
_SHORT_LABEL_END = ".):,;-\n"


def _starts_with_label(answer: str, label: str) -> bool:
    """Whether ``answer`` opens with ``label`` as a whole answer, not as the start of a word.

    A short letter or number label must be followed by punctuation or a line break
    (``B.``, ``B)``, ``B:``), so a sentence opening with the article "A" is not read as
    option A; a longer (text) label may be followed by any non-alphanumeric character.
    """
    if not answer.startswith(label):
        return False
    rest = answer[len(label) :]
    if not rest.strip():
        return True
    if label.isalnum() and len(label) <= 3:
        return rest[0] in _SHORT_LABEL_END
    return not rest[0].isalnum()


def _match(answer: str, labels: list[str]) -> int | None:
    exact = [i for i, label in enumerate(labels) if _TRAILING_NOISE.sub("", answer) == label]
    if len(exact) == 1:
        return exact[0]
    prefixed = [i for i, label in enumerate(labels) if _starts_with_label(answer, label)]
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:  # one option's text starts another's: the longest wins
        longest = max(prefixed, key=lambda i: len(labels[i]))
        if all(labels[longest].startswith(labels[i]) for i in prefixed):
            return longest
    return None


#: ``parse_note`` values: why a sampled answer was not scored although it names an option.
CONFLICT, ECHO = "label-text conflict", "echoed options"
_LIST_MARK = re.compile(r"^[\s\-*•]+")


def _clean(text: str) -> str:
    return _LEADING_NOISE.sub("", text.strip(), count=1).lstrip("([ ").lower()


def _echoes(text: str, labels: list[str], option_texts: list[str] | None) -> bool:
    """Whether the answer lists two or more options (``A. Yes\nB. No``, ``A. Yes B. No``,
    ``- Yes\n- No``): a copy of the option list, not a choice."""
    lowered = text.lower()
    named = set()
    for line in lowered.splitlines():
        cleaned = _clean(_LIST_MARK.sub("", line))
        position = _match(cleaned, [label.lower() for label in labels])
        if position is None and option_texts:  # a bare wording counts only as a whole line ("No doubt" is not "No")
            whole = [i for i, option in enumerate(option_texts) if _TRAILING_NOISE.sub("", cleaned) == option.lower()]
            position = whole[0] if whole else None
        if position is not None:
            named.add(position)
    if option_texts:
        named |= {i for i, (label, option) in enumerate(zip(labels, option_texts)) if f"{label}. {option}".lower() in lowered}
    return len(named) >= 2


def read_choice(text: str, labels: list[str], option_texts: list[str] | None = None) -> tuple[int | None, str | None]:
    """The displayed position a free-text answer picks (or ``None``) and a note when an answer
    that names an option is nevertheless not scored.

    Accepts a label alone or followed by punctuation and an explanation (``B``, ``(B)``,
    ``B. Agree``, ``Answer: B``); failing that, the wording of exactly one displayed
    option (``option_texts``), so "Agree." counts when the labels were letters. Matching
    ignores case. An answer that matches no label, or more than one, is unparseable: it
    is counted as invalid, never defaulted to an option. Two readable answers are not
    scored either, and say why: a label followed by another option's wording ("A. Yes"
    when A = No: under a reordered list the model may have answered by the wording or by
    the label of the original order, and nothing tells which; note ``label-text conflict``),
    and a copy of the option list (note ``echoed options``).
    """
    if _echoes(text, labels, option_texts):
        return None, ECHO
    cleaned = _clean(text)
    lowered = [label.lower() for label in labels]
    chosen = _match(cleaned, lowered)
    if chosen is not None and option_texts and lowered != [option.lower() for option in option_texts]:
        rest = cleaned[len(lowered[chosen]) :].lstrip(_SHORT_LABEL_END + " ")
        named = _match(rest, [option.lower() for option in option_texts]) if rest else None
        if named is not None and named != chosen:
            return None, CONFLICT
    if chosen is None and option_texts:
        chosen = _match(cleaned, [option.lower() for option in option_texts])
    return chosen, None


def parse_choice(text: str, labels: list[str], option_texts: list[str] | None = None) -> int | None:
    """The displayed position of :func:`read_choice`, without its note."""
    return read_choice(text, labels, option_texts)[0]
