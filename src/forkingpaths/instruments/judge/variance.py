"""How much of the judge's correctness each design factor explains: item, judge, position, artifact, template, format.

Henderson's Method I variance components of ``correct`` (1 when the parsed verdict equals
the gold label) over the factors with more than one level, with a percentile bootstrap
over items (:func:`stats.variance_components`; Searle, Casella & McCulloch 1992, §5.2).
Correctness rather than the verdict itself, because a factor that should not matter
(position, an artifact) shows up as variance in being right. The item share is the
quality signal the judge is meant to track; the position and artifact shares are the part
of its verdicts decided by presentation, the construct-validity evidence the report shows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from forkingpaths import stats
from forkingpaths.instruments.judge.common import clean
from forkingpaths.spec import Spec

FACTORS = {"item": "item_id", "judge": "model", "position": "position", "artifact": "artifact",
           "template": "judge_template", "format": "verdict_format"}
MAX_RESAMPLES = 200


def correctness_shares(frame: pd.DataFrame, spec: Spec) -> dict[str, Any]:
    scored = frame[frame["gold"].notna() & frame["parsed"].astype(bool) & frame["correct"].notna()]
    data = pd.DataFrame({name: scored[column].astype(str).to_numpy() for name, column in FACTORS.items()})
    data["correct"] = scored["correct"].astype(float).to_numpy()
    factors = [name for name in FACTORS if data[name].nunique() > 1]
    if "item" not in factors or data["correct"].nunique() < 2:
        return {"components": [], "reason": "needs two or more items and both right and wrong verdicts"}
    table = stats.variance_components(data, "correct", factors, min(spec.analysis.n_resamples, MAX_RESAMPLES),
                                      spec.analysis.level, spec.seed, cluster="item")
    components = [{k: clean(v) for k, v in row.items()} for row in table.to_dict("records")]
    presentation = sum(row["share"] for row in components if row["component"] in ("position", "artifact"))
    return {"score": "correct", "n": int(len(data)), "components": components, "presentation_share": clean(presentation)}
