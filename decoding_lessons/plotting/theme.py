"""Chart styling shared by every figure, and the renderer that puts figures into site pages.

Figures use transparent backgrounds and let the page's stylesheet colour text and grid lines
(``docs/stylesheets/charts.css`` maps them to Material's ``--md-default-fg-color`` variables), so a
chart follows the light/dark palette toggle without being rebuilt. The marker colours below were
chosen to read on both palettes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re

import plotly.graph_objects as go
import plotly.io as pio

# Marker colours readable on Material's white (default) and slate (dark) backgrounds.
COLORS = {
    "logit": "#4e79a7",  # blue
    "prob": "#e15759",  # red
    "kept": "#59a14f",  # green
    "filtered": "rgba(148, 148, 148, 0.55)",  # grey
    "rest": "#9c755f",  # brown: the rest of the vocabulary
    "accent": "#f28e2b",  # orange
    "threshold": "#b07aa1",  # purple
}
QUALITATIVE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

GRID = "rgba(128, 128, 128, 0.25)"
TEXT = "rgb(110, 110, 110)"  # fallback when the page's CSS is absent (e.g. in Jupyter)

RENDERER_NAME = "decoding_lessons"


def style(fig: go.Figure, title: str | None = None, height: int = 420) -> go.Figure:
    """Apply the shared look: transparent background, neutral grid, compact margins."""
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left") if title else None,
        height=height,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font=dict(family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, sans-serif", size=13, color=TEXT),
        margin=dict(l=60, r=60, t=60 if title else 30, b=90),
        hoverlabel=dict(font_size=13),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
        colorway=QUALITATIVE,
    )
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor=GRID, linecolor=GRID)
    return fig




SIGNIFICANT_DIGITS = 6  # numbers in page JSON: beyond what a chart or a 4-decimal hover can show


def _round_floats(value, digits: int):
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, list):
        return [_round_floats(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round_floats(v, digits) for k, v in value.items()}
    return value


def compact_figure(fig: go.Figure | dict, digits: int = SIGNIFICANT_DIGITS) -> dict:
    """The figure as a plain dict, made lighter for a web page without changing what it shows.

    - numbers are rounded to ``digits`` significant digits (float32 values otherwise print with 17);
    - the template keeps its layout defaults but only the per-trace defaults of the trace types the
      figure uses (Plotly's default template carries ~4 KB of defaults for 24 trace types in every
      chart).
    """
    fig_dict = json.loads(fig.to_json() if isinstance(fig, go.Figure) else go.Figure(fig).to_json())
    template = fig_dict.get("layout", {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("data"), dict):
        traces = list(fig_dict.get("data", [])) + [t for fr in fig_dict.get("frames", []) for t in fr.get("data", [])]
        used = {t.get("type", "scatter") for t in traces}
        template["data"] = {k: v for k, v in template["data"].items() if k in used}
    return _round_floats(fig_dict, digits)


def figure_html(fig: go.Figure, number: int = 0) -> str:
    """The figure as an HTML fragment without plotly.js (the page loads it once), compacted by
    :func:`compact_figure`.

    The div id is derived from the figure's JSON and ``number``, its position in the page (the
    renderer counts), so two builds of the same notebook produce identical HTML."""
    fig = compact_figure(fig)
    fig_json = json.dumps(fig, sort_keys=True)
    digest = hashlib.sha1(fig_json.encode()).hexdigest()[:10]
    return unescape_script_json(
        pio.to_html(
            fig,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            div_id=f"dl-plot-{number}-{digest}",
            config={"displaylogo": False, "responsive": True},
        )
    )


# Plotly writes the figure's JSON into a <script> with every non-ASCII character, "<", ">" and "/"
# as a six-byte \uXXXX escape: a hover's "<br>" costs 16 bytes, a visible space "␣" 6. Only "</"
# could end the script early, so we write characters as UTF-8 and the tags hover text uses as
# themselves, with "</" kept as "<\/" (the same string to JSON and JavaScript).
_ESCAPE = re.compile(r"(\\\\)|\\u003c(\\u002f)?(br|b|i|sup|sub|em)\\u003e|\\u([0-9a-fA-F]{4})")


def _unescape(match: re.Match) -> str:
    backslash, closing, tag, code = match.groups()
    if backslash:  # an escaped backslash: consumed whole, so the text after it is not read as an escape
        return backslash
    if tag:
        return "<\\/" + tag + ">" if closing else "<" + tag + ">"
    value = int(code, 16)
    if value < 0x80 or 0xD800 <= value <= 0xDFFF or value in (0x2028, 0x2029):
        return match.group(0)  # ASCII escapes (<, >, /, &), surrogate halves, JS line separators
    return chr(value)


def unescape_script_json(html: str) -> str:
    """Undo Plotly's needless ``\\uXXXX`` escapes in a figure's script (see above); the JSON it
    holds decodes to the same value."""
    return _ESCAPE.sub(_unescape, html)


class SiteRenderer(pio.base_renderers.MimetypeRenderer):
    """A Plotly renderer emitting ``text/html`` without plotly.js.

    mkdocs-jupyter drops Plotly's default ``plotly_mimetype`` output (blank charts), and the
    ``notebook`` renderer inlines 4.8 MB of plotly.js into every page; this one emits just the
    figure and relies on the page loading ``plotly.min.js`` once. :attr:`charts` counts the figures
    it has emitted (the benchmark reads it); each one's number makes its div id."""

    def __init__(self):
        super().__init__()
        # Plotly renders through a shallow copy of the registered renderer (to apply keyword
        # arguments), so the count lives in a list that every copy shares
        self._count = [0]

    @property
    def charts(self) -> int:
        return self._count[0]

    def to_mimebundle(self, fig_dict):
        html = figure_html(go.Figure(fig_dict), self._count[0])
        self._count[0] += 1
        return {"text/html": html}


def use_site_renderer() -> SiteRenderer:
    """Register a new :class:`SiteRenderer`, make it the default for ``fig.show()``, and return it.

    ``$DECODING_LESSONS_RENDERER`` names another Plotly renderer instead (the benchmark sets it to
    ``notebook`` to measure mkdocs-jupyter's usual way, which inlines plotly.js)."""
    import os

    renderer = SiteRenderer()
    pio.renderers[RENDERER_NAME] = renderer
    pio.renderers.default = os.environ.get("DECODING_LESSONS_RENDERER") or RENDERER_NAME
    return renderer
