"""The sidebar: the model and the pipeline's settings, its widgets built from the option schema
(:mod:`cracklib.pipeline.options`), and models trained in this session."""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from cracklib.explain.attribution import BASELINE_METHODS, baselines_for
from cracklib.mask.refine import DARKNESS_WIDTH, PER_PHOTO
from cracklib.nets.models import ARCHITECTURES, WEIGHTS_DIR, card_path, read_card
from cracklib.pipeline.classifier import DEFAULT_WEIGHTS
from cracklib.pipeline.decision import PHOTO_DECISIONS
from cracklib.pipeline.methods import default_mask, default_method_for, methods_for, thresholds_for
from cracklib.pipeline.options import default_of, option
from cracklib.pipeline.segmenters import SEGMENTER_METHODS, network_name, segmenter_path
from cracklib.pipeline.settings import PipelineConfig
from cracklib.studio.cache import classifier
from cracklib.studio.trained import trained_models
from cracklib.studio.widgets import choice_box


def _is_classifier(path: Path) -> bool:
    """Whether a shipped weights file is a classifier (``nn_explainer.pt`` is an explainer, not a model to pick)."""

    try:
        return json.loads(card_path(path).read_text()).get("arch") in ARCHITECTURES
    except (OSError, ValueError):
        return False


def weights_options() -> dict[str, str]:
    """Label → weights path: the shipped weights, then those trained in this session (or named in the address).

    Also keeps the trained ones in the page's address (:func:`cracklib.studio.trained.trained_models`): every
    page with a sidebar calls this on each run.
    """
    options = {path.stem: str(path) for path in sorted(WEIGHTS_DIR.glob("*.pt")) if _is_classifier(path)}
    default = {DEFAULT_WEIGHTS.stem: options.pop(DEFAULT_WEIGHTS.stem, str(DEFAULT_WEIGHTS))}
    trained = {f"{Path(path).stem} (trained here)": path for path in trained_models()}
    return {**default, **options, **trained}


#: Below this validation balanced accuracy a model is flagged in the sidebar (0.5 is chance).
UNRELIABLE_BALANCED_ACCURACY = 0.7


def _choose(name: str, options: list[str] | None = None, *, default=None, **kwargs) -> str:
    """A select box for a choice of the option schema (its label, choices, help; the product's default)."""
    entry = option(name)
    return choice_box(entry.label, options or entry.choices(), default_of(name) if default is None else default,
                      help=entry.help, **kwargs)


def _slide(name: str, value=None, **kwargs):
    """A slider for a number of the option schema (its label, bounds, help; the product's default)."""
    entry = option(name)
    low, high, step = (entry.number(bound) for bound in entry.bounds)
    return st.slider(entry.label, low, high, default_of(name) if value is None else value, step, help=entry.help,
                     **kwargs)


def sidebar_config(*, method: bool = True, mask: bool = True,
                   defaults: PipelineConfig = PipelineConfig()) -> tuple[str, PipelineConfig]:
    """The weights and pipeline settings chosen in the sidebar, starting from ``defaults``.

    ``method=False``: the page picks the methods; ``mask=False``: the page picks
    thresholds and post-processings itself, so the sidebar does not offer them.
    """
    with st.sidebar:
        st.header("Settings")
        options = weights_options()
        chosen = st.session_state.get("selected_weights")
        labels = list(options)
        default_label = next((label for label, path in options.items() if path == chosen), labels[0])
        weights = options[choice_box("Model", labels, default_label, key="model")]
        st.session_state["selected_weights"] = weights  # each page has its own widget: the next one starts here
        loaded = classifier(weights)
        card = loaded.card
        if card.logit_offset:
            st.caption(f"Its crack probabilities are calibrated on its validation split (crack logit − "
                       f"{card.logit_offset:.2f}, `python -m cracklib calibrate`), so that 0.5 balances the classes.")
        if card.whole_photo_model:
            st.caption(f"Whether a photo is cracked is decided with a second model, trained on whole photos "
                       f"(`{card.whole_photo_model}`): its probability of the resized photo stands in for this "
                       "model's in the `tile_and_whole` decision. The tiles, the heatmap and the mask are this "
                       "model's.")
        kept = card.kept_epoch
        if kept and kept.get("val_balanced_accuracy") is not None and \
                kept["val_balanced_accuracy"] < UNRELIABLE_BALANCED_ACCURACY:
            st.warning(f"This model's validation balanced accuracy is {kept['val_balanced_accuracy']:.2f} "
                       "(0.5 is chance): its masks and counts are not to be trusted.")
        # A B-cos model cannot be explained with LRP: it is offered the methods that work with it, its own (bcos)
        # by default.
        choice, rules = default_method_for(loaded.model), default_of("rules")
        if method:
            choice = _choose("method", methods_for(loaded.model), default=choice)
            own_network = segmenter_path(choice, weights) if choice in SEGMENTER_METHODS else None
            if own_network is not None and own_network != segmenter_path(choice):
                views = read_card(own_network).views
                averaged = f"; it averages its map over {views} flips and turns of the photo" if views > 1 else ""
                st.caption(f"This model brings its own {choice} network, chosen on its data set "
                           f"(`{network_name(own_network)}`){averaged}.")
            rules = _choose("rules", disabled=choice != "lrp")
        # The baselines that differ for the chosen method; every one on a page that picks its methods.
        offered = baselines_for(choice) if method and choice in BASELINE_METHODS else None
        baseline = _choose("baseline", offered, disabled=method and choice not in BASELINE_METHODS)
        own_step = default_mask(choice, defaults.mask)
        threshold, post, refine = own_step.threshold, own_step.post, own_step.refine
        darkness_width = own_step.darkness_width  # the pages without mask widgets take the defaults
        if mask:
            # A network's map defaults to its own mask step; switching between a network and an explanation
            # resets these (a selectbox whose default changes is a new widget).
            # Only the thresholds that suit the method's map (a fixed cut leaves nothing of a relevance).
            threshold = _choose("threshold", thresholds_for(choice), default=own_step.threshold)
            post = _choose("post", default=own_step.post)
            refine = _choose("refine", default=own_step.refine)
            per_photo = st.checkbox(
                "Size the darkness square per photo", own_step.darkness_width == PER_PHOTO, disabled=refine == "none",
                help="the refinement keeps the pixels darker than the brightest surface within a square: sized on "
                     "each photo's explanation band (15-45 px), or set by hand below")
            side = _slide("darkness_width", DARKNESS_WIDTH if own_step.darkness_width == PER_PHOTO
                          else own_step.darkness_width, disabled=refine == "none" or per_photo)
            darkness_width = PER_PHOTO if per_photo else side
        polarity = _choose("polarity", default=defaults.mask.polarity)  # refinement and widths alike
        gap = _slide("crack_gap_px")
        widths = _choose("widths")
        gate = _slide("gate")
        scale = st.number_input(option("mm_per_px").label, min_value=0.0, value=0.0, format="%.4f",
                                help=option("mm_per_px").help)
        with st.expander("Whole photos"):
            mode = _choose("mode")
            decision = _choose("decision", format_func=lambda name: PHOTO_DECISIONS[name].label)
            overlap = _slide("tile_overlap")
            tile_scale = _slide("tile_scale")
            backend = _choose("lrp_backend")
    return weights, PipelineConfig.of(method=choice, rules=rules, lrp_backend=backend, baseline=baseline,
                                      threshold=threshold, post=post, refine=refine, darkness_width=darkness_width,
                                      polarity=polarity, crack_gap_px=gap, widths=widths,
                                      gate=gate, mm_per_px=scale or None,
                                      mode=mode, decision=decision, tile_overlap=overlap, tile_scale=tile_scale)
