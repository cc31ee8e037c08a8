"""Campaign page: a finished `cracklib batch` campaign's table, worst photos first, with their masks.

Everything in a campaign's table and file names comes from a file that may have been crafted: it is shown as text
(dataframe cells, or escaped with ``studio.plain``), and a bad row or picture is one line of error while the rest
is shown.
"""

import streamlit as st

from cracklib import studio
from cracklib.errors import CrackInputError
from cracklib.io import preview, read_image
from cracklib.run import RANKINGS, read_campaign
from cracklib.studio.cache import example_truth

#: Rows with bad values named one line each, up to this many; the rest are counted (a crafted table may hold
#: thousands, and a page of red boxes hides the table).
NAMED_PROBLEMS = 20


def _number(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


st.title("Campaign results")
st.caption("The table of a campaign run with `python -m cracklib batch PHOTOS --out campaigns/NAME` "
           "(docs: *Campaigns*): every photo's numbers, the worst first, with their masks.")
source = st.radio("Campaign", ["example (bundled samples)", "campaign on the server", "zip upload"],
                  horizontal=True)
folder, truth = None, None  # truth: true crack pixels by photo name, known for the example only
try:
    if source == "example (bundled samples)":
        folder, truth = studio.example_campaign(), example_truth()
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
    st.error(studio.plain(error))
    campaign = None
if campaign is None:
    st.stop()

if truth is not None:
    st.info("The example runs the default pipeline on the bundled samples, whose true masks are known: a photo "
            "whose decision its true mask contradicts is noted in the table and under its picture.")
for problem in campaign.problems[:NAMED_PROBLEMS]:
    st.error(studio.plain(problem))
if len(campaign.problems) > NAMED_PROBLEMS:
    st.error(f"… and {len(campaign.problems) - NAMED_PROBLEMS:,} more rows with values that are not valid numbers "
             "(shown blank).")

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
noted = [(row, campaign.notes(row, true_crack_pixels=truth)) for row in ranked]
# Photos by their name in the campaign (sub-folders joined by "__"), not by a path on the server. Text cells are
# shown as text; blank cells (no scale, a value that was not a number) stay blank.
hidden = ("photo", "settings_hash", "error", "outputs", "bad_values")
st.dataframe([{"photo": campaign.name(row), "note": "; ".join(row_notes) or None,
               **{key: value for key, value in row.items() if key not in hidden}} for row, row_notes in noted],
             hide_index=True, width="stretch", placeholder="")

for row, row_notes in noted[:shown]:
    files = campaign.files(row)
    cracks = int(row["n_cracks"] or 0)
    st.markdown(f"**{studio.plain(campaign.name(row))}** · length {_number(row['length_px'], ',.0f')} px · "
                f"area {_number(row['area_px'], ',.0f')} px · {cracks} crack{'' if cracks == 1 else 's'} · "
                f"crack probability {_number(row['crack_probability'], '.2f')}")
    for note in row_notes:
        st.warning(studio.plain(note))
    columns = st.columns(2)
    for column, kind, caption in [(columns[0], "overlay", "mask on the photo"),
                                  (columns[1], "heatmap", "relevance")]:
        if kind not in files:
            column.caption(f"no {kind} file in this campaign")
            continue
        try:  # a campaign's pictures are files like any upload: one bad file is one line
            picture = preview(read_image(files[kind], name=files[kind].name), studio.DISPLAY_SIDE)
        except CrackInputError as error:
            column.error(studio.plain(error))
            continue
        column.image(picture, caption=caption, width="stretch")
if campaign.errors:
    st.error(f"{len(campaign.errors):,} photo{'' if len(campaign.errors) == 1 else 's'} could not be processed:")
    st.dataframe([{"photo": campaign.name(row), "error": row["error"]} for row in campaign.errors],
                 hide_index=True, width="stretch")
