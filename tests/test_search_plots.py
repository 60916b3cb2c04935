"""The search figures draw what the search recorded: every candidate once, the right fates, the
returned hypotheses numbered, both contrastive terms per candidate and step."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import decoding_lessons as dl
from decoding_lessons.plotting.search import PRUNED, _spread, _tree_layout
from decoding_lessons.search import BigramModel


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(1)
    config = LlamaConfig(
        vocab_size=40, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, eos_token_id=3, pad_token_id=2, initializer_range=0.3, max_position_embeddings=128,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = 3, 2
    return model


def node_traces(fig):
    return [t for t in fig.data if t.mode and "markers" in t.mode]


@pytest.mark.parametrize("beams,steps", [(4, 12), (8, 15)])
def test_tree_draws_every_candidate_once(tiny, beams, steps):
    r = dl.beam_search(tiny, [1, 5, 9], num_beams=beams, max_new_tokens=steps)
    fig = dl.beam_tree(r)
    nodes = node_traces(fig)
    assert sum(len(t.x) for t in nodes) == len(r.candidates) + 1  # + the prompt
    # pair the nodes with the candidates by position (a candidate of step s sits at x = s + 1 and at
    # its layout height; no two share a place): each node's hover is that candidate's own
    y = _tree_layout(r)
    at = {(c.step + 1, y[c.id]): c for c in r.candidates}
    assert len(at) == len(r.candidates)
    seen = []
    for t in nodes:
        for x, y_, h in zip(t.x, t.y, t.hovertext):
            if (x, y_) == (0, 0) and h.startswith("prompt: "):
                continue
            c = at[(x, y_)]
            seen.append(c.id)
            assert h.count("cumulative score: ") == 1 and f"cumulative score: <b>{c.score:.3f}</b>" in h
            assert h.startswith(f"id: {c.token_id}<br>step {c.step + 1}, rank {c.rank + 1} of its step<br>")
            assert f"log p(token): {c.logprob:.3f}" in h
    assert sorted(seen) == [c.id for c in r.candidates]  # every candidate exactly once
    labels = " ".join(str(x) for t in nodes for x in (t.text or []))
    assert all(f"#{i + 1}</b>" in labels for i in range(len(r.returned)))
    by_name = {t.name: t for t in nodes if t.name}
    assert len(by_name["pruned"].x) == sum(c.status == "pruned" for c in r.candidates)
    # kept nodes: on a returned path and off it, one trace each (one legend entry)
    kept = [t for t in nodes if t.name == "kept"]
    assert sum(len(t.x) for t in kept) == sum(c.status == "kept" for c in r.candidates)
    assert sum(bool(t.showlegend) for t in kept) == 1
    assert len(by_name["finished hypothesis"].x) == sum(c.status == "finished" for c in r.candidates)
    assert 400 <= fig.layout.height <= 1000  # readable without scrolling a page-long chart


def test_on_a_phone_the_tree_keeps_only_the_returned_paths_labels(tiny):
    """layout.meta.narrow (site.js applies it below its width) hides the labels of the pruned nodes
    and of the kept nodes off every returned path; the returned paths and the finished hypotheses
    keep theirs."""
    r = dl.beam_search(tiny, [1, 7], num_beams=4, max_new_tokens=10)
    fig = dl.beam_tree(r)
    narrow = fig.layout.meta["narrow"]
    assert narrow["width"] >= 390 + 1 and narrow["layout"]["xaxis.range"][0] < fig.layout.xaxis.range[0]
    hidden = {int(i) for i in narrow["traces"]}
    assert all(narrow["traces"][str(i)] == {"mode": "markers"} and "text" in fig.data[i].mode for i in hidden)
    path_nodes = {n for h in r.returned for n in r.path(h.node)}
    y = _tree_layout(r)
    at = {(c.step + 1, y[c.id]): c for c in r.candidates}
    labelled = set()
    for i, t in enumerate(fig.data):
        if t.mode is None or "markers" not in t.mode or i in hidden:
            continue
        labelled |= {at[(x, y_)].id for x, y_ in zip(t.x, t.y) if (x, y_) in at}
    finished = {c.id for c in r.candidates if c.status == "finished"}
    assert labelled == (path_nodes | finished) - {None}, (labelled, path_nodes, finished)


def test_tree_edges_follow_the_fates(tiny):
    r = dl.beam_search(tiny, [1, 7], num_beams=4, max_new_tokens=10)
    fig = dl.beam_tree(r)
    lines = [t for t in fig.data if t.mode == "lines"]
    grey = [t for t in lines if t.line.color == PRUNED]
    assert len(grey) == 1 and len([x for x in grey[0].x if x is not None]) == 2 * sum(c.status == "pruned" for c in r.candidates)
    thick = [t for t in lines if t.line.width == 4]
    path_nodes = {n for h in r.returned for n in r.path(h.node)}
    assert sum(len([x for x in t.x if x is not None]) for t in thick) == 2 * len(path_nodes)


def test_tree_layout_keeps_order_and_spacing(tiny):
    r = dl.beam_search(tiny, [1, 5, 9], num_beams=6, max_new_tokens=8)
    y = _tree_layout(r)
    for step in r.steps:
        ys = sorted(y[i] for i in step.candidates)
        assert all(b - a >= 1 - 1e-9 for a, b in zip(ys, ys[1:]))  # no two nodes of a step overlap
        assert abs((ys[0] + ys[-1]) / 2) < 1e-9  # each column is centred
    assert _spread([0.0, 0.0, 5.0]) == pytest.approx([-0.5, 0.5, 5.0])


def test_diverse_tree_has_a_colour_per_group(tiny):
    r = dl.diverse_beam_search(tiny, [1, 5, 9], num_beams=6, num_beam_groups=3, diversity_penalty=1.0, max_new_tokens=8)
    fig = dl.beam_tree(r)
    groups = {t.name: t.marker.color for t in node_traces(fig) if t.name and t.name.startswith("group")}
    assert sorted(groups) == ["group 1", "group 2", "group 3"] and len(set(groups.values())) == 3
    assert any("diversity penalty" in h for t in node_traces(fig) for h in (t.hovertext or []))


def test_toy_tree_labels_are_the_toy_names():
    toy = BigramModel(["<s>", "A", "B"], {"<s>": {"A": 0.6, "B": 0.4}, "A": {"B": 1.0}, "B": {"A": 1.0}})
    fig = dl.beam_tree(dl.beam_search(toy, toy.ids("<s>"), num_beams=1, max_new_tokens=3), toy)
    texts = {str(x).split(" ")[0] for t in node_traces(fig) for x in (t.text or [])}
    assert {"A", "B", "prompt"} <= texts


def test_contrastive_chart_shows_both_terms_per_step(tiny):
    r = dl.contrastive_search(tiny, [1, 5, 9], penalty_alpha=0.6, top_k=4, max_new_tokens=10)
    fig = dl.contrastive_chart(r)
    assert len(fig.data) == 3 * len(r.steps) and len(fig.layout.sliders[0].steps) == len(r.steps)
    for i, s in enumerate(r.steps):
        conf, pen, score = fig.data[3 * i : 3 * i + 3]
        assert list(conf.x) == pytest.approx([c.confidence for c in s.candidates])
        assert list(pen.x) == pytest.approx([-c.degeneration for c in s.candidates])
        assert list(score.x) == pytest.approx([c.score for c in s.candidates])
        ticks = fig.layout.sliders[0].steps[i].args[1]["yaxis.ticktext"]
        assert sum(t.startswith("✓") for t in ticks) == 1 and ticks[[c.chosen for c in s.candidates].index(True)].startswith("✓")
        # one hover box per row: the bars add their value, the diamond carries both terms and the score
        assert fig.layout.hovermode == "y unified" and conf.hovertext is None and pen.hovertext is None
        for c, h in zip(s.candidates, score.hovertext):
            assert f"<b>{c.confidence:.4f}</b>" in h and f"<b>{c.degeneration:.4f}</b>" in h and f"<b>{c.score:.4f}</b>" in h
    assert [d.visible for d in fig.data[:3]] == [True, True, True] and not any(d.visible for d in fig.data[3:])


def test_contrastive_map_marks_the_chosen(tiny):
    r = dl.contrastive_search(tiny, [1, 7], penalty_alpha=0.6, top_k=3, max_new_tokens=8)
    fig = dl.contrastive_map(r)
    heat, chosen = fig.data
    assert isinstance(heat, go.Heatmap) and len(heat.z) == 3 and len(heat.z[0]) == len(r.steps)
    assert list(chosen.y) == [[c.chosen for c in s.candidates].index(True) + 1 for s in r.steps]


def test_measures_chart():
    fig = dl.measures_chart([0, 1, 2], {"distinct-2": [0.4, 0.6, 0.8], "distinct-3": [0.5, 0.7, 0.9]}, "λ", "share", "t", percent=True)
    assert [t.name for t in fig.data] == ["distinct-2", "distinct-3"] and fig.layout.yaxis.tickformat == ".0%"
