"""Survey items: a question, its options and human answer distributions per group."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Translation:
    """An item's wording in another language; options keep the canonical order."""

    question: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class SurveyItem:
    """One survey question with the human response distribution of each group.

    ``distributions[group]`` is a tuple of probabilities over ``options`` in the
    canonical order (the order the data set gives). ``ordered`` marks a scale
    whose options have a natural order (agree … disagree), which enables
    Wasserstein-based similarity.
    """

    item_id: str
    question: str
    options: tuple[str, ...]
    distributions: dict[str, tuple[float, ...]]
    ordered: bool = False
    topic: str | None = None
    source: str | None = None
    translations: dict[str, Translation] = field(default_factory=dict)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.distributions)
