"""One forward pass per distinct context."""

from __future__ import annotations

import pytest
import torch

import decoding_lessons as dl


def test_one_forward_pass_per_distinct_context(cap):
    a = cap("The sky is")
    for cfg in [dl.DecodingConfig(), dl.DecodingConfig(do_sample=True, top_p=0.5), dl.DecodingConfig(do_sample=True, min_p=0.2)]:
        a.scores(cfg)
        a.probs(cfg)
    assert cap("The sky is") is a
    assert cap(a.input_ids[0].tolist()) is a  # same ids, same context
    assert cap.forward_passes == 1
    cap("2 + 2 = ")
    assert cap.forward_passes == 2 == cap.distinct_contexts


def test_probs_sum_to_one_and_top_is_sorted(cap):
    step = cap("2 + 2 = ")
    p = step.probs(dl.DecodingConfig(do_sample=True, top_p=0.9))
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)
    top = step.top(5)
    assert [t[1] for t in top] == sorted([t[1] for t in top], reverse=True)
    assert top[0][0] == int(step.logits.argmax())


def test_capture_rejects_bad_input(cap):
    with pytest.raises(ValueError, match="`context` must hold at least one token"):
        cap([])
    with pytest.raises(ValueError, match="`prompt` must encode to at least one token"):
        cap("")
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is 0"):
        cap("The sky is").top(0)


def test_logits_do_not_change_when_scores_are_computed(cap):
    step = cap("The sky is")
    before = step.logits.clone()
    step.scores(dl.DecodingConfig(do_sample=True, temperature=0.5, repetition_penalty=2.0))
    assert torch.equal(step.logits, before)


def test_text_leaves_out_a_bos_the_tokenizer_adds(lm):
    """A Gemma- or Llama-style tokenizer puts <bos> in front of every prompt; the context's text
    (which chart titles quote) is what was written. SmolLM2's adds none, so nothing is cut there."""
    import copy

    from decoding_lessons.capture import NextToken, adds_bos

    ids = lm.tokenizer("The sky is", return_tensors="pt").input_ids
    assert not adds_bos(lm.tokenizer)
    plain = NextToken(ids, torch.zeros(lm.vocab_size), lm)
    assert plain.text == "The sky is"

    class WithBos:  # the same vocabulary, with the habit of putting <|endoftext|> (id 0) first
        def __init__(self, tok):
            self.tok, self.bos_token_id = tok, 0

        def __call__(self, text, **kw):
            out = self.tok(text, **kw)
            out["input_ids"] = [0] + out["input_ids"]
            return out

        def decode(self, ids, **kw):
            return self.tok.decode(ids, **kw)

    other = copy.copy(lm)
    other.tokenizer = WithBos(lm.tokenizer)
    assert adds_bos(other.tokenizer)
    with_bos = torch.cat([torch.zeros(1, 1, dtype=ids.dtype), ids], dim=1)
    assert NextToken(with_bos, torch.zeros(lm.vocab_size), other).text == "The sky is"
    # a <bos> that was written (a tokenizer that adds none) stays
    assert NextToken(with_bos, torch.zeros(lm.vocab_size), lm).text.startswith("<|endoftext|>")
