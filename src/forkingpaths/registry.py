"""Registries of plug-in parts: instruments, backends, data loaders, importers, examples.

An entry is a lazy ``"module:attr"`` string, so that registering a part imports
nothing: an optional dependency (``llama_cpp``, ``ray``, ``datasets``) is
imported only when the part is used. A third-party package adds a part without
editing forkingpaths by declaring an entry point in the group
``forkingpaths.<kind>`` (e.g. ``forkingpaths.instruments``), or from Python with
:func:`register_instrument` and friends.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from forkingpaths.errors import UserError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered part: where it lives and a line saying what it is."""

    name: str
    target: str | Callable[[], Any]
    description: str = ""
    requires: tuple[str, ...] = ()  # modules the part imports (checked without importing them)
    extra: str | None = None  # the forkingpaths extra that installs them


class Registry(Generic[T]):
    """Name → lazily imported object, with entry points from installed packages.

    ``kind`` names the registry in error messages and the entry-point group
    (``forkingpaths.<kind>``). Built-in parts are registered at import of this
    module; entry points are read once, on first look-up, and never override a
    built-in of the same name (a package cannot silently replace a built-in).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, T] = {}
        self._entry_points_read = False

    def register(
        self,
        name: str,
        target: str | T,
        description: str = "",
        *,
        requires: tuple[str, ...] = (),
        extra: str | None = None,
        replace: bool = False,
    ) -> None:
        """Add a part. ``target`` is ``"module:attr"``, or the object itself."""
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind}: {name!r} is already registered")
        if isinstance(target, str):
            self._entries[name] = Entry(name, target, description, requires, extra)
            self._loaded.pop(name, None)
        else:
            self._entries[name] = Entry(name, repr(target), description, requires, extra)
            self._loaded[name] = target

    def unregister(self, name: str) -> None:
        """Remove a part (tests register parts of their own and clean up)."""
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for point in importlib.metadata.entry_points(group=f"forkingpaths.{self.kind}"):
            if point.name not in self._entries:
                self._entries[point.name] = Entry(point.name, point.value, f"from package {point.dist.name if point.dist else '?'}")

    def names(self) -> list[str]:
        self._read_entry_points()
        return list(self._entries)

    def entries(self) -> Iterator[Entry]:
        self._read_entry_points()
        yield from self._entries.values()

    def entry(self, name: str) -> Entry | None:
        self._read_entry_points()
        return self._entries.get(name)

    def missing_modules(self, name: str) -> tuple[str, ...]:
        """The modules a part needs that are not installed (``importlib.util.find_spec``: nothing imported)."""
        entry = self.entry(name)
        return tuple(m for m in (entry.requires if entry else ()) if importlib.util.find_spec(m) is None)

    def __contains__(self, name: object) -> bool:
        self._read_entry_points()
        return name in self._entries

    def get(self, name: str, key_path: str | None = None) -> T:
        """The part called ``name``; an unknown name is a one-line error listing the known ones."""
        self._read_entry_points()
        if name in self._loaded:
            return self._loaded[name]
        entry = self._entries.get(name)
        if entry is None:
            where = f"{key_path}: " if key_path else ""
            raise UserError(f"{where}unknown {self.kind[:-1]} {name!r}; expected one of {', '.join(self._entries)}")
        module_name, _, attr = str(entry.target).partition(":")
        module = importlib.import_module(module_name)
        value: T = getattr(module, attr) if attr else module  # type: ignore[assignment]
        self._loaded[name] = value
        return value


instruments: Registry[Any] = Registry("instruments")
backends: Registry[Any] = Registry("backends")
loaders: Registry[Any] = Registry("loaders")
importers: Registry[Any] = Registry("importers")
examples: Registry[Any] = Registry("examples")
executors: Registry[Any] = Registry("executors")

instruments.register(
    "survey", "forkingpaths.instruments.survey.instrument:SurveyInstrument", "distributional alignment to human groups' survey answers"
)
instruments.register("judge", "forkingpaths.instruments.judge.instrument:JudgeInstrument", "auditing an LLM judge on labelled response pairs")
instruments.register("mcq", "forkingpaths.instruments.mcq.instrument:MCQInstrument", "accuracy and consistency on multiple-choice items")
instruments.register(
    "bias", "forkingpaths.instruments.bias.instrument:BiasInstrument", "counterfactual demographic gaps against control perturbations"
)
backends.register(
    "llamacpp",
    "forkingpaths.models.llamacpp:FAMILY",
    "GGUF chat model in-process (llama-cpp-python)",
    requires=("llama_cpp",),
)
backends.register("openai", "forkingpaths.models.openai_compat:FAMILY", "any OpenAI-compatible HTTP API", requires=("aiohttp", "httpx"))

def _instrument_loaders(instrument: str, module: str, descriptions: dict[str, str]) -> None:
    """Register an instrument's loaders as ``<instrument>/<name>`` → ``<module>:<name>_loader``."""
    for name, description in descriptions.items():
        loaders.register(f"{instrument}/{name}", f"{module}:{name.replace('-', '_')}_loader", description)


_instrument_loaders(
    "survey",
    "forkingpaths.instruments.survey.data.loaders",
    {
        "tidy-long": "CSV/JSONL/Parquet with one row per item x group x option",
        "tidy-wide": "CSV/JSONL/Parquet with one row per item x group; options and distribution as lists",
        "globalopinionqa": "Anthropic GlobalOpinionQA rows: options and per-country selections as Python literals",
        "pro-share": "per-group shares on the 'pro' side of binary items, joined to a wordings file",
        "huggingface": "a Hugging Face dataset (hub id or save_to_disk folder) in one of the file layouts",
        "builtin": "a survey shipped with forkingpaths ('values': 31 World Values Survey items)",
    },
)
_instrument_loaders(
    "mcq",
    "forkingpaths.instruments.mcq.loaders",
    {
        "tidy": "CSV/JSONL/Parquet, one row per item: id, question, options (or option columns), gold",
        "mmlu": "Hugging Face MMLU layout: question, choices list, answer index (file or dataset)",
        "arc": "Hugging Face ARC layout: id, question, choices {label, text}, answerKey (file or dataset)",
        "exams": "EXAMS JSONL: question {stem, choices}, answerKey, info {subject, language}",
        "truthfulqa": "TruthfulQA mc_task.json, the MC1 task",
        "builtin": "data shipped with forkingpaths ('truthfulqa': 60 TruthfulQA MC1 items; 'exams-regional': 52 EXAMS items, 13 languages)",
    },
)
_instrument_loaders(
    "judge",
    "forkingpaths.instruments.judge.data.loaders",
    {
        "tidy": "CSV/JSONL/Parquet with one row per pair: item_id, instruction, response_a, response_b, label (A/B/tie)",
        "llmbar": "LLMBar dataset.json (input, output_1, output_2, label 1|2)",
        "pandalm": "PandaLM testset-v1.json with three human labels per pair",
        "hh-rlhf": "Anthropic HH-RLHF chosen/rejected transcripts (offensive content)",
        "builtin": "pairs shipped with forkingpaths ('llmbar': 40 short LLMBar pairs)",
    },
)
importers.register("table", "forkingpaths.interop.table:import_table", "CSV/JSONL/Parquet of per-item scores: long (item, model, correct, design columns) or wide (item x model)")
importers.register("lm-eval", "forkingpaths.interop.lmeval:import_lmeval", "lm-evaluation-harness samples_<task>_<date>.jsonl with its results_<date>.json")
importers.register("inspect", "forkingpaths.interop.inspect_log:import_inspect", "Inspect AI logs (.eval archives or .json)")
_instrument_loaders(
    "bias",
    "forkingpaths.instruments.bias.loaders",
    {
        "templates": "a YAML file of rating or generation templates with a slot and its lexicons (CSV/JSONL/YAML, groups incl. intersectional)",
        "bbq": "BBQ JSONL rows (ambiguous and disambiguated contexts, unknown option)",
        "kobbq": "KoBBQ TSV rows (Korean BBQ)",
        "bloomberg": "the Bloomberg 2024 résumé-ranking set (4 jobs, 8 résumés, 800 names of 8 race x gender groups)",
        "builtin": "data shipped with forkingpaths (sets: ratings, generation, bbq, kobbq, bloomberg)",
    },
)
executors.register("asyncio", "forkingpaths.execution.executor:local_executor", "every request from this process (asyncio)")
executors.register(
    "ray", "forkingpaths.execution.ray_executor:ray_executor", "requests from Ray actors", requires=("ray",), extra="ray"
)
examples.register("values", "forkingpaths.instruments.survey.examples:values_demo", "World Values Survey items on the embedded model")
examples.register("mcq", "forkingpaths.instruments.mcq.examples:mcq_demo", "TruthfulQA MC1 items on the embedded model")
examples.register("bias", "forkingpaths.instruments.bias.examples:bias_demo", "counterfactual rating, BBQ and résumé ranking on the embedded model")
examples.register("judge", "forkingpaths.instruments.judge.examples:judge_demo", "the embedded model judges LLMBar pairs")


def register_instrument(name: str, target: str | Any, description: str = "", *, replace: bool = False) -> None:
    """Register an instrument class (or ``"module:Class"``) under ``name``."""
    instruments.register(name, target, description, replace=replace)


def register_backend(
    name: str,
    target: str | Any,
    description: str = "",
    *,
    requires: tuple[str, ...] = (),
    extra: str | None = None,
    replace: bool = False,
) -> None:
    """Register a backend family (or ``"module:FAMILY"``); ``name`` is its reference prefix.

    ``requires`` lists the modules it imports, so ``forkingpaths models`` can say it is
    unavailable, and what to install (``extra``), without importing anything.
    """
    backends.register(name, target, description, requires=requires, extra=extra, replace=replace)


def register_loader(name: str, target: str | Any, description: str = "", *, replace: bool = False) -> None:
    """Register a generic data loader (a function ``(data_spec, base_dir) -> Table``)."""
    loaders.register(name, target, description, replace=replace)


def register_importer(name: str, target: str | Any, description: str = "", *, replace: bool = False) -> None:
    """Register an importer of another tool's result files."""
    importers.register(name, target, description, replace=replace)
