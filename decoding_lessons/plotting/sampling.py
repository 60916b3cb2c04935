"""Figures of draws, generations and processor orders: :func:`histogram_chart` (draws against the
distribution), :func:`trace_chart` (a whole generation step by step) and :func:`order_chart` (the same
processors in different orders). The numbers come from :mod:`decoding_lessons.sampling` and :mod:`decoding_lessons.orders`."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
import torch

from ..capture import NextToken
from ..checks import check_int
from ..orders import apply_in_order
from ..sampling import GenerationTrace, SampleResult
from ..scoring import DecodingConfig, probabilities
from ..tokens import escape, hover_text, html_label, short_text as _short
from .theme import COLORS, QUALITATIVE, style


def histogram_chart(step: NextToken, config: DecodingConfig | None, result: SampleResult, k: int = 20) -> go.Figure:
    """Empirical frequency next to theoretical probability for the ``k`` most probable tokens.

    The last pair of bars holds every other token, so both series add up to 1. The title gives
    the total-variation distance and the bound it should stay under (see :func:`tv_bound`).

    Args:
        step: the captured distribution that ``result`` was drawn from.
        config: the configuration ``result`` was drawn under (checked against ``result.config``).
        result: the output of :func:`draw`.
        k: number of tokens shown, >= 1.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, top_k=0)
        >>> fig = histogram_chart(step, cfg, draw(step, cfg, n=5_000))
        >>> fig.show()                        # doctest: +SKIP
    """
    check_int("k", k, 1)
    config = config or DecodingConfig()
    if config != result.config:
        raise ValueError(
            f"`config` has to be the configuration `result` was drawn under ({result.config.describe()}), "
            f"but is {config.describe()}"
        )
    probs, freqs = result.probs, result.frequencies
    k = min(k, probs.shape[-1])
    ids = probs.topk(k).indices.tolist()
    tok = step.lm.tokenizer
    x = list(range(k + 1))
    labels = [html_label(tok, i) for i in ids] + [f"all {probs.shape[-1] - k:,} others"]
    theory = [float(probs[i]) for i in ids]
    empirical = [float(freqs[i]) for i in ids]
    theory.append(max(0.0, 1.0 - sum(theory)))
    empirical.append(max(0.0, 1.0 - sum(empirical)))
    counts = [int(result.counts[i]) for i in ids] + [result.n - sum(int(result.counts[i]) for i in ids)]
    hovers = [hover_text(tok, i) for i in ids] + [labels[-1]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name="softmax(scores)", x=x, y=theory, marker_color=COLORS["prob"], hovertext=hovers,
            hovertemplate="%{hovertext}<br>probability: %{y:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            name=f"frequency in {result.n:,} draws", x=x, y=empirical, marker_color=COLORS["logit"],
            hovertext=hovers, customdata=counts,
            hovertemplate="%{hovertext}<br>frequency: %{y:.4f} (%{customdata:,} draws)<extra></extra>",
        )
    )
    title = (
        f"{result.n:,} draws after “{_short(step.text)}”: TV distance {result.tv_distance:.4f} "
        f"(bound {result.tv_bound:.4f})<br><sup>{escape(config.describe())}, seed {result.seed}</sup>"
    )
    style(fig, title)
    fig.update_layout(
        barmode="group", margin_t=90,
        legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(tickmode="array", tickvals=x, ticktext=labels, tickangle=-45),
        yaxis=dict(title="probability / frequency", tickformat=".0%"),
    )
    return fig


_METRICS = {"entropy": ("entropy (nats)", lambda s: s.entropy), "kept": ("kept-set size (tokens)", lambda s: s.kept),
            "prob": ("probability of the chosen token", lambda s: s.prob)}


def trace_chart(traces: dict[str, GenerationTrace], metric: str = "entropy", title: str | None = None) -> go.Figure:
    """One line per strategy: the entropy, kept-set size or chosen token's probability at every step.

    Hover a point to see the token chosen at that step. A greedy run that falls into a loop shows
    as a flat, low entropy line; a high temperature as a high, noisy one; truncation (top-k,
    top-p, min-p) as a kept-set size that moves with the model's confidence (top-p, min-p) or
    stays put (top-k).

    Args:
        traces: ``{label: GenerationTrace}``, e.g. ``{"greedy": ..., "top-p 0.9": ...}``.
        metric: ``"entropy"`` (nats of softmax(scores)), ``"kept"`` (tokens with a finite score;
            log scale) or ``"prob"`` (probability of the chosen token).
        title: the chart title (default: derived from the metric).

    Examples:
        >>> fig = trace_chart({"greedy": generate_with_trace(lm, "Once", DecodingConfig(), 30)})
        >>> fig.show()                        # doctest: +SKIP
    """
    if metric not in _METRICS:
        raise ValueError(f"`metric` has to be one of {', '.join(repr(m) for m in _METRICS)}, but is {metric!r}")
    if not isinstance(traces, dict) or not traces:
        raise ValueError(f"`traces` has to be a non-empty dict of label → GenerationTrace, but is {traces!r}")
    axis_title, get = _METRICS[metric]
    fig = go.Figure()
    for i, (name, trace) in enumerate(traces.items()):
        tok = trace.lm.tokenizer
        fig.add_trace(
            go.Scatter(
                name=escape(str(name)),
                x=list(range(1, len(trace.steps) + 1)),
                y=[get(s) for s in trace.steps],
                mode="lines+markers",
                line=dict(color=QUALITATIVE[i % len(QUALITATIVE)], width=2),
                marker=dict(size=5),
                hovertext=[f"{escape(str(name))}<br>step {j + 1}: <b>{html_label(tok, s.token_id)}</b>"
                           f"<br>entropy {s.entropy:.3f} nats · kept {s.kept:,} · p {s.prob:.3f}"
                           for j, s in enumerate(trace.steps)],
                hoverinfo="text",
            )
        )
    style(fig, title if title is not None else f"{axis_title.capitalize()} at each generated step")
    fig.update_layout(margin_t=80, legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
                      xaxis=dict(title="generated step"), yaxis=dict(title=axis_title))
    if metric == "kept":
        fig.update_yaxes(type="log")
    if metric == "prob":
        fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return fig


def order_chart(step: NextToken, config: DecodingConfig, orders: dict[str, Sequence[str]], k: int = 20,
                title: str | None = None) -> go.Figure:
    """``softmax`` of :func:`apply_in_order`'s scores for each order, side by side.

    Grouped bars for the ``k`` highest-logit tokens, one colour per order; filtered tokens are at
    zero and marked ✕. Each legend entry says how many tokens that order keeps.

    Args:
        step: a captured next-token distribution.
        config: the configuration whose processors are reordered.
        orders: ``{label: order}``, e.g. ``{"transformers": HF_ORDER, "llama.cpp": LLAMA_CPP_ORDER}``.
        k: number of tokens shown, >= 1.
        title: chart title (default: derived from the config).

    Examples:
        >>> fig = order_chart(step, DecodingConfig(do_sample=True, temperature=2.0, min_p=0.1, top_k=0),
        ...                   {"transformers": HF_ORDER, "llama.cpp": LLAMA_CPP_ORDER})
        >>> fig.show()                        # doctest: +SKIP
    """
    check_int("k", k, 1)
    if not isinstance(orders, dict) or not orders:
        raise ValueError(f"`orders` has to be a non-empty dict of label → order, but is {orders!r}")
    config = config or DecodingConfig()
    default = (
        f"The same processors in {len(orders)} orders after “{_short(step.text)}”<br><sup>{escape(config.describe())}</sup>"
    )
    scores = {name: apply_in_order(step, config, order) for name, order in orders.items()}
    return distributions_chart(step, scores, k=k, title=title if title is not None else default)


def distributions_chart(step: NextToken, scores: dict, k: int = 20, title: str | None = None) -> go.Figure:
    """``softmax`` of several score vectors of one step, side by side: grouped bars for the ``k``
    highest-logit tokens, one colour per vector; filtered tokens (``-inf``) are at zero and marked ✕.
    Each legend entry says how many tokens that vector keeps.

    Args:
        step: the captured distribution the scores were made from (its logits pick the tokens).
        scores: ``{label: scores}``, each a ``(vocab,)`` tensor (e.g. ``apply_in_order``'s, or a
            llama.cpp sampler's output), or a probability vector wrapped as ``torch.log(p)``.
        k: number of tokens shown, >= 1.
        title: chart title (default: the step's text).

    Examples:
        >>> fig = distributions_chart(step, {"raw": step.logits, "T = 2": step.logits / 2}, k=5)
        >>> [t.name for t in fig.data]
        ['raw: 49,152 kept', 'T = 2: 49,152 kept']
    """
    check_int("k", k, 1)
    if not isinstance(scores, dict) or not scores:
        raise ValueError(f"`scores` has to be a non-empty dict of label → scores, but is {scores!r}")
    vocab = step.logits.shape[-1]
    for name, sc in scores.items():
        if not isinstance(sc, torch.Tensor) or tuple(sc.shape) != (vocab,):
            raise ValueError(f"`scores[{name!r}]` has to be a tensor of shape ({vocab},), but is {getattr(sc, 'shape', sc)!r}")
    k = min(k, vocab)
    ids = step.logits.topk(k).indices.tolist()
    tok = step.lm.tokenizer
    labels = [html_label(tok, i) for i in ids]
    x = list(range(k))
    fig = go.Figure()
    n = len(scores)
    width = 0.8 / n
    for j, (name, sc) in enumerate(scores.items()):
        sc = sc.detach().float()
        p = probabilities(sc)
        kept = [bool(torch.isfinite(sc[i])) for i in ids]
        n_kept = int(torch.isfinite(sc).sum())
        color = QUALITATIVE[j % len(QUALITATIVE)]
        offset = (j - (n - 1) / 2) * width
        fig.add_trace(
            go.Bar(
                name=f"{escape(str(name))}: {n_kept:,} kept",
                x=[v + offset for v in x],
                y=[float(p[i]) for i in ids],
                width=width,
                marker=dict(color=[color if keep else COLORS["filtered"] for keep in kept],
                            pattern=dict(shape=["" if keep else "/" for keep in kept])),
                hovertext=[f"{hover_text(tok, i)}<br>{escape(str(name))}: p {float(p[i]):.4f}"
                           f"{'' if keep else '<br><b>filtered out</b>'}" for i, keep in zip(ids, kept)],
                hoverinfo="text",
            )
        )
        gone = [v + offset for v, keep in zip(x, kept) if not keep]
        if gone:
            fig.add_trace(
                go.Scatter(x=gone, y=[0] * len(gone), mode="markers", showlegend=False, hoverinfo="skip",
                           marker=dict(symbol="x-thin", size=8, line=dict(width=2, color=color)))
            )
    style(fig, title if title is not None else f"After “{_short(step.text)}”")
    # the legend (one row per vector) sits between the title and the plot, so long labels never
    # run into the title on a narrow page
    fig.update_layout(
        margin_t=80 + 22 * n, barmode="overlay",
        legend=dict(orientation="v", y=1.0, yanchor="bottom", x=0, xanchor="left"),
        xaxis=dict(tickmode="array", tickvals=x, ticktext=labels, tickangle=-45, title="token (by logit)"),
        yaxis=dict(title="softmax(scores)", tickformat=".0%"),
    )
    return fig


def line_chart(x, series: dict, title: str, x_title: str, y_title: str, log_x: bool = False, log_y: bool = False,
               hover: dict | None = None) -> go.Figure:
    """Lines of numbers against one x axis: a kept-set size against the temperature, a feedback
    loop's state against the step.

    Args:
        x: the x values (a sequence of numbers).
        series: ``{label: y values}``, each as long as ``x``; ``None`` leaves a gap.
        title: the chart's title.
        x_title: the x axis' title.
        y_title: the y axis' title.
        log_x: a logarithmic x axis.
        log_y: a logarithmic y axis.
        hover: ``{label: [text per point]}`` for the series that hover more than their value.

    Examples:
        >>> fig = line_chart([0.5, 1, 2], {"top-p 0.9": [3, 10, 400]}, "Kept tokens", "T", "kept", log_y=True)
        >>> fig.data[0].name, list(fig.data[0].y)
        ('top-p 0.9', [3, 10, 400])
    """
    x = list(x)
    if not isinstance(series, dict) or not series:
        raise ValueError(f"`series` has to be a non-empty dict of label → values, but is {series!r}")
    fig = go.Figure()
    for j, (name, ys) in enumerate(series.items()):
        ys = list(ys)
        if len(ys) != len(x):
            raise ValueError(f"`series[{name!r}]` has to hold {len(x)} values (one per x), but holds {len(ys)}")
        text = (hover or {}).get(name)
        fig.add_trace(go.Scatter(
            x=x, y=ys, name=escape(str(name)), mode="lines+markers",
            line=dict(color=QUALITATIVE[j % len(QUALITATIVE)], width=2), marker=dict(size=5),
            hovertext=[escape(str(t)) for t in text] if text is not None else None,
            hovertemplate=None if text is None else "%{hovertext}<extra>" + escape(str(name)) + "</extra>",
        ))
    style(fig, title)
    n = len(series)
    fig.update_layout(
        margin_t=80 + 22 * n,
        legend=dict(orientation="v", y=1.0, yanchor="bottom", x=0, xanchor="left"),
        xaxis=dict(title=x_title, type="log" if log_x else "linear"),
        yaxis=dict(title=y_title, type="log" if log_y else "linear"),
    )
    return fig


__all__ = ["distributions_chart", "histogram_chart", "line_chart", "order_chart", "trace_chart"]
