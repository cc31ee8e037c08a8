"""Growth page: a pair or a series of photos of one surface, aligned, segmented, and what grew."""

import plotly.graph_objects as go
import streamlit as st

from cracklib import studio
from cracklib.errors import CrackInputError
from cracklib.run import GROWTH_CONFIG, TEMPORAL_MODES
from cracklib.io import NEW_CRACK_COLOR, OLD_CRACK_COLOR, growth_overlay, preview

st.title("Crack growth")
weights, config = studio.sidebar_config(defaults=GROWTH_CONFIG)
uploads = st.file_uploader("Frames of one surface (sorted by file name = time order)", type=studio.IMAGE_TYPES,
                           accept_multiple_files=True)
left, middle, right = st.columns(3)
align = left.toggle("Align frames", value=True, help="phase correlation onto the first frame, then crop")
rotation = middle.toggle("Also undo rotation", value=False, help="a search over ±10 degrees")
temporal = right.selectbox("Frames", list(TEMPORAL_MODES), help="; ".join(f"{name}: {text}" for name, text
                                                                          in TEMPORAL_MODES.items()))
if uploads:
    frames = sorted(((upload.name, upload.getvalue()) for upload in uploads), key=lambda item: item[0])
else:
    st.info("No upload yet: showing a synthetic crack that grows over five frames (shifted and re-exposed).")
    frames = studio.demo_growth_frames()

try:
    report = studio.growth_report(tuple(frames), weights, config,
                                  dict(align=align, rotation=rotation, temporal=temporal))
except CrackInputError as error:
    st.error(str(error))
    st.stop()
for _, problem in report.skipped:
    st.error(problem)
for frame in report.growth.frames:
    if frame.flagged:
        st.warning(f"{frame.name} disagrees with its neighbours: the series overruled "
                   f"{frame.disagreement:.0%} of its own mask. Check its exposure, focus and alignment.")

data = report.growth.to_dict()
figure = go.Figure()
for key, title in [("area_px", "area (px)"), ("length_px", "length (px)"), ("max_width_px", "max width (px)")]:
    figure.add_trace(go.Scatter(x=[frame["image"] for frame in data["frames"]],
                                y=[frame[key] for frame in data["frames"]], mode="lines+markers", name=title,
                                yaxis="y" if key == "area_px" else "y2"))
# Both axes from zero: a 0.1 % change must not be drawn as a full-height rise.
figure.update_layout(yaxis=dict(title="area (px)", rangemode="tozero"),
                     yaxis2=dict(title="length, width (px)", overlaying="y", side="right", rangemode="tozero"),
                     height=320, margin=dict(l=0, r=0, t=10, b=0), legend=dict(orientation="h"))
st.plotly_chart(figure, width="stretch")
st.caption("Crack in the previous frame: orange. New crack: magenta (all of the first frame's, which has no "
           f"previous frame). Colours {OLD_CRACK_COLOR} and {NEW_CRACK_COLOR}.")
columns = st.columns(min(3, len(report.growth.frames)))
for index, frame in enumerate(report.growth.frames):
    picture = growth_overlay(preview(frame.image, studio.DISPLAY_SIDE),
                             preview(report.growth.previous_mask(index), studio.DISPLAY_SIDE),
                             preview(frame.result.mask, studio.DISPLAY_SIDE))
    row = data["frames"][index]
    columns[index % len(columns)].image(
        picture, width="stretch",
        caption=f"{frame.name}: probability {row['crack_probability']:.2f}, area {row['area_px']:,} px, "
                f"shift {row['shift_px'][0]:+.1f}, {row['shift_px'][1]:+.1f} px")
st.subheader("Frames")
st.dataframe(data["frames"], width="stretch")
st.subheader("Changes between consecutive frames")
st.dataframe(data["steps"], width="stretch")
st.subheader("Changes since the first frame")
st.dataframe(data["cumulative"], width="stretch")
st.download_button("Growth report (JSON)", report.json, file_name="growth.json", mime="application/json")
