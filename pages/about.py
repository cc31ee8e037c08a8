"""About page: what the studio does, the model's card, and the papers."""

import json

import streamlit as st

from cracklib import studio
from cracklib.io import DEMO_SAMPLE
from cracklib.pipeline import segment_explanation
from cracklib.io import heatmap_rgb, mask_overlay

st.title("About the crack studio")
st.markdown("""
Pixel masks of cracks are expensive to draw; image labels (*crack* / *no crack*) are cheap. The studio uses a
classifier trained on image labels only and turns its **explanation** into a **segmentation**:

1. **Classify** the photo in tiles at its native resolution (a crack one pixel wide survives); tiles whose crack
   probability reaches the *gate* go on.
2. **Explain** those tiles: layer-wise relevance propagation (LRP, with zennit) or a gradient method (captum:
   Integrated Gradients, DeepLift, Input×Gradient, GradientSHAP, DeepLiftSHAP), against a damage-free baseline
   where the method needs one. The tile maps are blended into one map of the whole photo.
3. **Threshold** the relevance: iterative mean ("simple"), a Gaussian mixture or a beta mixture, then clean the
   mask with closing and area opening.
4. **Measure** the cracks: area, count, length along the skeleton, widths from the distance transform; and, for a
   series of photos of one surface, how they **grew**.
""")
weights, config = studio.sidebar_config()
image_path, _ = DEMO_SAMPLE
image, _, explanation, *_ = studio.explanation(image_path.name, image_path.read_bytes(), weights, config.explanation)
result = segment_explanation(explanation, config.mask, photo=image)
left, middle, right = st.columns(3)
left.image(image, caption="1. the photo (crack probability {:.2f})".format(result.probability), width="stretch")
middle.image(heatmap_rgb(result.relevance, image.shape[:2]), caption="2. relevance (red: crack evidence)",
             width="stretch")
right.image(mask_overlay(image, result.mask), caption="3. the mask", width="stretch")

card = studio.classifier(weights).card
st.subheader("The model")
st.markdown(f"`{weights}`: {card.arch}, width {card.width}, {card.input_size}-pixel input.")
cols = st.columns(2)
with cols[0]:
    st.markdown("**Training data**")
    st.json(card.training_data, expanded=False)
with cols[1]:
    st.markdown("**Test metrics**")
    st.json(card.test_metrics, expanded=True)
with st.expander("The whole model card"):
    st.code(json.dumps({k: v for k, v in json.loads(card.to_json()).items() if k != "notes"}, indent=2),
            language="json")
st.subheader("Papers")
st.markdown("""
- C. Seibold, J. Künzel, A. Hilsmann, P. Eisert: *From Explanations to Segmentation: Using Explainable AI for
  Image Segmentation*. VISAPP 2022. (LRP rule sets, Simple/GMM/BMM thresholds, VGG-11 with 128-unit FC layers.)
- F. Forest, H. Porta, D. Tuia, O. Fink: *From classification to segmentation with explainable AI: a study on
  crack detection and growth monitoring*. Automation in Construction, 2024. (Eight XAI methods, damage-free
  baselines, post-processing, crack-per-patch, width and growth.)
- G. Montavon, A. Binder, S. Lapuschkin, W. Samek, K.-R. Müller: *Layer-Wise Relevance Propagation: An Overview*.
  In Explainable AI, LNCS 11700, 2019.
""")
