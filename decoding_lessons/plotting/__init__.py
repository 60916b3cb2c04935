"""Plotly figures. Every function returns a ``plotly.graph_objects.Figure``; call ``.show()``.

* :mod:`.theme` — shared look, colours, and the site renderer.
* :mod:`.distribution` — one next-token distribution (bars).
* :mod:`.sliders` — one parameter swept over a grid, as a slider that works without a kernel.
* :mod:`.cutoffs` — top-p's cumulative curve and min-p's floor, the line each rule draws.
* :mod:`.sampling` — draws against the distribution, generations step by step, processor orders.
* :mod:`.search` — searches: the beam-search tree, contrastive search's two terms.
"""

from .cutoffs import cumulative_chart, cutoff_slider, min_p_chart
from .distribution import token_chart
from .sampling import histogram_chart, order_chart, trace_chart
from .search import beam_tree, contrastive_chart, contrastive_map, measures_chart
from .sliders import SliderFrame, slider_chart, slider_frames, sweep_chart
from .theme import COLORS, figure_html, style, use_site_renderer

__all__ = [
    "COLORS", "SliderFrame", "beam_tree", "contrastive_chart", "contrastive_map", "cumulative_chart", "cutoff_slider", "figure_html", "histogram_chart", "measures_chart", "min_p_chart", "order_chart", "slider_chart", "slider_frames", "style", "sweep_chart", "token_chart", "trace_chart", "use_site_renderer",
]
