"""Pure statistical functions over numpy arrays and pandas DataFrames.

Nothing here prints or calls a model; instruments and the report build on it.
Every function takes a seeded ``numpy.random.Generator`` where it resamples, and
returns :class:`Interval` objects (estimate, bounds, level, method) for intervals.
The formulas and their sources are listed in docs/statistics.md.
"""

from forkingpaths.stats.agreement import (
    bootstrap_agreement_ci,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
    weighted_kappa,
)
from forkingpaths.stats.benchmark import agreement_by_size, bat_agreement, rank_agreement, saturation, signal_noise
from forkingpaths.stats.consistency import cat_metrics, multi_prompt
from forkingpaths.stats.distributions import (
    js_distance,
    similarity_js,
    similarity_wasserstein,
    total_variation,
    wasserstein_ordered,
)
from forkingpaths.stats.irt import IRTFit, eap_abilities, fit_2pl, item_information, item_table
from forkingpaths.stats.multiverse import (
    claim_shares,
    kendall_w,
    paired_claim_curve,
    pairwise_kendall_tau,
    rank_first_probability,
    specification_curve,
)
from forkingpaths.stats.paired import (
    benjamini_hochberg,
    holm,
    mcnemar_exact,
    paired_difference,
    sign_flip_test,
    tost,
)
from forkingpaths.stats.parity import paired_score_wasserstein, paired_wasserstein
from forkingpaths.stats.prediction import ppi_mean
from forkingpaths.stats.power import min_detectable_effect, required_items
from forkingpaths.stats.subsets import estimate_scores, select_items, subset_curve
from forkingpaths.stats.regression import logistic_slope
from forkingpaths.stats.uncertainty import (
    FEW_CLUSTERS,
    ClusteredMeans,
    Interval,
    bootstrap_ci,
    bootstrap_replicates,
    clt_se,
    cluster_bootstrap_ci,
    cluster_bootstrap_means,
    cluster_resample_counts,
    cluster_t_ci,
    clustered_means,
    clustered_proportion_ci,
    clustered_se,
    contrasts,
    mean_ci,
    percentile_bounds,
    simultaneous_band,
    t_intervals,
    two_way_clustered_se,
    wilson_interval,
)
from forkingpaths.stats.variance import variance_components

__all__ = [
    "ClusteredMeans",
    "FEW_CLUSTERS",
    "IRTFit",
    "Interval",
    "agreement_by_size",
    "bat_agreement",
    "benjamini_hochberg",
    "bootstrap_agreement_ci",
    "bootstrap_ci",
    "bootstrap_replicates",
    "cat_metrics",
    "claim_shares",
    "clt_se",
    "cluster_bootstrap_ci",
    "cluster_bootstrap_means",
    "cluster_resample_counts",
    "cluster_t_ci",
    "clustered_means",
    "clustered_proportion_ci",
    "clustered_se",
    "cohen_kappa",
    "contrasts",
    "eap_abilities",
    "estimate_scores",
    "fit_2pl",
    "fleiss_kappa",
    "holm",
    "item_information",
    "item_table",
    "js_distance",
    "kendall_w",
    "logistic_slope",
    "krippendorff_alpha",
    "mcnemar_exact",
    "mean_ci",
    "min_detectable_effect",
    "multi_prompt",
    "paired_claim_curve",
    "paired_difference",
    "paired_score_wasserstein",
    "paired_wasserstein",
    "pairwise_kendall_tau",
    "percent_agreement",
    "weighted_kappa",
    "percentile_bounds",
    "rank_agreement",
    "ppi_mean",
    "rank_first_probability",
    "required_items",
    "saturation",
    "select_items",
    "sign_flip_test",
    "signal_noise",
    "similarity_js",
    "similarity_wasserstein",
    "simultaneous_band",
    "specification_curve",
    "subset_curve",
    "t_intervals",
    "tost",
    "total_variation",
    "two_way_clustered_se",
    "variance_components",
    "wasserstein_ordered",
    "wilson_interval",
]
