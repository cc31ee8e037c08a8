"""Streamlit helpers shared by the pages: cached model loading and cached explanations.

Pages stay thin: they read widgets, call these (which call cracklib), and draw.
"""
from __future__ import annotations

import streamlit as st

from cracklib.attribution import BASELINE_METHODS, METHODS
from cracklib.baselines import BASELINES
from cracklib.composites import RULE_SETS
from cracklib.imageio import read_image
from cracklib.pipeline import DEFAULT_WEIGHTS, Classifier, Explanation, PipelineConfig, explain, load_classifier
from cracklib.postprocess import POSTPROCESSING
from cracklib.threshold import THRESHOLDS

DEFAULTS = PipelineConfig()


@st.cache_resource(show_spinner="Loading the classifier…")
def classifier(weights: str = str(DEFAULT_WEIGHTS)) -> Classifier:
    """One model per weights file for all sessions (attribution locks it per call)."""
    return load_classifier(weights)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_explanation(image_bytes: bytes, weights: str, method: str, rules: str, baseline: str,
                       gate: float) -> tuple[object, Explanation]:
    """Image and explanation, keyed on the image bytes and the settings that change the explanation."""
    image = read_image(image_bytes)
    config = PipelineConfig(method=method, rules=rules, baseline=baseline, gate=gate)
    return image, explain(classifier(weights), image, config)


def sidebar_config() -> PipelineConfig:
    """The pipeline settings chosen in the sidebar."""
    with st.sidebar:
        st.header("Settings")
        method = st.selectbox("XAI method", list(METHODS), index=list(METHODS).index(DEFAULTS.method))
        rules = st.selectbox("LRP rule set", list(RULE_SETS), index=list(RULE_SETS).index(DEFAULTS.rules),
                             disabled=method != "lrp")
        baseline = st.selectbox("Baseline", list(BASELINES), index=list(BASELINES).index(DEFAULTS.baseline),
                                disabled=method not in BASELINE_METHODS)
        threshold = st.selectbox("Threshold", list(THRESHOLDS),
                                 index=list(THRESHOLDS).index(DEFAULTS.threshold))
        post = st.selectbox("Post-processing", list(POSTPROCESSING),
                            index=list(POSTPROCESSING).index(DEFAULTS.post))
        gate = st.slider("Gate (explain from this crack probability)", 0.0, 1.0, DEFAULTS.gate, 0.05)
        scale = st.number_input("Scale (mm per pixel, 0 = pixels only)", min_value=0.0, value=0.0,
                                format="%.4f")
    return PipelineConfig(method=method, rules=rules, baseline=baseline, threshold=threshold, post=post,
                          gate=gate, mm_per_px=scale or None)
