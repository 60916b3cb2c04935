"""Speculative decoding: the recorded loop against generate(assistant_model=...), token for token,
greedy and sampled with the same seed; the early-exit draft against generate(assistant_early_exit=...);
prompt lookup against generate(prompt_lookup_num_tokens=...); the output distribution against the
target's probabilities; and the refusals."""

from __future__ import annotations

import itertools

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import decoding_lessons as dl
from decoding_lessons.speculative import (
    acceptance_probability,
    early_exit_draft,
    emission_probs,
    expected_tokens_per_pass,
    prompt_lookup_generate,
    reference_speculative,
    speculative_draws,
    speculative_generate,
)

EOS = 3
PAD = 2  # not EOS: generate() then masks the pad token for the draft where it occurs in the text, and so must the loop


def tiny_llama(vocab=24, layers=3, seed=0):
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=layers, num_attention_heads=4,
        num_key_value_heads=2, bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD, initializer_range=0.5,
        max_position_embeddings=128,
    )
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = EOS
    model.generation_config.pad_token_id = PAD
    return model


@pytest.fixture(scope="module")
def tiny():
    return tiny_llama()


@pytest.fixture(scope="module")
def tiny_draft(tiny):
    return early_exit_draft(tiny, 1)


# --------------------------------------------------------------------------------------------
# The loop == generate(assistant_model=draft) == generate(assistant_early_exit=k)
# --------------------------------------------------------------------------------------------

CONFIGS = {
    "greedy": dl.DecodingConfig(),
    "sample": dl.DecodingConfig(do_sample=True),
    "T0.7": dl.DecodingConfig(do_sample=True, temperature=0.7, top_k=0),  # the draft's warpers act twice in generate()
    "top-p": dl.DecodingConfig(do_sample=True, top_p=0.8, top_k=10),
    "penalty": dl.DecodingConfig(do_sample=True, repetition_penalty=1.3, top_k=0),
}
TINY_GRID = list(itertools.product([1, 4], ["constant", "heuristic"], list(CONFIGS)))


@pytest.mark.parametrize("gamma,schedule,name", TINY_GRID, ids=[f"g{g}-{s}-{n}" for g, s, n in TINY_GRID])
def test_loop_equals_generate_tiny(tiny, tiny_draft, gamma, schedule, name):
    """Token for token, over two prompts and two seeds; the early-exit path gives the same tokens."""
    for prompt, seed in [([1, 5, 9, 4], 0), ([1, 7], 1)]:
        kw = dict(max_new_tokens=12, gamma=gamma, schedule=schedule, seed=seed)
        run = speculative_generate(tiny, tiny_draft, prompt, CONFIGS[name], **kw)
        ref = reference_speculative(tiny, tiny_draft, prompt, CONFIGS[name], **kw)
        assert torch.equal(run.sequence, ref), (prompt, seed)
        early = reference_speculative(tiny, None, prompt, CONFIGS[name], early_exit=1, **kw)
        assert torch.equal(early, ref), (prompt, seed)
        assert run.target_forward_passes == len(run.rounds)


def test_greedy_equals_the_targets_own_greedy(tiny, tiny_draft):
    for prompt, gamma in [([1, 5, 9, 4], 2), ([1, 12, 4, 20, 8], 5)]:
        run = speculative_generate(tiny, tiny_draft, prompt, max_new_tokens=15, gamma=gamma)
        plain = dl.reference_generate(tiny, prompt, dl.DecodingConfig(), max_new_tokens=15)
        assert torch.equal(run.sequence, plain)


def test_a_pad_token_in_the_text_is_what_makes_the_draft_mask(tiny, tiny_draft):
    """The case the draft's mask exists for: a run where the pad id is generated, equal to generate()."""
    found = False
    for seed in range(6):
        kw = dict(max_new_tokens=14, gamma=3, seed=seed)
        run = speculative_generate(tiny, tiny_draft, [1, 7], CONFIGS["sample"], **kw)
        assert torch.equal(run.sequence, reference_speculative(tiny, tiny_draft, [1, 7], CONFIGS["sample"], **kw))
        found = found or PAD in run.token_ids[:-1]
    assert found, "no run generated the pad token before its end: the case is not exercised"


EMBEDDED_CASES = [
    ("The capital of France is Paris. The capital of Germany is", dl.DecodingConfig(), 4),
    ("Once upon a time", dl.DecodingConfig(do_sample=True, temperature=0.8, top_p=0.9), 3),
]


@pytest.mark.parametrize("prompt,config,gamma", EMBEDDED_CASES, ids=["greedy", "sampled"])
def test_loop_equals_generate_embedded(lm, prompt, config, gamma):
    layers = lm.model.config.num_hidden_layers * 2 // 3
    draft = early_exit_draft(lm, layers)
    kw = dict(max_new_tokens=6, gamma=gamma, seed=3)
    run = speculative_generate(lm, draft, prompt, config, **kw)
    ref = reference_speculative(lm, draft, prompt, config, **kw)
    assert torch.equal(run.sequence, ref.cpu())
    assert torch.equal(reference_speculative(lm, None, prompt, config, early_exit=layers, **kw), ref)
    assert run.draft_forward_passes == run.proposed


# --------------------------------------------------------------------------------------------
# Prompt lookup == generate(prompt_lookup_num_tokens=...)
# --------------------------------------------------------------------------------------------

LOOKUP_GRID = list(itertools.product([1, 10], [1, 3], ["greedy", "sample"]))


@pytest.mark.parametrize("num,ngram,name", LOOKUP_GRID, ids=[f"n{n}-m{m}-{c}" for n, m, c in LOOKUP_GRID])
def test_prompt_lookup_equals_generate_tiny(tiny, num, ngram, name):
    for prompt, seed in [([1, 5, 9, 4, 5, 9, 4, 5, 9], 0), ([1, 7, 7, 7], 2)]:
        run = prompt_lookup_generate(tiny, prompt, CONFIGS[name], max_new_tokens=12, num_tokens=num, max_ngram=ngram, seed=seed)
        ref = reference_speculative(tiny, None, prompt, CONFIGS[name], max_new_tokens=12, seed=seed, prompt_lookup=num, max_ngram=ngram)
        assert torch.equal(run.sequence, ref), (prompt, seed)
        assert run.draft_forward_passes == 0


def test_prompt_lookup_drops_a_proposal_the_processors_forbid(tiny):
    """no_repeat_ngram_size forbids the copy the lookup finds: the candidate is cut, as in generate()."""
    config = dl.DecodingConfig(no_repeat_ngram_size=2)
    prompt = [1, 5, 9, 4, 5, 9, 4, 5]
    run = prompt_lookup_generate(tiny, prompt, config, max_new_tokens=10, num_tokens=4)
    assert torch.equal(run.sequence, reference_speculative(tiny, None, prompt, config, max_new_tokens=10, prompt_lookup=4))
    assert all(p.token_id != 9 for p in run.rounds[0].proposals)  # (5, 9) is in the text already


def test_prompt_lookup_embedded_repeats_in_few_passes(lm):
    prompt = "red, green, blue, red, green, blue, red, green, blue, red,"
    run = prompt_lookup_generate(lm, prompt, max_new_tokens=12, num_tokens=8)
    assert torch.equal(run.sequence, reference_speculative(lm, None, prompt, max_new_tokens=12, prompt_lookup=8).cpu())
    assert run.target_forward_passes < len(run.token_ids)


# --------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------


def test_record_is_the_acceptance_rule(tiny, tiny_draft):
    config = CONFIGS["sample"]
    run = speculative_generate(tiny, tiny_draft, [1, 5, 9, 4], config, max_new_tokens=20, gamma=4, seed=5, keep=True)
    assert run.token_ids == [t for r in run.rounds for t in r.tokens]
    saw_rejection = saw_bonus = False
    for r in run.rounds:
        judged = [p for p in r.proposals if p.reached]
        for p in r.proposals:
            assert p.accepted == (p.reached and p.uniform <= p.ratio)
        assert r.tokens[: r.accepted] == [p.token_id for p in r.proposals[: r.accepted]]
        if r.rejected:
            saw_rejection = True
            assert r.resampled and not judged[-1].accepted
            expected = torch.clamp(r.target_probs - r.draft_probs, min=0)
            assert torch.allclose(r.residual, expected / expected.sum(), atol=1e-6)
            assert r.residual[r.tokens[-1]] > 0  # drawn from the residual
            assert r.residual[judged[-1].token_id] == 0  # the rejected proposal had q > p, so no residual mass
        elif len(r.tokens) == len(r.proposals) + 1:
            saw_bonus = True
            assert r.residual is None and not r.resampled
    assert saw_rejection and saw_bonus
    assert run.draft_forward_passes == run.proposed
    assert 0 <= run.acceptance_rate <= 1 and run.judged == run.accepted + sum(r.rejected for r in run.rounds)


def test_rounds_table_shows_r_only_where_it_decided(tiny, tiny_draft):
    run = speculative_generate(tiny, tiny_draft, [1, 5, 9, 4], CONFIGS["sample"], max_new_tokens=20, gamma=4, seed=5, keep=True)
    lines = run.rounds_table().splitlines()[2:]
    assert len(lines) == run.proposed + len(run.rounds)
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    outcomes = [c[5] for c in cells]
    assert outcomes.count("kept") == run.accepted and outcomes.count("rejected") == sum(r.rejected for r in run.rounds)
    unjudged = [c for c in cells if c[5] == "not judged"]
    assert unjudged and all(c[4] == "—" for c in unjudged)
    assert all(float(c[4]) >= 0 for c in cells if c[5] in ("kept", "rejected"))
    assert len(run.rounds_table(2).splitlines()) == 2 + sum(len(r.proposals) + 1 for r in run.rounds[:2])
    with pytest.raises(ValueError, match="rounds"):
        run.rounds_table(0)


def test_greedy_record_names_the_targets_choice(tiny, tiny_draft):
    run = speculative_generate(tiny, tiny_draft, [1, 12, 4, 20, 8], max_new_tokens=15, gamma=3)
    for r in run.rounds:
        for p in r.proposals:
            assert p.accepted == (p.reached and p.token_id == p.target_token)
        first_miss = next((p for p in r.proposals if p.reached and not p.accepted), None)
        if first_miss is not None:
            assert r.tokens[-1] == first_miss.target_token


def test_heuristic_schedule_and_the_draft_config_is_put_back(tiny, tiny_draft):
    before = tiny_draft.model.generation_config.to_dict()
    run = speculative_generate(tiny, tiny_draft, [1, 5, 9, 4], max_new_tokens=20, gamma=2, schedule="heuristic")
    for previous, this in zip(run.rounds, run.rounds[1:]):
        full = previous.accepted == len(previous.proposals)
        assert this.gamma == (previous.gamma + 2 if full else max(1, previous.gamma - 1))
    reference_speculative(tiny, tiny_draft, [1, 5, 9, 4], max_new_tokens=20, gamma=2, schedule="heuristic")
    assert tiny_draft.model.generation_config.to_dict() == before


def test_early_exit_draft_shares_the_targets_weights(lm):
    draft = early_exit_draft(lm, 5)
    assert draft.model.config.num_hidden_layers == 5 and lm.model.config.num_hidden_layers > 5
    assert draft.model.lm_head.weight.data_ptr() == lm.model.lm_head.weight.data_ptr()
    assert draft.model.model.layers[4] is lm.model.model.layers[4] and len(draft.model.model.layers) == 5
    assert draft.model.model.norm is lm.model.model.norm
    ids = lm.encode("Hello there")
    with torch.inference_mode():  # the draft is the target with the last layers skipped
        hidden = lm.model.model(input_ids=ids, output_hidden_states=True).hidden_states[5]
        expected = lm.model.lm_head(lm.model.model.norm(hidden))
        assert torch.allclose(draft.model(input_ids=ids).logits, expected, atol=1e-5)


# --------------------------------------------------------------------------------------------
# The distribution: the output is the target's
# --------------------------------------------------------------------------------------------


def test_emission_probs_is_p():
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        p = torch.softmax(torch.randn(50, generator=generator) * 3, dim=0)
        q = torch.softmax(torch.randn(50, generator=generator) * 3, dim=0)
        assert torch.allclose(emission_probs(p, q), p.double(), atol=1e-12)
        assert acceptance_probability(p, q) == pytest.approx(float(torch.minimum(p, q).sum()))
    assert torch.equal(emission_probs(p, p), p.double())


def test_speculative_draws_follow_p_not_q(lm):
    cfg = dl.DecodingConfig(do_sample=True, top_k=0)
    draft = early_exit_draft(lm, 4)
    p = dl.LogitCapture(lm)("The sky is").probs(cfg)
    q = dl.LogitCapture(draft)("The sky is").probs(cfg)
    result = speculative_draws(p, q, n=20_000, seed=1)
    assert int(result.counts.sum()) == 20_000 and result.tv_distance < result.tv_bound
    naive = 0.5 * float((result.counts.double() / result.n - q.double()).abs().sum())  # the test can fail: q is far
    assert 0.5 * float((p.double() - q.double()).abs().sum()) > 3 * result.tv_bound and naive > result.tv_bound


def test_whole_runs_follow_the_targets_distribution(tiny, tiny_draft):
    """The first two tokens of many seeded runs of the loop against p(x1) p(x2 | x1), from the target alone."""
    prompt = [1, 5, 9, 4]
    config = dl.DecodingConfig(do_sample=True, top_k=0)
    n = 800
    counts = torch.zeros(24 * 24, dtype=torch.long)
    for seed in range(n):
        ids = speculative_generate(tiny, tiny_draft, prompt, config, max_new_tokens=2, gamma=2, seed=seed).token_ids
        if len(ids) == 2:
            counts[ids[0] * 24 + ids[1]] += 1
        else:  # EOS first: its own outcome, folded into (EOS, EOS)
            counts[ids[0] * 24 + ids[0]] += 1
    with torch.inference_mode():
        first = torch.softmax(tiny(torch.tensor([prompt])).logits[0, -1].double(), -1)
        following = torch.softmax(tiny(torch.tensor([prompt + [t] for t in range(24)])).logits[:, -1].double(), -1)
    exact = (first[:, None] * following).clone()
    exact[EOS] = 0
    exact[EOS, EOS] = first[EOS]
    exact = exact.flatten()
    tv = 0.5 * float((counts.double() / n - exact).abs().sum())
    assert tv < dl.tv_bound(exact, n)
    with torch.inference_mode():
        draft_first = torch.softmax(tiny_draft.model(torch.tensor([prompt])).logits[0, -1].double(), -1)
    assert 0.5 * float((draft_first - first).abs().sum()) > dl.tv_bound(exact, n) / 2  # a draft unlike the target


# --------------------------------------------------------------------------------------------
# The theory and the refusals
# --------------------------------------------------------------------------------------------


def test_expected_tokens_per_pass():
    assert expected_tokens_per_pass(0.0, 5) == 1.0
    assert expected_tokens_per_pass(1.0, 5) == 6.0
    assert expected_tokens_per_pass(0.5, 1) == pytest.approx(1.5)
    assert expected_tokens_per_pass(0.8, 3) == pytest.approx(1 + 0.8 + 0.64 + 0.512)


@pytest.mark.parametrize("gamma", [0, -2, 1.5, True])
def test_gamma_below_one_is_refused(tiny, tiny_draft, gamma):
    with pytest.raises(ValueError, match=rf"`gamma` has to be an integer >= 1, but is {gamma!r}"):
        speculative_generate(tiny, tiny_draft, [1, 5], max_new_tokens=4, gamma=gamma)
    with pytest.raises(ValueError, match="`gamma` has to be an integer >= 1"):
        reference_speculative(tiny, tiny_draft, [1, 5], max_new_tokens=4, gamma=gamma)


def test_a_draft_with_another_vocabulary_is_refused(tiny):
    other = tiny_llama(vocab=30)
    with pytest.raises(ValueError, match=r"`draft` has to have the target's vocabulary.*\[24, 24\].*30 wide"):
        speculative_generate(tiny, other, [1, 5], max_new_tokens=4)
    with pytest.raises(ValueError, match=r"`draft` has to have the target's vocabulary"):
        reference_speculative(tiny, other, [1, 5], max_new_tokens=4)


def test_other_refusals(tiny, tiny_draft):
    with pytest.raises(ValueError, match=r"`layers` has to be an integer in \[1, 3\], but is 4"):
        early_exit_draft(tiny, 4)
    with pytest.raises(ValueError, match=r"`layers` has to be an integer in \[1, 3\], but is 0"):
        early_exit_draft(tiny, 0)
    with pytest.raises(ValueError, match="`schedule` has to be one of 'constant', 'heuristic', but is 'fast'"):
        speculative_generate(tiny, tiny_draft, [1, 5], max_new_tokens=4, schedule="fast")
    with pytest.raises(ValueError, match="`max_new_tokens` has to be an integer >= 1, but is 0"):
        speculative_generate(tiny, tiny_draft, [1, 5], max_new_tokens=0)
    with pytest.raises(ValueError, match="`num_tokens` has to be an integer >= 1, but is 0"):
        prompt_lookup_generate(tiny, [1, 5], max_new_tokens=4, num_tokens=0)
    with pytest.raises(ValueError, match="`max_ngram` has to be an integer >= 1, but is 0"):
        prompt_lookup_generate(tiny, [1, 5], max_new_tokens=4, max_ngram=0)
    with pytest.raises(ValueError, match=r"`alpha` has to be a float in the \[0, 1\] interval, but is 1.5"):
        expected_tokens_per_pass(1.5, 3)


def test_charts(tiny, tiny_draft):
    run = speculative_generate(tiny, tiny_draft, [1, 5, 9, 4], CONFIGS["sample"], max_new_tokens=10, gamma=3, seed=5)
    fig = dl.rounds_chart(run)
    assert [t.name for t in fig.data] == ["kept proposals", "rejected proposal", "not judged", "target's own token"]
    kept, rejected, unjudged, own = (list(t.y) for t in fig.data)
    assert len(kept) == len(run.rounds)
    assert [k + o for k, o in zip(kept, own)] == [len(r.tokens) for r in run.rounds]
    assert [k + r + u for k, r, u in zip(kept, rejected, unjudged)] == [len(r.proposals) for r in run.rounds]
    runs = {g: speculative_generate(tiny, tiny_draft, [1, 5, 9, 4], CONFIGS["sample"], max_new_tokens=10, gamma=g) for g in (1, 3)}
    fig = dl.gamma_chart(runs)
    assert list(fig.data[0].y) == [runs[g].tokens_per_pass for g in (1, 3)]
    assert list(fig.data[1].y) == [expected_tokens_per_pass(runs[g].acceptance_rate, g) for g in (1, 3)]
    with pytest.raises(ValueError, match="`runs` has to hold at least one run"):
        dl.gamma_chart({})
