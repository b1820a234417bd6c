"""The Streamlit app: ``streamlit run dashboard/app.py`` (router), pages in ``app_pages/``.

A package so that pages and tests import ``from dashboard import data, ui`` through the
editable install (``pip install -e .``), whatever folder ``streamlit run`` starts from.
"""
