"""Growth page: a pair or a series of photos of one surface, aligned, segmented, and what grew."""

import streamlit as st

from cracklib import studio
from cracklib.errors import CrackInputError
from cracklib.run import GROWTH_CONFIG, TEMPORAL_MODES
from cracklib.run.growth import STATIC_RULE, STATIC_RULES
from cracklib.io import growth_overlay, preview

st.title("Crack growth")
weights, config = studio.sidebar_config(defaults=GROWTH_CONFIG)
# No file-type filter: a file the browser would refuse reaches the reader, which says why in a line.
uploads = st.file_uploader("Frames of one surface (sorted by file name = time order)", accept_multiple_files=True)
left, middle, right, last = st.columns(4)
align = left.toggle("Align frames", value=True, help="phase correlation onto the first frame, then crop")
rotation = middle.toggle("Also undo rotation", value=False, help="a search over ±10 degrees")
temporal = right.selectbox("Frames", list(TEMPORAL_MODES), help="; ".join(f"{name}: {text}" for name, text
                                                                          in TEMPORAL_MODES.items()))
static = last.selectbox("Unchanged features", list(STATIC_RULES), index=list(STATIC_RULES).index(STATIC_RULE),
                        help="what becomes of mask pixels whose photo never changed (a machined notch, an edge): "
                             + "; ".join(f"{name}: {text}" for name, text in STATIC_RULES.items()))
if uploads:
    frames = sorted(((upload.name, upload.getvalue()) for upload in uploads), key=lambda item: item[0])
else:
    st.info("No upload yet: showing a synthetic crack that grows over five frames (shifted and re-exposed).")
    frames = studio.demo_growth_frames()

try:
    report = studio.growth_report(tuple(frames), weights, config,
                                  dict(align=align, rotation=rotation, temporal=temporal, static=static))
except CrackInputError as error:
    st.error(studio.plain(error))
    st.stop()
for _, problem in report.skipped:
    st.error(studio.plain(problem))
for frame in report.growth.frames:
    if frame.flagged:
        st.warning(f"{studio.plain(frame.name)} disagrees with its neighbours: the series overruled "
                   f"{frame.disagreement:.0%} of its own mask. Check its exposure, focus and alignment.")

data = report.growth.to_dict()
st.plotly_chart(studio.growth_figure(data["frames"]), width="stretch")
st.caption("Frames in time order, from left to right in each panel. In the pictures: crack in the previous "
           "frame orange, new crack magenta (all of the first frame's, which has no previous frame).")
columns = st.columns(min(3, len(report.growth.frames)))
for index, frame in enumerate(report.growth.frames):
    picture = growth_overlay(preview(frame.image, studio.DISPLAY_SIDE),
                             preview(report.growth.previous_mask(index), studio.DISPLAY_SIDE),
                             preview(frame.result.mask, studio.DISPLAY_SIDE))
    row = data["frames"][index]
    columns[index % len(columns)].image(
        picture, width="stretch",
        caption=f"{studio.plain(frame.name)}: probability {row['crack_probability']:.2f}, area "
                f"{row['area_px']:,} px, shift {row['shift_px'][0]:+.1f}, {row['shift_px'][1]:+.1f} px")
st.subheader("Frames")
st.dataframe(data["frames"], width="stretch", placeholder="")
st.subheader("Changes between consecutive frames")
st.dataframe(data["steps"], width="stretch", placeholder="")
st.subheader("Changes since the first frame")
st.dataframe(data["cumulative"], width="stretch", placeholder="")
st.download_button("Growth report (JSON)", report.json, file_name="growth.json", mime="application/json")
