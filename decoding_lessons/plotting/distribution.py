"""Figures of one next-token distribution."""

from __future__ import annotations

import plotly.graph_objects as go
import torch

from ..capture import NextToken
from ..scoring import DecodingConfig, probabilities
from ..tokens import escape, hover_text, html_label, short_text as _short
from .theme import COLORS, style


def token_chart(step: NextToken, config: DecodingConfig | None = None, k: int = 15, title: str | None = None) -> go.Figure:
    """The ``k`` highest-logit tokens with their raw logits (dots, left axis: a logit has no zero to
    draw a bar from) and ``softmax(scores)`` under ``config`` (bars, right axis).

    Tokens that ``config`` filters out (score ``-inf``) are drawn as open grey dots and marked ✕ at
    zero probability, so truncation is visible rather than silently missing. Token labels show
    whitespace and partial UTF-8 bytes; hovering shows the raw vocabulary entry and the id.

    Args:
        step: a captured next-token distribution (``LogitCapture(lm)(prompt)``).
        config: the decoding configuration (default: ``generate()``'s greedy defaults, which
            leave the scores equal to the logits).
        k: number of tokens to show, >= 1.
        title: chart title (default: derived from the config).

    Examples:
        >>> fig = token_chart(cap("The sky is"), DecodingConfig(do_sample=True, top_k=5))
        >>> fig.show()                        # doctest: +SKIP
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"`k` has to be an integer >= 1, but is {k!r}")
    config = config or DecodingConfig()
    scores = step.scores(config)
    probs = probabilities(scores)
    k = min(k, step.logits.shape[-1])
    logits, ids = step.logits.topk(k)
    ids = ids.tolist()
    tok = step.lm.tokenizer
    labels = [html_label(tok, i) for i in ids]
    kept = [bool(torch.isfinite(scores[i])) for i in ids]
    hovers = [
        f"{hover_text(tok, i)}<br>logit: {float(step.logits[i]):.3f}<br>score: {float(scores[i]):.3f}"
        f"<br>p: {float(probs[i]):.4f}{'' if kept[j] else '<br><b>filtered out</b>'}"
        for j, i in enumerate(ids)
    ]
    x = list(range(k))
    fig = go.Figure()
    # logits as dots, not bars: a logit has no natural zero (adding a constant to every logit changes
    # nothing), so a bar's length from the axis floor would be read as a size it does not have
    fig.add_trace(
        go.Scatter(
            name="logit",
            x=[v - 0.2 for v in x],
            y=[round(float(v), 3) for v in logits],
            mode="markers",
            marker=dict(
                symbol=["circle" if keep else "circle-open" for keep in kept], size=10,
                color=[COLORS["logit"] if keep else COLORS["filtered"] for keep in kept], line=dict(width=2),
            ),
            hovertext=hovers,
            hoverinfo="text",
            yaxis="y",
        )
    )
    fig.add_trace(
        go.Bar(
            name="softmax(scores)",
            x=[v + 0.2 for v in x],
            y=[float(probs[i]) for i in ids],
            width=0.4,
            marker_color=COLORS["prob"],
            text=[f"{float(probs[i]):.2f}" if kept[j] else "" for j, i in enumerate(ids)],
            textposition="outside",
            # upright labels shrink to the bar's width (about 6 px on a phone): turned, they keep 11 px
            textangle=-90,
            constraintext="none",
            textfont=dict(size=11),
            cliponaxis=False,
            hovertext=hovers,
            hoverinfo="text",
            yaxis="y2",
        )
    )
    filtered_x = [v + 0.2 for v, keep in zip(x, kept) if not keep]
    if filtered_x:
        fig.add_trace(
            go.Scatter(
                name="filtered out",
                x=filtered_x,
                y=[0] * len(filtered_x),
                mode="markers",
                marker=dict(symbol="x-thin", size=10, line=dict(width=2, color=COLORS["filtered"])),
                hoverinfo="skip",
                yaxis="y2",
            )
        )
    lo = min(float(v) for v in logits)
    hi = max(float(v) for v in logits)
    pad = max(1.0, 0.1 * (hi - lo))
    n_kept = int(torch.isfinite(scores).sum())
    default_title = (
        f"Top {k} tokens after “{_short(step.text)}”<br><sup>{escape(config.describe())}: "
        f"{n_kept:,} of {scores.shape[-1]:,} tokens kept</sup>"
    )
    style(fig, title if title is not None else default_title)
    fig.update_layout(margin_t=80, legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"))
    fig.update_layout(
        barmode="overlay",
        xaxis=dict(tickmode="array", tickvals=x, ticktext=labels, tickangle=-45, title="token (by logit)"),
        yaxis=dict(title="logit", range=[min(0.0, lo - pad), hi + pad] if lo < 0 else [max(0.0, lo - pad), hi + pad]),
        yaxis2=dict(title="softmax(scores)", overlaying="y", side="right", range=[0, 1.08], showgrid=False, tickformat=".0%", dtick=0.25),
        # on a phone (site.js reads layout.meta.narrow) the 45° token labels run into each other:
        # upright ones, a size smaller, take a column each
        meta=dict(narrow=dict(width=600, layout={"xaxis.tickangle": -90, "xaxis.tickfont.size": 10, "legend.font.size": 10})),
    )
    return fig




