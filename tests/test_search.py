"""Beam, diverse beam and contrastive search: equal to generate() where transformers still has the
algorithm, equal to a hand-worked answer where it does not, and recorded consistently."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import decoding_lessons as dl
from decoding_lessons.search import (
    BigramModel,
    beam_search,
    contrastive_search,
    degeneration_scores,
    diverse_beam_search,
    hamming_penalty,
)
from decoding_lessons.measures import distinct_ngrams, sequence_logprob

EOS = 3
PAD = 2  # not 0: transformers 5 pads beam outputs with `pad_token_id or eos_token_id` (see the test below)
TINY_CONFIG = dict(
    vocab_size=24, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD, initializer_range=0.5,
    max_position_embeddings=128,
)


@pytest.fixture(scope="module")
def tiny():
    """A tiny random Llama: 24 tokens, EOS = 3, pad = 2, weights large enough that EOS wins early at times."""
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**TINY_CONFIG)).eval()
    model.generation_config.eos_token_id = EOS
    model.generation_config.pad_token_id = PAD
    return model


def generate_beams(model, ids, pad_token_id, **kw):
    out = dl.reference_generate(
        model, ids, num_return_sequences=kw.get("num_beams"), scores=True, do_sample=False, pad_token_id=pad_token_id, **kw
    )
    return out.sequences.cpu(), out.sequences_scores.cpu()


def assert_same_as_generate(result, sequences, scores):
    """Bit for bit: the search does generate()'s float32 operations in generate()'s order (one batched
    forward pass of all beams, log_softmax, processors, + the running score, topk). Measured over
    every search that uses it below (57, tiny and embedded model): max |difference| = 0.0."""
    assert torch.equal(result.sequences, sequences)
    assert result.sequences_scores.dtype == scores.dtype == torch.float32
    assert torch.equal(result.sequences_scores, scores)


# --------------------------------------------------------------------------------------------
# beam search == generate(num_beams=...)
# --------------------------------------------------------------------------------------------

EMBEDDED_GRID = [
    ("The sky is", dict(num_beams=4, max_new_tokens=12)),
    ("2 + 2 = ", dict(num_beams=3, max_new_tokens=10, length_penalty=0.0)),
    ("Once upon a time", dict(num_beams=5, max_new_tokens=8, early_stopping=True)),
    ("Once upon a time", dict(num_beams=4, max_new_tokens=10, early_stopping="never", length_penalty=2.0)),
    ("I like cats. I like", dict(num_beams=4, max_new_tokens=12, no_repeat_ngram_size=2)),
    ("Q: What is the capital of France?\nA:", dict(num_beams=4, max_new_tokens=15)),  # an EOS hypothesis is returned
    ("The best thing about", dict(num_beams=2, max_new_tokens=6, length_penalty=-1.0)),
]


@pytest.mark.parametrize("prompt,kw", EMBEDDED_GRID, ids=[f"{p[:12]}-{kw}" for p, kw in EMBEDDED_GRID])
def test_beam_search_equals_generate_embedded(lm, prompt, kw):
    sequences, scores = generate_beams(lm.model, lm.encode(prompt), lm.tokenizer.pad_token_id, **kw)
    assert_same_as_generate(beam_search(lm, prompt, **kw), sequences, scores)


TINY_PROMPTS = [[1, 5, 9], [1, 7], [1, 12, 4, 20, 8], [1, 2, 2, 2]]
TINY_SETTINGS = [
    dict(num_beams=4, max_new_tokens=12),
    dict(num_beams=2, max_new_tokens=15, length_penalty=0.0),
    dict(num_beams=5, max_new_tokens=12, early_stopping="never", length_penalty=2.0),
    dict(num_beams=3, max_new_tokens=12, early_stopping=True),
    dict(num_beams=6, max_new_tokens=10, early_stopping="never", length_penalty=-0.5),
    dict(num_beams=4, max_new_tokens=14, no_repeat_ngram_size=2),
    dict(num_beams=8, max_new_tokens=6, repetition_penalty=1.5),
]


@pytest.mark.parametrize("kw", TINY_SETTINGS, ids=str)
@pytest.mark.parametrize("prompt", TINY_PROMPTS, ids=str)
def test_beam_search_equals_generate_tiny(tiny, prompt, kw):
    sequences, scores = generate_beams(tiny, prompt, PAD, **kw)
    assert_same_as_generate(beam_search(tiny, prompt, **kw), sequences, scores)


def test_a_zero_pad_id_pads_with_eos_as_generate_does(tiny):
    tiny.generation_config.pad_token_id = 0
    try:
        sequences, scores = generate_beams(tiny, [1, 5, 9], 0, num_beams=4, max_new_tokens=12)
        result = beam_search(tiny, [1, 5, 9], num_beams=4, max_new_tokens=12)
    finally:
        tiny.generation_config.pad_token_id = PAD
    assert_same_as_generate(result, sequences, scores)
    padded = [row for row, h in zip(sequences.tolist(), result.returned) if 3 + len(h.tokens) < sequences.shape[1]]
    assert padded and all(row[3 + len(h.tokens) :] == [EOS] * (len(row) - 3 - len(h.tokens)) for row, h in zip(sequences.tolist(), result.returned))


def test_tiny_grid_reaches_eos_early(tiny):
    """The tiny grid exercises finished hypotheses that end with EOS before the length limit."""
    early = 0
    for prompt in TINY_PROMPTS:
        result = beam_search(tiny, prompt, num_beams=4, max_new_tokens=12)
        early += sum(h.eos and h.length < 12 for h in result.returned)
    assert early >= 2


def test_num_return_sequences_is_the_best_prefix(tiny):
    full = beam_search(tiny, [1, 5, 9], num_beams=4, max_new_tokens=10)
    two = beam_search(tiny, [1, 5, 9], num_beams=4, max_new_tokens=10, num_return_sequences=2)
    out = dl.reference_generate(tiny, [1, 5, 9], num_beams=4, num_return_sequences=2, max_new_tokens=10, scores=True,
                                do_sample=False, pad_token_id=PAD)
    assert_same_as_generate(two, out.sequences, out.sequences_scores)
    assert [h.tokens for h in two.returned] == [h.tokens for h in full.returned[:2]]


def test_one_forward_pass_per_step_for_all_beams(tiny):
    calls = []
    hook = tiny.register_forward_hook(lambda module, args, kwargs, out: calls.append(kwargs["input_ids"].shape), with_kwargs=True)
    try:
        result = beam_search(tiny, [1, 5, 9], num_beams=5, max_new_tokens=9)
    finally:
        hook.remove()
    assert result.forward_passes == len(calls) == result.num_steps <= 9
    assert calls[0] == (5, 3)  # the prefill: the prompt, once per beam (as generate() does)
    assert all(shape == (5, 1) for shape in calls[1:])  # then one new token per beam, with the KV cache


def test_the_record_adds_up(tiny):
    r = beam_search(tiny, [1, 7], num_beams=4, max_new_tokens=12, length_penalty=1.3)
    cands = r.candidates
    for step in r.steps:
        here = [cands[i] for i in step.candidates]
        assert len(here) == 2 * 4 and [c.rank for c in here] == list(range(8))
        assert [c.score for c in here] == sorted((c.score for c in here), reverse=True)
        for c in here:
            parent = 0.0 if c.parent is None else cands[c.parent].score
            assert c.score == pytest.approx(parent + c.step_score, abs=1e-5)
            assert c.step_score == pytest.approx(c.logprob, abs=1e-6)  # no processors here
        kept = [c for c in here if c.status == "kept"]
        assert len(kept) in (0, 4) and sorted(c.next_slot for c in kept) == ([0, 1, 2, 3] if kept else [])
        if step.step + 1 < r.num_steps:  # the kept candidates are the next step's live beams
            assert sorted(r.steps[step.step + 1].live) == sorted(c.id for c in kept)
    for h in r.finished:
        assert h.score == pytest.approx(h.sum_logprobs / h.length**1.3, rel=1e-5)
        assert tuple(cands[i].token_id for i in r.path(h.node)) == h.tokens
    assert [h.rank for h in r.returned] == [0, 1, 2, 3]
    assert [h.score for h in r.returned] == r.sequences_scores.tolist()  # the same float32 values
    assert all(c.status == "pruned" for c in cands if c.ended and c.rank >= 4)  # only the top num_beams may finish


def test_scores_are_joint_log_probabilities(lm):
    """With length_penalty=0 a hypothesis's score is log p(output | prompt), recomputed in one pass."""
    r = beam_search(lm, "The sky is", num_beams=3, max_new_tokens=6, length_penalty=0.0)
    for h in r.returned:
        # one pass over the whole text, against the search's step-by-step passes with the KV cache:
        # the float32 sums differ in order (measured: at most 1.1e-05)
        assert sequence_logprob(lm, "The sky is", list(h.tokens)) == pytest.approx(h.score, abs=1e-4)


def test_no_repeat_ngram_blocks_repeats(lm):
    r = beam_search(lm, "I like cats. I like cats. I like", num_beams=4, max_new_tokens=12, no_repeat_ngram_size=2)
    for h in r.returned:  # no bigram that ends in a generated token occurs earlier, prompt included
        full = r.prompt_ids + list(h.tokens)
        grams = [tuple(full[i : i + 2]) for i in range(len(full) - 1)]
        assert all(grams[i] not in grams[:i] for i in range(len(r.prompt_ids) - 1, len(grams)))


# --------------------------------------------------------------------------------------------
# diverse beam search
# --------------------------------------------------------------------------------------------


def group_pool(result, group: int, step: int | None = None):
    """The finished hypotheses a group holds at the end of ``step`` (default: at the end), best first."""
    step = result.num_steps if step is None else step
    return sorted(
        (h for h in result.finished if h.group == group and h.step <= step and (h.evicted_at is None or h.evicted_at > step)),
        key=lambda h: -h.score,
    )


# A group's pool against generate(num_beams=size): the diverse search runs all groups in one batch of
# size × groups rows (with its own cache reordering), and its float32 log-probabilities differ from
# generate()'s size-row batch in the last bits (up to 2.5e-06 per token in the tiny [1, 7] search),
# which the running sums accumulate. Measured over ZERO_GRID (every candidate of every step
# generate() ran, and the pools at its last step) and the embedded grid: max |difference| 3.8e-06
# (tiny, sums near -10), 2.9e-06 (embedded); nonzero only where the summed scores are large. In 4
# of ZERO_GRID's 24 searches the group search runs on after generate() stopped; in 2 of them that
# changes what it returns (the reference test below checks both against 4.55 itself).
POOL_ATOL = 5e-5  # 1e-5 on the machine it was measured on; this AMD EPYC rounds batch rows differently
# Scores recorded with transformers 4.55 on another machine, and rows of one batch against each
# other: torch's CPU kernels round differently per CPU (AVX2 / AVX-512, Intel / AMD) and per row
# position in a batch, so on this side of the comparison the floats agree to float32 rounding of
# sums of about 10-100 (measured on an AMD EPYC), the tokens exactly.
CROSS_CPU_ATOL = 5e-5


def assert_pool_is_generate(pool, start: int, sequences, scores):
    """The pool holds exactly generate()'s hypotheses, best first, with its scores to POOL_ATOL."""
    assert len(pool) == len(scores) == len(sequences)
    assert [list(h.tokens) for h in pool] == [row[start : start + len(h.tokens)] for row, h in zip(sequences.tolist(), pool)]
    assert torch.allclose(torch.tensor([h.score for h in pool]), scores, atol=POOL_ATOL, rtol=0)


@pytest.mark.parametrize("kw", TINY_SETTINGS[:6], ids=str)
@pytest.mark.parametrize("prompt", TINY_PROMPTS[:3], ids=str)
def test_one_group_is_plain_beam_search_tiny(tiny, prompt, kw):
    sequences, scores = generate_beams(tiny, prompt, PAD, **kw)
    assert_same_as_generate(diverse_beam_search(tiny, prompt, num_beam_groups=1, diversity_penalty=2.0, **kw), sequences, scores)


@pytest.mark.parametrize("prompt,kw", EMBEDDED_GRID[:2], ids=[p[:12] for p, _ in EMBEDDED_GRID[:2]])
def test_one_group_is_plain_beam_search_embedded(lm, prompt, kw):
    sequences, scores = generate_beams(lm.model, lm.encode(prompt), lm.tokenizer.pad_token_id, **kw)
    assert_same_as_generate(diverse_beam_search(lm, prompt, num_beam_groups=1, diversity_penalty=3.0, **kw), sequences, scores)


# transformers 4.55.4's own group beam search on the tiny model, recorded by
# tests/reference/make_reference_455_tiny.py (transformers 5 no longer runs it): λ = 0 and λ = 1 over
# TINY_PROMPTS × groups 2 and 3 × TINY_SETTINGS[:3], and its plain beam search of each group size.
TINY_REFERENCE = Path(__file__).resolve().parent / "reference" / "transformers_4_55_4_tiny.json"
TINY_REF = json.loads(TINY_REFERENCE.read_text())
ZERO_GRID = [(p, groups, kw) for p in TINY_PROMPTS for groups in (2, 3) for kw in TINY_SETTINGS[:3]]
SETTING_KEYS = ("max_new_tokens", "length_penalty", "early_stopping")


def recorded_settings(case: dict) -> dict:
    return {key: case[key] for key in SETTING_KEYS if key in case}


def state_dict_sha256(model) -> str:
    """As make_reference_455_tiny.py computes it: names and float32 bytes, in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_tiny_reference_was_recorded_on_this_model_and_grid(tiny):
    recorded = TINY_REF["model"]
    assert TINY_REF["transformers_version"] == "4.55.4"
    assert recorded["config"] == TINY_CONFIG and recorded["seed"] == 0
    assert state_dict_sha256(tiny) == recorded["state_dict_sha256"], "regenerate: /tmp/venv455/bin/python tests/reference/make_reference_455_tiny.py"
    grid = [(c["prompt"], c["num_beam_groups"], dict(num_beams=c["group_size"], **recorded_settings(c))) for c in TINY_REF["diverse"]]
    for penalty in (0.0, 1.0):
        canonical = lambda cases: sorted((p, g, sorted(kw.items(), key=str)) for p, g, kw in cases)  # noqa: E731
        assert canonical(g for g, c in zip(grid, TINY_REF["diverse"]) if c["diversity_penalty"] == penalty) == canonical(ZERO_GRID)
    # the grid bites where the two stopping rules part: at λ = 0, 4.55's group search returns other
    # hypotheses than its plain beam search of one group's size in some cases, the same in the others
    key = lambda c, size: (tuple(c["prompt"]), size, tuple(recorded_settings(c).items()))  # noqa: E731
    plain = {key(c, c["num_beams"]): c["sequences"] for c in TINY_REF["plain"]}
    same = [
        c["sequences"][:: c["num_beam_groups"]] == plain[key(c, c["group_size"])]
        for c in TINY_REF["diverse"] if c["diversity_penalty"] == 0.0
    ]
    assert 0 < sum(same) < len(same)


@pytest.mark.parametrize("case", TINY_REF["plain"], ids=lambda c: f"{c['prompt']}-{c['num_beams']}-{recorded_settings(c)}")
def test_tiny_plain_beam_search_is_the_same_in_4_55_and_5(tiny, case):
    """The guard that 4.55 ran the very model the tests run: its beam search equals 5's generate()."""
    sequences, scores = generate_beams(tiny, case["prompt"], PAD, num_beams=case["num_beams"], **recorded_settings(case))
    assert sequences.tolist() == case["sequences"]
    assert torch.allclose(scores, torch.tensor(case["sequences_scores"], dtype=torch.float32), atol=CROSS_CPU_ATOL, rtol=0)


@pytest.mark.parametrize(
    "case", TINY_REF["diverse"],
    ids=lambda c: f"{c['prompt']}-{c['num_beam_groups']}x{c['group_size']}-penalty{c['diversity_penalty']}-{recorded_settings(c)}",
)
def test_diverse_beam_search_equals_4_55_tiny(tiny, case):
    """Bit for bit: the same sequences and the same float32 scores as 4.55's _group_beam_search."""
    groups = case["num_beam_groups"]
    result = diverse_beam_search(
        tiny, case["prompt"], num_beams=case["group_size"] * groups, num_beam_groups=groups,
        diversity_penalty=case["diversity_penalty"], **recorded_settings(case),
    )
    assert result.sequences.tolist() == case["sequences"]
    assert torch.allclose(result.sequences_scores, torch.tensor(case["sequences_scores"], dtype=torch.float32), atol=CROSS_CPU_ATOL, rtol=0)


@pytest.mark.parametrize("prompt,groups,kw", ZERO_GRID, ids=[f"{p}-{g}-{kw}" for p, g, kw in ZERO_GRID])
def test_zero_penalty_makes_every_group_plain_beam_search(tiny, prompt, groups, kw):
    """λ = 0: every group runs the same beam search of `size` beams through 4.55's per-group scorer.

    The groups agree with one another exactly. Against ``generate(num_beams=size)``: at every step
    generate() ran, each group ranks the same candidates, and at generate()'s last step a group's
    pool holds exactly generate()'s hypotheses. The group search may run on after that (it never
    stops earlier): its scorer judges "done" by the best candidate of the step, an EOS included,
    where generate() judges by the best live beam; so it runs on only where an EOS ranked first."""
    kw = dict(kw)
    size = kw.pop("num_beams")
    result = diverse_beam_search(tiny, prompt, num_beams=size * groups, num_beam_groups=groups, diversity_penalty=0.0, **kw)
    pools = [group_pool(result, g) for g in range(groups)]
    assert all([h.tokens for h in pool] == [h.tokens for h in pools[0]] for pool in pools)
    # the same rows: the same floats up to the rounding of a row's position in the batch
    assert all(torch.allclose(torch.tensor([h.score for h in pool]), torch.tensor([h.score for h in pools[0]]), atol=CROSS_CPU_ATOL, rtol=0)
               for pool in pools)
    assert [h.tokens for h in result.returned] == [h.tokens for h in pools[0] for _ in range(groups)][: size * groups]

    sequences, scores = generate_beams(tiny, prompt, PAD, num_beams=size, **kw)
    plain = beam_search(tiny, prompt, num_beams=size, **kw)
    assert_same_as_generate(plain, sequences, scores)  # so plain's record tells what generate() did, step by step
    assert result.num_steps >= plain.num_steps
    for t in range(plain.num_steps):
        ours = [result.candidates[i] for i in result.steps[t].candidates if result.candidates[i].group == 0]
        theirs = [plain.candidates[i] for i in plain.steps[t].candidates]
        assert [(c.token_id, c.rank) for c in ours] == [(c.token_id, c.rank) for c in theirs], t
        assert torch.allclose(torch.tensor([c.score for c in ours]), torch.tensor([c.score for c in theirs]), atol=POOL_ATOL, rtol=0)
    last = plain.num_steps - 1
    assert_pool_is_generate(group_pool(result, 0, last), len(result.prompt_ids), sequences, scores)
    if result.num_steps > plain.num_steps:  # generate() stopped on its live beams, while an EOS ranked first
        best = min((result.candidates[i] for i in result.steps[last].candidates if result.candidates[i].group == 0), key=lambda c: c.rank)
        assert best.ended == "eos"


@pytest.mark.parametrize("prompt,kw", EMBEDDED_GRID[:2] + EMBEDDED_GRID[5:6], ids=[p[:12] for p, _ in EMBEDDED_GRID[:2] + EMBEDDED_GRID[5:6]])
def test_zero_penalty_groups_equal_generate_embedded(lm, prompt, kw):
    kw = dict(kw)
    size = kw.pop("num_beams")
    sequences, scores = generate_beams(lm.model, lm.encode(prompt), lm.tokenizer.pad_token_id, num_beams=size, **kw)
    result = diverse_beam_search(lm, prompt, num_beams=2 * size, num_beam_groups=2, diversity_penalty=0.0, **kw)
    for g in (0, 1):  # each group's pool holds exactly generate()'s hypotheses, with its scores
        assert_pool_is_generate(group_pool(result, g), len(result.prompt_ids), sequences, scores)


def test_group_zero_is_not_penalised(tiny):
    a = diverse_beam_search(tiny, [1, 5, 9], num_beams=6, num_beam_groups=3, diversity_penalty=0.0, max_new_tokens=8)
    b = diverse_beam_search(tiny, [1, 5, 9], num_beams=6, num_beam_groups=3, diversity_penalty=5.0, max_new_tokens=8)
    first = lambda r: sorted((h.tokens, round(h.score, 6)) for h in r.finished if h.group == 0 and h.evicted_at is None)  # noqa: E731
    assert first(a) == first(b)
    assert all(c.diversity_penalty == 0 for c in b.candidates if c.group == 0)


def toy_model():
    """Worked by hand below: after <s>, A is likelier than B, and both prefer B next."""
    return BigramModel(
        ["<s>", "A", "B", "C", "<eos>"],
        {
            "<s>": {"A": 0.5, "B": 0.3, "C": 0.2},
            "A": {"A": 0.1, "B": 0.6, "C": 0.3},
            "B": {"A": 0.1, "B": 0.7, "C": 0.2},
            "C": {"<eos>": 1.0},
        },
        eos="<eos>",
    )


@pytest.mark.parametrize("penalty", [0.0, 1.0, 2.0])
def test_diverse_beam_search_by_hand(penalty):
    """Two groups of one beam, two steps, length_penalty 0 (scores are plain sums).

    Step 1. Group 1 takes A (log .5). Group 2 pays `penalty` for A: log .5 − λ against B's log .3,
    so it takes B when λ > log(.5/.3) ≈ 0.51, else A.
    Step 2. Group 1 continues A → B (log .6). Group 2, if on B, pays λ for B: log .7 − λ against
    C's log .2, so B → B when λ < log(.7/.2) ≈ 1.25, else B → C.
    """
    toy = toy_model()
    log = math.log
    r = diverse_beam_search(toy, toy.ids("<s>"), num_beams=2, num_beam_groups=2, diversity_penalty=penalty, max_new_tokens=2, length_penalty=0.0)
    expected = {
        0.0: [("A", "B"), ("A", "B")],
        1.0: [("A", "B"), ("B", "B")],
        2.0: [("A", "B"), ("B", "C")],
    }[penalty]
    scores = {
        0.0: [log(0.5) + log(0.6), log(0.5) + log(0.6)],
        1.0: [log(0.5) + log(0.6), log(0.3) + log(0.7) - 1.0],
        2.0: [log(0.5) + log(0.6), log(0.3) + log(0.2)],
    }[penalty]
    assert [tuple(toy.names(h.tokens)) for h in r.returned] == expected
    assert r.sequences_scores.tolist() == pytest.approx(scores, abs=1e-6)
    # equal scores (no penalty): 4.55 sorts the pooled hypotheses stably and pops the last, so group 2 first
    assert [h.group for h in r.returned] == ([1, 0] if penalty == 0 else [0, 1])
    assert r.forward_passes == 2
    step2 = {toy.vocab[c.token_id]: c for c in r.candidates if c.group == 1 and c.step == 1}
    if penalty == 1.0:  # the second group sits on B where the first group chose B: B pays once, and still wins
        assert step2["B"].diversity_penalty == 1.0 and step2["B"].step_score == pytest.approx(log(0.7) - 1.0, abs=1e-6)
        assert step2["B"].status == "finished" and step2["B"].ended == "length"  # the length limit ends it
    if penalty == 2.0:  # B (log .7 − 2) falls below C (log .2) and A (log .1): not even among the 2 candidates
        assert set(step2) == {"C", "A"} and step2["C"].diversity_penalty == 0.0


def test_hamming_penalty_counts_earlier_groups():
    scores = hamming_penalty(torch.zeros(2, 5), torch.tensor([4, 1, 4]), 0.25)
    assert scores[0].tolist() == [0.0, -0.25, 0.0, 0.0, -0.5] and torch.equal(scores[0], scores[1])


def test_diverse_returns_more_distinct_beams(lm):
    plain = diverse_beam_search(lm, "The sky is", num_beams=4, num_beam_groups=2, diversity_penalty=0.0, max_new_tokens=8)
    diverse = diverse_beam_search(lm, "The sky is", num_beams=4, num_beam_groups=2, diversity_penalty=2.0, max_new_tokens=8)
    n_plain = distinct_ngrams([h.tokens for h in plain.returned], 2)
    n_div = distinct_ngrams([h.tokens for h in diverse.returned], 2)
    assert n_div > n_plain
    assert diverse.forward_passes == diverse.num_steps  # one pass per step for all groups


# --------------------------------------------------------------------------------------------
# contrastive search
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["The sky is", "Once upon a time", "I like cats. I like"])
def test_contrastive_with_alpha_zero_is_greedy(lm, prompt):
    ids = lm.encode(prompt)
    greedy = dl.reference_generate(lm, prompt, max_new_tokens=16, do_sample=False)
    result = contrastive_search(lm, prompt, penalty_alpha=0.0, top_k=4, max_new_tokens=16)
    assert torch.equal(result.sequences, greedy.cpu())
    assert result.forward_passes == result.sequences.shape[1] - ids.shape[1] + 1  # the prefill, then one per token


@pytest.mark.parametrize("prompt", TINY_PROMPTS, ids=str)
def test_contrastive_with_top_k_one_is_greedy(tiny, prompt):
    greedy = dl.reference_generate(tiny, prompt, max_new_tokens=12, do_sample=False, pad_token_id=PAD)
    assert torch.equal(contrastive_search(tiny, prompt, penalty_alpha=0.7, top_k=1, max_new_tokens=12).sequences, greedy)


def flip_model():
    """After <s>, A (p .6) would put the model back in <s>'s state (cosine 1); B (p .4) would not (cosine 0)."""
    return BigramModel(["<s>", "A", "B"], {"<s>": {"A": 0.6, "B": 0.4}}, hidden={"<s>": [1.0, 0.0], "A": [2.0, 0.0], "B": [0.0, 1.0]})


@pytest.mark.parametrize("alpha,winner", [(0.0, "A"), (0.1, "A"), (0.2, "B"), (0.5, "B"), (1.0, "B")])
def test_degeneration_penalty_flips_the_choice_by_hand(alpha, winner):
    """A scores (1 − α)·.6 − α·1, B scores (1 − α)·.4 − α·0: B wins once α > 1/6."""
    toy = flip_model()
    r = contrastive_search(toy, toy.ids("<s>"), penalty_alpha=alpha, top_k=2, max_new_tokens=1)
    step = r.steps[0]
    a, b = step.candidates  # by probability
    assert toy.names([a.token_id, b.token_id]) == ["A", "B"]
    assert a.confidence == pytest.approx((1 - alpha) * 0.6) and a.degeneration == pytest.approx(alpha * 1.0)
    assert b.confidence == pytest.approx((1 - alpha) * 0.4) and b.degeneration == pytest.approx(0.0, abs=1e-7)
    assert toy.names(r.tokens) == [winner]
    assert step.flipped == (winner == "B")


def test_contrastive_record(lm):
    r = contrastive_search(lm, "The sky is", penalty_alpha=0.6, top_k=5, max_new_tokens=12)
    assert len(r.steps) == 12 and r.forward_passes == 13
    for s in r.steps:
        probs = [c.prob for c in s.candidates]
        assert len(s.candidates) == 5 and probs == sorted(probs, reverse=True)
        for c in s.candidates:
            assert c.confidence == pytest.approx(0.4 * c.prob, abs=1e-6)
            assert c.degeneration == pytest.approx(0.6 * c.max_similarity, abs=1e-6)
            assert c.score == pytest.approx(c.confidence - c.degeneration, abs=1e-6)
            assert -1.0 - 1e-5 <= c.max_similarity <= 1.0 + 1e-5
        assert s.chosen.score == max(c.score for c in s.candidates)
    assert r.sequences[0, len(r.prompt_ids) :].tolist() == r.tokens


def test_degeneration_scores_example():
    score, sim, pos = degeneration_scores(torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[3.0, 0.0], [1.0, 1.0]]), torch.tensor([0.5, 0.5]), 0.5)
    assert sim.tolist() == pytest.approx([1.0, math.sqrt(0.5)]) and pos.tolist()[0] == 0
    assert score.tolist() == pytest.approx([0.25 - 0.5, 0.25 - 0.5 * math.sqrt(0.5)])


# --------------------------------------------------------------------------------------------
# measures and bad input
# --------------------------------------------------------------------------------------------


def test_distinct_ngrams():
    assert distinct_ngrams([[1, 2, 3], [1, 2, 4]], 2) == 0.75
    assert distinct_ngrams([[1, 1, 1, 1]], 1) == 0.25
    assert distinct_ngrams([[1]], 2) == 1.0


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m: beam_search(m, [1, 2], num_beams=0), r"`num_beams` has to be an integer >= 1, but is 0"),
        (lambda m: beam_search(m, [1, 2], num_beams=2.5), r"`num_beams` has to be an integer >= 1, but is 2.5"),
        (lambda m: beam_search(m, [1, 2], num_beams=2, num_return_sequences=3), r"`num_return_sequences` has to be an integer in \[1, 2\], but is 3"),
        (lambda m: beam_search(m, [1, 2], max_new_tokens=0), r"`max_new_tokens` has to be an integer >= 1, but is 0"),
        (lambda m: beam_search(m, [1, 2], early_stopping="sometimes"), r"`early_stopping` has to be True, False or \"never\", but is 'sometimes'"),
        (lambda m: beam_search(m, [1, 2], length_penalty=float("nan")), r"`length_penalty` has to be a finite float, but is nan"),
        (lambda m: diverse_beam_search(m, [1, 2], num_beams=0), r"`num_beams` has to be an integer >= 1, but is 0"),
        (lambda m: diverse_beam_search(m, [1, 2], num_beams=4, num_beam_groups=3), r"`num_beam_groups` has to be an integer >= 1 that divides `num_beams` \(4\), but is 3"),
        (lambda m: diverse_beam_search(m, [1, 2], num_beams=4, num_beam_groups=0), r"`num_beam_groups` .* but is 0"),
        (lambda m: diverse_beam_search(m, [1, 2], diversity_penalty=-0.5), r"`diversity_penalty` has to be a float >= 0, but is -0.5"),
        (lambda m: contrastive_search(m, [1, 2], penalty_alpha=1.5), r"`penalty_alpha` has to be a float in the \[0, 1\] interval, but is 1.5"),
        (lambda m: contrastive_search(m, [1, 2], penalty_alpha=-0.1), r"`penalty_alpha` has to be a float in the \[0, 1\] interval, but is -0.1"),
        (lambda m: contrastive_search(m, [1, 2], top_k=0), r"`top_k` has to be an integer >= 1, but is 0"),
        (lambda m: beam_search(m, []), r"`prompt` must hold at least one token"),
    ],
)
def test_bad_input_is_refused(tiny, call, match):
    with pytest.raises(ValueError, match=match):
        call(tiny)


SEARCHES = {"beam_search": beam_search, "diverse_beam_search": diverse_beam_search, "contrastive_search": contrastive_search}
BAD_VALUES = [
    ("beam_search", "no_repeat_ngram_size", v, "an integer >= 0") for v in (-1, True, 1.5, "x")
] + [
    (search, "repetition_penalty", v, "a float in the (0, inf) interval")
    for search in ("beam_search", "contrastive_search") for v in (0, 0.0, -1, True, "x", float("nan"), float("inf"), None)
] + [
    ("contrastive_search", "no_repeat_ngram_size", v, "an integer >= 0") for v in (-1, True, None)
] + [
    (search, "max_new_tokens", v, "an integer >= 1") for search in ("contrastive_search", "diverse_beam_search") for v in (0, -1, True, 1.5, "x")
] + [
    ("diverse_beam_search", "num_return_sequences", v, "an integer in [1, 6]") for v in (0, -1, 7, True, 1.5, "x")
]


@pytest.mark.parametrize("search,name,value,allowed", BAD_VALUES, ids=[f"{s}-{n}={v!r}" for s, n, v, _ in BAD_VALUES])
def test_bad_value_is_refused_with_name_range_and_value(tiny, search, name, value, allowed):
    """Refused before any work, with the checks' message: the parameter, the allowed range, the value."""
    extra = {"num_beams": 6, "num_beam_groups": 3} if search == "diverse_beam_search" else {}
    with pytest.raises(ValueError) as err:
        SEARCHES[search](tiny, [1, 2], **extra, **{name: value})
    assert str(err.value) == f"`{name}` has to be {allowed}, but is {value!r}"


def test_string_prompt_needs_a_tokenizer(tiny):
    with pytest.raises(ValueError, match="`prompt` has to be token ids"):
        beam_search(tiny, "hello")


def test_public_api():
    for name in ("beam_search", "diverse_beam_search", "contrastive_search", "beam_tree", "contrastive_chart", "contrastive_map", "distinct_ngrams", "sequence_logprob"):
        assert hasattr(dl, name), name
