"""Figures of what a processor does to the scores themselves: the raw logits beside the scores a
configuration leaves (:func:`scores_chart`), with the probabilities before and after underneath."""

from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..capture import NextToken
from ..checks import check_int
from ..scoring import DecodingConfig, probabilities
from ..tokens import escape, hover_text, html_label, short_text as _short
from .theme import COLORS, style


def scores_chart(step: NextToken, config: DecodingConfig, k: int = 15, title: str | None = None) -> go.Figure:
    """Raw logits beside the scores under ``config``, token by token, and the probabilities they give.

    Top panel: each token's raw logit (blue dot) and its score after ``config``'s processors (red
    dot), joined by a line, so a penalty's effect is a visible drop in logit units rather than a
    change in small probability bars. A score of ``-inf`` (a banned token) is an ✕ at the panel's
    floor. Bottom panel: ``softmax(logits)`` and ``softmax(scores)`` as bars.

    The tokens are the ``k`` highest by raw logit, plus the highest by score when it is not among
    them, in order of their raw logit.

    Args:
        step: a captured next-token distribution.
        config: the configuration whose scores are drawn (e.g. ``DecodingConfig(repetition_penalty=1.5)``).
        k: how many tokens to show, >= 1.
        title: the chart title (default: derived from the config).

    Examples:
        >>> step = cap("The sky is the sky is")
        >>> fig = scores_chart(step, DecodingConfig(repetition_penalty=1.5), k=5)
        >>> [trace.name for trace in fig.data][:4]
        ['logit', 'score', 'softmax(logits)', 'softmax(scores)']
    """
    check_int("k", k, 1)
    if not isinstance(config, DecodingConfig):
        raise ValueError(f"`config` has to be a DecodingConfig, but is {config!r}")
    scores = step.scores(config)
    logits = step.logits.float()
    before, after = probabilities(logits), probabilities(scores)
    vocab = logits.shape[-1]
    ids = logits.topk(min(k, vocab)).indices.tolist()
    best = int(scores.argmax())
    if best not in ids:
        ids.append(best)
    ids.sort(key=lambda i: -float(logits[i]))
    tok = step.lm.tokenizer
    finite = [bool(torch.isfinite(scores[i])) for i in ids]
    changed = [float(scores[i]) != float(logits[i]) for i in ids]
    hovers = [
        f"{hover_text(tok, i)}<br>logit: {float(logits[i]):.3f}<br>score: {float(scores[i]):.3f}"
        f"<br>p: {float(before[i]):.4f} → {float(after[i]):.4f}{'' if changed[j] else '<br>unchanged'}"
        for j, i in enumerate(ids)
    ]
    x = list(range(len(ids)))
    shown = [float(logits[i]) for i in ids] + [float(scores[i]) for i, f in zip(ids, finite) if f]
    lo, hi = min(shown), max(shown)
    pad = max(0.5, 0.08 * (hi - lo))
    floor = lo - pad
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.58, 0.42], vertical_spacing=0.06)
    # a line from each logit to its score: the processor's move, in the logits' own units
    line_x, line_y = [], []
    for v, i, f, c in zip(x, ids, finite, changed):
        if c:
            line_x += [v - 0.15, v + 0.15, None]
            line_y += [float(logits[i]), float(scores[i]) if f else floor, None]
    fig.add_trace(go.Scatter(name="logit", x=[v - 0.15 for v in x], y=[float(logits[i]) for i in ids], mode="markers",
                             marker=dict(size=10, color=COLORS["logit"]), hovertext=hovers, hoverinfo="text"), row=1, col=1)
    fig.add_trace(go.Scatter(name="score", x=[v + 0.15 for v, f in zip(x, finite) if f],
                             y=[float(scores[i]) for i, f in zip(ids, finite) if f], mode="markers",
                             marker=dict(size=10, color=COLORS["prob"], symbol="diamond"),
                             hovertext=[h for h, f in zip(hovers, finite) if f], hoverinfo="text"), row=1, col=1)
    fig.add_trace(go.Bar(name="softmax(logits)", x=[v - 0.2 for v in x], y=[float(before[i]) for i in ids], width=0.4,
                         marker_color=COLORS["logit"], opacity=0.75, hovertext=hovers, hoverinfo="text", showlegend=True),
                  row=2, col=1)
    fig.add_trace(go.Bar(name="softmax(scores)", x=[v + 0.2 for v in x], y=[float(after[i]) for i in ids], width=0.4,
                         marker_color=COLORS["prob"], opacity=0.75, hovertext=hovers, hoverinfo="text"), row=2, col=1)
    fig.add_trace(go.Scatter(name="logit → score", x=line_x, y=line_y, mode="lines", hoverinfo="skip",
                             line=dict(color=COLORS["filtered"], width=2), showlegend=False), row=1, col=1)
    banned = [v + 0.15 for v, f in zip(x, finite) if not f]
    if banned:
        fig.add_trace(go.Scatter(name="banned (−∞)", x=banned, y=[floor] * len(banned), mode="markers", hoverinfo="skip",
                                 marker=dict(symbol="x-thin", size=12, line=dict(width=2, color=COLORS["prob"]))), row=1, col=1)
    n_changed = int((scores != logits).sum())
    default = (
        f"Logits and scores<br><sup>after “{_short(step.text)}”<br>{escape(config.describe())}: "
        f"{n_changed:,} of {vocab:,} scores changed</sup>"
    )
    style(fig, title if title is not None else default, height=620)
    top = max(max(float(before[i]), float(after[i])) for i in ids)
    fig.update_layout(
        margin=dict(t=100, r=20), barmode="overlay",
        # under the plot, two entries a row: beside the title the entries would cover it on a phone
        legend=dict(orientation="h", y=-0.3, yanchor="top", x=0, xanchor="left", entrywidth=0.5, entrywidthmode="fraction",
                    font=dict(size=11)),
    )
    fig.update_yaxes(title_text="logit / score", range=[floor - 0.3 * pad, hi + pad], row=1, col=1)
    fig.update_yaxes(title_text="probability", range=[0, min(1.0, top * 1.15) or 1.0], tickformat=".0%", row=2, col=1)
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=[html_label(tok, i) for i in ids], tickangle=-45, row=2, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    return fig


__all__ = ["scores_chart"]
