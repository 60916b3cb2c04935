"""Figures of strategies compared over many samples: quality against diversity
(:func:`quality_diversity_chart`). The numbers come from :mod:`decoding_lessons.comparison`."""

from __future__ import annotations

import plotly.graph_objects as go

from ..comparison import StrategyComparison
from ..tokens import escape
from .theme import QUALITATIVE, style


def quality_diversity_chart(comparison: StrategyComparison, title: str | None = None) -> go.Figure:
    """One point per strategy: distinct-n over its samples (x) against the mean log-probability per
    token of its samples under the untempered model (y), with spread bars.

    The point is the median. The vertical bar spans the interquartile range over every prompt ×
    sample; the horizontal bar spans distinct-n's smallest to largest value over the prompts
    (distinct-n is measured over the samples of one prompt, so there is one value per prompt).
    Up and to the right is better on both counts; a strategy can rarely have both.

    Args:
        comparison: the output of :func:`~decoding_lessons.compare_strategies`.
        title: the chart title (default: says how many prompts and samples).

    Examples:
        >>> cmp = compare_strategies(lm, ["The sky is"], {"greedy": DecodingConfig(),
        ...     "T = 1": DecodingConfig(do_sample=True, top_k=0)}, num_samples=2, max_new_tokens=3)
        >>> [trace.name for trace in quality_diversity_chart(cmp).data]
        ['greedy', 'T = 1']
    """
    if not isinstance(comparison, StrategyComparison):
        raise ValueError(f"`comparison` has to be a StrategyComparison (compare_strategies()), but is {comparison!r}")
    summary = comparison.summary()
    n = comparison.n
    fig = go.Figure()
    for i, (name, s) in enumerate(comparison.strategies.items()):
        m = summary[name]
        colour = QUALITATIVE[i % len(QUALITATIVE)]
        hover = (
            f"<b>{escape(name)}</b><br>{escape(s.config.describe())}"
            f"<br>log p per token: median {m.quality:.3f} (IQR {m.quality_q1:.3f} to {m.quality_q3:.3f})"
            f"<br>distinct-{n}: median {m.diversity:.3f} (range {m.diversity_min:.3f} to {m.diversity_max:.3f})"
            + ("<br>deterministic: one text per prompt" if s.repeated else "")
        )
        fig.add_trace(
            go.Scatter(
                name=escape(name),
                x=[m.diversity],
                y=[m.quality],
                mode="markers",
                marker=dict(size=12, color=colour, symbol="diamond" if s.repeated else "circle", line=dict(width=1)),
                error_x=dict(type="data", symmetric=False, array=[m.diversity_max - m.diversity],
                             arrayminus=[m.diversity - m.diversity_min], color=colour, thickness=1.5, width=4),
                error_y=dict(type="data", symmetric=False, array=[m.quality_q3 - m.quality],
                             arrayminus=[m.quality - m.quality_q1], color=colour, thickness=1.5, width=4),
                hovertext=[hover],
                hoverinfo="text",
            )
        )
    p, k = len(comparison.prompts), comparison.num_samples
    default = (
        f"Quality against diversity<br><sup>{p} prompt{'s' if p != 1 else ''} × {k} samples, "
        f"{comparison.max_new_tokens} tokens each; medians<br>bars: IQR (log p), range over prompts "
        f"(distinct-{n})</sup>"
    )
    style(fig, title if title is not None else default, height=600)
    fig.update_layout(
        margin=dict(t=110, l=60, r=20),
        # the legend goes under the plot, two entries a row: nine names beside the title would cover it, and
        # entries sized to their text fall to one a row on a phone
        legend=dict(orientation="h", y=-0.2, yanchor="top", x=0, xanchor="left", entrywidth=0.5, entrywidthmode="fraction", font=dict(size=11)),
        xaxis=dict(title=f"distinct-{n} (more diverse →)"),
        yaxis=dict(title="log p per token (likelier ↑)"),
    )
    return fig


__all__ = ["quality_diversity_chart"]
