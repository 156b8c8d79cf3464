"""The ``forkingpaths`` command line: thin wrappers over the Python API.

User errors print one line (one per problem for a spec) and exit non-zero
without a traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from forkingpaths import __version__
from forkingpaths.errors import UserError
from forkingpaths.text import safe_text

if TYPE_CHECKING:
    from forkingpaths.pipeline import RunOptions
    from forkingpaths.results import Run
    from forkingpaths.spec import Spec

app = typer.Typer(
    name="forkingpaths",
    help="Evaluate models on alignment questions across the garden of forking design choices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: flags without "<bool>" type tags, usage with SPEC
)
cache_app = typer.Typer(help="Inspect or clear the response cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

#: Width of tables when output is not a terminal (rich would use 80 columns) and COLUMNS is unset.
REDIRECTED_WIDTH = 160


def _console(stderr: bool = False) -> Console:
    """A console that keeps tables readable when output goes to a file or a pipe."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal or os.environ.get("COLUMNS") else REDIRECTED_WIDTH
    return Console(stderr=stderr, soft_wrap=True, width=width)


console = _console()
errors = _console(stderr=True)
_state = {"debug": False}

EXIT_INTERRUPTED = 130
EXIT_TRIALS_FAILED = 1
#: How many distinct error messages the summary lists.
TOP_ERRORS = 3


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
    typer.Option("--model", "-m", metavar="REF", help="Model reference (repeatable): llamacpp, llamacpp:/path.gguf, openai:NAME, openai:NAME@URL."),
]
OutOpt = Annotated[Optional[str], typer.Option("--out", "-o", metavar="DIR", help="Output directory (the run goes in OUT/<spec name>).")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, metavar="N", help="Use only the first N items.")]
ConcurrencyOpt = Annotated[Optional[int], typer.Option("--concurrency", "-j", min=1, metavar="N", help="Requests in flight per backend.")]
RefreshOpt = Annotated[bool, typer.Option("--refresh", help="Ignore the cache and call the models again.")]
FailFastOpt = Annotated[bool, typer.Option("--fail-fast", help="Stop at the first request that still fails after retries.")]
ExecutorOpt = Annotated[
    Optional[str], typer.Option("--executor", metavar="NAME", help="Where requests are sent from: asyncio (default) or ray.")
]
AddressOpt = Annotated[
    Optional[str], typer.Option("--address", metavar="ADDR", help="A running Ray cluster (ray://host:10001 or auto).")
]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace a finished run of a different spec in the same output folder.")
]
MaxErrorRateOpt = Annotated[
    float,
    typer.Option(
        "--max-error-rate",
        metavar="SHARE",
        min=0.0,
        max=1.0,
        help="Exit 1 (after writing everything) when more than this share of trials failed; 0 = any failure.",
    ),
]


def _resume_command(base: list[str], options: RunOptions) -> str:
    """The command that resumes an interrupted run: the same one, with the same options."""
    args = list(base)
    for ref in options.models:
        args += ["--model", ref]
    flags = (
        ("--out", options.out),
        ("--limit", options.limit),
        ("--concurrency", options.concurrency),
        ("--executor", options.executor),
        ("--address", options.address),
    )
    for flag, value in flags:
        if value is not None:
            args += [flag, str(value)]
    if options.overwrite:
        args.append("--overwrite")
    return shlex.join(args)


def _print_counts(result: Run) -> None:
    """The summary line, counting requests as the progress bar does, and the commonest errors."""
    counts = result.manifest.counts
    console.print(
        f"{counts.trials} trials ({counts.failed_trials} with an error) · {counts.requests} distinct requests: "
        f"{counts.cache_hits} from the cache, {counts.model_calls} sent to a model ({counts.attempts} attempts) · "
        f"{result.manifest.wall_time_s:.1f} s",
        markup=False,
        highlight=False,
    )
    if counts.unsaved:
        errors.print(
            f"warning: {counts.unsaved} answers could not be written to the cache (another process held its lock); "
            "they are in this run's trials table, and a rerun asks for them again",
            markup=False,
            highlight=False,
        )
    failures = result.trials["error"].dropna().value_counts()
    for message, count in failures.head(TOP_ERRORS).items():
        console.print(f"  {count} × {safe_text(message, one_line=True)}", markup=False, highlight=False)


def _execute(
    spec_source: Spec | Path,
    command: list[str],
    options: RunOptions,
    max_error_rate: float,
) -> None:
    from forkingpaths.execution.executor import FailFast, Interrupted
    from forkingpaths.execution.progress import RunProgress
    from forkingpaths.pipeline import run
    from forkingpaths.report.html import write_report
    from forkingpaths.report.terminal import print_summary

    try:
        with RunProgress(console=errors) as progress:
            result = run(spec_source, options, progress=progress)
        report = write_report(result.directory)
        print_summary(result.directory, console)
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
    _print_counts(result)
    console.print(f"results: {safe_text(result.directory)}", markup=False, highlight=False)
    console.print(f"report: {safe_text(report)}", markup=False, highlight=False)
    counts = result.manifest.counts
    if counts.trials and (counts.failed_trials == counts.trials or counts.failed_trials / counts.trials > max_error_rate):
        errors.print(
            f"error: {counts.failed_trials} of {counts.trials} trials failed (more than --max-error-rate {max_error_rate:g}); "
            "everything was written, and a rerun retries only the failed requests",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_TRIALS_FAILED)


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(metavar="SPEC", help="The spec YAML file.")],
    model: ModelOpt = None,
    out: OutOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    refresh: RefreshOpt = False,
    fail_fast: FailFastOpt = False,
    overwrite: OverwriteOpt = False,
    max_error_rate: MaxErrorRateOpt = 0.0,
    executor: ExecutorOpt = None,
    address: AddressOpt = None,
) -> None:
    """Run a spec: expand its design, call the models (cached), write the run directory and its report."""
    from forkingpaths.pipeline import RunOptions

    options = RunOptions(
        tuple(model or ()), out, limit, concurrency, refresh, fail_fast, overwrite, executor=executor, address=address
    )
    _execute(spec, ["forkingpaths", "run", str(spec)], options, max_error_rate)


@app.command("demo")
def demo_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Which built-in example (default: values).")] = "values",
    model: ModelOpt = None,
    out: OutOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    refresh: RefreshOpt = False,
    fail_fast: FailFastOpt = False,
    overwrite: OverwriteOpt = False,
    max_error_rate: MaxErrorRateOpt = 0.0,
    executor: ExecutorOpt = None,
    address: AddressOpt = None,
) -> None:
    """Run a built-in example (default: 'values') on the embedded model (or --model)."""
    from forkingpaths import registry
    from forkingpaths.pipeline import RunOptions

    try:
        example = registry.examples.get(name)
    except UserError as error:
        _fail(error, error.exit_code)
        return
    options = RunOptions(
        tuple(model or ()), out, limit, concurrency, refresh, fail_fast, overwrite, executor=executor, address=address
    )
    _execute(example(limit), ["forkingpaths", "demo", name], options, max_error_rate)


@app.command("report")
def report_command(run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory (the one holding manifest.json).")]) -> None:
    """Re-render report.html and validity.md from a finished run directory of any instrument (calls no model)."""
    from forkingpaths.report.html import write_report
    from forkingpaths.report.terminal import print_summary

    try:
        report = write_report(run_dir)
        print_summary(run_dir, console)
    except UserError as error:
        _fail(error, error.exit_code)
        return
    console.print(f"validity card: {safe_text(report.with_name('validity.md'))}", markup=False, highlight=False)
    console.print(f"report: {safe_text(report)}", markup=False, highlight=False)


@app.command("models")
def models_command() -> None:
    """List every registered model backend: available or not (and what to install), its references and capabilities."""
    from forkingpaths.models.registry import describe_backends

    for entry in describe_backends():
        if not entry["available"]:
            console.print(f"[bold]{entry['name']}[/bold] — not available: {entry['install']}", highlight=False)
            continue
        flags: dict[str, bool] = entry["capabilities"]  # type: ignore[assignment]
        references: list[str] = entry["references"]  # type: ignore[assignment]
        console.print(f"[bold]{entry['name']}[/bold] — {entry['description']}", highlight=False)
        console.print(f"  references: {', '.join(references)}", markup=False, highlight=False)
        console.print(f"  capabilities: {', '.join(name for name, on in flags.items() if on)}", markup=False, highlight=False)
        for key, value in entry.items():
            if key in ("name", "available", "description", "references", "capabilities"):
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


@app.command("meta")
def meta_command(
    sources: Annotated[
        Optional[list[Path]], typer.Argument(metavar="RUN_DIR|MATRIX...", help="Run directories or models × items matrices (CSV/Parquet, wide or long).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Where results.json and report.html go.")] = Path("runs/meta"),
    example: Annotated[Optional[str], typer.Option("--example", metavar="NAME", help="A built-in set of matrices (zeroeval).")] = None,
    aliases: Annotated[Optional[Path], typer.Option("--aliases", metavar="CSV", help="name,model table: which model each row name stands for.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every resampling and subset draw.")] = 0,
) -> None:
    """Benchmark meta-evaluation: IRT item map, flagged items, small subsets, signal and noise, agreement (docs/meta.md)."""
    from forkingpaths.meta.command import gather, run_meta

    try:
        matrices = gather(list(sources or []), example, aliases)
        results = run_meta(matrices, out, example or ", ".join(matrices), seed)
    except UserError as error:
        _fail(error, error.exit_code)
        return
    for finding in results.findings:
        console.print(f"[{safe_text(finding.verdict, one_line=True)}] {safe_text(finding.subject, one_line=True)} · {safe_text(finding.claim, one_line=True)}", markup=False, highlight=False)
    console.print(f"results: {safe_text(out / 'results.json')}", markup=False, highlight=False)
    console.print(f"report: {safe_text(out / 'report.html')}", markup=False, highlight=False)


# --------------------------------------------------------------------------- interop (docs/interop.md)
@app.command("import", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def import_command(
    ctx: typer.Context,
    tool: Annotated[str, typer.Argument(metavar="TOOL", help="lm-eval, inspect or table (or a registered importer).")],
    mapping: Annotated[
        Optional[list[str]], typer.Option("--map", metavar="COLUMN=FIELD", help="Rename a table column to a field (item_id, model, correct, repeat, …); FIELD '-' ignores it.")
    ] = None,
    out: Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Output directory (the run goes in OUT/<name>).")] = "runs",
    name: Annotated[Optional[str], typer.Option("--name", metavar="NAME", help="The run's name (default import-<TOOL>).")] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Import result files as a run (no model is called): forkingpaths import TOOL [--factor NAME=LEVEL] PATH... ; a --factor holds for the paths after it."""
    from forkingpaths.interop import file_args, import_results, mapping_args
    from forkingpaths.report.terminal import print_summary

    try:
        files = file_args(ctx.args)
        result = import_results(tool, [(f.path, f.levels) for f in files], mapping=mapping_args(mapping or []), out=out, name=name, overwrite=overwrite)
        print_summary(result.directory, console)
    except UserError as error:
        _fail(error, 2 if error.exit_code == 1 else error.exit_code)
        return
    console.print(f"{result.manifest.counts.trials} trials imported from {len(files)} file(s) · no model was called", markup=False, highlight=False)
    console.print(f"results: {safe_text(result.directory)}", markup=False, highlight=False)
    console.print(f"report: {safe_text(result.directory / 'report.html')}", markup=False, highlight=False)


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory.")],
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="csv, latex, markdown or json.")] = "csv",
    what: Annotated[
        Optional[list[str]], typer.Option("--what", metavar="TABLE", help="findings, accuracy, conditions, comparisons, ranking, consistency (repeatable; default all).")
    ] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", metavar="DIR", help="Where to write (default RUN_DIR/export).")] = None,
) -> None:
    """Write a run's findings and analysis tables (intervals as estimate [lower, upper]) and the report's figures as SVG."""
    from forkingpaths.interop.export import export_run

    try:
        written = export_run(run_dir, fmt, what, out)
    except UserError as error:
        _fail(error, 2 if error.exit_code == 1 else error.exit_code)
        return
    for path in written:
        console.print(f"wrote {safe_text(path)}", markup=False, highlight=False)
