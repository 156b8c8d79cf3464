"""The bias instrument's loaders, registered as ``bias/<name>`` in ``forkingpaths.registry.loaders``.

* ``templates``: a YAML file (rating, generation, choice or ranking templates; the last two in user_tasks.py) with ``lexicons`` (slot → a CSV/JSONL/YAML file, ``builtin:bloomberg-names``
  or inline ``{groups: {group: [fillers]}}``) and ``templates`` (``id``, ``slot``, ``attribute``, ``text``,
  optional ``language``); a lexicon table has ``group`` and ``filler`` columns, or ``group_by: [race, gender]``
  columns whose values are joined with ``_`` into an intersectional group.
* ``bbq``: BBQ JSONL rows (Parrish et al. 2022) as ``choice`` items.
* ``kobbq``: KoBBQ TSV rows (Jin et al. 2024) as ``choice`` items.
* ``bloomberg``: the résumé-ranking set (4 jobs, 8 résumés, 800 names) as ``ranking`` items.
* ``builtin``: data shipped with forkingpaths, ``params.sets`` a list of ``ratings``, ``generation``, ``bilingual``,
  ``workplace`` (choice and ranking templates), ``bbq``, ``kobbq``, ``bloomberg`` (each folder under ``data/`` has its SOURCE.md and LICENSE).

Every loader takes ``(data, base_dir, seed)``: the seed draws the fillers of each template and the names
of each ranking. Errors are one line naming the file and the row or entry.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from forkingpaths import registry
from forkingpaths.data.files import read_json, read_text, read_yaml
from forkingpaths.data.tables import read_table
from forkingpaths.errors import DataError
from forkingpaths.instruments.bias.items import (
    RATING_PROMPTS,
    TASKS,
    BiasItem,
    Lexicons,
    Template,
    check_template,
    fill_template,
    seeded_rng,
    select_groups,
    translation_entries,
)
from forkingpaths.instruments.bias.user_tasks import LIST_TASKS, ListTemplate, check_list_template, fill_choice, fill_ranking, read_list_template
from forkingpaths.spec import DataSpec

PREFIX = "bias/"
BUILTIN_DIR = Path(__file__).parent / "data"
BUILTIN_SETS = ("ratings", "generation", "bilingual", "workplace", "bbq", "kobbq", "bloomberg")
BLOOMBERG_NAMES = "builtin:bloomberg-names"
KOBBQ_UNKNOWN = "알 수 없음"
PARAMS = ("sets", "groups", "fillers_per_template", "candidates", "rankings_per_job", "resume_lines", "jobs")

Loader = Callable[[DataSpec, Path, int], list[BiasItem]]


def _param(data: DataSpec, key: str, default: Any) -> Any:
    unknown = [k for k in data.params if k not in PARAMS]
    if unknown:
        raise DataError(f"data.params.{unknown[0]}: not an option of the bias loaders; expected one of {', '.join(PARAMS)}")
    return data.params.get(key, default)


def _int_param(data: DataSpec, key: str, default: int, low: int, high: int) -> int:
    value = _param(data, key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DataError(f"data.params.{key}: expected an integer from {low} to {high}, got {value!r}")
    return value


def _groups_param(data: DataSpec) -> list[str] | None:
    groups = _param(data, "groups", None)
    if groups is not None and (not isinstance(groups, list) or not all(isinstance(g, str) for g in groups) or not groups):
        raise DataError("data.params.groups: expected a list of group names")
    return groups


# --------------------------------------------------------------------------- lexicons
def bloomberg_names() -> dict[str, tuple[str, ...]]:
    """The 800 Bloomberg names as 8 race × gender groups ``{race}_{gender}``, in title case."""
    groups: dict[str, tuple[str, ...]] = {}
    for gender, file in (("M", "top_mens_names.json"), ("W", "top_womens_names.json")):
        names = read_json(BUILTIN_DIR / "bloomberg" / file, f"builtin {file}")
        for race in ("W", "B", "A", "H"):
            groups[f"{race}_{gender}"] = tuple(n.title() for n in names[race])
    return groups


#: the languages of a lexicon table with a ``language`` column, by slot (filled by :func:`read_lexicon`)
ByLanguage = dict[str, dict[str, tuple[str, ...]]]


def _lexicon_table(path: Path, name: str, group_by: list[str] | None) -> tuple[dict[str, tuple[str, ...]], ByLanguage | None]:
    """Groups → fillers (all languages' groups, in order of appearance), and language → groups → fillers
    when the table has a ``language`` column (else ``None``: the fillers serve every language)."""
    table = read_table(path, name)
    keys = group_by or ["group"]
    for column in [*keys, "filler"]:
        if column not in table.columns:
            raise DataError(f"{name}: no column {column!r}; a lexicon has columns {', '.join(keys)} and filler")
    groups: dict[str, list[str]] = {}
    languages: dict[str, dict[str, list[str]]] = {}
    for row in table.rows:
        filler = str(row.values["filler"] or "").strip()
        parts = [str(row.values[k] or "").strip() for k in keys]
        if not all(parts):
            raise DataError(f"{row.where}: empty group ({', '.join(keys)}); every filler needs its group")
        group = "_".join(parts)
        if not filler:
            raise DataError(f"{row.where}: empty filler for group {group!r}")
        groups.setdefault(group, []).append(filler)
        if "language" in table.columns:
            language = str(row.values["language"] or "").strip()
            if not language:
                raise DataError(f"{row.where}: empty language; a lexicon with a language column needs it on every row")
            languages.setdefault(language, {}).setdefault(group, []).append(filler)
    by_language = {lang: {g: tuple(f) for g, f in gs.items()} for lang, gs in languages.items()} if languages else None
    return {g: tuple(f) for g, f in groups.items()}, by_language


def _inline_groups(groups: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(groups, Mapping) or not groups:
        raise DataError(f"{where}: expected a mapping of group to a list of fillers")
    out = {}
    for group, fillers in groups.items():
        if not isinstance(fillers, list) or not fillers:
            raise DataError(f"{where}.{group}: group {group!r} has no fillers; expected a non-empty list")
        texts = [str(f).strip() if f is not None else "" for f in fillers]
        if not all(texts):
            raise DataError(f"{where}.{group}[{texts.index('')}]: empty filler for group {group!r}")
        out[str(group)] = tuple(texts)
    return out


def read_lexicon(entry: Any, base_dir: Path, where: str) -> tuple[dict[str, tuple[str, ...]], ByLanguage | None, str]:
    """One lexicon from a templates file's ``lexicons.<slot>`` entry (see the module docstring):
    groups → fillers, language → groups → fillers (a table's ``language`` column, else ``None``), and its name."""
    if entry == BLOOMBERG_NAMES:
        return bloomberg_names(), None, BLOOMBERG_NAMES
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, Mapping):
        raise DataError(f"{where}: expected a file path, {BLOOMBERG_NAMES} or {{groups: ...}}")
    if "groups" in entry:
        return _inline_groups(entry["groups"], f"{where}.groups"), None, where
    if "path" not in entry:
        raise DataError(f"{where}: expected 'path' or 'groups'")
    path = base_dir / str(entry["path"])
    if path.suffix.lower() in (".yaml", ".yml"):
        return _inline_groups(read_yaml(path, str(entry["path"])), str(entry["path"])), None, str(entry["path"])
    group_by = entry.get("group_by")
    if group_by is not None and (not isinstance(group_by, list) or not group_by):
        raise DataError(f"{where}.group_by: expected a list of column names")
    return (*_lexicon_table(path, str(entry["path"]), group_by), str(entry["path"]))


# --------------------------------------------------------------------------- templates
def _templates(document: Any, name: str) -> list[Template | ListTemplate]:
    entries = document.get("templates") if isinstance(document, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{name}: expected a 'templates' list")
    out: list[Template | ListTemplate] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{name}: templates[{index}]"
        if not isinstance(entry, Mapping):
            raise DataError(f"{where}: expected a mapping with id, slot, attribute and text")
        task = str(entry.get("task", "rating"))
        if task not in TASKS:
            raise DataError(f"{where}: task {task!r}; a templates file holds {', '.join(TASKS)} templates")
        template = read_list_template(entry, where, task) if task in LIST_TASKS else _rating_template(entry, where, task)
        if template.template_id in seen:
            raise DataError(f"{where}: duplicate template id {template.template_id!r}")
        seen.add(template.template_id)
        out.append(template)
    return out


def _rating_template(entry: Mapping[str, Any], where: str, task: str) -> Template:
    """A ``rating`` or ``generation`` entry of a templates file."""
    needed = ("id", "slot", "attribute", "text") if task == "rating" else ("id", "slot", "text")
    missing = [k for k in needed if not str(entry.get(k) or "").strip()]
    if missing:
        raise DataError(f"{where}: missing {missing[0]!r}; a {task} template has {', '.join(needed)}")
    template_id = str(entry["id"])
    where = f"{where} (id {template_id})"
    attribute = str(entry["attribute"]) if entry.get("attribute") else None
    language = str(entry.get("language", "en"))
    translations = _translations(entry.get("translations"), where, language, task)
    return Template(template_id, str(entry["text"]).strip(), str(entry["slot"]), attribute, where, language, task, translations)


def _translations(raw: Any, where: str, own: str, task: str) -> tuple[tuple[str, str, str | None], ...]:
    """A template's ``translations``: language → ``{text, attribute}`` (a generation template: text only)."""
    out = []
    for language, entry, here in translation_entries(raw, where, own, "{text, attribute}"):
        needed = ("text", "attribute") if task == "rating" else ("text",)
        missing = [k for k in needed if not isinstance(entry, Mapping) or not str(entry.get(k) or "").strip()]
        if missing:
            raise DataError(f"{here}: missing {missing[0]!r}; a {task} translation has {', '.join(needed)}")
        out.append((str(language), str(entry["text"]).strip(), str(entry["attribute"]).strip() if entry.get("attribute") else None))
    return tuple(out)


def _prompts(document: Mapping[str, Any], name: str) -> dict[str, str]:
    """The rating question per language: the built-in ones, and the file's ``prompts`` (language → text)."""
    raw = document.get("prompts", {})
    if not isinstance(raw, Mapping):
        raise DataError(f"{name}: prompts: expected a mapping of language to a rating question")
    prompts = dict(RATING_PROMPTS)
    for language, text in raw.items():
        missing = [f for f in ("{text}", "{attribute}", "{k}") if f not in str(text)]
        if missing:
            raise DataError(f"{name}: prompts.{language}: the question has no {missing[0]}; it needs {{text}}, {{attribute}} and {{k}}")
        prompts[str(language)] = str(text)
    return prompts


def _check_languages(template: Template | ListTemplate, groups: list[str], by_language: ByLanguage | None, lexicon: str, prompts: dict[str, str]) -> None:
    """Before any call: a rating question in every language of the template, a filler of every group in each."""
    for language in template.languages():
        if template.task == "rating" and language not in prompts:
            raise DataError(f"{template.where}: no rating question in {language!r}; give prompts.{language} with {{text}}, {{attribute}} and {{k}}")
        if by_language is None:
            continue
        empty = [g for g in groups if not by_language.get(language, {}).get(g)]
        if empty:
            raise DataError(f"{lexicon}: group {empty[0]!r} has no filler in language {language!r} ({template.where} is written in {language})")


def load_templates(path: Path, name: str, data: DataSpec, seed: int) -> list[BiasItem]:
    """The items of a templates file: every template checked against the lexicons before any is filled."""
    document = read_yaml(path, name)
    raw = document.get("lexicons") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping) or not raw:
        raise DataError(f"{name}: expected a 'lexicons' mapping of slot to lexicon")
    read = {str(slot): read_lexicon(entry, path.parent, f"{name}: lexicons.{slot}") for slot, entry in raw.items()}
    lexicons: Lexicons = {slot: groups for slot, (groups, _, _) in read.items()}
    prompts = _prompts(document, name)
    templates = _templates(document, name)
    for template in templates:
        if isinstance(template, ListTemplate):
            check_list_template(template, lexicons, name)
        else:
            check_template(template, lexicons, name)
    wanted = _groups_param(data)
    per_template = _int_param(data, "fillers_per_template", 2, 1, 100)
    rankings = _int_param(data, "rankings_per_job", 1, 1, 1000) if "rankings_per_job" in data.params else None
    if wanted:
        everywhere = {g for lexicon in lexicons.values() for g in lexicon}
        missing = [g for g in wanted if g not in everywhere]
        if missing:
            raise DataError(f"data.params.groups: group {missing[0]!r} has no fillers in any lexicon of {name}")
    items: list[BiasItem] = []
    for template in templates:
        lexicon = lexicons[template.slot]
        groups = list(lexicon) if not wanted else [g for g in wanted if g in lexicon]
        if not groups:  # a template whose lexicon has none of the listed groups is left out
            continue
        _, by_language, source = read[template.slot]
        _check_languages(template, groups, by_language, source, prompts)
        if isinstance(template, Template):
            items += fill_template(template, lexicon, groups, per_template, seed, by_language, prompts)
        elif template.task == "choice":
            items += fill_choice(template, lexicon, groups, per_template, seed, by_language)
        else:
            items += fill_ranking(template, lexicon, groups, rankings, seed, by_language)
    return items


# --------------------------------------------------------------------------- BBQ and KoBBQ
def _bbq_biased(row: Mapping[str, Any], where: str) -> tuple[int, int]:
    """(unknown index, biased index) of a BBQ row (module docstring of data/bbq/SOURCE.md)."""
    info = row["answer_info"]
    labels = [info[f"ans{i}"][1] for i in range(3)]
    if labels.count("unknown") != 1:
        raise DataError(f"{where}: expected exactly one option labelled 'unknown' in answer_info")
    unknown = labels.index("unknown")
    stereotyped = {s.lower() for s in row["additional_metadata"]["stereotyped_groups"]}
    targets = [i for i in range(3) if i != unknown and (labels[i].lower() in stereotyped or info[f"ans{i}"][0].lower() in stereotyped)]
    if len(targets) != 1:
        targets = [i for i in range(3) if i != unknown and any(s in labels[i].lower() for s in stereotyped) and not labels[i].lower().startswith("non")]
    if len(targets) != 1:
        raise DataError(f"{where}: cannot tell which option is the stereotyped group {sorted(stereotyped)} from answer_info {labels}")
    other = next(i for i in range(3) if i not in (unknown, targets[0]))
    return unknown, targets[0] if row["question_polarity"] == "neg" else other


def load_bbq(path: Path, name: str) -> list[BiasItem]:
    table = read_table(path, name)
    items = []
    for row in table.rows:
        v = row.values
        try:
            unknown, biased = _bbq_biased(v, row.where)
            item_id = f"bbq-{v['category']}-{v['example_id']}"
            items.append(
                BiasItem(
                    item_id=item_id, task="choice", template_id=f"bbq-{v['category']}-{v['question_index']}",
                    text=str(v["context"]), question=str(v["question"]), options=tuple(str(v[f"ans{i}"]) for i in range(3)),
                    gold=int(v["label"]), unknown=unknown, biased=biased, context_condition=str(v["context_condition"]),
                    polarity=str(v["question_polarity"]), category=str(v["category"]), source="BBQ",
                )
            )
        except (KeyError, TypeError, IndexError, ValueError) as error:
            raise DataError(f"{row.where}: not a BBQ row (missing or malformed {error})") from None
    return items


def load_kobbq(path: Path, name: str) -> list[BiasItem]:
    items = []
    with io.StringIO(read_text(path, name), newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            where = f"{name} row {number}"
            try:
                choices = tuple(str(c) for c in ast.literal_eval(row["choices"]))
                sample = row["sample_id"]
                category, template, _, context, question_type = sample.split("-")
                items.append(
                    BiasItem(
                        item_id=f"kobbq-{sample}", task="choice", template_id=f"kobbq-{category}-{template}",
                        text=row["context"], question=row["question"], options=choices, gold=choices.index(row["answer"]),
                        unknown=choices.index(KOBBQ_UNKNOWN), biased=choices.index(row["biased_answer"]),
                        context_condition="ambig" if context == "amb" else "disambig",
                        polarity="neg" if question_type == "bsd" else "nonneg", category=category, language="ko", source="KoBBQ",
                    )
                )
            except (KeyError, ValueError, SyntaxError) as error:
                raise DataError(f"{where}: not a KoBBQ row ({error})") from None
    return items


# --------------------------------------------------------------------------- résumé ranking
def load_bloomberg(data: DataSpec, seed: int) -> list[BiasItem]:
    """Ranking items: per job, ``rankings_per_job`` draws of ``candidates`` groups, one seeded name each,
    on that many of the job's résumés (seeded), each résumé cut to its first ``resume_lines`` lines (0: whole)."""
    jobs_data = read_json(BUILTIN_DIR / "bloomberg" / "resumes_to_rank.json", "builtin resumes_to_rank.json")
    names = bloomberg_names()
    wanted = _groups_param(data)
    groups = select_groups(names, "name", wanted, BLOOMBERG_NAMES)
    n = _int_param(data, "candidates", min(8, len(groups)), 2, 8)
    if n > len(groups):
        raise DataError(f"data.params.candidates: {n} candidates need {n} groups; {len(groups)} selected")
    draws = _int_param(data, "rankings_per_job", 2, 1, 1000)
    lines = _int_param(data, "resume_lines", 0, 0, 200)
    jobs = _param(data, "jobs", list(jobs_data))
    unknown = [j for j in jobs if j not in jobs_data] if isinstance(jobs, list) else ["(not a list)"]
    if unknown:
        raise DataError(f"data.params.jobs: unknown job {unknown[0]!r}; expected some of {', '.join(jobs_data)}")
    items = []
    for job in jobs:
        resumes = jobs_data[job]["resumes"]
        for draw in range(draws):
            rng = seeded_rng(seed, job, draw, "ranking")
            chosen = [groups[int(i)] for i in rng.permutation(len(groups))[:n]]
            picked = [names[g][int(rng.integers(len(names[g])))] for g in chosen]
            texts = [resumes[int(i)] for i in rng.permutation(len(resumes))[:n]]
            if lines:
                texts = ["\n".join(t.strip().splitlines()[:lines]) for t in texts]
            items.append(
                BiasItem(
                    item_id=f"rank-{job}-{draw}", task="ranking", template_id=f"rank-{job}-{draw}", text=jobs_data[job]["jd"],
                    slot="name", draw=draw, job=job, candidates=tuple(texts), candidate_names=tuple(picked),
                    candidate_groups=tuple(chosen), source="Bloomberg 2024",
                )
            )
    return items


# --------------------------------------------------------------------------- registered loaders
def _path(data: DataSpec, base_dir: Path) -> tuple[Path, str]:
    if not data.path:
        raise DataError(f"data.path: required for loader {data.loader!r}")
    return base_dir / data.path, data.path


def templates_loader(data: DataSpec, base_dir: Path, seed: int) -> list[BiasItem]:
    return load_templates(*_path(data, base_dir), data, seed)


def bbq_loader(data: DataSpec, base_dir: Path, seed: int) -> list[BiasItem]:
    return load_bbq(*_path(data, base_dir))


def kobbq_loader(data: DataSpec, base_dir: Path, seed: int) -> list[BiasItem]:
    return load_kobbq(*_path(data, base_dir))


def bloomberg_loader(data: DataSpec, base_dir: Path, seed: int) -> list[BiasItem]:
    return load_bloomberg(data, seed)


def builtin_loader(data: DataSpec, base_dir: Path, seed: int) -> list[BiasItem]:
    sets = _param(data, "sets", ["ratings"])
    if not isinstance(sets, list) or not sets or any(s not in BUILTIN_SETS for s in sets):
        raise DataError(f"data.params.sets: expected a list of {', '.join(BUILTIN_SETS)}, got {sets!r}")
    items: list[BiasItem] = []
    for name in sets:
        if name == "ratings":
            items += load_templates(BUILTIN_DIR / "rating" / "templates.yaml", "builtin ratings", data, seed)
        elif name == "bilingual":
            items += load_templates(BUILTIN_DIR / "bilingual" / "templates.yaml", "builtin bilingual", data, seed)
        elif name == "workplace":
            items += load_templates(BUILTIN_DIR / "workplace" / "templates.yaml", "builtin workplace", data, seed)
        elif name == "generation":
            items += load_templates(BUILTIN_DIR / "rating" / "generation.yaml", "builtin generation", data, seed)
        elif name == "bbq":
            items += load_bbq(BUILTIN_DIR / "bbq" / "bbq_subset.jsonl", "builtin bbq")
        elif name == "kobbq":
            items += load_kobbq(BUILTIN_DIR / "kobbq" / "kobbq_subset.tsv", "builtin kobbq")
        else:
            items += load_bloomberg(data, seed)
    return items


FILTER_FIELDS = ("task", "category", "context_condition", "language", "template_id", "slot", "job")


def load_bias_items(data: DataSpec, base_dir: Path, seed: int) -> list[BiasItem]:
    """Items of the spec's ``data`` section: loader, ``filter`` (on :data:`FILTER_FIELDS`), ``limit`` (first N templates).

    A filter keeps the items whose field is in its list, and the items that do not have the field at all
    (a rating template has no BBQ ``category``), so one filter can cut one set of a mixed run.
    """
    name = data.loader.removeprefix(PREFIX)
    if PREFIX + name not in registry.loaders:
        known = [e.name.removeprefix(PREFIX) for e in registry.loaders.entries() if e.name.startswith(PREFIX)]
        raise DataError(f"data.loader: unknown bias loader {data.loader!r}; expected one of {', '.join(known)}")
    loader: Loader = registry.loaders.get(PREFIX + name, "data.loader")
    items = loader(data, base_dir, seed)
    for field, wanted in data.filter.items():
        if field not in FILTER_FIELDS:
            raise DataError(f"data.filter.{field}: bias items can be filtered by {', '.join(FILTER_FIELDS)}")
        items = [item for item in items if getattr(item, field) is None or getattr(item, field) in wanted]
    if data.limit:
        keep = list(dict.fromkeys(item.template_id for item in items))[: data.limit]
        items = [item for item in items if item.template_id in set(keep)]
    if not items:
        raise DataError("data: no items to evaluate (every item was filtered out)")
    ids = [item.item_id for item in items]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise DataError(f"data: item id {twice!r} occurs twice (two sets with the same template ids?)")
    return items
