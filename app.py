"""Crack studio: the Streamlit entry point (`make run`, then open http://localhost:8501)."""
import streamlit as st

st.set_page_config(page_title="Crack studio", page_icon="🧱", layout="wide")

navigation = st.navigation([
    st.Page("pages/segment.py", title="Segment", icon="🔍", default=True),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/growth.py", title="Growth", icon="📈"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="📊"),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/about.py", title="About", icon="ℹ️"),
])
navigation.run()
