"""Compare page: one photo, several explanation methods side by side, with their cost and PR curves."""

import streamlit as st

from cracklib import studio
from cracklib.io import DEMO_SAMPLE
from cracklib.errors import CrackInputError
from cracklib.run import compare_explanations, result_curve
from cracklib.measure import SCORE_KEYS
from cracklib.io import heatmap_overlay, mask_overlay, preview
from cracklib.pipeline import SEGMENTER_METHODS
from cracklib.pipeline import method_available, method_choices

st.title("Compare methods")
weights, config = studio.sidebar_config(method=False)
choices = {choice.label: choice for choice in method_choices()}
# The explanation methods, and the two U-Nets (self-trained from image labels, supervised) where shipped.
networks = [method for method in SEGMENTER_METHODS if method_available(method)]
chosen = st.multiselect("Methods", list(choices),
                        default=["lrp (epsilon_gamma_box)", "lrp (montavon)", "deeplift", "grad_cam", *networks])
upload = st.file_uploader("Photo", type=studio.IMAGE_TYPES)
mask_upload = st.file_uploader("Ground-truth mask (optional)", type=studio.IMAGE_TYPES)
if upload is None:
    image_path, mask_path = DEMO_SAMPLE
    st.info(f"No upload yet: comparing on the bundled sample **{image_path.name}**, a real road photo from CrackSC, "
            "with its ground truth.")
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
    st.error(str(error))
    st.stop()
image = explained[0].image  # decoded once, with the explanation; its darkness is kept for the next change
truth = studio.read_mask_upload(mask_data, mask_name, image.shape[:2]) if mask_data else None
runs = compare_explanations([one.explanation for one in explained], config.mask, photo=image, truth=truth,
                            darkness=explained[0].darkness)
own_step = [f"{run.label}: {run.result.settings.threshold}, {run.result.settings.refine}, {run.result.settings.post}"
            for run in runs if run.result.settings != config.mask]
st.caption(f"{name}: crack probability {runs[0].result.probability:.3f}; threshold {config.mask.threshold}, "
           f"refinement {config.mask.refine}, post-processing {config.mask.post}"
           + (f" (the U-Nets at their own step: {'; '.join(own_step)})" if own_step else "") + ".")
columns = st.columns(min(4, len(runs)))
picture = explained[0].picture
for index, run in enumerate(runs):
    column = columns[index % len(columns)]
    column.markdown(f"**{run.label}** · {run.seconds:.2f} s")
    column.image(heatmap_overlay(picture, preview(run.result.relevance, studio.DISPLAY_SIDE)
                                 if run.result.relevance is not None else None),
                 caption="relevance (red: for a crack, blue: against)", width="stretch")
    column.image(mask_overlay(picture, preview(run.result.mask, studio.DISPLAY_SIDE)),
                 caption=f"area {run.result.severity.area_px:,} px"
                 + (f" · F1 {run.scores['f1']:.3f}" if run.scores else ""), width="stretch")
table = [{"method": run.label, "seconds": round(run.seconds, 3), "area_px": run.result.severity.area_px,
          **({k: run.scores[k] for k in SCORE_KEYS} if run.scores else {})}
         for run in runs]
st.dataframe(table, width="stretch")
if truth is not None and truth.any():
    st.plotly_chart(studio.pr_figure([result_curve(run.label, run.scores) for run in runs]), width="stretch")
