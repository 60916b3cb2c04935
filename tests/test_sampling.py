"""Draws, whole generations and processor orders, checked against torch and generate()."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import LogitsProcessorList

import decoding_lessons as dl
from decoding_lessons.measures import tv_bound
from decoding_lessons.orders import HF_ORDER, LLAMA_CPP_ORDER, apply_in_order
from decoding_lessons.sampling import draw, generate_with_trace
from decoding_lessons.scoring import build_processor

# --------------------------------------------------------------------------------------------------
# draw / histogram


def test_counts_sum_to_n_and_are_seeded(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, top_k=5)
    a, b = draw(step, cfg, n=3000, seed=7), draw(step, cfg, n=3000, seed=7)
    assert a.counts.dtype == torch.long and a.counts.numel() == step.logits.numel()
    assert int(a.counts.sum()) == 3000 == a.n
    assert torch.equal(a.counts, b.counts)
    assert not torch.equal(a.counts, draw(step, cfg, n=3000, seed=8).counts)
    # only kept tokens can be drawn
    assert bool((a.counts[~torch.isfinite(step.scores(cfg))] == 0).all())
    assert torch.equal(a.probs, step.probs(cfg))
    expected_tv = 0.5 * float((a.counts.double() / a.n - a.probs.double()).abs().sum())
    assert a.tv_distance == pytest.approx(expected_tv)


def test_draws_do_not_touch_the_global_generator(cap):
    step = cap("The sky is")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    draw(step, dl.DecodingConfig(do_sample=True), n=100)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "prompt,cfg",
    [
        ("The sky is", dl.DecodingConfig(do_sample=True, top_k=0)),
        ("2 + 2 = ", dl.DecodingConfig(do_sample=True, top_k=0, temperature=0.7)),
        ("My name is", dl.DecodingConfig(do_sample=True, top_p=0.9)),
    ],
    ids=lambda v: v if isinstance(v, str) else v.describe(),
)
def test_tv_distance_stays_under_the_bound(cap, prompt, cfg):
    step = cap(prompt)
    assert int(torch.isfinite(step.scores(cfg)).sum()) > 1  # a real distribution, not a single token
    for seed in range(3):
        result = draw(step, cfg, n=20_000, seed=seed)
        assert 0 < result.tv_distance < result.tv_bound


def test_tv_bound_is_not_vacuous(cap):
    step = cap("2 + 2 = ")
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, temperature=0.5)  # a peaked distribution
    assert step.entropy(cfg) < 2.0
    result = draw(step, cfg, n=20_000)
    assert result.tv_bound < 0.1
    # and it shrinks like 1/sqrt(n)
    assert tv_bound(result.probs, 80_000) < 0.55 * tv_bound(result.probs, 20_000)


def test_tv_bound_formula():
    p = torch.tensor([0.5, 0.5])
    n = 10_000
    expected = 0.5 * 2 * math.sqrt(0.25 / n) + math.sqrt(math.log(1e3) / (2 * n))
    assert tv_bound(p, n) == pytest.approx(expected)
    tiny = torch.tensor([1 - 1e-9] + [1e-9 / 1000] * 1000)  # a long tail contributes 2p, not sqrt(p/n)
    assert tv_bound(tiny, 100) < 0.2


def test_histogram_chart_shows_the_draws(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, top_k=0)
    result = draw(step, cfg, n=5000)
    fig = dl.histogram_chart(step, cfg, result, k=10)
    theory, empirical = fig.data[0].y, fig.data[1].y
    ids = result.probs.topk(10).indices
    assert list(theory[:10]) == result.probs[ids].tolist()
    assert list(empirical[:10]) == (result.counts[ids].double() / 5000).tolist()
    assert sum(theory) == pytest.approx(1.0, abs=1e-5) and sum(empirical) == pytest.approx(1.0, abs=1e-9)
    assert f"{result.tv_distance:.4f}" in fig.layout.title.text and f"{result.tv_bound:.4f}" in fig.layout.title.text
    assert cap.forward_passes == 1


def test_draw_and_histogram_validate_input(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True)
    with pytest.raises(ValueError, match="`n` has to be an integer >= 1, but is 0"):
        draw(step, cfg, n=0)
    with pytest.raises(ValueError, match="`seed` has to be an integer, but is 1.5"):
        draw(step, cfg, n=10, seed=1.5)
    result = draw(step, cfg, n=10)
    with pytest.raises(ValueError, match="`config` has to be the configuration `result` was drawn under"):
        dl.histogram_chart(step, dl.DecodingConfig(do_sample=True, top_k=3), result)
    with pytest.raises(ValueError, match="`k` has to be an integer >= 1, but is -1"):
        dl.histogram_chart(step, cfg, result, k=-1)
    with pytest.raises(ValueError, match="`delta` has to be a float in the \\(0, 1\\) interval, but is 2.0"):
        tv_bound(result.probs, 10, delta=2.0)


# --------------------------------------------------------------------------------------------------
# generate_with_trace == generate()

TRACE_CONFIGS = [
    dl.DecodingConfig(),
    dl.DecodingConfig(repetition_penalty=1.3),
    dl.DecodingConfig(do_sample=True),
    dl.DecodingConfig(do_sample=True, temperature=1.4, top_k=0),
    dl.DecodingConfig(do_sample=True, top_p=0.8, top_k=0),
    dl.DecodingConfig(do_sample=True, min_p=0.1, temperature=1.5, top_k=0),
    dl.DecodingConfig(do_sample=True, top_k=5, no_repeat_ngram_size=2),
    # the entropy-aware warpers, each on its own over a whole generation
    dl.DecodingConfig(do_sample=True, top_k=0, typical_p=0.9),
    dl.DecodingConfig(do_sample=True, top_k=0, epsilon_cutoff=3e-4),
    dl.DecodingConfig(do_sample=True, top_k=0, eta_cutoff=1e-3),
    dl.DecodingConfig(do_sample=True, top_k=0, top_h=0.8),
]


def random_configs(count: int, seed: int) -> list:
    """Seeded random configurations over the whole space: every processor on or off (its table
    row's off value), in any combination, with values spread over its interval."""
    import random

    from decoding_lessons.processors import OFF

    rng = random.Random(seed)
    draw = {
        "repetition_penalty": lambda: rng.choice([OFF["repetition_penalty"], round(rng.uniform(0.7, 1.6), 3)]),
        "no_repeat_ngram_size": lambda: rng.choice([OFF["no_repeat_ngram_size"], 2, 3]),
        "temperature": lambda: rng.choice([OFF["temperature"], round(rng.uniform(0.4, 2.0), 3)]),
        "top_k": lambda: rng.choice([OFF["top_k"], 5, 50, 400]),
        "top_p": lambda: rng.choice([OFF["top_p"], round(rng.uniform(0.5, 0.99), 3)]),
        "min_p": lambda: rng.choice([OFF["min_p"], round(rng.uniform(0.01, 0.2), 3)]),
        "typical_p": lambda: rng.choice([OFF["typical_p"], round(rng.uniform(0.5, 0.99), 3)]),
        "epsilon_cutoff": lambda: rng.choice([OFF["epsilon_cutoff"], round(rng.uniform(1e-5, 1e-3), 6)]),
        "eta_cutoff": lambda: rng.choice([OFF["eta_cutoff"], round(rng.uniform(1e-5, 2e-3), 6)]),
        "top_h": lambda: rng.choice([OFF["top_h"], round(rng.uniform(0.5, 1.0), 3)]),
    }
    return [dl.DecodingConfig(do_sample=True, **{name: value() for name, value in draw.items()}) for _ in range(count)]


RANDOM_CONFIGS = random_configs(12, seed=2026)


def run_generate(lm, prompt, cfg, max_new_tokens, seed):
    return dl.reference_generate(lm, prompt, cfg, max_new_tokens=max_new_tokens, seed=seed, scores=True)


@pytest.mark.parametrize("cfg", TRACE_CONFIGS, ids=lambda c: c.describe())
def test_trace_equals_generate(lm, cfg):
    for prompt, seed in [("2 + 2 = ", 0), ("Once upon a time", 5)]:
        out = run_generate(lm, prompt, cfg, 24, seed)
        trace = generate_with_trace(lm, prompt, cfg, max_new_tokens=24, seed=seed, keep_scores=True)
        assert torch.equal(trace.sequence, out.sequences.cpu()), (prompt, trace.text)
        assert len(trace.steps) == len(out.scores) == trace.forward_passes
        for s, scores in zip(trace.steps, out.scores):
            assert torch.equal(s.scores, scores[0].cpu())
            # the recorded entropy, kept count and probability are those of generate()'s scores
            assert s.entropy == pytest.approx(float(dl.entropy(scores[0])), abs=1e-6)
            assert s.kept == int(torch.isfinite(scores[0]).sum())
            assert s.prob == pytest.approx(float(torch.softmax(scores[0], -1)[s.token_id]), rel=1e-6)


def test_the_random_configurations_cover_every_processor_on_and_off():
    """The seeded search below switches every one of generate()'s knobs both on and off somewhere
    (the other libraries' knobs, top_n_sigma, are no DecodingConfig field: test_llama_cpp covers them)."""
    from decoding_lessons.processors import KNOBS, OFF

    for name in (row.field for row in KNOBS):
        off = OFF[name]
        values = {getattr(c, name) for c in RANDOM_CONFIGS}
        assert off in values and values - {off}, (name, values)


@pytest.mark.parametrize("cfg", RANDOM_CONFIGS, ids=lambda c: c.describe())
def test_random_combinations_trace_equal_generate(lm, cfg):
    """Any combination, token for token and score for score (a seeded random search over the space)."""
    out = run_generate(lm, "Once upon a time", cfg, 16, 11)
    trace = generate_with_trace(lm, "Once upon a time", cfg, max_new_tokens=16, seed=11, keep_scores=True)
    assert torch.equal(trace.sequence, out.sequences.cpu()), trace.text
    assert len(trace.steps) == len(out.scores)
    for s, scores in zip(trace.steps, out.scores):
        assert torch.equal(s.scores, scores[0].cpu())


def test_trace_text_and_eos(lm):
    trace = generate_with_trace(lm, "2 + 2 = ", dl.DecodingConfig(), max_new_tokens=8)
    assert trace.text == lm.tokenizer.decode(trace.token_ids, skip_special_tokens=True)
    assert trace.sequence.shape[1] == lm.encode("2 + 2 = ").shape[1] + len(trace.token_ids) == trace.prompt_ids.shape[1] + 8
    # a run that hits EOS stops right after it, as generate() does
    eos = lm.model.generation_config.eos_token_id
    for seed in range(12):
        t = generate_with_trace(lm, "2 + 2 = ", dl.DecodingConfig(do_sample=True), max_new_tokens=40, seed=seed)
        if t.token_ids[-1] == eos:
            assert eos not in t.token_ids[:-1] and len(t.token_ids) < 40
            out = run_generate(lm, "2 + 2 = ", dl.DecodingConfig(do_sample=True), 40, seed)
            assert torch.equal(t.sequence, out.sequences.cpu())
            break
    else:
        pytest.fail("no sampled run reached EOS within 40 tokens in 12 seeds")


def test_trace_chart(lm):
    greedy = generate_with_trace(lm, "The sky is", dl.DecodingConfig(), max_new_tokens=6)
    hot = generate_with_trace(lm, "The sky is", dl.DecodingConfig(do_sample=True, temperature=1.5, top_k=0), 6)
    fig = dl.trace_chart({"greedy": greedy, "T = 1.5": hot}, metric="entropy")
    assert list(fig.data[0].y) == greedy.entropies and list(fig.data[1].y) == hot.entropies
    fig = dl.trace_chart({"greedy": greedy, "T = 1.5": hot}, metric="kept")
    assert list(fig.data[1].y) == hot.kept_counts == [lm.vocab_size] * len(hot.steps)
    with pytest.raises(ValueError, match="`metric` has to be one of 'entropy', 'kept', 'prob', but is 'entropie'"):
        dl.trace_chart({"greedy": greedy}, metric="entropie")
    with pytest.raises(ValueError, match="`traces` has to be a non-empty dict"):
        dl.trace_chart({})


def test_generate_with_trace_validates_input(lm):
    with pytest.raises(ValueError, match="`max_new_tokens` has to be an integer >= 1, but is 0"):
        generate_with_trace(lm, "Hi", dl.DecodingConfig(), max_new_tokens=0)
    with pytest.raises(ValueError, match="`prompt` must encode to at least one token"):
        generate_with_trace(lm, "", dl.DecodingConfig(), max_new_tokens=2)
    with pytest.raises(ValueError, match="`prompt` must hold at least one token"):
        generate_with_trace(lm, [], dl.DecodingConfig(), max_new_tokens=2)


# --------------------------------------------------------------------------------------------------
# processor order


def by_hand(step, cfg, order):
    """transformers' processors, constructed here by hand, applied one after the other."""
    from transformers import MinPLogitsWarper, RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    make = {
        "repetition_penalty": lambda v: RepetitionPenaltyLogitsProcessor(v),
        "temperature": lambda v: TemperatureLogitsWarper(v),
        "top_k": lambda v: TopKLogitsWarper(top_k=v),
        "top_p": lambda v: TopPLogitsWarper(top_p=v),
        "min_p": lambda v: MinPLogitsWarper(min_p=v),
    }
    # every config below sets each active field explicitly; top_k=0 means "off"
    active = [n for n in order if n in make and getattr(cfg, n) not in (None, 0)]
    procs = LogitsProcessorList(make[n](getattr(cfg, n)) for n in active)
    return procs(step.input_ids, step.logits.clone().reshape(1, -1))[0]


ORDER_CONFIGS = [
    dl.DecodingConfig(do_sample=True, temperature=2.0, top_k=0, min_p=0.1),
    dl.DecodingConfig(do_sample=True, temperature=0.5, top_k=0, top_p=0.8),
    dl.DecodingConfig(do_sample=True, temperature=1.5, top_k=20, top_p=0.9, min_p=0.05, repetition_penalty=1.2),
]


@pytest.mark.parametrize("cfg", ORDER_CONFIGS, ids=lambda c: c.describe())
def test_orders_equal_processors_by_hand(cap, cfg):
    step = cap("The sky is blue. The sky is")
    hf = apply_in_order(step, cfg, HF_ORDER)
    assert torch.equal(hf, step.scores(cfg))  # generate()'s order is generate()
    assert torch.equal(hf, by_hand(step, cfg, HF_ORDER))
    cpp = apply_in_order(step, cfg, LLAMA_CPP_ORDER)
    assert torch.equal(cpp, by_hand(step, cfg, LLAMA_CPP_ORDER))
    assert cap.forward_passes == 1


def test_order_matters_for_temperature_then_min_p(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, temperature=3.0, top_k=0, min_p=0.1)
    hf, cpp = apply_in_order(step, cfg, HF_ORDER), apply_in_order(step, cfg, LLAMA_CPP_ORDER)
    # temperature first flattens the distribution, so min_p's relative threshold lets more tokens in
    assert int(torch.isfinite(hf).sum()) > int(torch.isfinite(cpp).sum())
    fig = dl.order_chart(step, cfg, {"transformers": HF_ORDER, "llama.cpp": LLAMA_CPP_ORDER}, k=10)
    bars = [t for t in fig.data if t.type == "bar"]
    ids = step.logits.topk(10).indices
    assert list(bars[0].y) == torch.softmax(hf, -1)[ids].tolist()
    assert list(bars[1].y) == torch.softmax(cpp, -1)[ids].tolist()
    assert f"{int(torch.isfinite(hf).sum()):,} kept" in bars[0].name
    assert f"{int(torch.isfinite(cpp).sum()):,} kept" in bars[1].name


def test_greedy_config_applies_no_warpers_in_any_order(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(temperature=0.5, top_k=3)  # do_sample unset: generate() ignores the warpers
    assert torch.equal(apply_in_order(step, cfg, LLAMA_CPP_ORDER), step.logits)


def test_order_validation(cap):
    step = cap("The sky is")
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, top_h=0.5)
    with pytest.raises(ValueError, match="`order` has to name every active field .* lacks \\['top_h'\\]"):
        apply_in_order(step, cfg, LLAMA_CPP_ORDER)
    with pytest.raises(ValueError, match="`order` has to hold only the fields .* but holds \\['topk'\\]"):
        apply_in_order(step, cfg, ["topk"])
    with pytest.raises(ValueError, match="`order` has to name each field at most once"):
        apply_in_order(step, cfg, ["top_k", "top_k", "top_h"])
    with pytest.raises(ValueError, match="`order` has to be a sequence of field names"):
        apply_in_order(step, cfg, "top_k")
    with pytest.raises(ValueError, match="`orders` has to be a non-empty dict"):
        dl.order_chart(step, cfg, {})
    with pytest.raises(ValueError, match="`name` has to be one of"):
        build_processor("beam", cfg.resolved())
    # the other libraries' samplers (handed to generate() as a logits_processor) run where generate()
    # merges a custom processor: after the penalties, before the sampling warpers
    assert HF_ORDER == ("repetition_penalty", "no_repeat_ngram_size", "penalties", "dry", "top_n_sigma", "xtc", "temp_ext",
                        "mirostat", "openai_penalties", "temperature", "top_h", "top_k", "top_p", "min_p", "typical_p",
                        "epsilon_cutoff", "eta_cutoff")


# --------------------------------------------------------------------------------------------------
# repetition


def test_longest_repetition_by_hand():
    from decoding_lessons.measures import longest_repetition

    rep = longest_repetition([5, 1, 2, 3, 1, 2, 3, 1, 2])
    assert rep.ngram == (1, 2, 3) and rep.positions == (1, 4) and rep.count == 2 and rep.covered == 6
    assert longest_repetition([1, 1, 1, 1, 1]).ngram == (1, 1)  # occurrences may not overlap
    assert longest_repetition([1, 2, 3, 4]) is None
    assert longest_repetition([7, 9, 7, 9, 7, 9], min_length=4) is None
    loop = longest_repetition([7, 9, 7, 9, 7, 9], min_length=1)
    assert loop.ngram == (7, 9) and loop.positions == (0, 2, 4)  # (7, 9, 7) only repeats overlapping itself
    assert longest_repetition([4, 4, 3, 3, 4, 4, 3, 3]).ngram == (4, 4, 3, 3)
    # among equally long repeats, the first to occur wins
    assert longest_repetition([1, 2, 9, 3, 4, 8, 1, 2, 3, 4]).ngram == (1, 2)
    with pytest.raises(ValueError, match="`min_length` has to be an integer >= 1, but is 0"):
        longest_repetition([1, 2], min_length=0)


def brute_force_repetition(ids, min_length=2):
    """(ngram, positions) of the longest n-gram occurring twice without overlap (first to occur among
    equally long ones), by trying every n-gram; ``None`` if there is none."""
    best = None
    for length in range(min_length, len(ids) // 2 + 1):
        for i in range(len(ids) - length + 1):
            gram = tuple(ids[i : i + length])
            occurrences = []
            for j in range(len(ids) - length + 1):
                if tuple(ids[j : j + length]) == gram and (not occurrences or j >= occurrences[-1] + length):
                    occurrences.append(j)
            if len(occurrences) >= 2 and (best is None or length > len(best[0]) or (length == len(best[0]) and occurrences[0] < best[1][0])):
                best = (gram, tuple(occurrences))
    return best


def test_longest_repetition_of_real_tokens(lm):
    tok = lm.tokenizer
    a = tok(" the cat sat on the mat", add_special_tokens=False).input_ids
    b = tok(" and then it slept", add_special_tokens=False).input_ids
    assert not set(a) & set(b) and len(set(b)) == len(b)  # so no n-gram longer than `a` can repeat
    rep = dl.longest_repetition(a + b + a, tok)
    assert rep.ngram == tuple(a) and rep.positions == (0, len(a) + len(b))
    assert rep.text == "␣the␣cat␣sat␣on␣the␣mat"
    # " a" occurs twice, but never with the same neighbour: no repeated bigram
    ids = tok(" a cat and a dog", add_special_tokens=False).input_ids
    a_id = tok(" a", add_special_tokens=False).input_ids
    assert len(a_id) == 1 and ids.count(a_id[0]) == 2
    assert dl.longest_repetition(ids, tok) is None
    single = dl.longest_repetition(ids, tok, min_length=1)
    assert single.ngram == tuple(a_id) and single.positions == (0, ids.index(a_id[0], 1)) and single.text == "␣a"


@pytest.mark.parametrize("prompt", ["I like cats. I like", "The sky is"])
def test_longest_repetition_of_a_greedy_run(lm, prompt):
    """Greedy decoding of these prompts falls into a loop of several tokens within 40 tokens."""
    trace = generate_with_trace(lm, prompt, dl.DecodingConfig(), max_new_tokens=40)
    ids = list(trace.token_ids)
    expected = brute_force_repetition(ids)
    assert expected is not None and len(expected[0]) >= 3
    rep = dl.longest_repetition(ids, lm.tokenizer)
    assert (rep.ngram, rep.positions) == expected
    assert rep.text == dl.decode_visible(lm.tokenizer, rep.ngram)
    # the first tokens, before the loop sets in, repeat no n-gram
    head = next(n for n in range(len(ids), 1, -1) if brute_force_repetition(ids[:n]) is None)
    assert head >= 4 and dl.longest_repetition(ids[:head], lm.tokenizer) is None
    assert dl.longest_repetition(ids[: head + 1], lm.tokenizer) is not None
