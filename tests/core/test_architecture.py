"""The shared code knows no instrument: a new instrument is one folder that registers itself.

Shared modules must not mention the survey's concepts; the public API must not
shadow a subpackage; the statistics are importable from ``forkingpaths.stats``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import forkingpaths

SRC = Path(forkingpaths.__file__).parent
SHARED = [
    "pipeline.py",
    "execution",
    "report",
    "store.py",
    "design.py",
    "spec.py",
    "cli.py",
    "results.py",
    "data",
    "instruments/base.py",
]
SURVEY_WORDS = re.compile(
    r"\b(survey|persona|personas|group_names?|option_probs|similarity|steerab\w*|extrapolab\w*|"
    r"closest.group|human_spread)\b",
    re.IGNORECASE,
)


MCQ_WORDS = re.compile(r"\b(mcq|multiple.choice|cloze|gold|circular\w*|choices_only|nota)\b", re.IGNORECASE)


def _shared_files() -> list[Path]:
    files: list[Path] = []
    for name in SHARED:
        path = SRC / name
        files += sorted(p for p in path.rglob("*") if p.suffix in {".py", ".j2", ".js", ".css"}) if path.is_dir() else [path]
    return files


def test_shared_modules_name_no_survey_concept() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in _shared_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SURVEY_WORDS.search(line)
    ]
    assert offenders == []


def test_shared_modules_and_backends_name_no_mcq_concept() -> None:
    files = _shared_files() + sorted((SRC / "models").glob("*.py"))
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if MCQ_WORDS.search(line)
    ]
    assert offenders == [] and MCQ_WORDS.search("the gold option") and MCQ_WORDS.search("elicitation: cloze")


def test_the_grep_finds_what_it_looks_for() -> None:
    assert SURVEY_WORDS.search("row['option_probs']") and SURVEY_WORDS.search("a Persona level")
    assert len(_shared_files()) > 20


def test_statistics_are_public_and_nothing_shadows_a_subpackage() -> None:
    assert forkingpaths.stats.wilson_interval(3, 10).method
    assert set(forkingpaths.stats.__all__) <= set(dir(forkingpaths.stats))
    for module in pkgutil.iter_modules(forkingpaths.__path__):
        if hasattr(forkingpaths, module.name):
            assert getattr(forkingpaths, module.name) is importlib.import_module(f"forkingpaths.{module.name}"), module.name
    assert callable(forkingpaths.run) and callable(forkingpaths.load_run)


def test_the_command_line_starts_without_the_numeric_stack() -> None:
    """`forkingpaths --help` must stay fast: the public API is imported on first use."""
    import subprocess
    import sys

    probe = "import sys, forkingpaths.cli; print(sorted(m for m in ('numpy', 'scipy', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_a_run_sends_its_first_request_before_importing_scipy_or_statsmodels(tmp_path: Path) -> None:
    """Start-up to the first request: the analysis stack is imported only after the requests (docs/performance.md)."""
    import subprocess
    import sys

    items = tmp_path / "items.jsonl"
    items.write_text(
        '{"id": "q1", "question": "What is 2+2?", "options": ["3", "4", "5", "6"], "gold": 1}\n'
        '{"id": "q2", "question": "What is 3+3?", "options": ["5", "6", "7", "8"], "gold": 1}\n',
        encoding="utf-8",
    )
    spec = {
        "name": "first-request",
        "instrument": {"name": "mcq", "params": {"elicitation": "letter"}},
        "data": {"loader": "tidy", "path": str(items), "params": {"gold_format": "index"}},
        "models": ["scripted:0"],
        "output_dir": str(tmp_path / "runs"),
    }
    probe = f"""
import json, sys
import forkingpaths
from forkingpaths import registry
from tests.contract import scripted
registry.register_backend("scripted", scripted.FAMILY, "scripted answers for tests", replace=True)
seen = []
original = scripted.ScriptedBackend.complete
async def complete(self, request):
    if not seen:
        seen.append(sorted(m for m in ("scipy", "scipy.stats", "statsmodels") if m in sys.modules))
    return await original(self, request)
scripted.ScriptedBackend.complete = complete
forkingpaths.run(forkingpaths.parse_spec({spec!r}), forkingpaths.RunOptions(cache_dir={str(tmp_path / "cache")!r}))
print(json.dumps({{"at_first_request": seen[0], "after_the_run": "scipy.stats" in sys.modules}}))
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=root, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"at_first_request": [], "after_the_run": True}
