"""The judge audit's agreement analysis against statsmodels and the krippendorff package, on PandaLM's three human labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forkingpaths.instruments.judge.analysis import agreement
from forkingpaths.instruments.judge.data import load_pair_items
from forkingpaths.spec import DataSpec, parse_spec

krippendorff = pytest.importorskip("krippendorff")
inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")

PANDALM = Path("/work/shared/data/pandalm_testset/data/testset-v1.json")
CODES = {"A": 0, "B": 1, "tie": 2}


@pytest.mark.skipif(not PANDALM.is_file(), reason="PandaLM test set not present")
def test_judge_and_human_agreement_match_statsmodels_and_krippendorff() -> None:
    items = load_pair_items(DataSpec(loader="pandalm", path=str(PANDALM), limit=200), Path("/"))
    rng = np.random.default_rng(3)
    # a judge that copies annotator 1 on 70% of pairs and guesses otherwise
    verdicts = [i.human_labels[0] if rng.random() < 0.7 else ["A", "B", "tie"][rng.integers(3)] for i in items]
    trials = pd.DataFrame({
        "model": "j", "item_id": [i.item_id for i in items], "repeat": 0, "error": None, "artifact": "none", "position": "original",
        "judge_template": "verdict", "verdict_format": "probs", "parsed": True, "verdict": verdicts, "gold": [i.label for i in items],
    })
    spec = parse_spec({"name": "t", "instrument": "judge", "data": {"loader": "builtin"}, "analysis": {"n_resamples": 200}}, "t")
    out = agreement(trials, items, spec)
    humans = np.array([[CODES[i.human_labels[j]] for i in items] for j in range(3)])
    assert out["human_raters"] == 3
    alpha = krippendorff.alpha(reliability_data=humans, level_of_measurement="nominal")
    assert out["humans"]["krippendorff_alpha"]["estimate"] == pytest.approx(alpha, abs=1e-10)
    lo, hi = out["humans"]["krippendorff_alpha"]["lower"], out["humans"]["krippendorff_alpha"]["upper"]
    assert lo <= alpha <= hi and out["humans"]["krippendorff_alpha"]["method"] == "bootstrap-percentile(unit)"

    def kappa(a, b) -> float:
        table = pd.crosstab(pd.Categorical(a, categories=[0, 1, 2]), pd.Categorical(b, categories=[0, 1, 2]), dropna=False).to_numpy()
        return float(inter_rater.cohens_kappa(table).kappa)

    pairwise = np.mean([kappa(humans[i], humans[j]) for i in range(3) for j in range(i + 1, 3)])
    assert out["humans"]["kappa_mean_pairwise"] == pytest.approx(pairwise, abs=1e-10)
    judge = np.array([CODES[v] for v in verdicts])
    (row,) = out["judges"]
    labelled = [k for k, i in enumerate(items) if i.label is not None]
    gold = np.array([CODES[items[k].label] for k in labelled])
    assert row["kappa_gold"]["estimate"] == pytest.approx(kappa(judge[labelled], gold), abs=1e-10)
    assert row["kappa_humans_mean"] == pytest.approx(np.mean([kappa(judge, humans[j]) for j in range(3)]), abs=1e-10)
