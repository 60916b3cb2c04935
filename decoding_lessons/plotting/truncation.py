"""Figures of the entropy-aware truncation rules: typical-p, ε, η and Top-H.

Where :func:`~decoding_lessons.plotting.token_chart` shows *what* a configuration keeps, these show
*why*: the quantity each warper compares and the line it draws.

* :func:`typicality_chart` — each token's surprisal ``-log p`` against the entropy H, with the
  band ``H ± cutoff`` that typical-p keeps.
* :func:`threshold_chart` — the whole vocabulary's sorted probabilities (log–log) and the
  probability floor of ε- or η-sampling.
* :func:`top_h_chart` — Top-H's running entropy sum over its 100 candidates and the budget τ.
* :func:`rule_slider` — any of the three with a slider over the parameter.

Every kept set drawn here comes from :mod:`decoding_lessons.truncation`, whose tests check it
equals the set transformers' warper keeps. The charts work on captured logits: no forward pass.

Examples:
    >>> cfg = DecodingConfig(do_sample=True, top_k=0, typical_p=0.5)
    >>> fig = typicality_chart(cap("The sky is"), cfg)
    >>> fig.show()                        # doctest: +SKIP
    >>> fig = rule_slider(cap("My name is"), "eta_cutoff", [3e-4, 1e-3, 4e-3])
    >>> fig.show()                        # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from ..capture import NextToken
from ..processors import OFF
from ..strategies import DecodingConfig
from ..tokens import hover_text, html_label, short_text as _short
from ..truncation import epsilon_rule, eta_rule, scores_entering, top_h_rule, typical_rule
from .theme import COLORS, style

DEFAULT_BASE = DecodingConfig(do_sample=True, top_k=0)
RULES = ("typical_p", "epsilon_cutoff", "eta_cutoff", "top_h")
_OFF = {name: OFF[name] for name in RULES}  # from the processor table


def _check_k(k) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` has to be an integer >= 1, but is {k!r}")


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
    vocabulary. The kept set is :func:`decoding_lessons.truncation.typical_rule`'s, tested equal to
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
    _check_k(k)
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
        f"[{max(lo, 0.0):.2f}, {hi:.2f}], the shaded band<br>{n_kept:,} tokens kept, probability ranks "
        f"{int(kept_ranks.min())}–{int(kept_ranks.max())}{'' if top_kept else ': the most likely token is cut'}</sup>"
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
        annotations=[
            _label(h, f"H = {h:.2f}", COLORS["threshold"], outside=True),
            _label(hi, f"H + {c:.2f}", COLORS["kept"], outside=True),
            *([_label(lo, f"H − {c:.2f}", COLORS["kept"], outside=True)] if lo > 0.25 else []),
        ],
    )
    return fig


# --------------------------------------------------------------------------------------------------
# ε and η
# --------------------------------------------------------------------------------------------------


def _rank_grid(vocab: int, dense: int = 100, points: int = 120) -> np.ndarray:
    """0-based ranks to draw: every rank up to ``dense``, then log-spaced to the last one."""
    head = np.arange(min(dense, vocab))
    if vocab <= dense:
        return head
    tail = np.unique(np.geomspace(dense, vocab - 1, points).astype(int))
    return np.unique(np.concatenate([head, tail]))


def threshold_chart(step: NextToken, config: DecodingConfig, field: str | None = None, title: str | None = None) -> go.Figure:
    """ε- or η-sampling for one step: the whole sorted distribution and the probability floor.

    The curve is every token's probability (of the distribution entering the warper), sorted
    from most to least likely, on log–log axes: rank 1 on the left, the last of the vocabulary on
    the right. The warper cuts at a horizontal line: tokens above it are kept (green), the tail
    below is cut (grey). For ε the line is ε itself. For η it is ``min(η, sqrt(η)·exp(−H))``; the
    chart draws both candidates (dotted: η; dash-dot: ``sqrt(η)·exp(−H)``) so you see which one is
    active: the second one, lower, on an uncertain (high-entropy) step.

    Ranks up to 100 are drawn one by one, the rest of the tail at log-spaced ranks; hover shows the
    token. The kept set is :mod:`decoding_lessons.truncation`'s, tested equal to transformers'.

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
    ranks = _rank_grid(finite)
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
    See :func:`decoding_lessons.truncation.top_h_rule`.

    Args:
        step: a captured next-token distribution.
        config: a sampling configuration with ``top_h`` set (temperature, if set, acts first).
        k: how many candidates to show, at most 100 (typical 30–60).
        title: the chart title (default: derived from the step and the config).

    Examples:
        >>> fig = top_h_chart(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0, top_h=0.5))
        >>> fig.show()                        # doctest: +SKIP
    """
    _check_k(k)
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


# --------------------------------------------------------------------------------------------------
# sliders
# --------------------------------------------------------------------------------------------------

_TRACE_KEYS = ("x", "y", "text", "hovertext", "customdata", "marker.color", "marker.pattern.shape")


def _get(trace: dict, dotted: str):
    node = trace
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def slider_of(figures: Sequence[go.Figure], labels: Sequence[str], prefix: str, active: int | None = None) -> go.Figure:
    """Combine same-shaped figures into one figure with a slider that switches between them.

    Each slider position restyles the traces (x, y, text, hover, colours) and relayouts the
    title, shapes, annotations and y axes of the corresponding figure. Only what differs between
    positions is stored per position (a curve that never changes is stored once), so a slider
    costs little more page weight than one chart. The positions are plain data in the page;
    moving the slider needs no kernel.

    Args:
        figures: figures built by the same function (same number and kinds of traces).
        labels: one slider label per figure.
        prefix: the text before the current value (``"typical_p = "``).
        active: the position shown first; default the middle one.
    """
    if not figures or len(figures) != len(labels):
        raise ValueError(f"`figures` and `labels` have to be non-empty and of equal length, but have {len(figures)} and {len(labels)}")
    n_traces = {len(f.data) for f in figures}
    if len(n_traces) != 1:
        raise ValueError(f"`figures` have to hold the same number of traces, but hold {sorted(n_traces)}")
    active = len(figures) // 2 if active is None else active
    if not isinstance(active, int) or not 0 <= active < len(figures):
        raise ValueError(f"`active` has to be an integer in [0, {len(figures) - 1}], but is {active!r}")
    fig = go.Figure(figures[active])
    traces = [[t.to_plotly_json() for t in f.data] for f in figures]
    # restyle only the traces and attributes that differ between positions: a curve that stays the
    # same is stored once, not once per position
    varying = [
        (key, j) for key in _TRACE_KEYS for j in range(len(traces[0]))
        if any(_get(t[j], key) != _get(traces[0][j], key) for t in traces[1:])
    ]
    keys = list(dict.fromkeys(key for key, _ in varying))
    changed = sorted({j for _, j in varying})
    steps = []
    for f, label, trs in zip(figures, labels, traces):
        restyle = {key: [_get(trs[j], key) for j in changed] for key in keys}
        layout = f.layout.to_plotly_json()
        relayout = {
            "title.text": _get(layout, "title.text"),
            "shapes": layout.get("shapes", []),
            "annotations": layout.get("annotations", []),
            "yaxis.range": _get(layout, "yaxis.range"),
            "yaxis2.range": _get(layout, "yaxis2.range"),
        }
        relayout = {key: value for key, value in relayout.items() if value is not None}
        steps.append(dict(method="update", label=label, args=[restyle, relayout, changed]))
    fig.update_layout(
        height=(fig.layout.height or 460) + 70,
        sliders=[dict(active=active, steps=steps, currentvalue=dict(prefix=prefix, font=dict(size=14)), pad=dict(t=80, b=10), len=1.0)],
    )
    fig.update_layout(margin=dict(b=40))
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


__all__ = ["rule_slider", "slider_of", "threshold_chart", "top_h_chart", "typicality_chart"]
