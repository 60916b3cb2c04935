"""Figures of searches: the beam-search tree, and contrastive search's two terms.

* :func:`beam_tree` — every candidate a beam search (plain or diverse) looked at, as a tree.
* :func:`contrastive_chart` — one step at a time (slider): each candidate's confidence and
  degeneration terms, side by side.
* :func:`contrastive_map` — the whole contrastive search at a glance: candidates × steps.
* :func:`measures_chart` — a few measures against a setting (e.g. distinct-n against the diversity penalty).
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from ..search.beam import BeamSearchResult
from ..search.contrastive import ContrastiveResult
from ..tokens import clip_label as _clip
from ..tokens import escape, hover_text, html_label, short_text
from .theme import COLORS, QUALITATIVE, style

PRUNED = "rgba(148, 148, 148, 0.45)"
PRUNED_TEXT = "rgba(148, 148, 148, 0.9)"


class TokenLabels:
    """Chart labels for token ids (HTML-escaped) and their hover texts, from what the search ran on:
    a :class:`~decoding_lessons.LanguageModel`, a tokenizer, or the toy
    :class:`~decoding_lessons.search.toy.BigramModel` (its vocabulary); ``None`` labels a token by its
    id (a model without a tokenizer). A search result holds token ids only; the chart labels them."""

    def __init__(self, source=None):
        vocab = getattr(source, "vocab", None)
        self.vocab = list(vocab) if isinstance(vocab, (list, tuple)) else None
        self.tokenizer = None if self.vocab is not None else getattr(source, "tokenizer", source)
        if self.vocab is None and self.tokenizer is not None and not hasattr(self.tokenizer, "convert_ids_to_tokens"):
            raise TypeError(
                "`tokenizer` has to be a tokenizer, a decoding_lessons.LanguageModel or the toy BigramModel "
                f"the search ran on, but is a {type(source).__name__}"
            )

    def label(self, token_id: int) -> str:
        if self.vocab is not None:
            return escape(self.vocab[int(token_id)])
        return html_label(self.tokenizer, int(token_id)) if self.tokenizer is not None else str(int(token_id))

    def hover(self, token_id: int) -> str:
        if self.vocab is not None:
            return f"<b>{self.label(token_id)}</b><br>id: {int(token_id)}"
        return hover_text(self.tokenizer, int(token_id)) if self.tokenizer is not None else f"id: {int(token_id)}"


def group_color(group: int, groups: int) -> str:
    """Group colours: the first group takes the theme's blue, then the qualitative palette."""
    return QUALITATIVE[group % len(QUALITATIVE)] if groups > 1 else COLORS["logit"]


def bank_color(bank: int, max_bank: int) -> str:
    """Constrained beam search's banks: blue for none of the constraints' tokens met, green for all,
    the qualitative palette's warm colours between."""
    if bank >= max_bank:
        return COLORS["kept"]
    if bank <= 0:
        return COLORS["logit"]
    middle = [COLORS["accent"], COLORS["threshold"], "#edc948", COLORS["prob"], "#76b7b2", "#ff9da7", COLORS["rest"]]
    return middle[(bank - 1) % len(middle)]


def _spread(desired: list[float], gap: float = 1.0) -> list[float]:
    """Positions as close as possible (least squares) to ``desired``, in the same order, at least
    ``gap`` apart: isotonic regression (pool adjacent violators) on ``desired[i] - i·gap``."""
    blocks: list[list[float]] = []  # [mean, weight]
    for i, d in enumerate(desired):
        blocks.append([d - i * gap, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m2, w2), (m1, w1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    out: list[float] = []
    for mean, weight in blocks:
        out += [mean] * int(weight)
    return [z + i * gap for i, z in enumerate(out)]


def _tree_layout(result: BeamSearchResult) -> dict[int | None, float]:
    """y for every candidate (larger = higher on the chart). Within a step the candidates are ordered
    by group, then by their parent's position, then by rank, so that no two edges cross; each one
    sits as close to its parent as the spacing allows (then the column is centred on 0), so that a
    beam that lives on runs nearly straight."""
    y: dict[int | None, float] = {None: 0.0}
    for step in result.steps:
        cands = [result.candidates[i] for i in step.candidates]
        cands.sort(key=lambda c: (c.group, -y[c.parent], c.rank))
        siblings: dict[int | None, list] = {}
        for c in cands:
            siblings.setdefault((c.group, c.parent), []).append(c)
        desired = []
        for c in cands:
            family = siblings[(c.group, c.parent)]
            j = family.index(c)
            desired.append(-(y[c.parent] - (j - (len(family) - 1) / 2)))  # top to bottom: negate
        positions = _spread(desired)
        # recentre the column, so the tree does not drift off as the best beams climb
        centre = (positions[0] + positions[-1]) / 2
        for c, pos in zip(cands, positions):
            y[c.id] = centre - pos
    return y


def beam_tree(
    result: BeamSearchResult,
    tokenizer=None,
    label_width: int = 8,
    pruned_labels: bool | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """The search tree of a beam search: what it looked at, kept, pruned and returned.

    Columns are steps; each node is a candidate (a live beam plus one token), joined to the beam it
    extends. Hover a node for its token, log-probability, the score the search added and the
    cumulative score, its rank and fate, and the text of its beam so far.

    * **kept** candidates (live beams at the next step) are drawn in colour, one colour per group
      for diverse beam search; **pruned** ones are small grey dots with grey edges;
    * for beam sampling (:func:`~decoding_lessons.search.beam_sampling.beam_sample`) the candidates
      are the ones each step drew, and the hover gives each one's probability in that draw;
    * for constrained beam search (:func:`~decoding_lessons.search.constrained.constrained_beam_search`)
      the colour is the candidate's **bank**, how many of the constraints' tokens its beam has met
      (blue: none, green: all), and the hover says which candidates were added because they advance
      a constraint;
    * **finished hypotheses** (they ended with EOS or at the length limit and entered the pool) are
      stars; the returned ones are labelled ``#1``, ``#2``, … (best first) and the paths leading to
      them are drawn thickest.

    Legible at 4–8 beams and 10–15 steps: labels are clipped to ``label_width`` characters (the full
    token is in the hover) and the height grows with the number of candidates per step.

    Args:
        result: from :func:`~decoding_lessons.search.beam_search`,
            :func:`~decoding_lessons.search.beam_sample`, :func:`~decoding_lessons.search.diverse_beam_search`
            or :func:`~decoding_lessons.search.constrained_beam_search`.
        tokenizer: what labels the tokens: the model the search ran on (a
            :class:`~decoding_lessons.LanguageModel`), its tokenizer, or the toy model; ``None``:
            token ids.
        label_width: characters of a token label shown on the chart.
        pruned_labels: write the tokens of pruned candidates too (default: only when a beam group
            has at most 4 beams, i.e. at most 8 candidates per group and step; above that they
            crowd the kept ones, and the hover still names them).
        title: chart title (default: derived from the settings).
        height: pixels (default: from the number of candidates per step).

    Examples:
        >>> fig = beam_tree(beam_search(lm, "The sky is", num_beams=4, max_new_tokens=10), lm)
        >>> fig.show()                        # doctest: +SKIP
    """
    cands = result.candidates
    groups = result.settings.get("num_beam_groups", 1)
    y = _tree_layout(result)
    names = TokenLabels(tokenizer)
    labels = {c.token_id: names.label(c.token_id) for c in cands}
    on_returned_path: dict[int, int] = {}
    for h in result.returned:
        for node in result.path(h.node):
            on_returned_path.setdefault(node, h.rank)
    penalised = any(c.diversity_penalty for c in cands)
    s = result.settings
    constrained = s.get("algorithm") == "constrained beam search"
    if constrained:  # colour by bank: how much of the constraints each beam has met
        top = s["max_bank"]

        def klass(c) -> int:
            return c.bank if c.bank is not None else 0

        def klass_color(b: int) -> str:
            return bank_color(b, top)

        def klass_name(b: int) -> str:
            return "all constraints met" if b >= top else f"bank {b} of {top}"

        classes = sorted({klass(c) for c in cands if c.status != "pruned"})
    else:  # colour by beam group

        def klass(c) -> int:
            return c.group

        def klass_color(g: int) -> str:
            return group_color(g, groups)

        def klass_name(g: int) -> str:
            return "kept" if groups == 1 else f"group {g + 1}"

        classes = list(range(groups))

    def beam_text(node: int | None) -> str:
        return "".join(html.unescape(labels[cands[i].token_id]) for i in result.path(node))

    prompt = short_text(result.prompt_text, 40)

    def hover(c) -> str:
        if c.status == "kept":
            fate = f"kept: live beam {c.next_slot + 1} at step {c.step + 2}"
        elif c.status == "finished":
            fate = "finished: entered the pool of hypotheses"
        else:
            fate = "pruned"
        if c.status == "pruned" and c.ended:
            fate = f"pruned: ended ({'EOS' if c.ended == 'eos' else 'length limit'}) but not among the finished kept"
        lines = [
            names.hover(c.token_id),
            f"step {c.step + 1}" + (f", group {c.group + 1}" if groups > 1 else "")
            + (f", rank {c.rank + 1} of its step" if not c.forced else ""),
            f"log p(token): {c.logprob:.3f}",
        ]
        if penalised:
            lines.append(f"diversity penalty: −{c.diversity_penalty:.3f}")
        if abs(c.step_score - c.logprob + c.diversity_penalty) > 1e-6:
            lines.append(f"added to the score: {c.step_score:.3f}")
        lines.append(f"cumulative score: <b>{c.score:.3f}</b>")
        if c.draw_prob is not None:  # beam sampling: the chance of this candidate in its step's draw
            lines.append(f"drawn from all beams × tokens; its probability there: {c.draw_prob:.3g}")
        if constrained and c.bank is not None:
            lines.append(f"bank {c.bank} of {top}" + (": every constraint met" if c.bank >= top else ""))
        if c.forced:
            lines.append("added because it advances a constraint (not for its score)")
        lines.append(fate)
        if c.hypothesis is not None:
            h = result.finished[c.hypothesis]
            lines.append(
                f"length-penalised score: <b>{h.score:.4f}</b> = {h.sum_logprobs:.3f} / {h.length}^{result.settings['length_penalty']:g}"
            )
            if h.rank is not None:
                lines.append(f"<b>returned #{h.rank + 1}</b>")
            elif h.evicted_at is not None:
                lines.append(f"pushed out of the pool at step {h.evicted_at + 1}")
            else:
                lines.append("not returned")
        lines.append(f"beam: {prompt}<b>{short_text(beam_text(c.id), 60)}</b>")
        return "<br>".join(lines)

    fig = go.Figure()
    # edges: pruned (grey), kept (group colour), on a returned path (thick)
    edge_sets: dict[tuple, list[int]] = {}
    for c in cands:
        if c.id in on_returned_path:
            key = ("returned", klass(c))
        elif c.status == "pruned":
            key = ("pruned", 0)
        else:
            key = ("kept", klass(c))
        edge_sets.setdefault(key, []).append(c.id)
    for (kind, g), ids in sorted(edge_sets.items(), key=lambda kv: ["pruned", "kept", "returned"].index(kv[0][0])):
        xs, ys = [], []
        for i in ids:
            c = cands[i]
            xs += [c.step, c.step + 1, None]
            ys += [y[c.parent], y[c.id], None]
        color = PRUNED if kind == "pruned" else klass_color(g)
        width = {"pruned": 1, "kept": 1.8, "returned": 4}[kind]
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line=dict(color=color, width=width), hoverinfo="skip", showlegend=False,
                opacity=1.0 if kind != "kept" else 0.75, legendgroup="pruned" if kind == "pruned" else f"group{g}",
            )
        )
    # nodes
    if pruned_labels is None:
        pruned_labels = result.settings["num_beams"] // groups <= 4

    def add_nodes(ids, name, symbol, size, color, text_color, group, legend=True, font_size=10, with_text=True):
        if not ids:
            return
        texts = []
        for i in ids:
            c = cands[i]
            t = _clip(labels[c.token_id], label_width)
            if c.hypothesis is not None and result.finished[c.hypothesis].rank is not None:
                t = f"{t} <b>#{result.finished[c.hypothesis].rank + 1}</b>"
            texts.append(t)
        fig.add_trace(
            go.Scatter(
                x=[cands[i].step + 1 for i in ids], y=[y[i] for i in ids], mode="markers+text" if with_text else "markers", name=name,
                marker=dict(symbol=symbol, size=size, color=color, line=dict(width=0)),
                text=texts, textposition="top center", textfont=dict(size=font_size, color=text_color),
                hovertext=[hover(cands[i]) for i in ids], hoverinfo="text", showlegend=legend, cliponaxis=False,
                legendgroup=group,
            )
        )

    # on a phone (site.js reads layout.meta.narrow) only the returned paths and the finished
    # hypotheses keep their labels: every other label is in the hover
    narrow_hidden: list[int] = []
    pruned = [c.id for c in cands if c.status == "pruned"]
    add_nodes(pruned, "pruned", "circle", 5, PRUNED, PRUNED_TEXT, "pruned", font_size=8, with_text=pruned_labels)
    if pruned and pruned_labels:
        narrow_hidden.append(len(fig.data) - 1)
    for g in classes:
        kept = [c.id for c in cands if c.status == "kept" and klass(c) == g]
        off_path = [i for i in kept if i not in on_returned_path]
        add_nodes(off_path, klass_name(g), "circle", 8, klass_color(g), None, f"group{g}")
        if off_path:
            narrow_hidden.append(len(fig.data) - 1)
        add_nodes([i for i in kept if i in on_returned_path], klass_name(g), "circle", 8, klass_color(g), None, f"group{g}",
                  legend=not off_path)
    first = True
    for g in classes:
        fin = [c.id for c in cands if c.status == "finished" and klass(c) == g]
        add_nodes(fin, "finished hypothesis", "star", 13, klass_color(g), None, "finished", legend=first and bool(fin))
        first = first and not fin
    # the prompt
    fig.add_trace(
        go.Scatter(
            x=[0], y=[0], mode="markers+text", marker=dict(symbol="square", size=11, color=COLORS["accent"]),
            text=["prompt"], textposition="top center", hovertext=[f"prompt: {prompt}"], hoverinfo="text", showlegend=False,
        )
    )
    what = "Diverse beam search" if groups > 1 else "Beam sampling" if s.get("do_sample") else "Beam search"
    extra = f" in {groups} groups, diversity_penalty={s['diversity_penalty']:g}" if groups > 1 else ""
    must = ""
    if constrained:  # the words on a line of their own: they can be long
        what = "Constrained beam search"
        words = [" or ".join(f"“{w}”" for w in t) if isinstance(t, list) else f"“{t}”" for t in s["constraint_texts"]]
        must = "must contain " + escape(short_text(", ".join(words), 60)) + "<br>"
    settings = f"length_penalty={s['length_penalty']:g}, early_stopping={s['early_stopping']}" + (
        f", no_repeat_ngram_size={s['no_repeat_ngram_size']}" if s["no_repeat_ngram_size"] else ""
    )
    if s.get("do_sample"):  # one more line: the warpers and the seed
        settings = f"<br>{settings}; {s['sampling']}, seed {s['seed']}"
    counts = (
        f"{len(cands)} candidates, {sum(c.status == 'kept' for c in cands)} kept, {len(result.finished)} finished; "
        f"{result.forward_passes} forward passes"
    )
    # short lines: the chart is often no wider than a page's text column
    default_title = (
        f"{what}: {s['num_beams']} beams{extra}<br><sup>{must}after “{prompt}”, {result.num_steps} steps; {settings}"
        f"<br>{counts}</sup>"
    )
    span = max(y.values()) - min(y.values()) + 1.2
    style(fig, title if title is not None else default_title, height=height or int(max(420, 27 * span + 170)))
    fig.update_layout(
        margin=dict(l=10, r=10, t=135 if s.get("do_sample") or must else 115, b=60),
        title=dict(y=1, yref="container", yanchor="top", pad=dict(t=14)),
        legend=dict(orientation="h", y=-0.06, yanchor="top", x=0.5, xanchor="center"),
    )
    fig.update_xaxes(
        tickmode="array", tickvals=list(range(result.num_steps + 1)), ticktext=["step"] + [str(i + 1) for i in range(result.num_steps)],
        showgrid=False, zeroline=False, range=[-0.75, result.num_steps + 0.6],
    )
    fig.update_yaxes(visible=False, range=[min(y.values()) - 0.5, max(y.values()) + 0.7])
    fig.update_layout(meta=dict(narrow=dict(
        width=600, traces={str(i): {"mode": "markers"} for i in narrow_hidden},
        layout={"xaxis.range": [-1.2, result.num_steps + 1.4]},  # room for the prompt's and the last labels
    )))
    return fig


def contrastive_chart(result: ContrastiveResult, tokenizer=None, title: str | None = None) -> go.Figure:
    """Contrastive search, one step at a time: both terms of every candidate.

    For the step chosen with the slider, each of the ``top_k`` candidates (most likely first) gets a
    green bar to the right, its *model confidence* ``(1 − α)·p``, and a red bar to the left, its
    *degeneration penalty* ``α·max cos(h_v, h_j)``; the diamond is their difference, the score. The
    chosen candidate is marked ✓; when it is not the most likely one, the penalty flipped the choice.

    Examples:
        >>> fig = contrastive_chart(contrastive_search(lm, "The sky is"), lm)
        >>> fig.show()                        # doctest: +SKIP
    """
    alpha = result.settings["penalty_alpha"]
    names = TokenLabels(tokenizer)
    fig = go.Figure()
    k = result.settings["top_k"]
    ticks, titles = [], []
    context = result.prompt_text  # the text so far, whitespace visible
    for s in result.steps:
        ys = list(range(len(s.candidates)))
        hovers = []
        for c in s.candidates:
            hovers.append(
                f"{names.hover(c.token_id)}<br>p = {c.prob:.4f}<br>confidence (1−α)·p = <b>{c.confidence:.4f}</b>"
                f"<br>max cos similarity = {c.max_similarity:.3f} (with position {c.most_similar + 1})"
                f"<br>penalty α·max cos = <b>{c.degeneration:.4f}</b><br>score = <b>{c.score:.4f}</b>{'<br><b>chosen</b>' if c.chosen else ''}"
            )
        visible = s.step == 0
        # The candidate's whole story rides on the diamond; the bars add their value to the same
        # row's hover box (hovermode "y unified"), so the text is stored once, not three times.
        fig.add_trace(go.Bar(x=[c.confidence for c in s.candidates], y=ys, orientation="h", name="confidence (1−α)·p",
                             marker_color=COLORS["kept"], hovertemplate="confidence (1−α)·p: %{x:.4f}<extra></extra>",
                             visible=visible, legendgroup="c"))
        fig.add_trace(go.Bar(x=[-c.degeneration for c in s.candidates], y=ys, orientation="h", name="degeneration penalty −α·max cos",
                             marker_color=COLORS["prob"], hovertemplate="penalty −α·max cos: %{x:.4f}<extra></extra>",
                             visible=visible, legendgroup="d"))
        fig.add_trace(go.Scatter(x=[c.score for c in s.candidates], y=ys, mode="markers", name="score",
                                 marker=dict(symbol="diamond", size=11, color=COLORS["threshold"], line=dict(width=1, color="white")),
                                 hovertext=hovers, hoverinfo="text", visible=visible, legendgroup="s"))
        ticks.append([f"{'✓ ' if c.chosen else ''}{_clip(names.label(c.token_id), 14)}{' (top p)' if i == 0 else ''}" for i, c in enumerate(s.candidates)])
        flip = "the penalty overrules the most likely token" if s.flipped else ""
        titles.append(f"Step {s.step + 1} of {len(result.steps)}, after “{short_text(context, 30)}”<br><sup>{flip or 'the most likely token wins'}</sup>")
        context += html.unescape(names.label(s.chosen.token_id))
    n = len(result.steps)
    steps = []
    for i in range(n):
        vis = [False] * (3 * n)
        vis[3 * i : 3 * i + 3] = [True, True, True]
        steps.append(dict(method="update", label=str(i + 1), args=[{"visible": vis}, {"yaxis.ticktext": ticks[i], "title.text": _title(titles[i], alpha, k)}]))
    lo = min(-c.degeneration for s in result.steps for c in s.candidates)
    hi = max(c.confidence for s in result.steps for c in s.candidates)
    style(fig, title if title is not None else _title(titles[0], alpha, k), height=max(400, 40 * k + 280))
    fig.update_layout(
        barmode="overlay", bargap=0.35, hovermode="y unified",
        sliders=[dict(active=0, steps=steps, currentvalue=dict(prefix="step "), pad=dict(t=55), len=1.0, x=0)],
        margin=dict(l=130, r=20, t=130, b=40),
        title=dict(y=1, yref="container", yanchor="top", pad=dict(t=14)),
        legend=dict(y=1.02, yanchor="bottom", x=0, xanchor="left"),
    )
    fig.update_yaxes(tickmode="array", tickvals=list(range(k)), ticktext=ticks[0], autorange="reversed")
    pad = 0.05 * (hi - lo + 1e-9)
    fig.update_xaxes(range=[min(lo, 0) - pad, max(hi, 0) + pad], zeroline=True, zerolinewidth=2, title="← penalty      contribution to the score      confidence →")
    return fig


def _title(step_title: str, alpha: float, k: int) -> str:
    return f"{step_title}<br><sup>penalty_alpha={alpha:g}, top_k={k}: score = (1−α)·p − α·max cos</sup>"


def contrastive_map(result: ContrastiveResult, tokenizer=None, title: str | None = None) -> go.Figure:
    """The whole contrastive search at a glance: steps across, candidates (most likely first) down.

    Each cell is a candidate coloured by its score; the chosen one has a ring. Where the ring is not
    in the top row, the degeneration penalty overruled greedy decoding. The x axis reads the
    generated text. Hover a cell for both terms.

    Examples:
        >>> fig = contrastive_map(contrastive_search(lm, "The sky is", max_new_tokens=24), lm)
        >>> fig.show()                        # doctest: +SKIP
    """
    k = result.settings["top_k"]
    names = TokenLabels(tokenizer)
    steps = result.steps
    z = [[s.candidates[r].score if r < len(s.candidates) else None for s in steps] for r in range(k)]
    text = [[html.unescape(names.label(s.candidates[r].token_id)) for s in steps] for r in range(k)]
    hover = [
        [
            f"{names.hover(c.token_id)}<br>step {s.step + 1}, candidate {r + 1}<br>p = {c.prob:.4f}"
            f"<br>confidence = {c.confidence:.4f}<br>penalty = {c.degeneration:.4f} (max cos {c.max_similarity:.3f})"
            f"<br>score = <b>{c.score:.4f}</b>{'<br><b>chosen</b>' if c.chosen else ''}"
            for s in steps
            for c in [s.candidates[r]]
        ]
        for r in range(k)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=list(range(1, len(steps) + 1)), y=list(range(1, k + 1)), colorscale="Viridis", hovertext=hover, hoverinfo="text",
            colorbar=dict(title="score", thickness=12), xgap=2, ygap=2,
        )
    )
    chosen_x = [s.step + 1 for s in steps]
    chosen_y = [next(r for r, c in enumerate(s.candidates) if c.chosen) + 1 for s in steps]
    fig.add_trace(
        go.Scatter(x=chosen_x, y=chosen_y, mode="markers", name="chosen", marker=dict(symbol="circle-open", size=11, line=dict(width=2.5), color=COLORS["accent"]),
                   hoverinfo="skip")
    )
    flips = sum(s.flipped for s in steps)
    default = (
        f"Contrastive search, step by step<br><sup>candidates by probability (1 = greedy's choice), ring = chosen;"
        f"<br>penalty_alpha={result.settings['penalty_alpha']:g}, top_k={k}: the penalty overruled the most likely token at {flips} of {len(steps)} steps</sup>"
    )
    style(fig, title if title is not None else default, height=max(330, 34 * k + 250))
    fig.update_layout(margin=dict(l=60, r=10, t=115, b=110), showlegend=False, title=dict(y=1, yref="container", yanchor="top", pad=dict(t=14)))
    fig.update_xaxes(tickmode="array", tickvals=chosen_x, ticktext=[_clip(names.label(s.chosen.token_id), 10) for s in steps], tickangle=-60, showgrid=False)
    fig.update_yaxes(title="candidate (by p)", autorange="reversed", tickmode="array", tickvals=list(range(1, k + 1)), showgrid=False)
    return fig


def measures_chart(x: list[float], series: dict[str, list[float]], x_title: str, y_title: str, title: str, percent: bool = False) -> go.Figure:
    """A few measures against one setting, as lines with markers (e.g. distinct-1/2/3 of the returned
    beams against ``diversity_penalty``).

    Examples:
        >>> fig = measures_chart([0, 1, 2], {"distinct-2": [0.4, 0.6, 0.8]}, "diversity_penalty", "distinct-n", "…")
        >>> fig.show()                        # doctest: +SKIP
    """
    fig = go.Figure()
    for name, values in series.items():
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=name, hovertemplate=f"{name}<br>{x_title}=%{{x}}<br>%{{y:.3f}}<extra></extra>"))
    style(fig, title)
    fig.update_layout(margin=dict(l=60, r=20, t=100, b=60), legend=dict(y=1.02, yanchor="bottom", x=1, xanchor="right"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else None)
    return fig
