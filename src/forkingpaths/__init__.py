"""forkingpaths: alignment evaluations treated as measurements across forking design choices.

Public API::

    run(spec_or_path, options=None) -> Run      execute a spec, write its run directory
    load_run(directory) -> Run                  read a run directory back
    Spec, load_spec, parse_spec                 build or validate specs in Python
"""

__version__ = "0.1.0"

from forkingpaths.run.pipeline import Run, RunOptions, load_run, run  # noqa: E402
from forkingpaths.spec import Spec, load_spec, parse_spec  # noqa: E402

__all__ = ["Run", "RunOptions", "Spec", "__version__", "load_run", "load_spec", "parse_spec", "run"]
