"""compare_strategies() against generate() itself, its metrics against a fresh forward pass and
against hand-built cases, and the two figures that draw them (quality_diversity_chart, scores_chart)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch

import decoding_lessons as dl

PROMPTS = ["The sky is", "Once upon a time, in a small village by the sea,"]
TOP_P = dl.DecodingConfig(do_sample=True, top_k=0, top_p=0.9)
WARM = dl.DecodingConfig(do_sample=True, top_k=0, temperature=0.7)


@pytest.fixture(scope="module")
def study(lm):
    return dl.compare_strategies(lm, PROMPTS, {"greedy": dl.DecodingConfig(), "top-p": TOP_P, "warm": WARM},
                                 num_samples=3, max_new_tokens=6, seed=5)


def _until_eos(ids, eos):
    ids = list(ids)
    end = next((t + 1 for t, token in enumerate(ids) if token in eos), len(ids))
    return tuple(ids[:end])


def test_one_prompt_is_generate_with_num_return_sequences(lm):
    cmp = dl.compare_strategies(lm, [PROMPTS[1]], {"top-p": TOP_P}, num_samples=4, max_new_tokens=7, seed=3)
    ref = dl.reference_generate(lm, PROMPTS[1], TOP_P, max_new_tokens=7, seed=3, num_return_sequences=4)
    length = lm.encode(PROMPTS[1]).shape[1]
    eos = {int(lm.model.generation_config.eos_token_id)} if isinstance(lm.model.generation_config.eos_token_id, int) else set(lm.model.generation_config.eos_token_id)
    assert list(cmp.strategies["top-p"].continuations[0]) == [_until_eos(row, eos) for row in ref[:, length:].tolist()]


def test_batched_prompts_are_generate_on_the_left_padded_batch(lm, study):
    tok = lm.tokenizer
    tok.padding_side, side = "left", tok.padding_side
    batch = tok(PROMPTS, return_tensors="pt", padding=True)
    tok.padding_side = side
    torch.manual_seed(5)
    ref = lm.model.generate(batch.input_ids, attention_mask=batch.attention_mask, max_new_tokens=6, pad_token_id=tok.pad_token_id,
                            num_return_sequences=3, **TOP_P.explicit())
    new = ref[:, batch.input_ids.shape[1] :].tolist()
    eos = {int(lm.model.generation_config.eos_token_id)}
    got = [ids for row in study.strategies["top-p"].continuations for ids in row]
    assert got == [_until_eos(row, eos) for row in new]  # prompt-major: prompt 0's samples first


def test_greedy_is_one_text_per_prompt_repeated(lm, study):
    g = study.strategies["greedy"]
    assert g.repeated and not study.strategies["top-p"].repeated
    for prompt, row in zip(PROMPTS, g.continuations):
        ref = dl.reference_generate(lm, prompt, dl.DecodingConfig(), max_new_tokens=6)
        assert len(row) == 3 and len(set(row)) == 1
        assert list(row[0]) == ref[0, lm.encode(prompt).shape[1] :].tolist()[: len(row[0])]


def test_log_probabilities_are_the_untempered_models(lm, study):
    """Each token's log-probability equals one fresh forward pass over the unpadded prompt and the
    sample, at temperature 1: the warm strategy's sampling temperature does not enter."""
    for name in ("warm", "top-p", "greedy"):
        s = study.strategies[name]
        for prompt, ids_row, lp_row in zip(PROMPTS, s.continuations, s.token_logprobs):
            for ids, lp in zip(ids_row, lp_row):
                full = torch.cat([lm.encode(prompt), torch.tensor([list(ids)])], dim=1)
                with torch.inference_mode():
                    logits = lm.model(full).logits[0].float()
                start = lm.encode(prompt).shape[1]
                expected = torch.log_softmax(logits[start - 1 : -1], -1).gather(-1, torch.tensor(ids).unsqueeze(-1)).squeeze(-1)
                assert lp.shape == expected.shape
                assert torch.allclose(lp, expected, atol=2e-3), (name, prompt)
                assert abs(dl.sequence_logprob(lm, prompt, list(ids)) - float(lp.sum())) < 2e-3 * len(ids)
    tempered = [float(lp.mean()) for row in study.strategies["warm"].token_logprobs for lp in row]
    assert study.strategies["warm"].quality == pytest.approx(tempered)


def test_summary_is_the_medians_and_spreads(study):
    for name, m in study.summary().items():
        s = study.strategies[name]
        q = np.array(s.quality)
        assert len(q) == len(PROMPTS) * 3
        assert m.quality == pytest.approx(float(np.median(q)))
        assert m.quality_q1 == pytest.approx(float(np.percentile(q, 25))) and m.quality_q3 == pytest.approx(float(np.percentile(q, 75)))
        d = [dl.distinct_ngrams(row, 2) for row in s.continuations]
        assert (m.diversity, m.diversity_min, m.diversity_max) == (statistics.median(d), min(d), max(d))
        assert m.quality_q1 <= m.quality <= m.quality_q3 and m.diversity_min <= m.diversity <= m.diversity_max
    # copies of one text: at most 1/num_samples of their bigrams are distinct
    assert all(v <= 1 / 3 + 1e-9 for v in study.strategies["greedy"].distinct(2))


def test_markdown_has_a_row_per_strategy(lm, study):
    text = study.markdown(lm, prompt=1)
    lines = text.splitlines()
    assert len(lines) == 2 + 3 and "distinct-2" in lines[0] and PROMPTS[1] in lines[0]
    for line, (name, s) in zip(lines[2:], study.strategies.items()):
        assert line.startswith(f"| **{name}**") and f"{study.summary()[name].quality:.2f}" in line
        assert lm.text(s.continuations[1][0]) in line
    with pytest.raises(ValueError, match=r"`prompt` has to be an integer in \[0, 1\], but is 2"):
        study.markdown(lm, prompt=2)


def test_continuation_logprobs_on_a_hand_built_case():
    # two rows, three steps: row 0 ends with EOS (id 1) at step 2, then padding; row 1 never ends
    logits = [torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
              torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]),
              torch.tensor([[9.0, 9.0, 9.0], [0.0, 0.0, 5.0]])]
    seqs = torch.tensor([[4, 2, 1, 1], [4, 0, 0, 2]])
    rows = dl.continuation_logprobs(logits, seqs, prompt_length=1, eos_token_ids=[1])
    assert rows[0][0] == (2, 1) and rows[1][0] == (0, 0, 2)
    lse = lambda v: torch.logsumexp(torch.tensor(v), 0)  # noqa: E731
    assert torch.allclose(rows[0][1], torch.stack([-lse([0.0, 0, 0]), 1 - lse([0.0, 1, 0])]))
    assert torch.allclose(rows[1][1], torch.stack([-lse([0.0, 0, 0]), 2 - lse([2.0, 0, 0]), 5 - lse([0.0, 0, 5])]))
    with pytest.raises(ValueError, match=r"`sequences` has to be \(rows, prompt_length \+ steps\) = \(rows, 4\), but is \(2, 3\)"):
        dl.continuation_logprobs(logits, seqs[:, :3], prompt_length=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(prompts=[]), r"`prompts` has to be a non-empty list of non-empty strings, but is \[\]"),
        (dict(prompts="The sky is"), r"`prompts` has to be a non-empty list"),
        (dict(strategies={}), r"`strategies` has to be a non-empty dict"),
        (dict(strategies={"x": {"do_sample": True}}), r"`strategies\['x'\]` has to be a DecodingConfig"),
        (dict(num_samples=1), r"`num_samples` has to be an integer >= 2, but is 1"),
        (dict(max_new_tokens=1), r"`max_new_tokens` has to be an integer >= 2, but is 1"),
        (dict(seed=-1), r"`seed` has to be an integer >= 0, but is -1"),
        (dict(n=0), r"`n` has to be an integer >= 1, but is 0"),
    ],
)
def test_bad_input_is_refused_by_name(lm, kwargs, message):
    args = dict(prompts=["The sky is"], strategies={"t": TOP_P}, num_samples=2, max_new_tokens=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        dl.compare_strategies(lm, **args)


def test_quality_diversity_chart_draws_the_summary(study):
    fig = dl.quality_diversity_chart(study)
    assert [t.name for t in fig.data] == list(study.strategies)
    for trace, (name, m) in zip(fig.data, study.summary().items()):
        assert (trace.x[0], trace.y[0]) == (m.diversity, m.quality)
        assert trace.error_y.array[0] == pytest.approx(m.quality_q3 - m.quality)
        assert trace.error_y.arrayminus[0] == pytest.approx(m.quality - m.quality_q1)
        assert trace.error_x.array[0] == pytest.approx(m.diversity_max - m.diversity)
        assert trace.error_x.arrayminus[0] == pytest.approx(m.diversity - m.diversity_min)
        assert trace.marker.symbol == ("diamond" if study.strategies[name].repeated else "circle")
    assert fig.layout.legend.y < 0  # under the plot, clear of the title
    assert "2 prompts × 3 samples" in fig.layout.title.text
    with pytest.raises(ValueError, match="`comparison` has to be a StrategyComparison"):
        dl.quality_diversity_chart(study.summary())


def test_scores_chart_draws_logits_beside_the_penalised_scores(cap):
    step = cap("The sky is blue. The sky is")
    config = dl.DecodingConfig(repetition_penalty=1.5)
    fig = dl.scores_chart(step, config, k=8)
    logit, score, before, after = fig.data[:4]
    scores = step.scores(config)
    ids = step.logits.topk(8).indices.tolist()
    best = int(scores.argmax())
    ids = sorted(set(ids) | {best}, key=lambda i: -float(step.logits[i]))
    assert list(logit.y) == pytest.approx([float(step.logits[i]) for i in ids])
    assert list(score.y) == pytest.approx([float(scores[i]) for i in ids])
    assert list(before.y) == pytest.approx([float(torch.softmax(step.logits.float(), -1)[i]) for i in ids], abs=1e-6)
    assert list(after.y) == pytest.approx([float(torch.softmax(scores, -1)[i]) for i in ids], abs=1e-6)
    context = set(step.input_ids[0].tolist())
    moved = [i for i in ids if i in context]
    assert moved and all(float(scores[i]) < float(step.logits[i]) for i in moved)
    lines = fig.data[4]
    assert len([v for v in lines.x if v is None]) == sum(float(scores[i]) != float(step.logits[i]) for i in ids)
    assert "scores changed" in fig.layout.title.text


def test_scores_chart_marks_banned_tokens(cap):
    step = cap("I love New York. Every summer I travel back to New")
    config = dl.DecodingConfig(no_repeat_ngram_size=2)
    fig = dl.scores_chart(step, config, k=12)
    banned = [t for t in fig.data if t.name == "banned (−∞)"]
    shown = sorted(step.logits.topk(12).indices.tolist(), key=lambda i: -float(step.logits[i]))
    n_banned = sum(bool(torch.isinf(step.scores(config)[i])) for i in shown)
    assert (len(banned[0].x) if banned else 0) == n_banned
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is 0"):
        dl.scores_chart(step, config, k=0)
    with pytest.raises(ValueError, match="`config` has to be a DecodingConfig"):
        dl.scores_chart(step, None)
