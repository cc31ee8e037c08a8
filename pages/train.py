"""Train page: labelled images in (a zip), a classifier out, with live progress; use it in the other pages."""

import io
import json
from pathlib import Path

import streamlit as st

from cracklib import studio
from cracklib.errors import CrackInputError
from cracklib.io import zip_bytes
from cracklib.nets import ARCHITECTURES, ModelCard
from cracklib.train import train_and_save


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


st.title("Train a classifier")
st.caption("Image labels only: a zip with `crack/` and `no_crack/` folders (split 80/20 into train and "
           "validation), or a data folder with `manifest.csv`. Training runs on this server's CPU: keep it small.")
source = st.radio("Data", ["synthetic images (demo)", "zip upload"], horizontal=True)
folder, synthetic, upload_name = None, None, None
if source == "zip upload":
    upload = st.file_uploader("Zip of labelled images", type=["zip"])
    if upload is not None:
        try:
            folder, upload_name = studio.unpacked_zip(upload.getvalue(), upload.name), upload.name
        except CrackInputError as error:
            st.error(studio.plain(error))
else:
    synthetic = st.number_input("Synthetic images", min_value=40, max_value=4000, value=200, step=40)
cols = st.columns(5)
arch = cols[0].selectbox("Architecture", list(ARCHITECTURES))
width = cols[1].select_slider("Width", options=[0.0625, 0.125, 0.25, 0.5, 1.0], value=0.125)
size = cols[2].select_slider("Input size (px)", options=[64, 96, 128, 160, 224], value=64)
epochs = cols[3].number_input("Epochs", min_value=1, max_value=200, value=4)
name = cols[4].text_input("Name", value="my_model")

if st.button("Train", type="primary", disabled=source == "zip upload" and folder is None):
    previous = st.session_state.pop("trained", None)  # a new training replaces the last one's result
    bar = st.progress(0.0, text="Preparing the examples…")
    chart = st.empty()
    history = []
    skipped: list[str] = []  # bad manifest rows and unreadable files: named, the rest trained on

    def on_batch(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Epoch {len(history) + 1} of {epochs}: batch {done} of {total}")

    def on_epoch(stats) -> None:
        history.append(stats.to_dict())
        chart.plotly_chart(studio.training_figure(history), width="stretch", key=f"history_{len(history)}")

    try:
        with studio.training_output(name) as out:  # no folder for a refused name; removed if training fails
            card = train_and_save(data=[str(folder)] if folder else None, synthetic=synthetic, arch=arch,
                                  width=width, size=size, epochs=int(epochs), out=out, log=io.StringIO(),
                                  on_epoch=on_epoch, on_batch=on_batch, skipped=skipped,
                                  names={str(folder): upload_name} if folder else None)
        studio.remember_trained(out)
        st.session_state["trained"] = {"path": str(out), "card": card.to_json(), "history": history,
                                       "skipped": skipped}
    except (CrackInputError, ValueError) as error:
        st.error(studio.plain(error))
        if previous:
            st.info(f"The previous model, {Path(previous['path']).name}, is still offered in the other pages' "
                    "model list.")
    finally:
        bar.empty()
        chart.empty()

trained = st.session_state.get("trained")
if trained and not Path(trained["path"]).is_file():
    st.info(f"{Path(trained['path']).name} was removed after {studio.TRAINED_TTL_S // 3600} hours unused: "
            "train it again to use it.")
    st.session_state.pop("trained")
    trained = None
if trained:
    path = Path(trained["path"])
    card = ModelCard.from_dict(json.loads(trained["card"]))
    best = card.kept_epoch
    summary = f"Trained {path.name}: {_count(len(trained['history']), 'epoch')}."
    accuracy = (best or {}).get("val_balanced_accuracy")
    st.success(summary)  # it was trained; whether it is any good is the warning's to say
    if accuracy is not None and accuracy < studio.UNRELIABLE_BALANCED_ACCURACY:
        st.warning(f"Its validation balanced accuracy is {accuracy:.2f} (0.5 is chance): its masks and counts are "
                   "not to be trusted. More images, more epochs or a larger width may help.")
    skipped = trained.get("skipped", [])
    if skipped:
        st.warning(f"{len(skipped)} left out (unreadable files or bad manifest rows); trained on the rest:")
        st.text("\n".join(skipped))  # one per line, as text: file names are the user's
    if best:
        left, right = st.columns(2)
        left.metric("Validation balanced accuracy (kept epoch)", f"{best['val_balanced_accuracy']:.3f}")
        right.metric("Validation loss (kept epoch)", f"{best['val_loss']:.4f}")
    if trained["history"]:
        st.plotly_chart(studio.training_figure(trained["history"]), width="stretch", key="history")
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
