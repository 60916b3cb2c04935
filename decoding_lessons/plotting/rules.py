"""Figures of the truncation rules: the line each one draws, and why a token is kept.

:func:`~decoding_lessons.plotting.token_chart` shows *what* a configuration keeps; these show the
rule:

* :func:`cumulative_chart` — top-p: the sorted cumulative probability, the ``top_p`` line, and the
  rank where the curve crosses it (the size of the kept set).
* :func:`min_p_chart` — min-p: the probability bars and the floor ``min_p · p_max``, which moves
  with the model's confidence.
* :func:`cutoff_slider` — either one with a slider over the parameter.
* :func:`typicality_chart` — each token's surprisal ``-log p`` against the entropy H, with the
  band ``H ± cutoff`` that typical-p keeps.
* :func:`threshold_chart` — the whole vocabulary's sorted probabilities (log–log) and the
  probability floor of ε- or η-sampling.
* :func:`top_h_chart` — Top-H's running entropy sum over its 100 candidates and the budget τ.
* :func:`rule_slider` — any of the last three with a slider over the parameter.

The top-p and min-p kept sets are read off ``step.scores(config)`` (``torch.isfinite``), i.e. from
transformers' own ``TopPLogitsWarper`` / ``MinPLogitsWarper`` in ``generate()``'s chain; the
lines are drawn from the distribution *entering* the warper (after temperature and top-k). The
kept sets of the entropy-aware rules come from :mod:`decoding_lessons.rules`, whose tests check
them equal to the sets transformers' warpers keep. No chart makes a forward pass.

Examples:
    >>> fig = cumulative_chart(cap("My name is"), 0.9)
    >>> fig.show()                        # doctest: +SKIP
    >>> fig = cutoff_slider(cap("My name is"), "min_p", [0.01, 0.05, 0.1, 0.2])
    >>> fig.show()                        # doctest: +SKIP
    >>> cfg = DecodingConfig(do_sample=True, top_k=0, typical_p=0.5)
    >>> fig = typicality_chart(cap("The sky is"), cfg)
    >>> fig.show()                        # doctest: +SKIP
    >>> fig = rule_slider(cap("My name is"), "eta_cutoff", [3e-4, 1e-3, 4e-3])
    >>> fig.show()                        # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import plotly.graph_objects as go
import torch

from ..capture import NextToken
from ..checks import check_int
from ..processors import OFF
from ..rules import epsilon_rule, eta_rule, scores_entering, top_h_rule, typical_rule
from ..scoring import DecodingConfig, probabilities
from ..tokens import escape, hover_text, html_label, short_text as _short
from .sliders import DEFAULT_BASE, slider_of
from .theme import COLORS, style

RULES = ("typical_p", "epsilon_cutoff", "eta_cutoff", "top_h")
_OFF = {name: OFF[name] for name in RULES}  # from the processor table


def _rank_grid(count: int, dense: int = 100, points: int = 100) -> np.ndarray:
    """0-based ranks 0..count-1 to draw: every rank up to ``dense``, then log-spaced ones, and the last."""
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



def _value(config: DecodingConfig, field: str) -> float:
    value = getattr(config, field)
    if value is None or value == _OFF[field]:
        raise ValueError(f"`config.{field}` has to be set to an active value for this chart, but is {value!r}")
    return value




def _line(y: float, color: str, dash: str = "dash", yref: str = "y") -> dict:
    return dict(type="line", xref="paper", x0=0, x1=1, yref=yref, y0=y, y1=y, line=dict(color=color, width=2, dash=dash))


def _label(y: float, text: str, color: str, yref: str = "y", yanchor: str = "bottom", outside: bool = False) -> dict:
    """A line's label: inside the plot at the right end, or just outside the right edge."""
    return dict(
        xref="paper", x=1.005 if outside else 1, xanchor="left" if outside else "right", yref=yref, y=y,
        yanchor="middle" if outside else yanchor, text=text, showarrow=False, align="left",
        bgcolor="rgba(128, 128, 128, 0.12)",
        font=dict(color=color, size=12),
    )


# --------------------------------------------------------------------------------------------------
# typical-p
# --------------------------------------------------------------------------------------------------


def typicality_chart(step: NextToken, config: DecodingConfig, k: int = 30, title: str | None = None) -> go.Figure:
    """Typical-p's rule for one step: surprisal bars, the entropy line and the kept band.

    For the ``k`` most likely tokens (of the distribution entering the warper) a bar shows the
    surprisal ``-log p`` in nats. The solid line is the entropy H, the surprisal a token has on
    average; a token's *typicality* is its bar's distance to that line. Typical-p keeps the most
    typical tokens until their mass reaches ``typical_p``, which is the shaded band
    ``[H - cutoff, H + cutoff]``: bars ending inside it are kept (green), the others are cut (grey,
    hatched) — too surprising *or too obvious*. The subtitle counts the kept tokens in the whole
    vocabulary. The kept set is :func:`decoding_lessons.rules.typical_rule`'s, tested equal to
    ``TypicalLogitsWarper``'s.

    Args:
        step: a captured next-token distribution.
        config: a sampling configuration with ``typical_p < 1``; the warpers before typical-p in
            ``generate()``'s order (temperature, top-k, …) are applied first, as in ``generate()``.
        k: how many tokens to show, most likely first (typical 20–40).
        title: the chart title (default: derived from the step and the config).

    Examples:
        >>> fig = typicality_chart(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0, typical_p=0.5))
        >>> fig.show()                        # doctest: +SKIP
    """
    check_int("k", k, 1)
    mass = _value(config, "typical_p")
    entering = scores_entering(step, config, "typical_p")
    rule = typical_rule(entering, mass)
    finite = int(torch.isfinite(entering).sum())
    k = min(k, finite)
    ids = entering.topk(k).indices.tolist()
    tok = step.lm.tokenizer
    p = entering.softmax(-1)
    kept = [bool(rule.keep[i]) for i in ids]
    surprisal = [float(rule.surprisal[i]) for i in ids]
    hovers = [
        f"{hover_text(tok, i)}<br>p: {float(p[i]):.4g}<br>−log p: {float(rule.surprisal[i]):.3f} nats"
        f"<br>|−log p − H|: {float(rule.typicality[i]):.3f}"
        for j, i in enumerate(ids)
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name="−log p (surprisal)",
            x=list(range(k)),
            y=surprisal,
            marker=dict(
                color=[COLORS["kept"] if keep else COLORS["filtered"] for keep in kept],
                pattern=dict(shape=["" if keep else "/" for keep in kept]),
            ),
            hovertext=hovers,
            customdata=["kept" if keep else "<b>cut</b>" for keep in kept],
            hovertemplate="%{hovertext}<br>%{customdata}<extra></extra>",
        )
    )
    h, c = rule.entropy, rule.cutoff
    lo, hi = h - c, h + c
    ranks = torch.nonzero(rule.keep).flatten()
    order = torch.argsort(entering, descending=True, stable=True)
    rank_of = torch.empty_like(order)
    rank_of[order] = torch.arange(order.numel())
    kept_ranks = rank_of[ranks] + 1
    n_kept = int(rule.keep.sum())
    top_kept = bool(rule.keep[order[0]])
    default_title = (
        f"Typical-p = {mass:g} after “{_short(step.text)}”<br><sup>H = {h:.2f} nats; kept: surprisal in "
        f"[{max(lo, 0.0):.2f}, {hi:.2f}], the shaded band<br>{n_kept:,} token{'' if n_kept == 1 else 's'} kept, "
        f"{_ranks_text(kept_ranks)}{'' if top_kept else ': the most likely token is cut'}</sup>"
    )
    style(fig, title if title is not None else default_title, height=480)
    ymax = max(max(surprisal), hi) * 1.1 + 0.3
    fig.update_layout(
        showlegend=False,
        margin=dict(t=100, r=95),
        bargap=0.25,
        xaxis=dict(tickmode="array", tickvals=list(range(k)), ticktext=[html_label(tok, i) for i in ids], tickangle=-60),
        yaxis=dict(title="surprisal −log p (nats)", range=[0, ymax]),
        shapes=[
            dict(
                type="rect", xref="paper", x0=0, x1=1, yref="y", y0=max(lo, 0.0), y1=hi,
                fillcolor="rgba(89, 161, 79, 0.15)", line=dict(width=0), layer="below",
            ),
            _line(h, COLORS["threshold"], dash="solid"),
        ],
        annotations=_spread_labels(
            [
                _label(h, f"H = {h:.2f}", COLORS["threshold"], outside=True),
                _label(hi, f"H + {c:.2f}", COLORS["kept"], outside=True),
                *([_label(lo, f"H − {c:.2f}", COLORS["kept"], outside=True)] if lo > 0.25 else []),
            ],
            ymax,
        ),
    )
    return fig


def _ranks_text(ranks: torch.Tensor) -> str:
    low, high = int(ranks.min()), int(ranks.max())
    return f"probability rank {low}" if low == high else f"probability ranks {low}–{high}"


# The typicality chart's plot area is at least this tall (480 px less its margins and the rotated
# tick labels), and its line labels (12 px text on a grey box) this far apart centre to centre.
_PLOT_PX = 240
LABEL_GAP_PX = 20


def _spread_labels(labels: list[dict], ymax: float, plot_px: float = _PLOT_PX, gap_px: float = LABEL_GAP_PX) -> list[dict]:
    """Shift the labels of nearby lines apart (``yshift``, in pixels) so that no two are closer than
    ``gap_px`` centre to centre, each staying as near its line as it can; the order by height is kept."""
    order = sorted(range(len(labels)), key=lambda i: labels[i]["y"])
    base = [labels[i]["y"] / ymax * plot_px for i in order]
    pos = list(base)
    for _ in range(1000):
        moved = False
        for j in range(1, len(pos)):
            deficit = gap_px - (pos[j] - pos[j - 1])
            if deficit > 1e-6:
                pos[j - 1] -= deficit / 2
                pos[j] += deficit / 2
                moved = True
        if not moved:
            break
    for i, b, q in zip(order, base, pos):
        labels[i]["yshift"] = round(q - b, 1) or 0.0  # no -0.0
    return labels


# --------------------------------------------------------------------------------------------------
# ε and η
# --------------------------------------------------------------------------------------------------


def threshold_chart(step: NextToken, config: DecodingConfig, field: str | None = None, title: str | None = None) -> go.Figure:
    """ε- or η-sampling for one step: the whole sorted distribution and the probability floor.

    The curve is every token's probability (of the distribution entering the warper), sorted
    from most to least likely, on log–log axes: rank 1 on the left, the last of the vocabulary on
    the right. The warper cuts at a horizontal line: tokens above it are kept (green), the tail
    below is cut (grey). For ε the line is ε itself. For η it is ``min(η, sqrt(η)·exp(−H))``; the
    chart draws both candidates (dotted: η; dash-dot: ``sqrt(η)·exp(−H)``) so you see which one is
    active: the second one, lower, on an uncertain (high-entropy) step.

    Ranks up to 100 are drawn one by one, the rest of the tail at log-spaced ranks; hover shows the
    token. The kept set is :mod:`decoding_lessons.rules`'s, tested equal to transformers'.

    Args:
        step: a captured next-token distribution.
        config: a sampling configuration with ``epsilon_cutoff`` or ``eta_cutoff`` set.
        field: ``"epsilon_cutoff"`` or ``"eta_cutoff"``; default: the one that is set (η if both).
        title: the chart title (default: derived from the step and the config).

    Examples:
        >>> fig = threshold_chart(cap("My name is"), DecodingConfig(do_sample=True, top_k=0, eta_cutoff=2e-3))
        >>> fig.show()                        # doctest: +SKIP
    """
    if field is None:
        field = "eta_cutoff" if (config.eta_cutoff or 0) > 0 else "epsilon_cutoff"
    if field not in ("epsilon_cutoff", "eta_cutoff"):
        raise ValueError(f"`field` has to be 'epsilon_cutoff' or 'eta_cutoff', but is {field!r}")
    value = _value(config, field)
    entering = scores_entering(step, config, field)
    rule = (eta_rule if field == "eta_cutoff" else epsilon_rule)(entering, value)
    probs = rule.probs
    finite = int(torch.isfinite(entering).sum())
    order = torch.argsort(entering, descending=True, stable=True)[:finite]
    n_kept = int(rule.keep.sum())
    tok = step.lm.tokenizer
    # the whole curve (the same for every value of the cut, so a slider does not repeat it), and
    # over it the kept part: a prefix of the sorted tokens, drawn up to its last token exactly
    ranks = _rank_grid(finite, points=120)
    ids = order[torch.as_tensor(ranks)].tolist()
    kept_ranks = np.unique(np.concatenate([ranks[ranks < n_kept], [n_kept - 1]]))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            name="cut",
            x=[int(r) + 1 for r in ranks],
            y=[float(probs[i]) for i in ids],
            mode="markers+lines",
            line=dict(color=COLORS["filtered"], width=2),
            marker=dict(color=COLORS["filtered"], size=3),
            hovertext=[f"<b>{html_label(tok, i)}</b> (id {i})<br>rank {int(r) + 1:,}<br>p: {float(probs[i]):.3g}" for r, i in zip(ranks, ids)],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="kept",
            x=[int(r) + 1 for r in kept_ranks],
            y=[float(probs[int(order[int(r)])]) for r in kept_ranks],
            mode="markers+lines",
            line=dict(color=COLORS["kept"], width=3),
            marker=dict(color=COLORS["kept"], size=4),
            hoverinfo="skip",
        )
    )
    # on a log axis, shapes take data values and annotations take log10 values
    if field == "eta_cutoff":
        other = math.sqrt(value) * math.exp(-rule.entropy)
        eta_active = value <= other
        active_text = f"cut: η = {value:g}" if eta_active else f"cut: √η·e<sup>−H</sup> = {rule.threshold:.2g}"
        idle_value, idle_text = (other, f"√η·e<sup>−H</sup> = {other:.2g}") if eta_active else (value, f"η = {value:g}")
        shapes = [_line(idle_value, COLORS["accent"], dash="dot"), _line(rule.threshold, COLORS["threshold"])]
        annotations = [
            _label(math.log10(idle_value), idle_text + " (not the min)", COLORS["accent"]),
            _label(math.log10(rule.threshold), active_text, COLORS["threshold"], yanchor="top"),
        ]
        rule_text = f"η = {value:g}, H = {rule.entropy:.2f} nats → cut at min(η, √η·e<sup>−H</sup>) = {rule.threshold:.2g}"
        name = "η-sampling"
    else:
        shapes = [_line(rule.threshold, COLORS["threshold"])]
        annotations = [_label(math.log10(rule.threshold), f"cut: ε = {value:g}", COLORS["threshold"], yanchor="top")]
        rule_text = f"ε = {value:g} (the entropy, {rule.entropy:.2f} nats, plays no part)"
        name = "ε-sampling"
    default_title = (
        f"{name} after “{_short(step.text)}”<br><sup>{rule_text}<br>{n_kept:,} of {finite:,} tokens kept</sup>"
    )
    style(fig, title if title is not None else default_title, height=480)
    lowest = max(float(probs[order[-1]]), min(rule.threshold, float(probs[order[0]])) * 1e-4, 1e-30)
    fig.update_layout(
        margin=dict(t=100, b=60),
        legend=dict(x=0.01, xanchor="left", y=0.02, yanchor="bottom", orientation="v"),
        xaxis=dict(type="log", title="rank (1 = most likely)"),
        yaxis=dict(type="log", title="p", exponentformat="power", range=[math.log10(lowest) - 0.2, 0.1]),
        shapes=shapes,
        annotations=annotations,
    )
    return fig


# --------------------------------------------------------------------------------------------------
# Top-H
# --------------------------------------------------------------------------------------------------


def top_h_chart(step: NextToken, config: DecodingConfig, k: int = 40, title: str | None = None) -> go.Figure:
    """Top-H's rule for one step: each candidate's entropy term and the running sum against τ.

    transformers' ``TopHLogitsWarper`` takes the 100 most likely tokens, renormalises them
    (``q``), and keeps candidates, most likely first, while the running sum of ``-q log q`` stays
    within ``τ = top_h · H(q)``. Bars (left axis) are the terms of the first ``k`` candidates,
    green while kept; the line (right axis) is the running sum, with τ and H(q) drawn across.
    See :func:`decoding_lessons.rules.top_h_rule`.

    Args:
        step: a captured next-token distribution.
        config: a sampling configuration with ``top_h`` set (temperature, if set, acts first).
        k: how many candidates to show, at most 100 (typical 30–60).
        title: the chart title (default: derived from the step and the config).

    Examples:
        >>> fig = top_h_chart(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0, top_h=0.5))
        >>> fig.show()                        # doctest: +SKIP
    """
    check_int("k", k, 1)
    top_h = _value(config, "top_h")
    entering = scores_entering(step, config, "top_h")
    rule = top_h_rule(entering, top_h)
    k = min(k, rule.candidates.numel())
    ids = rule.candidates[:k].tolist()
    tok = step.lm.tokenizer
    kept = [j < rule.n_kept for j in range(k)]
    terms = rule.terms[:k].tolist()
    cumulative = rule.cumulative[:k].tolist()
    hovers = [
        f"{hover_text(tok, i)}<br>q: {float(rule.q[j]):.4g}<br>−q log q: {terms[j]:.4f}<br>running sum: {cumulative[j]:.3f}"
        for j, i in enumerate(ids)
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name="−q log q",
            x=list(range(k)),
            y=terms,
            marker=dict(
                color=[COLORS["kept"] if keep else COLORS["filtered"] for keep in kept],
                pattern=dict(shape=["" if keep else "/" for keep in kept]),
            ),
            hovertext=hovers,
            customdata=["kept" if keep else "<b>cut</b>" for keep in kept],
            hovertemplate="%{hovertext}<br>%{customdata}<extra></extra>",
            yaxis="y",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="running sum",
            x=list(range(k)),
            y=cumulative,
            mode="lines+markers",
            line=dict(color=COLORS["logit"], width=2),
            marker=dict(size=5),
            hovertext=hovers,
            customdata=["kept" if keep else "<b>cut</b>" for keep in kept],
            hovertemplate="%{hovertext}<br>%{customdata}<extra></extra>",
            yaxis="y2",
        )
    )
    default_title = (
        f"Top-H = {top_h:g} after “{_short(step.text)}”<br><sup>H(q) over the top {rule.candidates.numel()} = "
        f"{rule.entropy_candidates:.2f} nats, τ = {top_h:g} × H(q) = {rule.tau:.2f}<br>{rule.n_kept} token"
        f"{'s' if rule.n_kept != 1 else ''} kept</sup>"
    )
    style(fig, title if title is not None else default_title, height=480)
    fig.update_layout(
        margin=dict(t=100),
        bargap=0.25,
        legend=dict(x=0.99, xanchor="right", y=0.3, yanchor="bottom", orientation="v", bgcolor="rgba(128, 128, 128, 0.08)"),
        xaxis=dict(tickmode="array", tickvals=list(range(k)), ticktext=[html_label(tok, i) for i in ids], tickangle=-60),
        yaxis=dict(title="−q log q (nats)", range=[0, max(max(terms), 1e-6) * 1.15]),
        yaxis2=dict(
            title="running sum (nats)", overlaying="y", side="right", showgrid=False, tickformat=".1f",
            range=[0, rule.entropy_candidates * 1.08 + 1e-6],
        ),
        shapes=[_line(rule.tau, COLORS["threshold"], yref="y2"), _line(rule.entropy_candidates, COLORS["accent"], dash="dot", yref="y2")],
        annotations=[
            _label(rule.tau, f"τ = {rule.tau:.2f}", COLORS["threshold"], yref="y2"),
            _label(rule.entropy_candidates, f"H(q) = {rule.entropy_candidates:.2f}", COLORS["accent"], yref="y2", yanchor="top"),
        ],
    )
    return fig


_CHARTS: dict[str, Callable] = {
    "typical_p": lambda step, config, k: typicality_chart(step, config, k=k),
    "epsilon_cutoff": lambda step, config, k: threshold_chart(step, config, field="epsilon_cutoff"),
    "eta_cutoff": lambda step, config, k: threshold_chart(step, config, field="eta_cutoff"),
    "top_h": lambda step, config, k: top_h_chart(step, config, k=k),
}


def rule_slider(
    step: NextToken, parameter: str, values, base: DecodingConfig | None = None, k: int = 30, active: int | None = None
) -> go.Figure:
    """A rule chart with a slider over ``values`` of ``parameter``.

    ``typical_p`` → :func:`typicality_chart`, ``epsilon_cutoff`` / ``eta_cutoff`` →
    :func:`threshold_chart`, ``top_h`` → :func:`top_h_chart`. Where
    :func:`~decoding_lessons.plotting.sliders.slider_chart` shows the resulting distribution as
    the knob moves, this shows the rule: the band, the floor or the budget moving.

    Args:
        step: a captured next-token distribution (all positions reuse its logits).
        parameter: one of ``"typical_p", "epsilon_cutoff", "eta_cutoff", "top_h"``.
        values: the grid, each an active value of ``parameter`` (validated by DecodingConfig).
        base: the rest of the configuration; default ``DecodingConfig(do_sample=True, top_k=0)``.
        k: bars shown (typical-p and Top-H charts).
        active: index of the position shown first; default the middle.

    Examples:
        >>> fig = rule_slider(cap("My name is"), "epsilon_cutoff", [1e-4, 3e-4, 1e-3, 3e-3])
        >>> fig.show()                        # doctest: +SKIP
    """
    if parameter not in _CHARTS:
        raise ValueError(f"`parameter` has to be one of {', '.join(RULES)}, but is {parameter!r}")
    if isinstance(values, (str, bytes)) or not list(values):
        raise ValueError(f"`values` has to be a non-empty sequence of values for `{parameter}`, but is {values!r}")
    base = base if base is not None else DEFAULT_BASE
    values = list(values)
    figures = [_CHARTS[parameter](step, base.replace(**{parameter: v}), k) for v in values]
    return slider_of(figures, [f"{v:g}" for v in values], f"{parameter} = ", active)


__all__ = ["cumulative_chart", "cutoff_slider", "min_p_chart", "rule_slider", "threshold_chart", "top_h_chart", "typicality_chart"]
