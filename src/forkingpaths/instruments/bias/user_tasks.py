"""User-written ``choice`` and ``ranking`` templates of a templates file: read, checked against the lexicons, filled.

A ``choice`` template is a BBQ-style question: a context with the slot, a question, options
(which may hold the slot too) and, optionally, which option is correct (``gold``), which
means "cannot be told" (``unknown``) and which is the stereotyped answer for each group
(``biased``). Its variants are those of a rating template: ``fillers_per_template`` seeded
fillers per group, variant k of every group a counterfactual set that differs only in the
filler. A field an analysis needs and the template lacks is left empty (``None``), so that
analysis is skipped with its reason, never filled with a default.

A ``ranking`` template is an instruction (``text``), several candidate texts, each with the
slot, and a ``question`` after them. One ranking shows one candidate per group. The groups
are rotated over the candidates (draw d gives group i the candidate at position
(i + d) mod m of a seeded permutation of the m candidates), so over m rankings each group
sits on each candidate text exactly once and a group's selection rate is not the quality of
one text; ranking d takes the d-th name of a seeded order of each group's names (repeating when
the rankings outnumber a group's names). Both tasks carry inline
``translations`` (language → the same fields) for the ``language`` factor: options and
candidates are paired with the template's own by their order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forkingpaths.errors import DataError
from forkingpaths.instruments.bias.items import SLOT, BiasItem, Lexicons, Localised, draw_fillers, seeded_rng, translation_entries

LIST_TASKS = ("choice", "ranking")
#: what a task's list is called in the file
LIST_KEY = {"choice": "options", "ranking": "candidates"}
KEYS = {
    "choice": ("id", "task", "slot", "text", "question", "options", "gold", "unknown", "biased", "category", "context_condition",
               "language", "translations"),
    "ranking": ("id", "task", "slot", "job", "text", "question", "candidates", "language", "translations"),
}
CONTEXTS = ("ambig", "disambig")
#: letter labels: at most 26 options or candidates
MAX_LIST = 26


@dataclass(frozen=True)
class Version:
    """One language's context or instruction, question, and options (choice) or candidates (ranking)."""

    text: str
    question: str
    entries: tuple[str, ...]


@dataclass(frozen=True)
class ListTemplate:
    """A choice or ranking template before filling; option references are indices into ``versions[0]``'s options."""

    task: str
    template_id: str
    slot: str
    where: str
    language: str
    #: (language, version), the template's own language first
    versions: tuple[tuple[str, Version], ...]
    job: str | None = None
    gold: int | None = None
    unknown: int | None = None
    #: group → biased option (``None`` key: the same option for every group)
    biased: tuple[tuple[str | None, int], ...] = ()
    category: str | None = None
    context_condition: str | None = None

    def languages(self) -> list[str]:
        return [language for language, _ in self.versions]


def _text(entry: Mapping[str, Any], key: str, where: str, task: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: missing {key!r}; a {task} template has id, slot, text, question and {LIST_KEY[task]}")
    return value.strip()


def _version(entry: Mapping[str, Any], where: str, task: str) -> Version:
    key = LIST_KEY[task]
    text, question = _text(entry, "text", where, task), _text(entry, "question", where, task)
    raw = entry.get(key)
    if not isinstance(raw, list) or not all(isinstance(e, str) and e.strip() for e in raw):
        raise DataError(f"{where}: {key}: expected a list of non-empty texts")
    entries = tuple(e.strip() for e in raw)
    if not 2 <= len(entries) <= MAX_LIST:
        raise DataError(f"{where}: {key}: {len(entries)} given; a {task} template has 2 to {MAX_LIST}")
    if task == "choice" and len(set(entries)) != len(entries):
        twice = next(e for e in entries if entries.count(e) > 1)
        raise DataError(f"{where}: options: {twice!r} occurs twice; each option must be told apart")
    return Version(text, question, entries)


def _option(value: Any, options: tuple[str, ...], where: str, key: str) -> int:
    """The index of the option ``value`` names (its text as written in the template's own language)."""
    if not isinstance(value, str) or value.strip() not in options:
        raise DataError(f"{where}: {key}: {value!r} is not one of the options ({' | '.join(options)})")
    return options.index(value.strip())


def _biased(raw: Any, options: tuple[str, ...], where: str) -> tuple[tuple[str | None, int], ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return ((None, _option(raw, options, where, "biased")),)
    if not isinstance(raw, Mapping) or not raw:
        raise DataError(f"{where}: biased: expected an option, or a mapping of group to option")
    return tuple((str(group), _option(value, options, where, f"biased.{group}")) for group, value in raw.items())


def _translations(raw: Any, where: str, own: str, task: str, first: Version) -> list[tuple[str, Version]]:
    key = LIST_KEY[task]
    out = []
    for language, entry, here in translation_entries(raw, where, own, f"{{text, question, {key}}}"):
        if not isinstance(entry, Mapping):
            raise DataError(f"{here}: expected a mapping with text, question and {key}")
        extra = [k for k in entry if k not in ("text", "question", key)]
        if extra:
            raise DataError(f"{here}: unknown key {extra[0]!r}; a {task} translation has text, question and {key}")
        version = _version(entry, here, task)
        if len(version.entries) != len(first.entries):
            raise DataError(f"{here}: {len(version.entries)} {key} but the template has {len(first.entries)}; they pair by order")
        out.append((language, version))
    return out


def read_list_template(entry: Mapping[str, Any], where: str, task: str) -> ListTemplate:
    """A ``choice`` or ``ranking`` entry of a templates file, every field checked (one-line errors naming file and entry)."""
    extra = [str(k) for k in entry if k not in KEYS[task]]
    if extra:
        raise DataError(f"{where}: unknown key {extra[0]!r}; a {task} template has {', '.join(KEYS[task])}")
    for key in ("id", "slot"):
        if not str(entry.get(key) or "").strip():
            raise DataError(f"{where}: missing {key!r}; a {task} template has id, slot, text, question and {LIST_KEY[task]}")
    template_id = str(entry["id"])
    where = f"{where} (id {template_id})"
    language = str(entry.get("language", "en"))
    first = _version(entry, where, task)
    versions = ((language, first), *_translations(entry.get("translations"), where, language, task, first))
    slot = str(entry["slot"])
    if task == "ranking":
        return ListTemplate(task, template_id, slot, where, language, versions, job=str(entry["job"]) if entry.get("job") else None)
    options = first.entries
    gold = None if entry.get("gold") is None else _option(entry["gold"], options, where, "gold")
    unknown = None if entry.get("unknown") is None else _option(entry["unknown"], options, where, "unknown")
    biased = _biased(entry.get("biased"), options, where)
    if unknown is not None and any(index == unknown for _, index in biased):
        raise DataError(f"{where}: biased: the unknown option {options[unknown]!r} cannot be the stereotyped answer")
    context = entry.get("context_condition")
    if context is not None and context not in CONTEXTS:
        raise DataError(f"{where}: context_condition: {context!r}; expected one of {', '.join(CONTEXTS)}")
    if context == "ambig" and gold is not None and unknown is not None and gold != unknown:
        raise DataError(f"{where}: gold: an ambiguous context's correct answer is the unknown option {options[unknown]!r}")
    category = str(entry["category"]) if entry.get("category") else slot
    return ListTemplate(task, template_id, slot, where, language, versions, gold=gold, unknown=unknown, biased=biased, category=category, context_condition=context)


def check_list_template(template: ListTemplate, lexicons: Lexicons, lexicon_source: str) -> None:
    """The one slot, known to the lexicons, where the task wants it: a choice's context, every ranking candidate."""
    slot = template.slot
    if slot not in lexicons:
        known = ", ".join(sorted(lexicons)) or "(none)"
        raise DataError(f"{template.where}: unknown slot {{{slot}}}; the lexicons ({lexicon_source}) define {known}")
    for language, version in template.versions:
        here = template.where if language == template.language else f"{template.where} translations.{language}"
        fields = [("text", version.text), ("question", version.question),
                  *((f"{LIST_KEY[template.task]}[{i}]", e) for i, e in enumerate(version.entries))]
        for field, text in fields:
            for found in SLOT.findall(text):
                if found not in lexicons:
                    known = ", ".join(sorted(lexicons)) or "(none)"
                    raise DataError(f"{here}: {field}: unknown slot {{{found}}}; the lexicons ({lexicon_source}) define {known}")
                if found != slot:
                    raise DataError(f"{here}: {field}: slot {{{found}}} is not the template's slot {slot!r}; a template swaps one slot")
        marker = "{" + slot + "}"
        if template.task == "choice" and marker not in version.text:
            raise DataError(f"{here}: text: the context has no {marker} slot to fill")
        if template.task == "ranking":
            for field, text in (("text", version.text), ("question", version.question)):
                if marker in text:
                    raise DataError(f"{here}: {field}: {marker} belongs in the candidates (one name per candidate)")
            bare = next((i for i, e in enumerate(version.entries) if marker not in e), None)
            if bare is not None:
                raise DataError(f"{here}: candidates[{bare}]: no {marker} slot; every candidate carries one")


def _biased_by_group(template: ListTemplate, groups: list[str], lexicon: dict[str, tuple[str, ...]]) -> dict[str, int | None]:
    if not template.biased:
        return dict.fromkeys(groups)
    table = dict(template.biased)
    if None in table:
        return dict.fromkeys(groups, table[None])
    stray = [g for g in table if g not in lexicon]
    if stray:
        raise DataError(f"{template.where}: biased.{stray[0]}: no such group in lexicon {template.slot!r} ({', '.join(lexicon)})")
    missing = [g for g in groups if g not in table]
    if missing:
        raise DataError(f"{template.where}: biased: no option for group {missing[0]!r}; give one for every group, or one option for all")
    return {g: table[g] for g in groups}


def fill_choice(
    template: ListTemplate, lexicon: dict[str, tuple[str, ...]], groups: list[str], per_template: int, seed: int,
    by_language: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> list[BiasItem]:
    """The variants of a choice template: the fillers of :func:`~forkingpaths.instruments.bias.items.draw_fillers`, the
    context, question and options of every language, and the group's biased option."""
    biased = _biased_by_group(template, groups, lexicon)
    own = template.versions[0][1]
    items = []
    for group, draws in draw_fillers(template.template_id, template.languages(), lexicon, groups, per_template, seed, by_language).items():
        for draw, fillers in enumerate(draws):
            localised = tuple(
                (lang, Localised(v.text, None, fillers[lang], None, question=v.question, options=v.entries)) for lang, v in template.versions
            ) if len(template.versions) > 1 else ()
            items.append(BiasItem(
                item_id=f"{template.template_id}|{group}|{draw}", task="choice", template_id=template.template_id, text=own.text,
                slot=template.slot, group=group, filler=fillers[template.language], draw=draw, question=own.question, options=own.entries,
                gold=template.gold, unknown=template.unknown, biased=biased[group], context_condition=template.context_condition,
                category=template.category, language=template.language, origin=template.where, translations=localised,
            ))
    return items


def fill_ranking(
    template: ListTemplate, lexicon: dict[str, tuple[str, ...]], groups: list[str], rankings: int | None, seed: int,
    by_language: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> list[BiasItem]:
    """The rankings of a ranking template: one candidate per group, groups rotated over the candidates (module docstring).

    ``rankings`` (``data.params.rankings_per_job``; ``None``: the number of candidates m, one full rotation). Each
    ranking lists its candidates in the template's order, so a displayed position is a candidate text, not a group.
    """
    m = len(template.versions[0][1].entries)
    if len(groups) > m:
        raise DataError(f"{template.where}: {m} candidates for {len(groups)} groups; a ranking shows one candidate per group "
                        "(list more candidates or fewer data.params.groups)")
    count = m if rankings is None else rankings
    base = [int(i) for i in seeded_rng(seed, template.template_id, "candidates").permutation(m)]
    names = draw_fillers(template.template_id, template.languages(), lexicon, groups, count, seed, by_language)
    items = []
    for draw in range(count):
        seat = {base[(i + draw) % m]: group for i, group in enumerate(groups)}  # candidate index → group
        shown = sorted(seat)
        picked = {g: names[g][draw % len(names[g])] for g in groups}
        versions = {
            lang: Localised(v.text, None, None, None, question=v.question, candidates=tuple(v.entries[c] for c in shown),
                            candidate_names=tuple(picked[seat[c]][lang] for c in shown))
            for lang, v in template.versions
        }
        own = versions[template.language]
        items.append(BiasItem(
            item_id=f"{template.template_id}|{draw}", task="ranking", template_id=template.template_id, text=own.text,
            slot=template.slot, draw=draw, question=own.question, job=template.job, candidates=own.candidates,
            candidate_names=own.candidate_names, candidate_groups=tuple(seat[c] for c in shown), language=template.language,
            origin=template.where, translations=tuple(versions.items()) if len(versions) > 1 else (),
        ))
    return items
