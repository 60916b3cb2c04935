"""Sliders: one decoding parameter swept over a grid, on logits captured once.

A slider chart answers "what does this knob do?" by moving it. Every position of the slider is a
*frame*: the same captured logits, run through ``generate()``'s processors with one field of the
configuration changed. No frame re-runs the model, so a slider over 20 values costs 0 extra forward
passes, and the figure is plain data: it works on a static page with no Python kernel behind it.

Examples:
    >>> frames = slider_frames(step, "top_p", [0.5, 0.9, 1.0])
    >>> frames[0].kept_count <= frames[1].kept_count <= frames[2].kept_count == lm.vocab_size
    True
    >>> fig = slider_chart(step, "temperature", [0.25, 0.5, 1.0, 1.5])
    >>> fig.show()                        # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import plotly.graph_objects as go
import torch

from ..capture import NextToken
from ..scoring import DecodingConfig, entropy, probabilities
from ..tokens import escape, hover_text, html_label, short_text as _short
from .theme import COLORS, QUALITATIVE, style

_FIELDS = tuple(f.name for f in fields(DecodingConfig))
# What every chart compares against unless told otherwise: sampling with no truncation (generate()
# would add its hidden top_k=50 when sampling).
DEFAULT_BASE = DecodingConfig(do_sample=True, top_k=0)


@dataclass(frozen=True)
class SliderFrame:
    """One position of a slider: the distribution under one value of the swept parameter.

    Attributes:
        value: the parameter's value at this position.
        config: the full configuration (``base`` with the parameter set to ``value``).
        token_ids: the tokens shown, the ``k`` highest-*logit* tokens; the same in every frame
            so the bars do not jump around as the slider moves.
        probs: ``softmax(scores)`` at ``token_ids``: the renormalised probability that the
            sampler draws each shown token with (0 for a filtered token).
        kept: for each shown token, whether it survived the processors (finite score).
        rest_mass: total probability of every token *not* shown, so nothing is hidden:
            ``sum(probs) + rest_mass == 1``.
        kept_count: number of tokens in the whole vocabulary with a finite score.
        entropy: entropy of ``softmax(scores)`` in nats.
    """

    value: object
    config: DecodingConfig
    token_ids: tuple[int, ...]
    probs: tuple[float, ...]
    kept: tuple[bool, ...]
    rest_mass: float
    kept_count: int
    entropy: float


def _check_grid(parameter: str, values, k) -> list:
    if not isinstance(parameter, str) or parameter not in _FIELDS:
        raise ValueError(f"`parameter` has to be a DecodingConfig field ({', '.join(_FIELDS)}), but is {parameter!r}")
    if isinstance(values, (str, bytes)):
        raise ValueError(f"`values` has to be a non-empty sequence of values for `{parameter}`, but is {values!r}")
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"`values` has to be a non-empty sequence of values for `{parameter}`, but is {values!r}") from None
    if not values:
        raise ValueError(f"`values` has to be a non-empty sequence of values for `{parameter}`, but is empty")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"`k` has to be an integer >= 1, but is {k!r}")
    return values


def slider_frames(
    step: NextToken, parameter: str, values, base: DecodingConfig | None = None, k: int = 20
) -> list[SliderFrame]:
    """The data behind a slider: one :class:`SliderFrame` per value of ``parameter``.

    For each value ``v`` the configuration is ``base.replace(parameter=v)`` and the scores are
    ``step.scores(config)``, exactly what ``generate()`` would sample from. The logits were captured
    once; no frame runs the model again.

    Args:
        step: a captured next-token distribution (``LogitCapture(lm)(prompt)``).
        parameter: the :class:`~decoding_lessons.DecodingConfig` field to sweep, e.g.
            ``"temperature"``, ``"top_k"``, ``"top_p"``, ``"min_p"``.
        values: the grid, in slider order. Each value is validated by ``DecodingConfig``
            (``temperature=0`` is refused, as ``generate()`` refuses it).
        base: the rest of the configuration. Default ``DecodingConfig(do_sample=True, top_k=0)``:
            sampling, with ``generate()``'s hidden ``top_k=50`` switched off so that only the swept
            parameter shapes the distribution.
        k: how many tokens to show, the ``k`` highest-logit ones (typical 10–30).

    Returns:
        A list of :class:`SliderFrame`, one per value.

    Examples:
        >>> frames = slider_frames(cap("The sky is"), "top_k", [1, 5, 50])
        >>> [f.kept_count for f in frames]   # in float32, where no tokens tie at the k-th score
        [1, 5, 50]
    """
    values = _check_grid(parameter, values, k)
    base = base if base is not None else DEFAULT_BASE
    k = min(k, step.logits.shape[-1])
    ids = step.logits.topk(k).indices
    shown = torch.zeros(step.logits.shape[-1], dtype=torch.bool)
    shown[ids] = True
    frames = []
    for value in values:
        config = base.replace(**{parameter: value})
        scores = step.scores(config)
        p = probabilities(scores)
        frames.append(
            SliderFrame(
                value=value,
                config=config,
                token_ids=tuple(ids.tolist()),
                probs=tuple(p[ids].tolist()),
                kept=tuple(torch.isfinite(scores[ids]).tolist()),
                rest_mass=float(p[~shown].sum()),
                kept_count=int(torch.isfinite(scores).sum()),
                entropy=float(entropy(scores)),
            )
        )
    return frames


def _value_label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _frame_title(parameter: str, frame: SliderFrame, vocab: int, prompt: str) -> str:
    return (
        f"<b>{parameter} = {_value_label(frame.value)}</b>: {frame.kept_count:,} of {vocab:,} tokens kept, "
        f"entropy {frame.entropy:.2f} nats<br><sup>after “{prompt}” · {escape(frame.config.describe())}</sup>"
    )


def slider_chart(
    step: NextToken,
    parameter: str,
    values,
    base: DecodingConfig | None = None,
    k: int = 20,
    title: str | None = None,
    active: int | None = None,
) -> go.Figure:
    """An interactive bar chart with a slider over ``values`` of ``parameter``.

    Each slider position shows ``softmax(scores)`` for the ``k`` highest-logit tokens under that
    value: kept tokens coloured, filtered tokens greyed and hatched at zero, and one last bar,
    "rest of vocabulary (N tokens)", holding the probability of every token not shown, so the bars
    always add up to 1. The title of each position says how many tokens are kept and the entropy.

    The positions are precomputed (:func:`slider_frames`) and stored in the figure's
    ``layout.sliders`` as ``"update"`` steps: moving the slider needs only plotly.js, no kernel,
    and costs no forward pass. The y axis is fixed across positions so heights can be compared.

    Args:
        step: a captured next-token distribution.
        parameter: the :class:`~decoding_lessons.DecodingConfig` field to sweep.
        values: the grid (e.g. temperatures ``[0.1, 0.25, 0.5, 0.75, 1, 1.5, 2]``).
        base: the rest of the configuration; default ``DecodingConfig(do_sample=True, top_k=0)``.
        k: number of tokens shown (typical 10–30).
        title: replaces the per-position title's first line (the kept count stays in the
            slider's current-value label).
        active: index of the position shown first; default the middle of the grid.

    Examples:
        >>> fig = slider_chart(cap("The sky is"), "top_p", [0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
        >>> fig.show()                        # doctest: +SKIP
    """
    values = _check_grid(parameter, values, k)
    if active is None:
        active = len(values) // 2
    if not isinstance(active, int) or isinstance(active, bool) or not 0 <= active < len(values):
        raise ValueError(f"`active` has to be an integer in [0, {len(values) - 1}], but is {active!r}")
    frames = slider_frames(step, parameter, values, base, k)
    tok = step.lm.tokenizer
    ids = list(frames[0].token_ids)
    vocab = step.logits.shape[-1]
    labels = [html_label(tok, i) for i in ids]
    rest_label = f"rest of vocabulary ({vocab - len(ids):,} tokens)"
    hovers = [f"{hover_text(tok, i)}<br>logit: {float(step.logits[i]):.3f}" for i in ids]
    prompt = _short(step.text)

    def token_style(frame: SliderFrame):
        colors = [COLORS["prob"] if keep else COLORS["filtered"] for keep in frame.kept]
        patterns = ["" if keep else "/" for keep in frame.kept]
        status = ["kept" if keep else "<b>filtered out</b>" for keep in frame.kept]
        text = [f"{p:.2f}" if keep and p >= 0.005 else ("✕" if not keep else "") for p, keep in zip(frame.probs, frame.kept)]
        return colors, patterns, status, text

    def rest_text(frame: SliderFrame) -> str:
        return f"{frame.rest_mass:.2f}" if frame.rest_mass >= 0.005 else ""

    def headline(frame: SliderFrame) -> str:
        if title is None:
            return _frame_title(parameter, frame, vocab, prompt)
        return f"{title}<br><sup>{parameter} = {_value_label(frame.value)}: {frame.kept_count:,} of {vocab:,} tokens kept</sup>"

    first = frames[active]
    colors, patterns, status, text = token_style(first)
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name="softmax(scores)",
            x=list(range(len(ids))),
            y=list(first.probs),
            marker=dict(color=colors, pattern=dict(shape=patterns)),
            text=text,
            textposition="outside",
            cliponaxis=False,
            hovertext=hovers,
            customdata=status,
            hovertemplate="%{hovertext}<br>p: %{y:.4f}<br>%{customdata}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            name="rest of vocabulary",
            x=[len(ids)],
            y=[first.rest_mass],
            marker=dict(color=COLORS["rest"]),
            text=[rest_text(first)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"{rest_label}<br>total p: %{{y:.4f}}<extra></extra>",
        )
    )
    top = max(max(max(f.probs), f.rest_mass) for f in frames)
    steps = []
    for frame in frames:
        colors, patterns, status, text = token_style(frame)
        steps.append(
            dict(
                method="update",
                label=_value_label(frame.value),
                args=[
                    {
                        "y": [list(frame.probs), [frame.rest_mass]],
                        "marker.color": [colors, COLORS["rest"]],
                        "marker.pattern.shape": [patterns, ""],
                        "customdata": [status, None],
                        "text": [text, [rest_text(frame)]],
                    },
                    {"title.text": headline(frame)},
                    [0, 1],
                ],
            )
        )
    style(fig, headline(first), height=500)
    fig.update_layout(
        showlegend=False,
        margin=dict(t=80, b=40),
        bargap=0.25,
        # numeric positions with tick labels: two tokens with the same label stay two bars
        xaxis=dict(
            tickmode="array", tickvals=list(range(len(ids) + 1)), ticktext=labels + [f"rest ({vocab - len(ids):,})"],
            tickangle=-45, title=None,
        ),
        yaxis=dict(title="softmax(scores)", range=[0, min(1.0, top) * 1.12 + 0.01], tickformat=".0%"),
        sliders=[
            dict(
                active=active,
                steps=steps,
                currentvalue=dict(prefix=f"{parameter} = ", font=dict(size=14)),
                pad=dict(t=100, b=10),
                len=1.0,
            )
        ],
    )
    return fig




_SWEEP_METRICS = {
    "entropy": "entropy of softmax(scores) (nats)",
    "kept": "kept-set size (tokens)",
    "top_prob": "probability of the most likely token",
}


def sweep_chart(
    steps: dict[str, NextToken],
    parameter: str,
    values,
    metric: str = "entropy",
    base: DecodingConfig | None = None,
    title: str | None = None,
    log_x: bool = False,
) -> go.Figure:
    """One line per captured step: a summary of the distribution as ``parameter`` moves.

    Where :func:`slider_chart` shows the whole distribution at one value at a time, this shows one
    number at every value of a fine grid: the entropy as the temperature rises, the kept-set size
    as top-p grows, the top token's probability as min-p tightens. Lines for several prompts show
    how the same knob acts on a confident and on an uncertain step. Computed from captured logits
    (no forward pass).

    Args:
        steps: ``{label: captured step}``, e.g. ``{"The capital of France is": cap(...)}``.
        parameter: the :class:`~decoding_lessons.DecodingConfig` field to sweep.
        values: the grid, in x order (e.g. 50 temperatures from 0.05 to 3).
        metric: ``"entropy"`` (nats), ``"kept"`` (tokens with a finite score, log axis) or
            ``"top_prob"`` (the largest probability).
        base: the rest of the configuration; default ``DecodingConfig(do_sample=True, top_k=0)``.
        title: the chart title (default: derived from the metric and parameter).
        log_x: logarithmic x axis (useful for min-p or ε grids).

    Examples:
        >>> fig = sweep_chart({"sky": cap("The sky is")}, "temperature", [0.1 * i for i in range(1, 31)])
        >>> fig.show()                        # doctest: +SKIP
    """
    if metric not in _SWEEP_METRICS:
        raise ValueError(f"`metric` has to be one of {', '.join(repr(m) for m in _SWEEP_METRICS)}, but is {metric!r}")
    if not isinstance(steps, dict) or not steps:
        raise ValueError(f"`steps` has to be a non-empty dict of label → captured step, but is {steps!r}")
    values = _check_grid(parameter, values, 1)
    fig = go.Figure()
    for i, (name, step) in enumerate(steps.items()):
        frames = slider_frames(step, parameter, values, base=base, k=1)
        if metric == "entropy":
            y = [f.entropy for f in frames]
        elif metric == "kept":
            y = [f.kept_count for f in frames]
        else:
            y = [float(probabilities(step.scores(f.config)).max()) for f in frames]
        fig.add_trace(
            go.Scatter(
                name=escape(str(name)),
                x=values,
                y=y,
                mode="lines+markers",
                marker=dict(size=4),
                line=dict(color=QUALITATIVE[i % len(QUALITATIVE)], width=2),
                hovertemplate=f"{escape(str(name))}<br>{parameter} = %{{x}}<br>%{{y:.4g}}<extra></extra>",
            )
        )
    style(fig, title if title is not None else f"{_SWEEP_METRICS[metric].capitalize()} as {parameter} changes")
    fig.update_layout(
        margin_t=70, legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(title=parameter, type="log" if log_x else "linear"),
        yaxis=dict(title=_SWEEP_METRICS[metric], type="log" if metric == "kept" else "linear"),
    )
    return fig


# --------------------------------------------------------------------------------------------------
# the generic slider: same-shaped figures, one per position
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
