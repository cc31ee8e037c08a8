"""Train page: labelled images in (a zip), a classifier out, with live progress; use it in the other pages."""

import io
import json
import tempfile
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from cracklib import studio
from cracklib.io import zip_bytes
from cracklib.errors import CrackInputError
from cracklib.nets import ARCHITECTURES, ModelCard, checked_model_name
from cracklib.train import train_and_save

st.title("Train a classifier")
st.caption("Image labels only: a zip with `crack/` and `no_crack/` folders (split 80/20 into train and "
           "validation), or a data folder with `manifest.csv`. Training runs on this server's CPU: keep it small.")
source = st.radio("Data", ["synthetic images (demo)", "zip upload"], horizontal=True)
folder, synthetic = None, None
if source == "zip upload":
    upload = st.file_uploader("Zip of labelled images", type=["zip"])
    if upload is not None:
        try:
            folder = studio.unpacked_zip(upload.getvalue(), upload.name)
        except CrackInputError as error:
            st.error(str(error))
else:
    synthetic = st.number_input("Synthetic images", min_value=40, max_value=4000, value=200, step=40)
cols = st.columns(5)
arch = cols[0].selectbox("Architecture", list(ARCHITECTURES))
width = cols[1].select_slider("Width", options=[0.0625, 0.125, 0.25, 0.5, 1.0], value=0.125)
size = cols[2].select_slider("Input size (px)", options=[64, 96, 128, 160, 224], value=64)
epochs = cols[3].number_input("Epochs", min_value=1, max_value=200, value=4)
name = cols[4].text_input("Name", value="my_model")

if st.button("Train", type="primary", disabled=source == "zip upload" and folder is None):
    bar = st.progress(0.0, text="Preparing the examples…")
    chart = st.empty()
    history = []

    def on_batch(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Epoch {len(history) + 1} of {epochs}: batch {done} of {total}")

    def on_epoch(stats) -> None:
        history.append(stats.to_dict())
        figure = go.Figure()
        for key in ("train_loss", "val_loss", "train_accuracy", "val_balanced_accuracy"):
            figure.add_trace(go.Scatter(x=[h["epoch"] for h in history], y=[h[key] for h in history],
                                        mode="lines+markers", name=key.replace("_", " ")))
        figure.update_layout(xaxis_title="epoch", height=300, margin=dict(l=0, r=0, t=10, b=0))
        chart.plotly_chart(figure, width="stretch", key=f"history_{len(history)}")

    try:
        out = Path(tempfile.mkdtemp(prefix=studio.TRAINED_PREFIX)) / f"{checked_model_name(name)}.pt"
        card = train_and_save(data=[str(folder)] if folder else None, synthetic=synthetic, arch=arch, width=width,
                              size=size, epochs=int(epochs), out=out, log=io.StringIO(),
                              on_epoch=on_epoch, on_batch=on_batch)
        st.session_state["trained"] = {"path": str(out), "card": card.to_json(), "history": history}
    except (CrackInputError, ValueError) as error:
        st.error(str(error).splitlines()[0])
    bar.empty()

trained = st.session_state.get("trained")
if trained:
    path = Path(trained["path"])
    st.success(f"Trained {path.name}: {len(trained['history'])} epochs.")
    best = ModelCard.from_dict(json.loads(trained["card"])).kept_epoch
    if best:
        left, right = st.columns(2)
        left.metric("Validation balanced accuracy (kept epoch)", f"{best['val_balanced_accuracy']:.3f}")
        right.metric("Validation loss (kept epoch)", f"{best['val_loss']:.4f}")
    if trained["history"]:
        st.dataframe(trained["history"], width="stretch")
    with st.expander("Model card"):
        st.code(trained["card"], language="json")
    files = {file.name: file.read_bytes() for file in sorted(path.parent.glob(f"{path.stem}*"))}
    left, right = st.columns(2)
    left.download_button("Download weights, card and baselines (zip)", zip_bytes(files),
                         file_name=f"{path.stem}.zip", mime="application/zip")
    if right.button("Use this model in the other pages"):
        studio.remember_trained(path)
        st.session_state["selected_weights"] = str(path)
        st.session_state.pop("model", None)  # the sidebar picks the new model up
        st.success("Selected: the Segment, Compare, Growth and Evaluate pages now use it (see the sidebar).")
