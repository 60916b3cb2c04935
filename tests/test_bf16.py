"""The equality tests again, with the model in bfloat16 (the published build's dtype).

Capture runs the same kernels as ``generate()``, so it stays bit-identical; the traces and beam
search drive the model as ``generate()`` does, so they stay equal too. Contrastive search with
α = 0 is greedy decoding only up to ties: bf16 logits tie often, ``generate()`` takes the tied token
with the lowest id (``argmax``), contrastive search the first of ``topk``'s candidates, as
transformers 4.55 did. So the test asserts greedy wherever the top two candidates do not tie.
"""

from __future__ import annotations

import pytest
import torch

import decoding_lessons as dl
from decoding_lessons.search import beam_search, contrastive_search
from test_sampling import TRACE_CONFIGS, run_generate
from test_search import EMBEDDED_GRID, assert_same_as_generate, generate_beams
from test_scoring import CONFIGS, PROMPTS, generate_step


def test_the_model_is_in_bfloat16(lm_bf16):
    assert lm_bf16.dtype == torch.bfloat16 and lm_bf16.build_info()["dtype"] == "bfloat16"


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.describe())
def test_scores_equal_generate_bf16(lm_bf16, prompt, cfg):
    logits, scores = generate_step(lm_bf16, prompt, cfg)
    step = dl.LogitCapture(lm_bf16)(prompt)
    assert torch.equal(step.logits, logits)
    assert torch.equal(step.scores(cfg), scores)


def test_bf16_logits_tie_and_top_k_keeps_the_ties(lm_bf16):
    """What lessons 3, 4 and 11 teach: bf16 logits take few distinct values, so the k-th score is
    often shared, and TopKLogitsWarper then keeps more than k tokens (top_k_rule says how many)."""
    from transformers import TopKLogitsWarper

    from decoding_lessons.rules import top_k_rule

    cap = dl.LogitCapture(lm_bf16)
    for prompt in ["My name is", "The sky is", "Once upon a time", "2 + 2 = "]:
        step = cap(prompt)
        assert torch.unique(step.logits).numel() < step.logits.numel() // 10  # 8 significant bits: few distinct values
        tied_ks = []
        for k in range(1, 101):
            rule = top_k_rule(step.logits, k)
            kept = torch.isfinite(TopKLogitsWarper(k)(step.input_ids, step.logits[None].clone())[0])
            assert torch.equal(kept, rule.keep) and rule.kept >= k
            if rule.extra:
                tied_ks.append(k)
        assert tied_ks, f"{prompt!r}: no tie at any k <= 100 in bf16"


@pytest.mark.parametrize("cfg", TRACE_CONFIGS, ids=lambda c: c.describe())
def test_trace_equals_generate_bf16(lm_bf16, cfg):
    for prompt, seed in [("2 + 2 = ", 0), ("Once upon a time", 5)]:
        out = run_generate(lm_bf16, prompt, cfg, 16, seed)
        trace = dl.generate_with_trace(lm_bf16, prompt, cfg, max_new_tokens=16, seed=seed, keep_scores=True)
        assert torch.equal(trace.sequence, out.sequences.cpu()), (prompt, trace.text)
        for s, scores in zip(trace.steps, out.scores):
            assert torch.equal(s.scores, scores[0].cpu())


@pytest.mark.parametrize("prompt,kw", EMBEDDED_GRID[:4], ids=[f"{p[:12]}-{kw}" for p, kw in EMBEDDED_GRID[:4]])
def test_beam_search_equals_generate_bf16(lm_bf16, prompt, kw):
    sequences, scores = generate_beams(lm_bf16.model, lm_bf16.encode(prompt), lm_bf16.tokenizer.pad_token_id, **kw)
    assert_same_as_generate(beam_search(lm_bf16, prompt, **kw), sequences, scores)


@pytest.mark.parametrize("prompt", ["The sky is", "Once upon a time", "I like cats. I like"])
def test_contrastive_with_alpha_zero_takes_the_most_likely_candidate_bf16(lm_bf16, prompt):
    ids = lm_bf16.encode(prompt)
    result = contrastive_search(lm_bf16, prompt, penalty_alpha=0.0, top_k=4, max_new_tokens=16)
    for s in result.steps:
        best = max(c.prob for c in s.candidates)
        assert s.chosen.prob == best  # α = 0: the score is the probability alone; a "flip" only among equals
    greedy = dl.reference_generate(lm_bf16, prompt, max_new_tokens=16, do_sample=False)
    ties = [s.step for s in result.steps if s.candidates[0].prob == s.candidates[1].prob]
    if not ties:
        assert torch.equal(result.sequences, greedy.cpu())
    else:  # up to the first tie, the same tokens as greedy decoding
        first = ties[0] + ids.shape[1]
        assert torch.equal(result.sequences[0, :first], greedy.cpu()[0, :first])
