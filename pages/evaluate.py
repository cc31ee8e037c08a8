"""Evaluate page: a data folder (path or zip), methods × thresholds, metrics table and PR curves."""

import tempfile
from pathlib import Path

import streamlit as st

from cracklib import studio
from cracklib.io import read_dataset
from cracklib.run import evaluate_grid, grid_curves
from cracklib.run import table_csv
from cracklib.errors import CrackInputError
from cracklib.mask import POSTPROCESSING
from cracklib.pipeline import method_choices
from cracklib.io import write_sample_dataset
from cracklib.mask import THRESHOLDS

st.title("Evaluate on a data set")
weights, config = studio.sidebar_config(method=False, mask=False)  # thresholds and post-processings: below
st.caption("A folder in the `../shared/data` layout (`images/`, `masks/`, `manifest.csv`), or `crack/` and "
           "`no_crack/` sub-folders. Segmentation is scored on the images whose mask holds crack pixels.")
source = st.radio("Data", ["bundled samples", "folder on the server", "zip upload"], horizontal=True)
folder, shown = None, None  # the folder, and the name the page shows for it (never a server path)
if source == "bundled samples":
    folder, shown = write_sample_dataset(Path(tempfile.gettempdir()) / "cracklib_samples"), "bundled samples"
elif source == "folder on the server":
    known = studio.server_data_folders()
    if known:
        shown = st.selectbox("Data folder", list(known))
        folder = known[shown]
    else:
        st.info(f"No data folder on this server (set {studio.DATA_ROOTS_VARIABLE} to offer some).")
else:
    upload = st.file_uploader("Zip of a data folder", type=["zip"])
    if upload is not None:
        try:
            folder, shown = studio.unpacked_zip(upload.getvalue(), upload.name), upload.name
        except CrackInputError as error:
            st.error(studio.plain(error))
left, middle, right, last = st.columns(4)
split = left.selectbox("Split", ["test", "val", "train", "all"])
choices = {choice.label: choice for choice in method_choices()}
methods = middle.multiselect("Methods", list(choices), default=["lrp (epsilon_gamma_box)", "deeplift"])
thresholds = right.multiselect("Thresholds", list(THRESHOLDS), default=["simple", "gmm"],
                               help="fixed and probability cut at a fixed value: they are applied to the maps that "
                                    "are probabilities (the segmentation networks, nn_explainer) only")
posts = last.multiselect("Post-processing", list(POSTPROCESSING), default=["none", "paper"])
limit = st.number_input("At most this many images (0 = all)", min_value=0, value=20)

selection = (source, shown, split)
if st.button("Run", type="primary", disabled=folder is None or not (methods and thresholds and posts)):
    skipped: list[str] = []  # bad manifest rows and unreadable files: named, the rest evaluated
    try:
        samples = read_dataset(folder, split=None if split == "all" else split, skipped=skipped, name=shown)
        samples = samples[:limit] if limit else samples
        with studio.progress_bar("Evaluating", "image") as progress:
            rows = evaluate_grid(studio.classifier(weights), samples,
                                 [choices[label].applied_to(config.explanation) for label in methods],
                                 thresholds, posts, mask=config.mask, skipped=skipped, progress=progress)
        st.session_state["evaluation"] = {"selection": selection, "rows": rows, "skipped": skipped}
    except CrackInputError as error:
        st.error(studio.plain(error))
        st.session_state.pop("evaluation", None)

evaluation = st.session_state.get("evaluation")
if evaluation and evaluation["selection"] != selection:
    st.info("The data selection changed: press Run to evaluate it.")  # never results of another folder
    evaluation = None
for problem in (evaluation or {}).get("skipped", []):
    st.warning(f"Left out: {studio.plain(problem)}")
if evaluation and evaluation["rows"]:
    rows = evaluation["rows"]
    st.subheader(f"{studio.plain(shown)}: {rows[0]['n_images']} images with cracks")
    table = [{key: value for key, value in row.items() if key != "sampler"} for row in rows]
    st.dataframe(table, width="stretch", placeholder="")
    st.download_button("Table (CSV)", table_csv(table), file_name="evaluation.csv", mime="text/csv")
    st.plotly_chart(studio.pr_figure(grid_curves(rows)), width="stretch")
elif evaluation is not None:
    st.warning("No image in that selection has crack pixels in its mask: nothing to score.")
