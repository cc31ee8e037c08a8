"""Campaign page: a finished `cracklib batch` campaign's table, worst photos first, with their masks."""

import streamlit as st

from cracklib import studio
from cracklib.run import RANKINGS, read_campaign
from cracklib.errors import CrackInputError
from cracklib.io import read_image
from cracklib.io import preview

st.title("Campaign results")
st.caption("The table of a campaign run with `python -m cracklib batch PHOTOS --out campaigns/NAME` "
           "(docs: *Campaigns*): every photo's numbers, the worst first, with their masks.")
source = st.radio("Campaign", ["example (bundled samples)", "campaign on the server", "zip upload"],
                  horizontal=True)
folder = None
try:
    if source == "example (bundled samples)":
        folder = studio.example_campaign()
    elif source == "campaign on the server":
        known = studio.server_campaigns()
        if known:
            folder = known[st.selectbox("Campaign folder", list(known))]
        else:
            st.info(f"No finished campaign on this server (set {studio.CAMPAIGN_ROOTS_VARIABLE} or write "
                    "campaigns to `campaigns/`).")
    else:
        upload = st.file_uploader("Zip of a campaign folder (results.csv and photos/)", type=["zip"])
        if upload is not None:
            folder = studio.unpacked_zip(upload.getvalue(), upload.name)
    campaign = read_campaign(folder) if folder is not None else None
except CrackInputError as error:
    st.error(str(error))
    campaign = None
if campaign is None:
    st.stop()

summary = campaign.summary()
for column, (label, value) in zip(st.columns(4), [("photos", f"{summary['photos']:,}"),
                                                  ("cracked", f"{summary['cracked']:,}"),
                                                  ("errors", f"{summary['errors']:,}"),
                                                  ("total crack length", f"{summary['total_length_px']:,.0f} px")]):
    column.metric(label, value)
left, right = st.columns(2)
ranking = left.selectbox("Worst first by", list(RANKINGS))
shown = right.slider("Photos shown with their masks", 1, 24, 6)
ranked = campaign.worst_first(RANKINGS[ranking])
# Photos by their name in the campaign (sub-folders joined by "__"), not by a path on the server.
st.dataframe([{"photo": campaign.name(row), **{k: v for k, v in row.items()
                                               if k not in ("photo", "settings_hash", "error", "outputs")}}
              for row in ranked], hide_index=True, width="stretch")
for row in ranked[:shown]:
    files = campaign.files(row)
    cracks = int(row["n_cracks"] or 0)
    st.markdown(f"**{campaign.name(row)}** · length {row['length_px'] or 0:,.0f} px · "
                f"area {row['area_px'] or 0:,.0f} px · {cracks} crack{'' if cracks == 1 else 's'} · "
                f"crack probability {row['crack_probability']:.2f}")
    columns = st.columns(2)
    for column, kind, caption in [(columns[0], "overlay", "mask on the photo"),
                                  (columns[1], "heatmap", "relevance")]:
        if kind in files:
            column.image(preview(read_image(files[kind]), studio.DISPLAY_SIDE), caption=caption, width="stretch")
        else:
            column.caption(f"no {kind} file in this campaign")
if campaign.errors:
    st.error("Photos that could not be processed:\n\n" + "\n".join(f"- {row['error']}" for row in campaign.errors))
