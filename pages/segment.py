"""Segment page: photos in (and optional ground truth), crack masks, severity and downloads out."""

from functools import partial

import streamlit as st

from cracklib import studio
from cracklib.io import DEMO_SAMPLE, match_masks
from cracklib.errors import CrackInputError
from cracklib.run import result_curve, score_result
from cracklib.run import (crack_rows, result_file_makers, result_row, table_csv, table_csv_bytes, unique_names,
                          zip_of_made_files)
from cracklib.measure import SCORE_KEYS
from cracklib.io import mask_overlay, outline_boxes, preview

SCORE_LABELS = dict(zip(SCORE_KEYS, ("IoU", "Precision", "Recall", "F1", "AP")))

st.title("Segment cracks")
weights, config = studio.sidebar_config()
view = st.radio("Relevance", studio.HEATMAP_VIEWS, horizontal=True)
# No file-type filter: a file the browser would refuse with a small icon reaches the reader instead, which names
# it and says why in a line.
uploads = st.file_uploader("Photos (jpg, png, tif, bmp; any size)", accept_multiple_files=True)
mask_uploads = st.file_uploader("Ground-truth masks (optional; matched by file name, e.g. photo_mask.png)",
                                accept_multiple_files=True)
exclude_uploads = st.file_uploader("Regions to ignore (optional; white = never crack, e.g. lane markings or "
                                   "joints; matched by file name, e.g. photo_ignore.png)",
                                   accept_multiple_files=True)
excludes = {upload.name: upload.getvalue() for upload in exclude_uploads or []}
if uploads:
    files = list(zip(unique_names([upload.name for upload in uploads]), (upload.getvalue() for upload in uploads)))
    masks = {upload.name: upload.getvalue() for upload in mask_uploads or []}
else:
    image_path, mask_path = DEMO_SAMPLE
    if mask_uploads or exclude_uploads:
        st.warning(f"{len(mask_uploads or []) + len(exclude_uploads or [])} mask file(s) uploaded but no photo: "
                   "upload the photos too (masks are matched to them by file name).")
    st.info(f"No photo uploaded yet: showing the bundled sample **{image_path.name}**, a real road photo from "
            "CrackSC, with its ground truth.")
    files = [(image_path.name, image_path.read_bytes())]
    masks = {mask_path.name: mask_path.read_bytes()}
pairs = match_masks([name for name, _ in files], list(masks))
exclude_pairs = match_masks([name for name, _ in files], list(excludes))
for name in sorted(set(masks) - set(pairs.values())) + sorted(set(excludes) - set(exclude_pairs.values())):
    st.warning(f"{studio.plain(name)}: no photo with a matching name; this mask is not used.")

downloads, rows, shown = {}, [], []
for index, (name, data) in enumerate(files):
    widget_key = f"{index}_{name}"  # unique by construction, whatever the file names
    st.subheader(studio.plain(name))
    try:
        explained = studio.explanation(name, data, weights, config.explanation)
    except CrackInputError as error:
        st.error(studio.plain(error))
        continue
    image, picture, explanation, heat, _, _ = explained
    exclude = (studio.read_mask_upload(excludes[exclude_pairs[name]], exclude_pairs[name], image.shape[:2])
               if name in exclude_pairs else None)
    result = studio.measured(explained, config.mask, exclude=exclude)
    truth = studio.read_mask_upload(masks[pairs[name]], pairs[name], image.shape[:2]) if name in pairs else None
    scores = score_result(result, truth) if truth is not None else None
    # The mask is drawn before its severity is measured (about 0.2 s on a 12 MP photo, benchmarks.speed.mask_step):
    # the metrics and the crack table are filled in below it, in the places kept for them here.
    cols = st.columns(6)
    cols[0].metric("Crack probability", f"{result.probability:.3f}")
    cols[1].metric("Area (px)", f"{result.area_px:,}")
    cols[5].metric("Tiles explained", f"{result.n_explained} / {result.n_tiles}")
    severity_places = [col.empty() for col in cols[2:5]]
    details = st.container()
    selected = studio.selected_rows(f"cracks_{widget_key}")
    chosen = [result.severity.cracks[row] for row in selected if row < len(result.severity.cracks)]
    left, right = st.columns(2)
    overlay = mask_overlay(picture, preview(result.mask, studio.DISPLAY_SIDE),
                           truth=None if truth is None else preview(truth, studio.DISPLAY_SIDE))
    if chosen:
        overlay = outline_boxes(overlay, [crack.bbox for crack in chosen], scale=picture.shape[0] / image.shape[0])
    right.image(overlay, caption="Crack mask (red)" + ("; missed ground truth in green" if truth is not None else "")
                + ("; selected cracks outlined in yellow" if chosen else "")
                + ("; ignored regions left out" if exclude is not None else ""), width="stretch")
    studio.mark_page_event("mask drawn")
    severity = result.severity
    severity_places[0].metric("Cracks", severity.n_cracks)
    severity_places[1].metric("Length (px)", f"{severity.length_px:.0f}")
    severity_places[2].metric("Max / mean width (px)", f"{severity.max_width_px:.1f} / {severity.mean_width_px:.1f}")
    studio.mark_page_event("metrics drawn")
    # The relevance beside the mask comes last, at the mask's size: a threshold change leaves it as it was.
    left.image(studio.relevance_picture(picture, heat, view=view), width="stretch",
               caption=("Relevance: " + studio.RELEVANCE_LEGEND) if result.explained else
               "Not explained: the photo's crack probability is below the gate.")
    if severity.mm_per_px:
        details.caption(f"Area {severity.area_mm2:.1f} mm², length {severity.length_mm:.1f} mm, max width "
                        f"{severity.max_width_mm:.2f} mm, mean width {severity.mean_width_mm:.2f} mm")
    if severity.cracks:
        with details.expander(f"The {severity.n_cracks} cracks one by one (fragments closer than {severity.gap_px} "
                              "px count as one; select rows to outline them)"):
            st.dataframe(crack_rows(severity), width="stretch", hide_index=True, on_select="rerun",
                         selection_mode="multi-row", placeholder="", key=f"cracks_{widget_key}")
    if explanation.grid is not None and explanation.n_tiles > 1:
        with st.expander("Where the classifier sees cracks (tile probabilities)"):
            st.plotly_chart(studio.probability_figure(explanation),
                            width="stretch", key=f"tiles_{widget_key}")
    if scores is not None:
        score_cols = st.columns(5)
        for col, (key, label) in zip(score_cols, SCORE_LABELS.items()):
            col.metric(label, "–" if scores[key] is None else f"{scores[key]:.3f}")
        st.plotly_chart(studio.pr_figure([result_curve(f"{config.mask.threshold} score", scores)]),
                        width="stretch", key=f"pr_{widget_key}")
        st.caption(studio.PR_CAPTION)
    makers = result_file_makers(name, image, result, scores)
    downloads.update(makers)
    rows.append(result_row(name, result, scores))
    buttons = st.columns(len(makers))
    stem = name.rsplit(".", 1)[0]
    for col, (file_name, make) in zip(buttons, makers.items()):  # files are made when clicked
        col.download_button(file_name[len(stem):].lstrip("_.").replace(".", " ").upper(), make,
                            file_name=file_name, key=f"download_{widget_key}_{file_name}")
    shown.append(explained)

if rows:
    st.divider()
    st.subheader("All photos")
    st.dataframe(rows, width="stretch", placeholder="")
    left, right = st.columns(2)
    left.download_button("Numbers (CSV)", table_csv(rows), file_name="cracks.csv", mime="text/csv")
    # Library functions with their arguments, not lambdas: a lambda defined here would keep this page's whole
    # namespace (photos, maps, masks) in a reference cycle, freed only when Python's cyclic collector runs
    # (benchmarks.soak.soak: about 140 MB more per 6 MP upload).
    everything = {**downloads, "cracks.csv": partial(table_csv_bytes, rows)}
    right.download_button("Everything (zip)", partial(zip_of_made_files, everything),
                          file_name="cracks.zip", mime="application/zip")
studio.prefetch_measured(shown, config.mask)  # last, so that it never slows the photos above
