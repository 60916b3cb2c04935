"""Figures of DoLa (:func:`decoding_lessons.dola_decoding`).

* :func:`dola_layers_chart` — the Jensen–Shannon divergence of every candidate layer from the final
  layer, step by step (a heat map), with the layer each step contrasted against marked.
* :func:`dola_chart` — one step at a time (slider): the final and the premature layer's
  probabilities of the leading tokens, and the contrast ``log p_final − log p_premature`` that DoLa
  decodes from (−inf for the tokens the relative-top filter cut).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..search.dola import RELATIVE_TOP, DolaResult
from ..tokens import clip_label as _clip
from .search import TokenLabels
from .theme import COLORS, style


def dola_layers_chart(result: DolaResult, tokenizer=None, title: str | None = None) -> go.Figure:
    """Candidate layers × steps: each cell is that layer's JS divergence from the final layer at that
    step; the ✕ marks the layer the step contrasted against (the largest divergence).

    Examples:
        >>> fig = dola_layers_chart(dola_decoding(lm, "The capital of France is", "high"), lm)
        >>> fig.show()                        # doctest: +SKIP
    """
    names = TokenLabels(tokenizer)
    layers = result.steps[0].candidate_layers
    if len(layers) < 2:
        raise ValueError(
            f"`result` has to come from a run with at least 2 candidate layers (a single one needs no choice), but has {layers}"
        )
    x = [f"{s.step + 1}: {_clip(names.label(s.token_id), 10)}" for s in result.steps]
    z = [[s.js_divergences[i] for s in result.steps] for i in range(len(layers))]
    hover = [
        [f"step {s.step + 1}, layer {layer}<br>JS divergence from the final layer: {s.js_divergences[i]:.3g}"
         f"{'<br><b>contrasted against</b>' if layer == s.premature_layer else ''}" for s in result.steps]
        for i, layer in enumerate(layers)
    ]
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=z, x=x, y=[str(layer) for layer in layers], colorscale="Viridis", hovertext=hover,
                             hoverinfo="text", colorbar=dict(title=dict(text="JS", side="right"), thickness=12)))
    fig.add_trace(go.Scatter(
        x=x, y=[str(s.premature_layer) for s in result.steps], mode="markers", name="premature layer (largest JS)",
        marker=dict(symbol="x", size=11, color="white", line=dict(width=2, color="black")), hoverinfo="skip",
    ))
    style(fig, title or f"Which layer each step contrasts with (of {result.num_layers}; {result.settings['dola_layers']!r})",
          height=max(320, 26 * len(layers) + 220))
    fig.update_xaxes(title="step: the token DoLa chose", tickangle=-45, type="category")
    fig.update_yaxes(title="candidate premature layer", type="category")
    fig.update_layout(legend=dict(y=1.02, yanchor="bottom", x=0, xanchor="left"), margin=dict(b=120))
    return fig


def _leading(step, k: int) -> list[int]:
    """The ``k`` tokens the final layer finds most likely, plus the token DoLa chose if it is not among them."""
    order = step.final_logprobs.argsort(descending=True)[:k].tolist()
    if step.token_id not in order:
        order.append(step.token_id)
    return order


def dola_chart(result: DolaResult, tokenizer=None, k: int = 10, title: str | None = None) -> go.Figure:
    """One step at a time (slider): left, the final layer's and the premature layer's probability of
    the ``k`` tokens the final layer finds most likely (and DoLa's choice); right, DoLa's contrast
    ``log p_final − log p_premature`` for the tokens the relative-top filter kept (final-layer
    p >= 0.1 × p_max). DoLa's choice is marked ✓ and the final layer's own choice ★.

    Examples:
        >>> fig = dola_chart(dola_decoding(lm, "The capital of France is", "high"), lm)
        >>> fig.show()                        # doctest: +SKIP
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` has to be an integer >= 1, but is {k!r}")
    names = TokenLabels(tokenizer)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04, column_widths=[0.55, 0.45],
                        subplot_titles=("p: final vs premature layer", "contrast (kept tokens)"))
    ticks, titles, ranges, per_step = [], [], [], 4
    context = result.prompt_text
    for s in result.steps:
        # each step's own range: the contrast of one step can be hundreds of nats (an early layer that
        # gave a token almost nothing), and a shared axis would flatten every other step
        finite = [float(v) for v in s.contrast[s.kept]] + [0.0]
        lo, hi = min(finite), max(finite)
        pad = 0.08 * (hi - lo) + 1e-6
        ranges.append([lo - pad if lo < 0 else 0.0, hi + pad])
        tokens = _leading(s, k)
        ys = list(range(len(tokens)))
        final_p = [math.exp(float(s.final_logprobs[t])) for t in tokens]
        early_p = [math.exp(float(s.premature_logprobs[t])) for t in tokens]
        kept = [bool(s.kept[t]) for t in tokens]
        contrast = [float(s.contrast[t]) if kept[i] else 0.0 for i, t in enumerate(tokens)]
        visible = s.step == 0
        hovers = [
            f"{names.hover(t)}<br>final layer p = {final_p[i]:.4f}<br>layer {s.premature_layer} p = {early_p[i]:.4g}"
            + (f"<br>contrast = <b>{float(s.contrast[t]):.3f}</b>" if kept[i] else f"<br>cut: p < {RELATIVE_TOP:g} × p_max")
            for i, t in enumerate(tokens)
        ]
        fig.add_trace(go.Bar(x=final_p, y=ys, orientation="h", name=f"final layer ({result.num_layers})",
                             marker_color=COLORS["logit"], hovertext=hovers, hoverinfo="text", visible=visible,
                             legendgroup="f"), row=1, col=1)
        fig.add_trace(go.Bar(x=early_p, y=ys, orientation="h", name="premature layer", marker_color=COLORS["accent"],
                             hovertext=hovers, hoverinfo="text", visible=visible, legendgroup="e"), row=1, col=1)
        fig.add_trace(go.Bar(x=contrast, y=ys, orientation="h", name="contrast (kept tokens)",
                             marker_color=[COLORS["kept"] if t == s.token_id else COLORS["threshold"] for t in tokens],
                             hovertext=hovers, hoverinfo="text", visible=visible, showlegend=False), row=1, col=2)
        fig.add_trace(go.Scatter(x=[0.0] * len(ys), y=ys, mode="text",
                                 text=["" if kept[i] else "cut" for i in ys], textposition="middle right",
                                 textfont=dict(color=COLORS["filtered"]), hoverinfo="skip", visible=visible,
                                 showlegend=False), row=1, col=2)
        final_choice = s.final_choice
        ticks.append([f"{'✓ ' if t == s.token_id else ''}{'★ ' if t == final_choice else ''}{_clip(names.label(t), 14)}" for t in tokens])
        verdict = "DoLa overrules the final layer" if s.token_id != final_choice else "DoLa agrees with the final layer"
        titles.append(f"Step {s.step + 1} of {len(result.steps)}: layer {s.premature_layer} against layer {result.num_layers}"
                      f"<br><sup>{verdict}; {int(s.kept.sum())} token(s) pass the relative-top filter</sup>")
        context += names.label(s.token_id)
    n = len(result.steps)
    steps = []
    for i in range(n):
        vis = [False] * (per_step * n)
        vis[per_step * i: per_step * (i + 1)] = [True] * per_step
        steps.append(dict(method="update", label=str(i + 1), args=[{"visible": vis}, {"yaxis.ticktext": ticks[i], "title.text": titles[i], "xaxis2.range": ranges[i]}]))
    style(fig, title if title is not None else titles[0], height=max(420, 34 * (k + 1) + 260))
    fig.update_layout(
        barmode="group", bargap=0.25,
        sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="step "), pad=dict(t=55), len=1.0, x=0)],
        margin=dict(l=130, r=20, t=150, b=40),
        title=dict(y=1, yref="container", yanchor="top", pad=dict(t=14)),
        legend=dict(y=1.1, yanchor="bottom", x=0, xanchor="left"),
    )
    fig.update_yaxes(tickmode="array", tickvals=list(range(k + 1)), ticktext=ticks[0], autorange="reversed", row=1, col=1)
    fig.update_xaxes(range=[0, 1], title="probability", row=1, col=1)
    fig.update_xaxes(range=ranges[0], zeroline=True, title="log p_final − log p_premature", row=1, col=2)
    for annotation in fig.layout.annotations:
        annotation.font = dict(size=12)
    return fig


__all__ = ["dola_chart", "dola_layers_chart"]
