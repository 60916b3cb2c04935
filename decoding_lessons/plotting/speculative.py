"""Figures of speculative decoding: :func:`rounds_chart` (what each round proposed, kept and added)
and :func:`gamma_chart` (tokens per target pass against the draft length, next to the paper's
formula). The numbers come from :mod:`decoding_lessons.speculative`."""

from __future__ import annotations

import plotly.graph_objects as go

from ..speculative import SpeculativeRun, expected_tokens_per_pass
from ..tokens import escape, token_label
from .theme import COLORS, style


def _label(run: SpeculativeRun, token_id: int) -> str:
    tokenizer = run.lm.tokenizer
    return escape(token_label(tokenizer, token_id).display) if tokenizer is not None else str(token_id)


def rounds_chart(run: SpeculativeRun, title: str | None = None) -> go.Figure:
    """One stacked bar per round (one target forward pass): the proposals the target kept (green),
    the one it rejected (red), those after it that it never judged (grey), and the token the target
    added itself (blue: the bonus after a fully kept draft, the resample after a rejection, or the
    correction under greedy decoding). Hover a segment for its tokens.

    The height of the green and blue parts is what the round added to the text; a round that
    keeps nothing still adds the target's own token, so speculative decoding never does worse than
    one token per target pass.

    Examples:
        >>> fig = rounds_chart(speculative_generate(lm, early_exit_draft(lm, 8), "2 + 2 = ", max_new_tokens=8))
        >>> [t.name for t in fig.data]
        ['kept proposals', 'rejected proposal', 'not judged', "target's own token"]
    """
    x = list(range(1, len(run.rounds) + 1))
    parts = {"kept": [], "rejected": [], "unjudged": [], "own": []}
    hovers = {key: [] for key in parts}
    for r in run.rounds:
        kept = r.proposals[: r.accepted]
        rejected = [p for p in r.proposals if p.reached and not p.accepted][:1]
        unjudged = [p for p in r.proposals if not p.reached]
        for key, group in (("kept", kept), ("rejected", rejected), ("unjudged", unjudged)):
            parts[key].append(len(group))
            hovers[key].append(" ".join(_label(run, p.token_id) for p in group) or "—")
        parts["own"].append(len(r.tokens) - r.accepted)
        how = "drawn from the residual" if r.resampled else ("bonus" if r.accepted == len(r.proposals) and r.proposals else "target's choice")
        hovers["own"].append(f"{_label(run, r.tokens[-1])} ({how})")
    fig = go.Figure()
    names = {"kept": "kept proposals", "rejected": "rejected proposal", "unjudged": "not judged", "own": "target's own token"}
    colors = {"kept": COLORS["kept"], "rejected": COLORS["prob"], "unjudged": COLORS["filtered"], "own": COLORS["logit"]}
    for key in ("kept", "rejected", "unjudged", "own"):
        fig.add_trace(
            go.Bar(
                name=names[key], x=x, y=parts[key], marker_color=colors[key], hovertext=hovers[key],
                hovertemplate=f"round %{{x}}: %{{y}} {names[key]}<br>%{{hovertext}}<extra></extra>",
            )
        )
    title = title or (
        f"{len(run.token_ids)} tokens in {run.target_forward_passes} target passes "
        f"(γ = {run.gamma}, acceptance {run.acceptance_rate:.0%})"
    )
    style(fig, title)
    fig.update_layout(
        barmode="stack", margin_t=90, legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(title="round (one target forward pass)", dtick=1 if len(x) <= 30 else None),
        yaxis=dict(title="tokens"),
    )
    return fig


def gamma_chart(runs: dict[int, SpeculativeRun], title: str | None = None) -> go.Figure:
    """Tokens per target forward pass against the draft length γ: measured (markers), and the
    paper's ``(1 − α^(γ+1)) / (1 − α)`` for each run's measured acceptance rate α (line). The
    acceptance rate itself is on the right axis.

    The formula assumes every proposal is kept with the same probability α, independently; the
    runs' proposals are not (the draft is surer of some tokens than of others) and a run's last
    round is cut by the length limit, so the markers scatter about the line.

    Args:
        runs: ``{gamma: SpeculativeRun}``.

    Examples:
        >>> draft = early_exit_draft(lm, 20)
        >>> runs = {g: speculative_generate(lm, draft, "2 + 2 = ", max_new_tokens=12, gamma=g) for g in (1, 2, 4)}
        >>> len(gamma_chart(runs).data)
        3
    """
    if not runs:
        raise ValueError("`runs` has to hold at least one run, but is empty")
    gammas = sorted(runs)
    measured = [runs[g].tokens_per_pass for g in gammas]
    alphas = [runs[g].acceptance_rate for g in gammas]
    predicted = [expected_tokens_per_pass(a, g) for a, g in zip(alphas, gammas)]
    custom = [[runs[g].target_forward_passes, len(runs[g].token_ids)] for g in gammas]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            name="measured tokens per target pass", x=gammas, y=measured, mode="markers", marker=dict(size=11, color=COLORS["logit"]),
            customdata=custom, hovertemplate="γ = %{x}: %{y:.2f} tokens per pass (%{customdata[1]} tokens, %{customdata[0]} passes)<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="(1 − α^(γ+1)) / (1 − α)", x=gammas, y=predicted, mode="lines+markers",
            line=dict(color=COLORS["accent"], dash="dash"), marker=dict(symbol="x", size=8),
            hovertemplate="γ = %{x}: the formula gives %{y:.2f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="acceptance rate α (right axis)", x=gammas, y=alphas, mode="lines+markers", yaxis="y2",
            line=dict(color=COLORS["kept"], width=1.5), marker=dict(size=7),
            hovertemplate="γ = %{x}: α = %{y:.2f}<extra></extra>",
        )
    )
    style(fig, title or "Tokens per target forward pass against the draft length γ")
    fig.update_layout(
        margin=dict(t=70, b=140), legend=dict(orientation="h", y=-0.22, yanchor="top", x=0, xanchor="left"),
        xaxis=dict(title="draft length γ", tickmode="array", tickvals=gammas),
        yaxis=dict(title="tokens per target pass", rangemode="tozero"),
        yaxis2=dict(title="acceptance rate", overlaying="y", side="right", range=[0, 1], tickformat=".0%", showgrid=False,
                    tickmode="array", tickvals=[0, 0.25, 0.5, 0.75, 1]),  # round ticks, not ones synced to the left axis
    )
    return fig


__all__ = ["gamma_chart", "rounds_chart"]
