"""forkingpaths: alignment evaluations treated as measurements across forking design choices.

Public API::

    run(spec_or_path, options=None) -> Run      execute a spec, write its run directory
    load_run(directory) -> Run                  read a finished run directory back (the same object)
    Spec, load_spec, parse_spec                 build or validate specs in Python
    stats                                       the statistics functions (forkingpaths.stats.__all__)
    Instrument, Backend, BackendFactory         the protocols a plug-in implements
    register_instrument, register_backend, …    add a plug-in without editing forkingpaths
"""

__version__ = "0.1.0"

from forkingpaths import stats  # noqa: E402
from forkingpaths.instruments.base import Analysis, FollowUp, Instrument, SingleStage, StageResult, TrialContext  # noqa: E402
from forkingpaths.models.base import Backend, BackendFactory, Capabilities, Message, Request, Response  # noqa: E402
from forkingpaths.pipeline import RunOptions, run  # noqa: E402
from forkingpaths.registry import register_backend, register_importer, register_instrument, register_loader  # noqa: E402
from forkingpaths.results import Estimate, Finding, Run, RunResults, load_run  # noqa: E402
from forkingpaths.spec import Spec, load_spec, parse_spec  # noqa: E402

__all__ = [
    "Analysis",
    "Backend",
    "BackendFactory",
    "Capabilities",
    "Estimate",
    "Finding",
    "FollowUp",
    "Instrument",
    "Message",
    "Request",
    "Response",
    "Run",
    "RunOptions",
    "RunResults",
    "SingleStage",
    "Spec",
    "StageResult",
    "TrialContext",
    "__version__",
    "load_run",
    "load_spec",
    "parse_spec",
    "register_backend",
    "register_importer",
    "register_instrument",
    "register_loader",
    "run",
    "stats",
]
