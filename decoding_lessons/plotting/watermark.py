"""Figures of the watermark: the green list on one distribution, green mass over a generation,
z-scores of watermarked against plain texts, and what δ costs."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..checks import check_int
from ..tokens import escape, hover_text, html_label, short_text as _short
from ..watermark import DetectionStudy, GreenMass, WatermarkRun, green_mass
from .theme import COLORS, style


def green_step_chart(step, config, k: int = 15, title: str | None = None, **position) -> go.Figure:
    """One distribution before and after the watermark, the green tokens marked.

    The ``k`` most likely tokens (before the watermark) and the ``k`` most likely after it, with
    their probability before and after ``+ δ``; green tokens are drawn green, red ones (every other
    token) grey. The title gives the green list's mass over the *whole* vocabulary before and after
    (:func:`~decoding_lessons.watermark.green_mass`). Each pair of bars is before (pale, left) and
    after (solid, right); the legend names the two colours once.

    Args:
        step: a captured next-token distribution.
        config: a ``DecodingConfig`` with ``watermarking_config``.
        k: how many of the most likely tokens to show, >= 1.
        title: the chart title (default: derived from the green mass).
        **position: ``prompt_length`` / ``max_new_tokens``, as for :meth:`~decoding_lessons.NextToken.scores`.

    Examples:
        >>> fig = green_step_chart(cap("The sky is"), DecodingConfig(watermarking_config={}), k=5)
        >>> [t.name for t in fig.data]
        ['before: green', 'before: red', 'green token', 'red token']
    """
    check_int("k", k, 1)
    m = green_mass(step, config, **position)
    vocab = m.before.shape[-1]
    ids = m.before.topk(min(k, vocab)).indices.tolist()
    ids += [i for i in m.after.topk(min(k, vocab)).indices.tolist() if i not in ids]
    ids.sort(key=lambda i: -float(m.before[i]))
    green = set(m.green.tolist())
    tok = step.lm.tokenizer
    x = list(range(len(ids)))
    fig = go.Figure()
    for which, probs, offset, opacity in (("before", m.before, -0.2, 0.45), ("after", m.after, 0.2, 1.0)):
        for colour, is_green in (("green", True), ("red", False)):
            sel = [j for j, i in enumerate(ids) if (i in green) == is_green]
            fig.add_trace(go.Bar(
                name=f"before: {colour}" if which == "before" else f"{colour} token", x=[x[j] + offset for j in sel], y=[float(probs[ids[j]]) for j in sel], width=0.4,
                legendgroup=colour, showlegend=which == "after",
                marker_color=COLORS["kept"] if is_green else COLORS["filtered"], opacity=opacity,
                hovertext=[f"{hover_text(tok, ids[j])}<br>{colour}<br>before: {float(m.before[ids[j]]):.4f}<br>"
                           f"after: {float(m.after[ids[j]]):.4f}" for j in sel], hoverinfo="text",
            ))
    default = (
        f"“{_short(step.text)}” → ?<br><sup>green: {len(green):,} of {vocab:,} tokens (γ = {m.gamma:g}), "
        f"holding {m.mass_before:.1%} → {m.mass_after:.1%} (δ = {m.bias:g})</sup>"
    )
    style(fig, title if title is not None else default)
    top = max(max(float(m.before[i]), float(m.after[i])) for i in ids)
    fig.update_layout(
        margin_t=80, barmode="overlay", legend=dict(orientation="v", y=1.0, yanchor="top", x=1, xanchor="right"),
        xaxis=dict(tickmode="array", tickvals=x, ticktext=[html_label(tok, i) for i in ids], tickangle=-45, title="token"),
        yaxis=dict(title="probability", range=[0, min(1.0, top * 1.12) or 1.0], tickformat=".0%"),
    )
    return fig


def green_trace_chart(run: WatermarkRun, title: str | None = None) -> go.Figure:
    """A watermarked generation step by step: the green list's probability before and after ``+ δ``,
    γ (its share of the vocabulary) as a line, and each chosen token marked green or red.

    Args:
        run: :func:`~decoding_lessons.watermark.watermark_generation`'s result.
        title: the chart title (default: the green fraction of the text).

    Examples:
        >>> run = watermark_generation(lm, "The sky is", DecodingConfig(watermarking_config={}), max_new_tokens=4)
        >>> [t.name for t in green_trace_chart(run).data][:2]
        ['green mass before', 'green mass after + δ']
    """
    if not isinstance(run, WatermarkRun) or not run.steps:
        raise ValueError(f"`run` has to be a WatermarkRun with at least one step, but is {run!r}")
    tok = run.lm.tokenizer
    w = run.config.watermarking_config
    x = list(range(1, len(run.steps) + 1))
    labels = [hover_text(tok, s.token_id) for s in run.steps]
    fig = go.Figure()
    fig.add_trace(go.Scatter(name="green mass before", x=x, y=[s.mass_before for s in run.steps], mode="lines",
                             line=dict(color=COLORS["filtered"], dash="dot"),
                             hovertext=[f"{l}<br>entropy before: {s.entropy_before:.2f} nats" for l, s in zip(labels, run.steps)],
                             hoverinfo="text+y"))
    fig.add_trace(go.Scatter(name="green mass after + δ", x=x, y=[s.mass_after for s in run.steps], mode="lines",
                             line=dict(color=COLORS["kept"]), hoverinfo="y"))
    for name, is_green, colour in (("chosen token green", True, COLORS["kept"]), ("chosen token red", False, COLORS["prob"])):
        sel = [j for j, s in enumerate(run.steps) if s.green == is_green]
        fig.add_trace(go.Scatter(name=name, x=[x[j] for j in sel], y=[run.steps[j].mass_after for j in sel], mode="markers",
                                 marker=dict(color=colour, size=9, symbol="circle" if is_green else "x"),
                                 hovertext=[labels[j] for j in sel], hoverinfo="text"))
    fig.add_hline(y=w.greenlist_ratio, line=dict(color=COLORS["threshold"], dash="dash"),
                  annotation_text=f"γ = {w.greenlist_ratio:g}", annotation_position="bottom right")
    default = (f"{len(run.steps)} tokens, {run.green_fraction:.0%} of them green (γ = {w.greenlist_ratio:g} by chance)"
               f"<br><sup>{escape(str(w))}</sup>")
    style(fig, title if title is not None else default)
    fig.update_layout(margin_t=80, margin_b=150, legend=dict(orientation="h", y=-0.3, yanchor="top", x=0, xanchor="left"),
                      xaxis=dict(title="new token #"), yaxis=dict(title="probability of the green list", range=[0, 1.02], tickformat=".0%"))
    return fig


def z_histogram(study: DetectionStudy, bias: float | None = None, title: str | None = None) -> go.Figure:
    """z-scores of the plain texts against the watermarked ones (δ = ``bias``), overlaid, with the
    detector's threshold as a vertical line.

    Args:
        study: :func:`~decoding_lessons.watermark.detection_study`'s result.
        bias: which δ to show (default: the study's watermark's own δ if it ran, else the largest).
        title: the chart title (default: how many texts each side crosses the threshold).

    Examples:
        >>> study = detection_study(lm, ["The sky is"], DecodingConfig(do_sample=True, watermarking_config={}),
        ...                         biases=(2.0,), samples=2, max_new_tokens=6)
        >>> [t.name for t in z_histogram(study).data]
        ['plain', 'watermarked, δ = 2']
    """
    if not isinstance(study, DetectionStudy):
        raise ValueError(f"`study` has to be a DetectionStudy, but is {type(study).__name__}")
    if bias is None:
        biases = [r.bias for r in study.runs]
        bias = study.watermark.bias if study.watermark.bias in biases else max(biases)
    marked = study.run(bias)
    fig = go.Figure()
    zs = [z for r in (study.plain, marked) for z in r.z_scores if math.isfinite(z)]
    lo, hi = math.floor(min(zs + [-2.0])), math.ceil(max(zs + [study.threshold + 1]))
    for name, r, colour in (("plain", study.plain, COLORS["filtered"]), (f"watermarked, δ = {bias:g}", marked, COLORS["kept"])):
        fig.add_trace(go.Histogram(name=name, x=[float(z) for z in r.z_scores if math.isfinite(z)], marker_color=colour,
                                   opacity=0.75, xbins=dict(start=lo, end=hi, size=0.5)))
    fig.add_vline(x=study.threshold, line=dict(color=COLORS["threshold"], dash="dash"),
                  annotation_text=f"threshold z = {study.threshold:g}", annotation_position="top left")
    default = (f"{study.texts} texts each, up to {study.max_new_tokens} tokens<br><sup>z > {study.threshold:g}: "
               f"{marked.detected:.0%} watermarked, {study.plain.detected:.0%} plain</sup>")
    style(fig, title if title is not None else default)
    fig.update_layout(barmode="overlay", margin_t=110, legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
                      xaxis=dict(title="z-score (WatermarkDetector)"), yaxis=dict(title="texts", dtick=1))
    return fig


def tradeoff_chart(study: DetectionStudy, title: str | None = None) -> go.Figure:
    """What δ buys and what it costs: mean detection z against the texts' perplexity under the
    unwatermarked model, one point per δ (δ = 0: the plain texts), joined in order of δ. The
    perplexity is the price with the contexts held fixed
    (:attr:`~decoding_lessons.watermark.DetectionRun.price_perplexity`: each δ's sampling distribution
    at the plain texts' contexts, scored whole), so a handful of texts already orders the points.

    Examples:
        >>> study = detection_study(lm, ["The sky is"], DecodingConfig(do_sample=True, watermarking_config={}),
        ...                         biases=(1.0, 4.0), samples=1, max_new_tokens=6)
        >>> len(tradeoff_chart(study).data[0].x)
        3
    """
    if not isinstance(study, DetectionStudy):
        raise ValueError(f"`study` has to be a DetectionStudy, but is {type(study).__name__}")
    runs = sorted([study.plain] + list(study.runs), key=lambda r: r.bias)
    z = [float(np.nanmean(r.z_scores)) for r in runs]
    ppl = [r.price_perplexity for r in runs]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name="mean z", x=ppl, y=z, mode="lines+markers+text", text=[f"δ = {r.bias:g}" for r in runs], textposition="top left",
        marker=dict(size=10, color=COLORS["kept"]), line=dict(color=COLORS["kept"]), cliponaxis=False,
        hovertext=[f"δ = {r.bias:g}<br>mean z: {zz:.2f}<br>perplexity: {p:.2f}<br>detected: {r.detected:.0%}"
                   for r, zz, p in zip(runs, z, ppl)], hoverinfo="text",
    ))
    fig.add_hline(y=study.threshold, line=dict(color=COLORS["threshold"], dash="dash"),
                  annotation_text=f"threshold z = {study.threshold:g}", annotation_position="bottom right")
    default = "What δ buys and what it costs<br><sup>mean z-score against perplexity under the unwatermarked model</sup>"
    style(fig, title if title is not None else default)
    fig.update_layout(showlegend=False, margin_t=80, xaxis=dict(title="perplexity under the unwatermarked model, same contexts"),
                      yaxis=dict(title="mean z-score"))
    return fig


__all__ = ["green_step_chart", "green_trace_chart", "tradeoff_chart", "z_histogram"]
