"""About page: what the studio does, the model's card, and the papers."""

import json
from pathlib import Path

import streamlit as st

from cracklib import studio
from cracklib.io import DEMO_SAMPLE, heatmap_rgb, mask_overlay
from cracklib.pipeline import segment_explanation

st.title("About the crack studio")
st.markdown("""
Pixel masks of cracks are expensive to draw; image labels (*crack* / *no crack*) are cheap. The studio uses a
classifier trained on image labels only and turns its **explanation** into a **segmentation**. Each photo goes
through these steps:

1. **Classify** the photo in tiles at its native resolution (a crack one pixel wide survives). Tiles whose crack
   probability reaches the *gate* go on; the others are left unexplained.
2. **Explain** those tiles: layer-wise relevance propagation (LRP, the default) or a gradient method (Integrated
   Gradients, DeepLift, Input×Gradient, GradientSHAP, DeepLiftSHAP) against a damage-free baseline. Network
   methods give the map in one pass instead: **B-cos**, a classifier that explains itself; **NN-Explainer**, a
   network trained to mask the classifier's evidence; and two **U-Nets**, `unet` (trained on pixel masks, the
   reference) and `distilled` (trained on this product's own explanation masks, from image labels only), whose
   map is a crack probability.
3. **Threshold** the map into a mask: a Gaussian mixture (the default), a beta mixture, iterative mean, Otsu, a
   percentile; a U-Net's probability is cut at 0.5.
4. **Refine** the mask on the photo: of the thresholded band, keep the pixels that stand out from the surface
   around them as a crack does, darker (or brighter, for a bright crack: *crack polarity*).
5. **Post-process**: close gaps along the crack, remove small specks.
6. **Measure** the cracks: area, count, length along the skeleton, widths; and, for a series of photos of one
   surface, how they **grew**.
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
# The user-facing name of the weights (the sidebar's), never where they lie on the server.
name = Path(weights).stem
st.subheader("The model")
st.markdown(f"**{studio.plain(name)}**: {studio.plain(card.arch)}, width {card.width}, "
            f"{card.input_size}-pixel input.")
st.markdown("**Test metrics**")
if not card.test_metrics:
    st.caption("Its card gives no test metrics.")
undefined = False
for title, section in (card.test_metrics or {}).items():
    st.caption(studio.plain(title))
    rows = studio.metric_rows(section)
    st.dataframe(rows, width="stretch", hide_index=True)
    undefined |= any(cell == "–" for row in rows for cell in row.values())
if undefined:
    st.caption("–: not defined for that set (a true-negative rate, a balanced accuracy or an AUC needs crack-free "
               "test photos).")
with st.expander("Training data"):
    st.json(card.training_data, expanded=False)
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
- M. Böhle, M. Fritz, B. Schiele: *B-cos Networks: Alignment is All We Need for Interpretability*. CVPR 2022.
""")
