"""Plotly figures. Every function returns a ``plotly.graph_objects.Figure``; call ``.show()``.

* :mod:`.theme` — shared look, colours, and the site renderer.
* :mod:`.distribution` — one next-token distribution (bars, sliders, histograms, traces).
"""

from .distribution import token_chart
from .theme import COLORS, figure_html, style, use_site_renderer

__all__ = ["COLORS", "figure_html", "style", "token_chart", "use_site_renderer"]
