"""The ``forkingpaths`` command line: thin wrappers over the Python API.

User errors print one line (one per problem for a spec) and exit non-zero
without a traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from forkingpaths import __version__
from forkingpaths.errors import UserError
from forkingpaths.text import safe_text

if TYPE_CHECKING:
    from forkingpaths.run.pipeline import RunOptions
    from forkingpaths.spec import Spec

app = typer.Typer(
    name="forkingpaths",
    help="Evaluate models on alignment questions across the garden of forking design choices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cache_app = typer.Typer(help="Inspect or clear the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}

EXIT_INTERRUPTED = 130


def _version(value: bool) -> None:
    if value:
        console.print(f"forkingpaths {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks for errors.")] = False,
) -> None:
    """forkingpaths: measurements, not leaderboard numbers."""
    _state["debug"] = debug


def _fail(error: BaseException, code: int) -> None:
    if _state["debug"]:
        raise error
    for line in str(error).splitlines() or [type(error).__name__]:
        errors.print(f"error: {safe_text(line, one_line=True)}", markup=False, highlight=False)
    raise typer.Exit(code)


ModelOpt = Annotated[
    Optional[list[str]],
    typer.Option("--model", "-m", help="Model reference (repeatable): llamacpp, llamacpp:/path.gguf, openai:NAME, openai:NAME@URL."),
]
OutOpt = Annotated[Optional[str], typer.Option("--out", "-o", help="Output directory (the run goes in OUT/<spec name>).")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N items.")]
ConcurrencyOpt = Annotated[Optional[int], typer.Option("--concurrency", "-j", min=1, help="Requests in flight per backend.")]
RefreshOpt = Annotated[bool, typer.Option("--refresh", help="Ignore the cache and call the models again.")]
FailFastOpt = Annotated[bool, typer.Option("--fail-fast", help="Stop at the first request that still fails after retries.")]


def _resume_command(base: list[str], options: RunOptions) -> str:
    """The command that resumes an interrupted run: the same one, with the same options."""
    args = list(base)
    for ref in options.models:
        args += ["--model", ref]
    for flag, value in (("--out", options.out), ("--limit", options.limit), ("--concurrency", options.concurrency)):
        if value is not None:
            args += [flag, str(value)]
    return shlex.join(args)


def _execute(
    spec_source: Spec | Path,
    command: list[str],
    model: list[str] | None,
    out: str | None,
    limit: int | None,
    concurrency: int | None,
    refresh: bool,
    fail_fast: bool,
) -> None:
    from forkingpaths.run.executor import FailFast, Interrupted
    from forkingpaths.run.pipeline import RunOptions, run
    from forkingpaths.run.progress import RunProgress

    options = RunOptions(tuple(model or ()), out, limit, concurrency, refresh, fail_fast)
    try:
        with RunProgress(console=errors) as progress:
            result = run(spec_source, options, progress=progress)
    except Interrupted as stop:
        resume = _resume_command(command, options)
        errors.print(f"interrupted: {safe_text(stop)}; completed answers are cached — run `{resume}` again to resume", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except FailFast as failure:
        errors.print(f"stopped by --fail-fast: {safe_text(failure)}; completed answers are cached", markup=False)
        raise typer.Exit(1) from None
    except UserError as error:
        _fail(error, error.exit_code)
        return
    from forkingpaths.report.terminal import print_summary

    print_summary(result, console)
    counts = result.manifest["counts"]
    console.print(
        f"{counts['trials']} trials · {counts['model_calls']} model calls · {counts['cache_hits']} cache hits · "
        f"{counts['errors']} errors · {result.manifest['wall_time_s']:.1f} s"
    )
    console.print(f"results: {safe_text(result.directory)}", markup=False, highlight=False)
    report = result.directory / "report.html"
    if report.exists():
        console.print(f"report: {safe_text(report)}", markup=False, highlight=False)


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="The spec YAML file.")],
    model: ModelOpt = None,
    out: OutOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    refresh: RefreshOpt = False,
    fail_fast: FailFastOpt = False,
) -> None:
    """Run a spec: expand its design, call the models (cached), write the run directory."""
    _execute(spec, ["forkingpaths", "run", str(spec)], model, out, limit, concurrency, refresh, fail_fast)


@app.command("demo")
def demo_command(
    model: ModelOpt = None,
    out: OutOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    refresh: RefreshOpt = False,
    fail_fast: FailFastOpt = False,
) -> None:
    """Run the built-in World Values Survey example on the embedded model (or --model)."""
    from forkingpaths.examples import demo_spec

    _execute(demo_spec(limit), ["forkingpaths", "demo"], model, out, limit, concurrency, refresh, fail_fast)


@app.command("report")
def report_command(run_dir: Annotated[Path, typer.Argument(help="A run directory (the one holding results.json).")]) -> None:
    """Re-render report.html and validity.md from a run directory (calls no model)."""
    from forkingpaths.report.html import write_report
    from forkingpaths.report.terminal import print_summary
    from forkingpaths.run.pipeline import load_run

    try:
        report = write_report(run_dir)
        print_summary(load_run(run_dir), console)
    except UserError as error:
        _fail(error, error.exit_code)
        return
    console.print(f"validity card: {safe_text(report.with_name('validity.md'))}", markup=False, highlight=False)
    console.print(f"report: {safe_text(report)}", markup=False, highlight=False)


@app.command("models")
def models_command() -> None:
    """List the model backends, their capabilities and where the embedded model lives."""
    from forkingpaths.models.registry import describe_backends

    try:
        backends = describe_backends()
    except UserError as error:
        _fail(error, error.exit_code)
        return
    for entry in backends:
        flags: dict[str, bool] = entry["capabilities"]  # type: ignore[assignment]
        references: list[str] = entry["references"]  # type: ignore[assignment]
        capabilities = ", ".join(name for name, on in flags.items() if on)
        console.print(f"[bold]{entry['name']}[/bold] — {entry['description']}", highlight=False)
        console.print(f"  references: {', '.join(references)}", markup=False, highlight=False)
        console.print(f"  capabilities: {capabilities}", markup=False, highlight=False)
        for key, value in entry.items():
            if key in ("name", "description", "references", "capabilities"):
                continue
            if isinstance(value, dict):
                for sub_key, sub_value in value.items():
                    console.print(f"  {key}.{sub_key}: {sub_value}", markup=False, highlight=False)
            else:
                console.print(f"  {key}: {value}", markup=False, highlight=False)


@cache_app.command("info")
def cache_info() -> None:
    """Where the cache is, how many answers it holds, per model."""
    from forkingpaths.store import ResponseCache

    try:
        cache = ResponseCache()
        info = cache.info()
        cache.close()
    except UserError as error:
        _fail(error, error.exit_code)
        return
    console.print(f"cache: {safe_text(info.path)}", markup=False, highlight=False)
    console.print(f"entries: {info.entries} · size: {info.size_bytes / 1e6:.2f} MB")
    for model, count in sorted(info.by_model.items()):
        console.print(f"  {safe_text(model)}: {count}", markup=False, highlight=False)


@cache_app.command("clear")
def cache_clear(yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False) -> None:
    """Delete every cached answer."""
    from forkingpaths.store import ResponseCache

    if not yes and not typer.confirm("Delete every cached model answer?"):
        raise typer.Exit(1)
    try:
        cache = ResponseCache()
        removed = cache.clear()
        cache.close()
    except UserError as error:
        _fail(error, error.exit_code)
        return
    console.print(f"removed {removed} cached answers from {safe_text(cache.path)}", markup=False, highlight=False)
