"""Figures of the two probability cut-offs: top-p (nucleus) and min-p.

:func:`~decoding_lessons.plotting.token_chart` shows *what* a configuration keeps; these show the
line each rule draws:

* :func:`cumulative_chart` — top-p: the sorted cumulative probability, the ``top_p`` line, and the
  rank where the curve crosses it (the size of the kept set).
* :func:`min_p_chart` — min-p: the probability bars and the floor ``min_p · p_max``, which moves
  with the model's confidence.
* :func:`cutoff_slider` — either one with a slider over the parameter.

The kept sets drawn here are read off ``step.scores(config)`` (``torch.isfinite``), i.e. from
transformers' own ``TopPLogitsWarper`` / ``MinPLogitsWarper`` in ``generate()``'s chain; the
lines are drawn from the distribution *entering* the warper (after temperature and top-k). No
forward pass.

Examples:
    >>> fig = cumulative_chart(cap("My name is"), 0.9)
    >>> fig.show()                        # doctest: +SKIP
    >>> fig = cutoff_slider(cap("My name is"), "min_p", [0.01, 0.05, 0.1, 0.2])
    >>> fig.show()                        # doctest: +SKIP
"""

from __future__ import annotations


import numpy as np
import plotly.graph_objects as go
import torch

from ..capture import NextToken
from ..strategies import DecodingConfig, probabilities
from ..tokens import escape, hover_text, html_label, short_text as _short
from ..truncation import scores_entering
from .theme import COLORS, style
from .truncation import slider_of

DEFAULT_BASE = DecodingConfig(do_sample=True, top_k=0)




def _rank_grid(count: int, dense: int = 100, points: int = 100) -> np.ndarray:
    """Ranks 0..count-1 to draw: every rank up to ``dense``, then log-spaced ones, and the last."""
    head = np.arange(min(count, dense))
    if count <= dense:
        return head
    tail = np.unique(np.geomspace(dense, count - 1, points).astype(int))
    return np.unique(np.concatenate([head, tail, [count - 1]]))


def _base(base: DecodingConfig | None) -> DecodingConfig:
    return base if base is not None else DEFAULT_BASE


# --------------------------------------------------------------------------------------------------
# top-p
# --------------------------------------------------------------------------------------------------


def cumulative_chart(
    step: NextToken, top_p: float, base: DecodingConfig | None = None, title: str | None = None, max_rank: int | None = None
) -> go.Figure:
    """Top-p (nucleus sampling) for one step: the sorted cumulative probability and the cut.

    Sort the tokens from most to least likely and add up their probabilities: the curve rises
    steeply when the model is confident (a few tokens hold most of the mass) and slowly when it is
    not. Top-p keeps the smallest prefix whose sum reaches ``top_p``: the tokens up to the rank
    where the curve crosses the dashed line (green), and cuts the rest (grey). The dotted
    vertical line marks that rank, the size of the kept set.

    The x axis is the rank on a log scale (rank 1 = most likely), so a kept set of 3 and one of
    3,000 fit the same chart; every rank up to 100 is drawn, the tail at log-spaced ranks.

    Args:
        step: a captured next-token distribution.
        top_p: the nucleus mass, in [0, 1] (typical 0.8–0.95).
        base: the rest of the configuration; default ``DecodingConfig(do_sample=True, top_k=0)``
            (``generate()``'s hidden ``top_k=50`` switched off). A temperature in ``base`` is
            applied first, as in ``generate()``.
        title: the chart title (default: derived from the step and ``top_p``).
        max_rank: draw ranks up to this one only (default: the whole vocabulary).

    Examples:
        >>> fig = cumulative_chart(cap("My name is"), 0.9)
        >>> fig.show()                        # doctest: +SKIP
    """
    config = _base(base).replace(top_p=top_p)
    if max_rank is not None and (not isinstance(max_rank, int) or isinstance(max_rank, bool) or max_rank < 1):
        raise ValueError(f"`max_rank` has to be an integer >= 1, but is {max_rank!r}")
    entering = scores_entering(step, config, "top_p")
    kept_mask = torch.isfinite(step.scores(config))
    probs = probabilities(entering)
    finite = int(torch.isfinite(entering).sum())
    order = torch.argsort(probs, descending=True, stable=True)[:finite]
    cumulative = torch.cumsum(probs[order].double(), dim=0)
    n_kept = int(kept_mask.sum())
    count = finite if max_rank is None else min(finite, max_rank)
    ranks = np.unique(np.concatenate([_rank_grid(count), [r for r in (n_kept - 1, n_kept) if 0 <= r < count]]))
    ids = order[torch.as_tensor(ranks)].tolist()
    tok = step.lm.tokenizer
    fig = go.Figure()
    for name, want, color in (("kept", True, COLORS["kept"]), ("cut", False, COLORS["filtered"])):
        sel = [j for j, i in enumerate(ids) if bool(kept_mask[i]) == want]
        fig.add_trace(
            go.Scatter(
                name=name,
                x=[int(ranks[j]) + 1 for j in sel],
                y=[round(float(cumulative[ranks[j]]), 5) for j in sel],
                mode="markers+lines",
                line=dict(color=color, width=2),
                marker=dict(color=color, size=5),
                # short hovers: a slider stores every position's points in the page
                hovertext=[
                    f"<b>{html_label(tok, ids[j])}</b> · rank {int(ranks[j]) + 1:,}<br>p {float(probs[ids[j]]):.2e}"
                    for j in sel
                ],
                hovertemplate="%{hovertext}<br>cumulative %{y:.4f}<extra></extra>",
            )
        )
    mass = float(cumulative[n_kept - 1]) if n_kept else 0.0
    shapes = [
        dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=top_p, y1=top_p,
             line=dict(color=COLORS["threshold"], width=2, dash="dash")),
        dict(type="line", xref="x", x0=n_kept, x1=n_kept, yref="paper", y0=0, y1=1,
             line=dict(color=COLORS["accent"], width=2, dash="dot")),
    ]
    annotations = [
        dict(xref="paper", x=1, xanchor="right", yref="y", y=top_p, yanchor="top", showarrow=False,
             text=f"top_p = {top_p:g}", font=dict(color=COLORS["threshold"], size=12), bgcolor="rgba(128, 128, 128, 0.12)"),
        dict(xref="x", x=float(np.log10(max(n_kept, 1))), xanchor="left", yref="paper", y=0.02, yanchor="bottom",
             showarrow=False, text=f" {n_kept:,} kept", font=dict(color=COLORS["accent"], size=12),
             bgcolor="rgba(128, 128, 128, 0.12)"),
    ]
    default_title = (
        f"Top-p = {top_p:g} after “{_short(step.text)}”<br><sup>{n_kept:,} of {finite:,} tokens kept, "
        f"holding {mass:.1%} of the probability · {escape(config.describe())}</sup>"
    )
    style(fig, title if title is not None else default_title, height=440)
    fig.update_layout(
        margin=dict(t=85, b=60),
        legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(type="log", title="rank (1 = most likely), log scale"),
        yaxis=dict(title="cumulative probability", range=[0, 1.04], tickformat=".0%"),
        shapes=shapes,
        annotations=annotations,
    )
    return fig


# --------------------------------------------------------------------------------------------------
# min-p
# --------------------------------------------------------------------------------------------------


def min_p_chart(
    step: NextToken, min_p: float, base: DecodingConfig | None = None, k: int = 20, title: str | None = None,
    log_y: bool = True,
) -> go.Figure:
    """Min-p for one step: the probability bars and the floor ``min_p · p_max``.

    Min-p keeps every token whose probability is at least ``min_p`` times the top token's. The
    floor (dashed line) is *relative*: when the model is confident ``p_max`` is large and the floor
    is high, so few tokens pass; when it is uncertain the floor drops and many pass. Bars above the
    floor are kept (coloured), the ones below are cut (grey, hatched). The probabilities drawn are
    those *entering* min-p (after temperature and top-k), the ones the floor is compared with.

    On the default logarithmic y axis the floor sits at a fixed distance below the top bar,
    ``log10(1/min_p)`` decades, whatever the step: min-p is a *ratio* to the top token.

    Args:
        step: a captured next-token distribution.
        min_p: in [0, 1] (typical 0.01–0.2; 0.05–0.1 is a common default).
        base: the rest of the configuration; default ``DecodingConfig(do_sample=True, top_k=0)``.
        k: number of bars (the ``k`` most probable tokens), >= 1.
        title: the chart title (default: derived from the step and ``min_p``).
        log_y: logarithmic probability axis (default), so a floor of 0.001 is as visible as 0.1.

    Examples:
        >>> fig = min_p_chart(cap("My name is"), 0.1)
        >>> fig.show()                        # doctest: +SKIP
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` has to be an integer >= 1, but is {k!r}")
    config = _base(base).replace(min_p=min_p)
    entering = scores_entering(step, config, "min_p")
    kept_mask = torch.isfinite(step.scores(config))
    probs = probabilities(entering)
    k = min(k, int(torch.isfinite(entering).sum()))
    values, ids = probs.topk(k)
    ids = ids.tolist()
    p_max = float(values[0])
    floor = min_p * p_max
    n_kept = int(kept_mask.sum())
    finite = int(torch.isfinite(entering).sum())
    tok = step.lm.tokenizer
    kept = [bool(kept_mask[i]) for i in ids]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name="p entering min-p",
            x=list(range(k)),
            y=[float(probs[i]) for i in ids],
            marker=dict(color=[COLORS["prob"] if keep else COLORS["filtered"] for keep in kept],
                        pattern=dict(shape=["" if keep else "/" for keep in kept])),
            hovertext=[f"{hover_text(tok, i)}<br>p: {float(probs[i]):.4f}<br>{'kept' if keep else '<b>cut</b>: below the floor'}"
                       for i, keep in zip(ids, kept)],
            hoverinfo="text",
        )
    )
    # on a log axis, shapes take data values and annotations take log10 values
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=floor, y1=floor,
                   line=dict(color=COLORS["threshold"], width=2, dash="dash"))]
    annotations = [dict(xref="paper", x=1.005, xanchor="left", yref="y", y=float(np.log10(floor)) if log_y and floor > 0 else floor,
                        yanchor="middle", showarrow=False, text=f"floor<br>{floor:.2g}", align="left",
                        font=dict(color=COLORS["threshold"], size=12), bgcolor="rgba(128, 128, 128, 0.25)")]
    beyond = n_kept - sum(kept)
    default_title = (
        f"Min-p = {min_p:g} after “{_short(step.text)}”<br><sup>floor = min_p · p_max = {min_p:g} × {p_max:.3f} = "
        f"{floor:.2g}: {n_kept:,} of {finite:,} tokens kept"
        + (f" ({beyond:,} beyond the bars)" if beyond > 0 else "")
        + "</sup>"
    )
    style(fig, title if title is not None else default_title, height=440)
    if log_y:
        lowest = min(float(values[-1]), floor) if floor > 0 else float(values[-1])
        yaxis = dict(title="probability (log scale)", type="log", range=[float(np.log10(max(lowest, 1e-12))) - 0.3, float(np.log10(p_max)) + 0.25])
    else:
        yaxis = dict(title="probability", range=[0, p_max * 1.15], tickformat=".0%")
    fig.update_layout(
        margin=dict(t=85, b=90, r=90),
        showlegend=False,
        xaxis=dict(tickmode="array", tickvals=list(range(k)), ticktext=[html_label(tok, i) for i in ids], tickangle=-45),
        yaxis=yaxis,
        shapes=shapes,
        annotations=annotations,
    )
    return fig


def cutoff_slider(
    step: NextToken, parameter: str, values, base: DecodingConfig | None = None, k: int = 20, active: int | None = None
) -> go.Figure:
    """:func:`cumulative_chart` (``"top_p"``) or :func:`min_p_chart` (``"min_p"``) with a slider.

    Each position is the chart for one value; the line moves and the kept set changes colour. The
    positions are plain data in the page (no kernel, no forward pass).

    Args:
        step: a captured next-token distribution.
        parameter: ``"top_p"`` or ``"min_p"``.
        values: the grid, e.g. ``[0.5, 0.7, 0.8, 0.9, 0.95, 0.99]`` for top-p or
            ``[0.01, 0.02, 0.05, 0.1, 0.2, 0.3]`` for min-p.
        base: the rest of the configuration; default ``DecodingConfig(do_sample=True, top_k=0)``.
        k: bars shown (min-p).
        active: index of the position shown first; default the middle.

    Examples:
        >>> fig = cutoff_slider(cap("My name is"), "top_p", [0.5, 0.8, 0.9, 0.95])
        >>> fig.show()                        # doctest: +SKIP
    """
    if parameter not in ("top_p", "min_p"):
        raise ValueError(f"`parameter` has to be 'top_p' or 'min_p', but is {parameter!r}")
    if isinstance(values, (str, bytes)) or not list(values):
        raise ValueError(f"`values` has to be a non-empty sequence of values for `{parameter}`, but is {values!r}")
    values = list(values)
    if parameter == "top_p":
        figures = [cumulative_chart(step, v, base) for v in values]
    else:
        figures = [min_p_chart(step, v, base, k=k) for v in values]
    return slider_of(figures, [f"{v:g}" for v in values], f"{parameter} = ", active)


__all__ = ["cumulative_chart", "cutoff_slider", "min_p_chart"]
