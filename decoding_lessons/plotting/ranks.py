"""A figure of a kept set by rank: which of the most likely tokens a configuration keeps, for a
``k`` too large to label every token (token labels are in the hover, not on the axis)."""

from __future__ import annotations

import plotly.graph_objects as go
import torch

from ..checks import check_int
from ..scoring import DecodingConfig
from ..tokens import escape, hover_text, short_text as _short
from .theme import COLORS, style


def rank_chart(step, config: DecodingConfig, k: int = 60, base: DecodingConfig | None = None, title: str | None = None) -> go.Figure:
    """The ``k`` highest-logit tokens by rank, with their probability before truncation, kept or cut.

    The x axis is the rank (1 = the highest logit), the y axis the probability under ``base`` on
    a log scale: by default the same temperature as ``config`` with nothing truncated, so the dots
    are the distribution the truncation cut from. Filled dots are the tokens ``config`` keeps,
    grey ✕ the ones whose score it sets to ``-inf``; a dotted line follows the last kept rank when
    the cut falls inside the chart. Hover a point for its token, id and both probabilities. Where
    :func:`token_chart` labels every token on the axis, this chart stays readable at 60 tokens
    and on a phone.

    Args:
        step: a captured next-token distribution.
        config: the configuration whose kept set is drawn.
        k: how many of the most likely tokens to show, >= 1.
        base: the distribution the dots show (default: ``DecodingConfig(do_sample=True, top_k=0)``
            with ``config``'s temperature).
        title: the chart title (default: derived from the step and the config).

    Examples:
        >>> step = cap("The sky is")
        >>> fig = rank_chart(step, DecodingConfig(do_sample=True, temperature=0.7), k=60)
        >>> [trace.name for trace in fig.data], len(fig.data[0].x)
        (['kept', 'cut (score −inf)'], 50)
    """
    check_int("k", k, 1)
    if not isinstance(config, DecodingConfig):
        raise ValueError(f"`config` has to be a DecodingConfig, but is {type(config).__name__}")
    base = base if base is not None else DecodingConfig(do_sample=True, top_k=0, temperature=config.temperature)
    k = min(k, step.logits.shape[-1])
    ids = step.logits.topk(k).indices.tolist()
    scores = step.scores(config)
    before, after = step.probs(base), step.probs(config)
    kept = [bool(torch.isfinite(scores[i])) for i in ids]
    tok = step.lm.tokenizer
    fig = go.Figure()
    for name, want, marker in (
        ("kept", True, dict(symbol="circle", size=8, color=COLORS["kept"])),
        ("cut (score −inf)", False, dict(symbol="x-thin", size=9, line=dict(width=2, color=COLORS["filtered"]))),
    ):
        ranks = [r for r, flag in enumerate(kept, start=1) if flag == want]
        fig.add_trace(go.Scatter(
            name=name, mode="markers", marker=marker, x=ranks,
            y=[max(float(before[ids[r - 1]]), 1e-30) for r in ranks],
            hovertext=[
                f"rank {r}: {hover_text(tok, ids[r - 1])}<br>p before: {float(before[ids[r - 1]]):.4g}"
                f"<br>p after: {float(after[ids[r - 1]]):.4g}" for r in ranks
            ],
            hoverinfo="text",
        ))
    n_kept = step.kept(config)
    last = max((r for r, flag in enumerate(kept, start=1) if flag), default=0)
    if 0 < last < k:
        fig.add_vline(x=last + 0.5, line=dict(dash="dot", width=1.5, color=COLORS["threshold"]))
    default = (
        f"Top {k} tokens after “{_short(step.text)}”, by rank<br><sup>{escape(config.describe())}: "
        f"{n_kept:,} of {step.logits.shape[-1]:,} tokens kept</sup>"
    )
    style(fig, title if title is not None else default)
    fig.update_layout(
        margin_t=80,
        legend=dict(orientation="h", y=-0.22, yanchor="top", x=0, xanchor="left"),
        xaxis=dict(title="rank (1 = highest logit)", range=[0, k + 1]),
        yaxis=dict(title="probability before the cut", type="log", tickformat=".1~%"),
    )
    return fig


__all__ = ["rank_chart"]
