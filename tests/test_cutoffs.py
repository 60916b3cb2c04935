"""Top-p and min-p figures: the drawn kept sets and lines are transformers' own."""

from __future__ import annotations

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons.plotting.rules import cumulative_chart, cutoff_slider, min_p_chart

BASES = [dl.DecodingConfig(do_sample=True, top_k=0), dl.DecodingConfig(do_sample=True, top_k=0, temperature=0.7)]


@pytest.mark.parametrize("base", BASES, ids=lambda c: c.describe())
@pytest.mark.parametrize("top_p", [0.3, 0.8, 0.95])
def test_cumulative_chart_draws_the_warpers_kept_set(cap, base, top_p):
    step = cap("My name is")
    fig = cumulative_chart(step, top_p, base=base)
    scores = step.scores(base.replace(top_p=top_p))
    n_kept = int(torch.isfinite(scores).sum())
    kept, cut = fig.data
    # the green part of the curve is the kept set: ranks 1..n_kept, exactly
    assert max(kept.x) == n_kept and min(cut.x) == n_kept + 1
    # the curve is the sorted cumulative probability of the distribution entering top-p (after temperature)
    probs = torch.softmax(step.scores(base), -1)
    cumulative = torch.cumsum(probs.sort(descending=True).values.double(), 0)
    for x, y in zip(kept.x + cut.x, kept.y + cut.y):
        assert y == pytest.approx(float(cumulative[x - 1]), abs=1e-5)
    # top-p keeps the smallest prefix reaching top_p: the last kept rank reaches it, the one before does not
    assert float(cumulative[n_kept - 1]) >= top_p - 1e-6
    if n_kept > 1:
        assert float(cumulative[n_kept - 2]) < top_p + 1e-6
    assert fig.layout.shapes[0].y0 == top_p and fig.layout.shapes[1].x0 == n_kept
    assert f"{n_kept:,} of {step.logits.numel():,} tokens kept" in fig.layout.title.text


@pytest.mark.parametrize("prompt", ["My name is", "The capital of France is"])
@pytest.mark.parametrize("min_p", [0.01, 0.1, 0.3])
def test_min_p_chart_draws_the_floor_and_the_kept_set(cap, prompt, min_p):
    step = cap(prompt)
    base = dl.DecodingConfig(do_sample=True, top_k=0, temperature=1.3)
    fig = min_p_chart(step, min_p, base=base, k=25)
    scores = step.scores(base.replace(min_p=min_p))
    probs = torch.softmax(step.scores(base), -1)  # entering min-p: after temperature
    floor = min_p * float(probs.max())
    assert fig.layout.shapes[0].y0 == pytest.approx(floor, rel=1e-6)
    ids = probs.topk(25).indices
    bars = fig.data[0]
    assert list(bars.y) == probs[ids].tolist()
    grey = [c == dl.plotting.COLORS["filtered"] for c in bars.marker.color]
    assert grey == (~torch.isfinite(scores[ids])).tolist()
    # min-p's rule: kept iff p >= min_p * p_max
    assert torch.equal(torch.isfinite(scores[ids]), probs[ids] >= floor)
    assert f"{int(torch.isfinite(scores).sum()):,} of" in fig.layout.title.text


def test_confident_step_has_a_higher_floor(cap):
    sure, unsure = cap("The capital of France is"), cap("My name is")
    base = dl.DecodingConfig(do_sample=True, top_k=0)
    assert sure.entropy(base) < unsure.entropy(base)
    floors = [min_p_chart(s, 0.1).layout.shapes[0].y0 for s in (sure, unsure)]
    assert floors[0] > floors[1]


def test_cutoff_slider_positions_are_the_single_charts(cap):
    step = cap("My name is")
    values = [0.5, 0.9, 0.99]
    before = cap.forward_passes
    fig = cutoff_slider(step, "top_p", values)
    assert cap.forward_passes == before
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["0.5", "0.9", "0.99"]
    for s, v in zip(steps, values):
        single = cumulative_chart(step, v)
        restyle, relayout = s.args[0], s.args[1]
        assert list(restyle["x"][0]) == list(single.data[0].x) and list(restyle["y"][1]) == list(single.data[1].y)
        assert relayout["title.text"] == single.layout.title.text
    fig = cutoff_slider(step, "min_p", [0.05, 0.2], k=10)
    assert len(fig.layout.sliders[0].steps) == 2 and len(fig.data[0].y) == 10


def test_cutoff_input_is_validated(cap):
    step = cap("My name is")
    with pytest.raises(ValueError, match="`top_p` has to be a float in the \\[0, 1\\] interval, but is 1.5"):
        cumulative_chart(step, 1.5)
    with pytest.raises(ValueError, match="`min_p` has to be a float in the \\[0, 1\\] interval, but is -0.1"):
        min_p_chart(step, -0.1)
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is 0"):
        min_p_chart(step, 0.1, k=0)
    with pytest.raises(ValueError, match="`parameter` has to be 'top_p' or 'min_p', but is 'top_k'"):
        cutoff_slider(step, "top_k", [1, 2])
    with pytest.raises(ValueError, match="`values` has to be a non-empty sequence"):
        cutoff_slider(step, "top_p", [])
    with pytest.raises(ValueError, match="`max_rank` has to be an integer >= 1, but is 0"):
        cumulative_chart(step, 0.9, max_rank=0)
