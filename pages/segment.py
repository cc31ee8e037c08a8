"""Segment page: photos in, crack masks and severity out."""

import plotly.express as px
import streamlit as st

import studio
from cracklib.imageio import CrackInputError
from cracklib.pipeline import DEFAULT_WEIGHTS, segment_explanation
from cracklib.render import heatmap_rgb, mask_overlay
from cracklib.synthetic import bundled_samples

st.title("Segment cracks")
config = studio.sidebar_config()
uploads = st.file_uploader("Photos (jpg, png, tif, bmp)", type=["jpg", "jpeg", "png", "tif", "tiff", "bmp"],
                           accept_multiple_files=True)
if uploads:
    files = [(upload.name, upload.getvalue()) for upload in uploads]
else:
    sample = bundled_samples()[2]  # a concrete crack
    st.info(f"No upload yet: showing the bundled sample **{sample[0].name}**.")
    files = [(sample[0].name, sample[0].read_bytes())]

for name, data in files:
    st.subheader(name)
    try:
        with st.spinner(f"Explaining {name}…"):
            image, explanation = studio.cached_explanation(data, str(DEFAULT_WEIGHTS), config.method,
                                                           config.rules, config.baseline, config.gate)
    except CrackInputError as error:
        st.error(str(error))
        continue
    result = segment_explanation(explanation, config)
    severity = result.severity
    cols = st.columns(5)
    cols[0].metric("Crack probability", f"{result.probability:.3f}")
    cols[1].metric("Area (px)", f"{severity.area_px:,}")
    cols[2].metric("Cracks", severity.n_cracks)
    cols[3].metric("Length (px)", f"{severity.length_px:.0f}")
    cols[4].metric("Max / mean width (px)", f"{severity.max_width_px:.1f} / {severity.mean_width_px:.1f}")
    left, middle, right = st.columns(3)
    left.image(image, caption="Photo", width="stretch")
    if result.relevance is not None:
        heat = px.imshow(result.relevance, color_continuous_scale="RdBu_r",
                         zmin=-abs(result.relevance).max(), zmax=abs(result.relevance).max())
        heat.update_layout(margin=dict(l=0, r=0, t=0, b=0), coloraxis_colorbar=dict(title="relevance"))
        middle.plotly_chart(heat, width="stretch")
    else:
        middle.image(heatmap_rgb(None, image.shape[:2]), caption="Not explained (below the gate)",
                     width="stretch")
    right.image(mask_overlay(image, result.mask), caption="Crack mask", width="stretch")
