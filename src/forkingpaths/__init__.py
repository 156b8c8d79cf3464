"""forkingpaths: alignment evaluations treated as measurements across forking design choices.

Public API::

    run(spec_or_path, options=None) -> Run      execute a spec, write its run directory
    load_run(directory) -> Run                  read a finished run directory back (the same object)
    import_results(tool, paths, ...) -> Run     lm-eval / Inspect / table results as a run directory (no model calls)
    Spec, load_spec, parse_spec                 build or validate specs in Python
    stats                                       the statistics functions (forkingpaths.stats.__all__)
    Instrument, Backend, BackendFactory         the protocols a plug-in implements
    register_instrument, register_backend, …    add a plug-in without editing forkingpaths
"""

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the module that defines it. Imported on first use (PEP 562), so that
#: ``forkingpaths --help`` and other light commands do not pay for numpy, scipy and pandas.
_EXPORTS = {
    "Analysis": "forkingpaths.instruments.base",
    "FollowUp": "forkingpaths.instruments.base",
    "Instrument": "forkingpaths.instruments.base",
    "SingleStage": "forkingpaths.instruments.base",
    "StageResult": "forkingpaths.instruments.base",
    "TrialContext": "forkingpaths.instruments.base",
    "Backend": "forkingpaths.models.base",
    "BackendFactory": "forkingpaths.models.base",
    "Capabilities": "forkingpaths.models.base",
    "Message": "forkingpaths.models.base",
    "Request": "forkingpaths.models.base",
    "Response": "forkingpaths.models.base",
    "import_results": "forkingpaths.interop",
    "RunOptions": "forkingpaths.pipeline",
    "run": "forkingpaths.pipeline",
    "register_backend": "forkingpaths.registry",
    "register_importer": "forkingpaths.registry",
    "register_instrument": "forkingpaths.registry",
    "register_loader": "forkingpaths.registry",
    "Estimate": "forkingpaths.results",
    "Finding": "forkingpaths.results",
    "Run": "forkingpaths.results",
    "RunResults": "forkingpaths.results",
    "load_run": "forkingpaths.results",
    "Spec": "forkingpaths.spec",
    "load_spec": "forkingpaths.spec",
    "parse_spec": "forkingpaths.spec",
}

__all__ = sorted([*_EXPORTS, "__version__", "stats"])


def __getattr__(name: str) -> Any:
    if name == "stats":
        return importlib.import_module("forkingpaths.stats")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forkingpaths' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from forkingpaths import stats  # noqa: F401
    from forkingpaths.interop import import_results  # noqa: F401
    from forkingpaths.instruments.base import Analysis, FollowUp, Instrument, SingleStage, StageResult, TrialContext  # noqa: F401
    from forkingpaths.models.base import Backend, BackendFactory, Capabilities, Message, Request, Response  # noqa: F401
    from forkingpaths.pipeline import RunOptions, run  # noqa: F401
    from forkingpaths.registry import register_backend, register_importer, register_instrument, register_loader  # noqa: F401
    from forkingpaths.results import Estimate, Finding, Run, RunResults, load_run  # noqa: F401
    from forkingpaths.spec import Spec, load_spec, parse_spec  # noqa: F401
