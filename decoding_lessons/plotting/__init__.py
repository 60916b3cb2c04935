"""Plotly figures. Every function returns a ``plotly.graph_objects.Figure``; call ``.show()``.

* :mod:`.theme` — shared look, colours, and the site renderer.
* :mod:`.distribution` — one next-token distribution (bars).
* :mod:`.sliders` — one parameter swept over a grid, as a slider that works without a kernel; ``slider_of``
  joins same-shaped figures under one slider.
* :mod:`.rules` — the truncation rules: top-p's cumulative curve, min-p's floor, typical-p's band,
  ε's and η's floors, Top-H's entropy budget.
* :mod:`.sampling` — draws against the distribution, generations step by step, processor orders,
  several score vectors of one step side by side, and plain lines.
* :mod:`.constraints` — what a control (a ban, a bias, a grammar, the EOS rules) removes or moves.
* :mod:`.search` — searches: the beam-search tree, contrastive search's two terms.
* :mod:`.strategies` — strategies over many samples: quality against diversity.
* :mod:`.scores` — raw logits beside the scores a configuration leaves (a penalty's move, in logits).
"""

from .distribution import token_chart
from .rules import cumulative_chart, cutoff_slider, min_p_chart, rule_slider, threshold_chart, top_h_chart, typicality_chart
from .sampling import distributions_chart, histogram_chart, line_chart, order_chart, trace_chart
from .search import beam_tree, contrastive_chart, contrastive_map, measures_chart
from .sliders import SliderFrame, slider_chart, slider_frames, slider_of, sweep_chart
from .theme import COLORS, figure_html, style, use_site_renderer
from .scores import scores_chart
from .strategies import quality_diversity_chart

__all__ = [
    "quality_diversity_chart", "scores_chart", "distributions_chart", "line_chart",
    "COLORS", "SliderFrame", "beam_tree", "contrastive_chart", "contrastive_map", "cumulative_chart", "cutoff_slider", "figure_html", "histogram_chart", "measures_chart", "min_p_chart", "order_chart", "rule_slider", "slider_chart", "slider_frames", "slider_of", "style", "sweep_chart", "threshold_chart", "token_chart", "top_h_chart", "trace_chart", "typicality_chart", "use_site_renderer",
]
