"""Our readings of the repetition penalty and no-repeat-ngram equal transformers' processors."""

from __future__ import annotations

import pytest
import torch
from transformers import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor

import decoding_lessons as dl
from decoding_lessons import penalties as pen

@pytest.fixture(scope="module")
def cap(lm):
    """One capture for the whole module: each prompt is run through the model once."""
    return dl.LogitCapture(lm)


PROMPTS = ["New York is in New York. New York", "4 + 4 - 4 = ", "Hi, my name is, what? My name is, who?"]


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("penalty", [0.5, 1.2, 1.5, 3.0])
def test_repetition_penalty_equals_generate(cap, prompt, penalty):
    step = cap(prompt)
    ours = pen.repetition_penalty(step.logits, step.input_ids, penalty)
    assert torch.equal(ours, step.scores(dl.DecodingConfig(repetition_penalty=penalty)))


def test_repetition_penalty_once_per_distinct_token():
    logits = torch.tensor([2.0, -2.0, 1.0, 0.0, 4.0])
    once = pen.repetition_penalty(logits, [0, 1, 3], 2.0)
    many = pen.repetition_penalty(logits, [0, 0, 0, 1, 1, 3], 2.0)
    assert torch.equal(once, many)
    assert once.tolist() == [1.0, -4.0, 1.0, 0.0, 4.0]
    proc = RepetitionPenaltyLogitsProcessor(2.0)(torch.tensor([[0, 0, 0, 1, 1, 3]]), logits.reshape(1, -1))[0]
    assert torch.equal(many, proc)


@pytest.mark.parametrize("penalty", [0.5, 1.5, 3.0])
def test_a_negative_logit_is_multiplied_as_transformers_does(penalty):
    """The seed claims logit / penalty^min(count, 1): right for positive logits, wrong for negative
    ones, which transformers' processor multiplies by the penalty (moving them away from 0)."""
    logits = torch.tensor([3.0, -3.0, 0.0, -0.5, 2.0])
    context = [0, 1, 2, 3]  # token 4 is not in the context
    ours = pen.repetition_penalty(logits, context, penalty)
    proc = RepetitionPenaltyLogitsProcessor(penalty)(torch.tensor([context]), logits.reshape(1, -1).clone())[0]
    assert torch.equal(ours, proc)
    negative = logits < 0
    assert not torch.equal(ours[negative], logits[negative] / penalty)  # the seed's formula is not the processor's
    assert torch.equal(ours[4:], logits[4:])  # untouched outside the context


def test_repetition_table(cap):
    step = cap(PROMPTS[0])
    rows = pen.repetition_table(step.logits, step.input_ids, 1.5)
    ids = step.input_ids[0].tolist()
    assert sorted(r.token_id for r in rows) == sorted(set(ids))
    assert [r.p_before for r in rows] == sorted((r.p_before for r in rows), reverse=True)
    scores = step.scores(dl.DecodingConfig(repetition_penalty=1.5))
    p = torch.softmax(scores, -1)
    for r in rows:
        assert r.count == ids.count(r.token_id)
        assert r.penalized == float(scores[r.token_id])
        assert r.p_after == pytest.approx(float(p[r.token_id]), rel=1e-5)
        assert r.p_after < r.p_before or r.logit == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(15))
def test_banned_ngram_tokens_match_processor(n, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 6, (1, 25), generator=g)  # a small alphabet: many repeated n-grams
    scores = torch.zeros(1, 6)
    blocked = torch.isinf(NoRepeatNGramLogitsProcessor(n)(ids, scores)[0]).nonzero().flatten().tolist()
    assert pen.banned_ngram_tokens(ids, n) == blocked


def test_banned_ngram_tokens_new_york(lm, cap):
    tok = lm.tokenizer
    step = cap("I visited New York last year, and next summer I will go back to New")
    york = tok(" York", add_special_tokens=False).input_ids
    assert len(york) == 1
    assert pen.banned_ngram_tokens(step.input_ids, 2) == york
    scores = step.scores(dl.DecodingConfig(no_repeat_ngram_size=2))
    assert torch.isinf(scores[york[0]]) and int(torch.isinf(scores).sum()) == 1


def test_short_context_bans_nothing():
    assert pen.banned_ngram_tokens([1, 2], 3) == []


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pen.repetition_penalty(torch.zeros(3), [0], 0.0), "`repetition_penalty` has to be a float in the (0, inf) interval, but is 0.0"),
        (lambda: pen.banned_ngram_tokens([1, 2, 3], 0), "`ngram_size` has to be an integer >= 1, but is 0"),
        (lambda: pen.banned_ngram_tokens([], 2), "`input_ids` must hold at least one token, but it is empty"),
    ],
)
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert message in str(err.value)
