"""dl.rank_chart: the kept set by rank, the points being transformers' own kept set."""

from __future__ import annotations

import pytest
import torch

import decoding_lessons as dl


def test_points_are_the_kept_and_cut_tokens_by_rank(cap):
    step = cap("The sky is")
    config = dl.DecodingConfig(do_sample=True, temperature=0.7, top_k=5)
    fig = dl.rank_chart(step, config, k=12)
    kept, cut = fig.data
    ids = step.logits.topk(12).indices.tolist()
    finite = torch.isfinite(step.scores(config))
    assert list(kept.x) == [r for r, i in enumerate(ids, start=1) if finite[i]]
    assert list(cut.x) == [r for r, i in enumerate(ids, start=1) if not finite[i]]
    assert len(kept.x) == step.kept(config) and len(kept.x) + len(cut.x) == 12
    # the dots are the distribution before the cut: the same temperature, nothing truncated
    before = step.probs(dl.DecodingConfig(do_sample=True, top_k=0, temperature=0.7))
    assert list(kept.y) == pytest.approx([float(before[ids[r - 1]]) for r in kept.x])
    assert "5 of" in fig.layout.title.text and fig.layout.yaxis.type == "log"
    assert any(s.type == "line" and s.x0 == pytest.approx(5.5) for s in fig.layout.shapes)  # the cut line after rank 5
    assert kept.hovertext[0].startswith("rank 1: ") and "p before" in kept.hovertext[0]


def test_nothing_cut_draws_no_line(cap):
    step = cap("The sky is")
    fig = dl.rank_chart(step, dl.DecodingConfig(do_sample=True, top_k=0), k=20)
    assert len(fig.data[0].x) == 20 and len(fig.data[1].x) == 0 and not fig.layout.shapes


@pytest.mark.parametrize("k", [0, -3, 2.5, "10"])
def test_a_bad_k_is_refused_by_name(cap, k):
    with pytest.raises(ValueError, match="`k`"):
        dl.rank_chart(cap("The sky is"), dl.DecodingConfig(do_sample=True), k=k)


def test_a_config_of_the_wrong_type_is_refused(cap):
    with pytest.raises(ValueError, match="`config` has to be a DecodingConfig"):
        dl.rank_chart(cap("The sky is"), {"top_k": 5})
