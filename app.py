"""Crack studio: the Streamlit entry point (`make run`, then open http://localhost:8501)."""
import streamlit as st

from cracklib import studio

st.set_page_config(page_title="Crack studio", page_icon=":material/broken_image:", layout="wide")

navigation = st.navigation([
    st.Page("pages/segment.py", title="Segment", icon=":material/search:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/growth.py", title="Growth", icon=":material/trending_up:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/table_chart:"),
    st.Page("pages/campaign.py", title="Campaign", icon=":material/photo_library:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/about.py", title="About", icon=":material/info:"),
])
with studio.page_run():  # background work waits for it
    studio.trained_models()  # the session's trained models stay in the address on every page (a reload finds them)
    navigation.run()
