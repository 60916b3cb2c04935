"""Figures of the controls: what a processor removes or shifts on one full distribution."""

from __future__ import annotations

import plotly.graph_objects as go
import torch

from ..checks import check_int
from ..constraints import shift
from ..tokens import escape, hover_text, html_label, short_text as _short
from .theme import COLORS, style


def shift_chart(step, config, base=None, k: int = 12, highlight=(), title: str | None = None, **position) -> go.Figure:
    """Before and after: ``softmax`` of the scores under ``base`` and under ``config``, side by side.

    The tokens shown are the ``k`` most likely before, the tokens ``config`` raises most (a bias or
    a grammar can lift a token from deep in the tail), and ``highlight`` (e.g. the EOS id), in order
    of their probability before. A token that ``config`` removes (score ``-inf``) is marked ✕ at
    zero. The title states the mass removed and the mass moved over the *whole* vocabulary
    (:func:`~decoding_lessons.constraints.shift`), not only over the bars.

    Args:
        step: a captured next-token distribution.
        config: the configuration with the control.
        base: what it is compared with (default: no processor, ``softmax(logits)``).
        k: how many of the most likely tokens to show, >= 1.
        highlight: token ids to show in any case.
        title: the chart title (default: derived from the shift).
        **position: ``prompt_length`` / ``max_new_tokens``, as for :meth:`~decoding_lessons.NextToken.scores`.

    Examples:
        >>> step = cap("The sky is")
        >>> fig = shift_chart(step, DecodingConfig(min_new_tokens=2), highlight=[2])
        >>> [trace.name for trace in fig.data][:2]
        ['before', 'after']
    """
    check_int("k", k, 1)
    highlight = [int(i) for i in highlight]
    vocab = step.logits.shape[-1]
    bad = [i for i in highlight if not 0 <= i < vocab]
    if bad:
        raise ValueError(f"`highlight` has to hold token ids in the [0, {vocab}) interval, but holds {bad}")
    s = shift(step, config, base, **position)
    scores = step.scores(config, **position)
    ids = s.before.topk(min(k, vocab)).indices.tolist()
    for i in list(s.gained[:3]) + highlight:
        if i not in ids:
            ids.append(i)
    ids.sort(key=lambda i: -float(s.before[i]))
    tok = step.lm.tokenizer
    removed = [bool(scores[i].isneginf()) for i in ids]
    hovers = [
        f"{hover_text(tok, i)}<br>before: {float(s.before[i]):.4f}<br>after: {float(s.after[i]):.4f}"
        f"{'<br><b>removed</b>' if removed[j] else ''}"
        for j, i in enumerate(ids)
    ]
    x = list(range(len(ids)))
    fig = go.Figure()
    fig.add_trace(go.Bar(name="before", x=[v - 0.2 for v in x], y=[float(s.before[i]) for i in ids], width=0.4,
                         marker_color=COLORS["logit"], hovertext=hovers, hoverinfo="text"))
    fig.add_trace(go.Bar(name="after", x=[v + 0.2 for v in x], y=[float(s.after[i]) for i in ids], width=0.4,
                         marker_color=COLORS["prob"], hovertext=hovers, hoverinfo="text"))
    gone = [v + 0.2 for v, r in zip(x, removed) if r]
    if gone:
        fig.add_trace(go.Scatter(name="removed", x=gone, y=[0] * len(gone), mode="markers", hoverinfo="skip",
                                 marker=dict(symbol="x-thin", size=10, line=dict(width=2, color=COLORS["filtered"]))))
    default = (
        f"“{_short(step.text)}” → ?<br><sup>{escape(config.describe())}: removes {s.removed:.1%} of the "
        f"probability, moves {s.moved:.1%}; {s.kept_after:,} of {vocab:,} tokens left</sup>"
    )
    style(fig, title if title is not None else default)
    top = max(max(float(s.before[i]), float(s.after[i])) for i in ids)
    fig.update_layout(
        margin_t=80, barmode="overlay", legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(tickmode="array", tickvals=x, ticktext=[html_label(tok, i) for i in ids], tickangle=-45, title="token"),
        yaxis=dict(title="probability", range=[0, min(1.0, top * 1.12) or 1.0], tickformat=".0%"),
    )
    return fig


def mass_chart(steps: dict, token_sets: dict, title: str | None = None) -> go.Figure:
    """Probability mass per step on sets of tokens, one line per set: e.g. EOS's probability over
    a generation under the exponential length penalty, against without it.

    Args:
        steps: ``{label: list of probability tensors (vocab,)}``, one tensor per step.
        token_sets: ``{label: token ids}``; the line for ``(steps label, set label)`` is the
            summed probability of the set at each step.
        title: chart title.

    Examples:
        >>> fig = mass_chart({"plain": [torch.tensor([0.5, 0.5])]}, {"EOS": [1]})
        >>> list(fig.data[0].y)
        [0.5]
    """
    if not isinstance(steps, dict) or not steps:
        raise ValueError(f"`steps` has to be a non-empty dict {{label: list of probability tensors}}, but is {steps!r}")
    if not isinstance(token_sets, dict) or not token_sets:
        raise ValueError(f"`token_sets` has to be a non-empty dict {{label: token ids}}, but is {token_sets!r}")
    fig = go.Figure()
    for label, probs in steps.items():
        for name, ids in token_sets.items():
            ids = torch.as_tensor(list(ids), dtype=torch.long)
            y = [float(p[ids].sum()) for p in probs]
            fig.add_trace(go.Scatter(name=f"{label}: {name}" if len(token_sets) > 1 else label, x=list(range(1, len(y) + 1)),
                                     y=y, mode="lines+markers"))
    style(fig, title)
    fig.update_layout(xaxis=dict(title="new token #", dtick=1), yaxis=dict(title="probability", tickformat=".0%", rangemode="tozero"),
                      legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"), margin_t=80)
    return fig


__all__ = ["mass_chart", "shift_chart"]
