"""Plotly figures. Every function returns a ``plotly.graph_objects.Figure``; call ``.show()``.

* :mod:`.theme` — shared look, colours, and the site renderer.
* :mod:`.distribution` — one next-token distribution (bars).
* :mod:`.sliders` — one parameter swept over a grid, as a slider that works without a kernel.
"""

from .distribution import token_chart
from .sliders import SliderFrame, slider_chart, slider_frames
from .theme import COLORS, figure_html, style, use_site_renderer

__all__ = ["COLORS", "SliderFrame", "figure_html", "slider_chart", "slider_frames", "style", "token_chart", "use_site_renderer"]
