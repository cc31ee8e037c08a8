"""Compare page: one photo, several explanation methods side by side, with their cost and PR curves."""

import streamlit as st

from cracklib import studio
from cracklib.io import DEMO_SAMPLE
from cracklib.errors import CrackInputError
from cracklib.run import compare_explanations, result_curve
from cracklib.measure import SCORE_KEYS
from cracklib.io import mask_overlay, preview
from cracklib.pipeline import PROBABILITY_MAP_METHODS, SEGMENTER_METHODS
from cracklib.pipeline import default_method_for, method_choices, methods_for

#: The masks here are yellow: red and blue are the relevance's colours, shown just above them.
MASK_COLOR = (255, 215, 0)

st.title("Compare methods")
weights, config = studio.sidebar_config(method=False)
# The methods that work with the chosen model (not LRP for a B-cos network, which brings its own first), and the
# two U-Nets where shipped.
model = studio.classifier(weights).model
choices = {choice.label: choice for choice in method_choices() if choice.method in methods_for(model)}
defaults = [default_method_for(model), "lrp (epsilon_gamma_box)", "lrp (montavon)", "deeplift", "grad_cam",
            *SEGMENTER_METHODS]
chosen = st.multiselect("Methods", list(choices), default=list(dict.fromkeys(d for d in defaults if d in choices)))
# No file-type filter: a file the browser would refuse reaches the reader, which says why in a line.
upload = st.file_uploader("Photo")
mask_upload = st.file_uploader("Ground-truth mask (optional)")
if upload is None:
    image_path, mask_path = DEMO_SAMPLE
    if mask_upload is not None:
        st.warning("A mask was uploaded but no photo: upload the photo too.")
    st.info(f"No photo uploaded yet: comparing on the bundled sample **{image_path.name}**, a real road photo "
            "from CrackSC, with its ground truth.")
    name, data, mask_name, mask_data = image_path.name, image_path.read_bytes(), mask_path.name, mask_path.read_bytes()
else:
    name, data = upload.name, upload.getvalue()
    mask_name, mask_data = (mask_upload.name, mask_upload.getvalue()) if mask_upload else (None, None)

if not chosen:
    st.warning("Pick at least one method.")
    st.stop()
# Each method's explanation is cached on its own: adding a method or moving the threshold recomputes nothing else.
try:
    explained = [studio.explanation(name, data, weights, choices[label].applied_to(config.explanation))
                 for label in chosen]
except CrackInputError as error:
    st.error(studio.plain(error))
    st.stop()
image = explained[0].image  # decoded once, with the explanation; its darkness is kept for the next change
truth = studio.read_mask_upload(mask_data, mask_name, image.shape[:2]) if mask_data else None
runs = compare_explanations([one.explanation for one in explained], config.mask, photo=image, truth=truth,
                            darkness=explained[0].darkness)
own_step = [f"{run.label}: {run.result.settings.threshold}, {run.result.settings.refine}, {run.result.settings.post}"
            for run in runs if run.result.settings != config.mask]
st.caption(f"{studio.plain(name)}: crack probability {runs[0].result.probability:.3f}; threshold "
           f"{config.mask.threshold}, refinement {config.mask.refine}, post-processing {config.mask.post}"
           + (f" (the U-Nets at their own step: {'; '.join(own_step)})" if own_step else "") + ".")
columns = st.columns(min(4, len(runs)))
picture = explained[0].picture
for index, (label, one, run) in enumerate(zip(chosen, explained, runs)):
    column = columns[index % len(columns)]
    column.markdown(f"**{run.label}** · {run.seconds:.2f} s")
    network = choices[label].method in PROBABILITY_MAP_METHODS  # its map is a probability, not a relevance
    column.image(studio.relevance_picture(picture, one.heat), width="stretch",
                 caption="the network's crack probability (red)" if network else
                 "relevance: red for a crack, blue against")
    column.image(mask_overlay(picture, preview(run.result.mask, studio.DISPLAY_SIDE), color=MASK_COLOR),
                 caption=f"mask (yellow): area {run.result.severity.area_px:,} px"
                 + (f" · F1 {run.scores['f1']:.3f}" if run.scores else ""), width="stretch")
# Faithfulness is measured on demand (seconds per method); once asked for, it stays on and each method's report is
# cached with its explanation, so a rerun or a method added draws the others at once.
st.subheader("Faithfulness")
st.caption("Without ground truth: does removing the most relevant pixels first destroy the crack probability "
           "fastest (deletion; insertion puts them back; ROAD imputes them from their neighbours), and does the map "
           "change when the classifier's layers are re-initialised from the top down? Measured on the explained "
           "tiles, at most 8 per photo (docs: Faithfulness).")
if st.button("Measure faithfulness"):
    st.session_state["faithfulness"] = True
reports = ([studio.faithfulness(one, weights, truth if truth is not None and truth.any() else None)
            for one in explained] if st.session_state.get("faithfulness") else None)
table = [{"method": run.label, "seconds": round(run.seconds, 3), "area_px": run.result.severity.area_px,
          **({k: run.scores[k] for k in SCORE_KEYS} if run.scores else {}),
          **(studio.table_numbers(reports[index].scores()) if reports else {})}
         for index, run in enumerate(runs)]
st.dataframe(table, width="stretch", placeholder="")
if reports:
    measured = [report for report in reports if report.skipped is None]
    for report in reports:
        st.caption(studio.plain(f"{report.label}: {report.sentence}"))
    if measured:
        st.plotly_chart(studio.faithfulness_figure(measured), width="stretch")
        st.plotly_chart(studio.randomisation_figure(measured), width="stretch")
if truth is not None and truth.any():
    st.subheader("Against the ground truth")
    st.plotly_chart(studio.pr_figure([result_curve(run.label, run.scores) for run in runs]), width="stretch")
    st.caption(studio.PR_CAPTION)
