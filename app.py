"""Crack studio: the Streamlit entry point (`make run`, then open http://localhost:8501)."""
import streamlit as st

st.set_page_config(page_title="Crack studio", page_icon="🧱", layout="wide")

navigation = st.navigation([
    st.Page("pages/segment.py", title="Segment", icon="🔍", default=True),
])
navigation.run()
