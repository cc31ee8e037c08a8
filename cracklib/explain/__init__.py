"""Explanations of a classifier's crack score: the method registry, LRP rule sets and engine, baselines,
the learned NN-Explainer's masks.
"""
from cracklib.explain.attribution import (METHODS, BASELINE_METHODS, DISTRIBUTION_METHODS, baselines_for, LRP_BACKENDS,
                                          AttributionSettings, attribute, model_lock, zennit_lrp)
from cracklib.explain.baselines import BASELINES, DamageFree, baseline_for, baseline_distribution, baselines_path
from cracklib.explain.composites import (RULE_SETS, RuleSpec, rule_specs, rule_set_composite, rule_map,
                                         named_rules_composite)
from cracklib.explain.lrp import lrp_relevance, supports
from cracklib.explain.nn_explainer import explainer_masks

__all__ = ["METHODS", "BASELINE_METHODS", "DISTRIBUTION_METHODS", "baselines_for", "LRP_BACKENDS",
           "AttributionSettings", "attribute", "model_lock", "zennit_lrp", "BASELINES", "DamageFree", "baseline_for",
           "baseline_distribution", "baselines_path", "RULE_SETS", "RuleSpec", "rule_specs", "rule_set_composite",
           "rule_map", "named_rules_composite", "lrp_relevance", "supports", "explainer_masks"]
