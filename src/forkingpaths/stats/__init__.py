"""Pure statistical functions over numpy arrays and pandas DataFrames.

Nothing here prints or calls a model; instruments and the report build on it.
Every function takes a seeded ``numpy.random.Generator`` where it resamples, and
returns :class:`Interval` objects (estimate, bounds, level, method) for intervals.
The formulas and their sources are listed in docs/statistics.md.

The names below are imported on first use (PEP 562): a run needs scipy and statsmodels only
for its analyses, after the last request, so importing ``forkingpaths.results`` (which needs
:class:`Interval`) must not import them before the first request (docs/performance.md).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the module that defines it.
_EXPORTS = {
    "bootstrap_agreement_ci": "forkingpaths.stats.agreement",
    "cohen_kappa": "forkingpaths.stats.agreement",
    "fleiss_kappa": "forkingpaths.stats.agreement",
    "krippendorff_alpha": "forkingpaths.stats.agreement",
    "percent_agreement": "forkingpaths.stats.agreement",
    "weighted_kappa": "forkingpaths.stats.agreement",
    "agreement_by_size": "forkingpaths.stats.benchmark",
    "bat_agreement": "forkingpaths.stats.benchmark",
    "rank_agreement": "forkingpaths.stats.benchmark",
    "saturation": "forkingpaths.stats.benchmark",
    "signal_noise": "forkingpaths.stats.benchmark",
    "cat_metrics": "forkingpaths.stats.consistency",
    "multi_prompt": "forkingpaths.stats.consistency",
    "js_distance": "forkingpaths.stats.distributions",
    "similarity_js": "forkingpaths.stats.distributions",
    "similarity_wasserstein": "forkingpaths.stats.distributions",
    "total_variation": "forkingpaths.stats.distributions",
    "wasserstein_ordered": "forkingpaths.stats.distributions",
    "Interval": "forkingpaths.stats.interval",
    "IRTFit": "forkingpaths.stats.irt",
    "eap_abilities": "forkingpaths.stats.irt",
    "fit_2pl": "forkingpaths.stats.irt",
    "item_information": "forkingpaths.stats.irt",
    "item_table": "forkingpaths.stats.irt",
    "claim_shares": "forkingpaths.stats.multiverse",
    "kendall_w": "forkingpaths.stats.multiverse",
    "paired_claim_curve": "forkingpaths.stats.multiverse",
    "pairwise_kendall_tau": "forkingpaths.stats.multiverse",
    "rank_first_probability": "forkingpaths.stats.multiverse",
    "specification_curve": "forkingpaths.stats.multiverse",
    "benjamini_hochberg": "forkingpaths.stats.paired",
    "holm": "forkingpaths.stats.paired",
    "mcnemar_exact": "forkingpaths.stats.paired",
    "paired_difference": "forkingpaths.stats.paired",
    "sign_flip_test": "forkingpaths.stats.paired",
    "tost": "forkingpaths.stats.paired",
    "paired_score_wasserstein": "forkingpaths.stats.parity",
    "paired_wasserstein": "forkingpaths.stats.parity",
    "min_detectable_effect": "forkingpaths.stats.power",
    "required_items": "forkingpaths.stats.power",
    "ppi_mean": "forkingpaths.stats.prediction",
    "logistic_slope": "forkingpaths.stats.regression",
    "estimate_scores": "forkingpaths.stats.subsets",
    "select_items": "forkingpaths.stats.subsets",
    "subset_curve": "forkingpaths.stats.subsets",
    "ClusteredMeans": "forkingpaths.stats.uncertainty",
    "FEW_CLUSTERS": "forkingpaths.stats.uncertainty",
    "bootstrap_ci": "forkingpaths.stats.uncertainty",
    "bootstrap_replicates": "forkingpaths.stats.uncertainty",
    "clt_se": "forkingpaths.stats.uncertainty",
    "cluster_bootstrap_ci": "forkingpaths.stats.uncertainty",
    "cluster_bootstrap_means": "forkingpaths.stats.uncertainty",
    "cluster_resample_counts": "forkingpaths.stats.uncertainty",
    "cluster_t_ci": "forkingpaths.stats.uncertainty",
    "clustered_means": "forkingpaths.stats.uncertainty",
    "clustered_proportion_ci": "forkingpaths.stats.uncertainty",
    "clustered_se": "forkingpaths.stats.uncertainty",
    "contrasts": "forkingpaths.stats.uncertainty",
    "mean_ci": "forkingpaths.stats.uncertainty",
    "percentile_bounds": "forkingpaths.stats.uncertainty",
    "simultaneous_band": "forkingpaths.stats.uncertainty",
    "t_intervals": "forkingpaths.stats.uncertainty",
    "two_way_clustered_se": "forkingpaths.stats.uncertainty",
    "wilson_interval": "forkingpaths.stats.uncertainty",
    "variance_components": "forkingpaths.stats.variance",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forkingpaths.stats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from forkingpaths.stats.agreement import bootstrap_agreement_ci, cohen_kappa, fleiss_kappa, krippendorff_alpha, percent_agreement, weighted_kappa  # noqa: F401
    from forkingpaths.stats.benchmark import agreement_by_size, bat_agreement, rank_agreement, saturation, signal_noise  # noqa: F401
    from forkingpaths.stats.consistency import cat_metrics, multi_prompt  # noqa: F401
    from forkingpaths.stats.distributions import js_distance, similarity_js, similarity_wasserstein, total_variation, wasserstein_ordered  # noqa: F401
    from forkingpaths.stats.interval import Interval  # noqa: F401
    from forkingpaths.stats.irt import IRTFit, eap_abilities, fit_2pl, item_information, item_table  # noqa: F401
    from forkingpaths.stats.multiverse import claim_shares, kendall_w, paired_claim_curve, pairwise_kendall_tau, rank_first_probability, specification_curve  # noqa: F401
    from forkingpaths.stats.paired import benjamini_hochberg, holm, mcnemar_exact, paired_difference, sign_flip_test, tost  # noqa: F401
    from forkingpaths.stats.parity import paired_score_wasserstein, paired_wasserstein  # noqa: F401
    from forkingpaths.stats.power import min_detectable_effect, required_items  # noqa: F401
    from forkingpaths.stats.prediction import ppi_mean  # noqa: F401
    from forkingpaths.stats.regression import logistic_slope  # noqa: F401
    from forkingpaths.stats.subsets import estimate_scores, select_items, subset_curve  # noqa: F401
    from forkingpaths.stats.uncertainty import ClusteredMeans, FEW_CLUSTERS, bootstrap_ci, bootstrap_replicates, clt_se, cluster_bootstrap_ci, cluster_bootstrap_means, cluster_resample_counts, cluster_t_ci, clustered_means, clustered_proportion_ci, clustered_se, contrasts, mean_ci, percentile_bounds, simultaneous_band, t_intervals, two_way_clustered_se, wilson_interval  # noqa: F401
    from forkingpaths.stats.variance import variance_components  # noqa: F401
