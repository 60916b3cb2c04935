"""decoding_lessons.llama_cpp against llama.cpp itself (the fixture written by
tests/reference/make_llama_cpp.py with llama-cpp-python 0.3.36), and its argument checks."""

import json
import pathlib

import numpy as np
import pytest
import torch
from transformers import LogitsProcessorList

from decoding_lessons import llama_cpp as lc

FIXTURE = json.loads((pathlib.Path(__file__).parent / "reference" / "llama_cpp_0_3_36.json").read_text())
VOCAB = FIXTURE["vocab"]
CONTEXTS = [np.asarray(k, dtype=np.float64) / FIXTURE["logit_scale"] for k in FIXTURE["contexts"]]


def _logits(ci):
    return CONTEXTS[ci].astype(np.float32)


def _expected(ci, call):
    kept = np.array([(int(call["kept"], 16) >> i) & 1 for i in range(VOCAB)], dtype=bool)
    logits = _logits(ci).astype(np.float64)
    for i, v in call.get("logits", {}).items():
        logits[int(i)] = v
    return kept, logits


def _probs(kept, logits):
    z = np.where(kept, logits, -np.inf)
    p = np.exp(z - z[kept].max())
    return p / p.sum()


def _processor(case, mutate=None):
    a = dict(case["args"])
    if case["sampler"] == "top_n_sigma":
        return lc.TopNSigmaLogitsProcessor(a["top_n_sigma"])
    if case["sampler"] == "xtc":
        return lc.XTCLogitsProcessor(a["xtc_probability"], a["xtc_threshold"], min_keep=a["min_keep"], seed=a["seed"])
    if case["sampler"] == "mirostat_v2":
        return lc.MirostatV2LogitsProcessor(a["tau"], a["eta"], seed=a["seed"])
    if case["sampler"] == "temp_ext":
        return lc.TempExtLogitsProcessor(a["temperature"], a["delta"], a["exponent"])
    if case["sampler"] == "penalties":
        return lc.LlamaCppPenaltiesLogitsProcessor(a["penalty_last_n"], a["repeat_penalty"], a["frequency_penalty"],
                                                    a["presence_penalty"])
    raise AssertionError(case["sampler"])


def _compare(case, proc):
    """Max |Δp| over the calls, or None when a kept set or a selected token differs."""
    ci = case["context"]
    worst = 0.0
    for call in case["calls"]:
        x = torch.from_numpy(_logits(ci))[None]
        ids = torch.tensor([case.get("history", [0])])
        out = proc(ids, x)[0].numpy().astype(np.float64)
        kept_ref, logits_ref = _expected(ci, call)
        if case["sampler"] == "mirostat_v2":
            # llama.cpp's sort is not stable: between tokens with the *same* logit its order is
            # std::sort's, ours is by id; so the decision compared is the selected token's logit
            # (hence its probability, surprise and the next mu) and the kept-set size.
            ours = proc.trace[-1]
            if _logits(ci)[ours[3]] != _logits(ci)[call["selected_id"]] or ours[2] != int(kept_ref.sum()):
                return None
            TIE_ONLY[0] += ours[3] != call["selected_id"]
            continue
        kept = np.isfinite(out)
        if not np.array_equal(kept, kept_ref):
            # XTC's "least likely top choice" between two tokens of the same logit is std::sort's
            # pick (unstable), ours is by id: accept only a swap of exactly tied logits.
            base = _logits(ci)
            if case["sampler"] != "xtc" or not np.array_equal(np.sort(base[kept]), np.sort(base[kept_ref])):
                return None
            TIE_ONLY[0] += 1
            kept_ref = kept
        worst = max(worst, float(np.abs(_probs(kept, out) - _probs(kept_ref, logits_ref)).max()))
    return worst


TIE_ONLY = [0]
SAMPLERS = sorted({c["sampler"] for c in FIXTURE["cases"]})


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_equal_to_llama_cpp(sampler):
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == sampler]
    assert len(cases) >= 96
    worst, bad = 0.0, []
    for i, case in enumerate(cases):
        d = _compare(case, _processor(case))
        if d is None:
            bad.append((i, case["context"], case["args"]))
        else:
            worst = max(worst, d)
    assert not bad, f"{len(bad)} of {len(cases)} differ: {bad[:5]}"
    assert worst <= 1e-6, worst


def test_xtc_fires_and_removes():
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == "xtc" and c["args"]["xtc_probability"] == 1.0
             and c["args"]["xtc_threshold"] == 0.0]
    removed = [int(c["calls"][0]["kept"], 16).bit_count() < VOCAB for c in cases]
    assert any(removed)  # the fixture exercises a removal, not only no-ops


def test_mutation_without_the_float32_draw_fails():
    """XTC fed a different draw stream than llama.cpp's: some decisions must differ."""
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == "xtc" and 0 < c["args"]["xtc_probability"] < 1]
    differ = 0
    for case in cases:
        a = case["args"]
        proc = lc.XTCLogitsProcessor(a["xtc_probability"], a["xtc_threshold"], a["min_keep"], seed=(a["seed"] + 1) % 2**32)
        differ += _compare(case, proc) is None
    assert differ >= 1


def test_mutation_mirostat_wrong_mu_fails():
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == "mirostat_v2"]
    differ = 0
    for case in cases:
        proc = _processor(case)
        proc.mu = lc._f32(proc.mu * 0.5)
        differ += _compare(case, proc) is None
    assert differ >= 10


def test_mt19937_matches_the_standard():
    rng = lc.MT19937(5489)
    for _ in range(9999):
        rng()
    assert rng() == 4123659995  # the value the C++ standard requires for the 10000th draw


def test_given_draws_equal_seeded():
    case = next(c for c in FIXTURE["cases"] if c["sampler"] == "mirostat_v2")
    rng = lc.MT19937(case["args"]["seed"])
    draws = [lc.uniform_double(rng) for _ in range(8)]
    a = _processor(case)
    b = lc.MirostatV2LogitsProcessor(case["args"]["tau"], case["args"]["eta"], draws=draws)
    x = torch.from_numpy(_logits(case["context"]))[None]
    for _ in range(3):
        assert torch.equal(a(None, x), b(None, x))
    assert a.trace == b.trace


def test_top_n_sigma_unchanged_by_temperature():
    x = torch.from_numpy(_logits(0))[None]
    proc = lc.TopNSigmaLogitsProcessor(1.0)
    kept = torch.isfinite(proc(None, x))
    for t in (0.5, 2.0):
        assert torch.equal(torch.isfinite(proc(None, x / t)), kept)


def test_openai_penalties_only_output():
    proc = lc.OpenAIPenaltiesLogitsProcessor(frequency_penalty=0.5, presence_penalty=1.0)
    scores = torch.zeros(1, 5)
    assert torch.equal(proc(torch.tensor([[1, 1, 2]]), scores), scores)  # the prompt: no penalty
    out = proc(torch.tensor([[1, 1, 2, 3, 3, 1]]), scores)
    assert out.tolist() == [[0.0, -1.5, 0.0, -2.0, 0.0]]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: lc.TopNSigmaLogitsProcessor(-1.0), "`top_n_sigma` has to be a float >= 0, but is -1.0"),
        (lambda: lc.XTCLogitsProcessor(1.5, 0.1, seed=1), "`xtc_probability` has to be a float in the [0, 1] interval, but is 1.5"),
        (lambda: lc.XTCLogitsProcessor(0.5, -0.1, seed=1), "`xtc_threshold` has to be a float in the [0, 1] interval, but is -0.1"),
        (lambda: lc.XTCLogitsProcessor(0.5, 0.1), "give exactly one of `seed` and `draws`"),
        (lambda: lc.XTCLogitsProcessor(0.5, 0.1, draws=[1.0]), "`draws` has to be a float in the [0, 1) interval, but is 1.0"),
        (lambda: lc.MirostatV2LogitsProcessor(-1.0, 0.1, seed=1), "`tau` has to be a float >= 0, but is -1.0"),
        (lambda: lc.TempExtLogitsProcessor(0.8, -0.5), "`delta` has to be a float >= 0, but is -0.5"),
        (lambda: lc.LlamaCppPenaltiesLogitsProcessor(-2), "`penalty_last_n` has to be an integer >= -1, but is -2"),
        (lambda: lc.LlamaCppPenaltiesLogitsProcessor(64, 0.0), "`repeat_penalty` has to be a float in the (0, inf] interval, but is 0.0"),
        (lambda: lc.OpenAIPenaltiesLogitsProcessor(2.5), "`frequency_penalty` has to be a float in the [-2, 2] interval, but is 2.5"),
        (lambda: lc.MT19937(-1), "`seed` has to be an integer in [0, 4294967295], but is -1"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


def test_generate_with_the_processors(lm):
    model, tok = lm.model, lm.tokenizer
    ids = tok("Hello there", return_tensors="pt").input_ids
    procs = LogitsProcessorList([
        lc.LlamaCppPenaltiesLogitsProcessor(64, 1.1, 0.1, 0.1),
        lc.TopNSigmaLogitsProcessor(1.0),
        lc.XTCLogitsProcessor(0.5, 0.1, seed=3),
        lc.TempExtLogitsProcessor(0.8, 0.5, 1.0),
        lc.MirostatV2LogitsProcessor(5.0, 0.1, seed=7),
    ])
    out = model.generate(ids, logits_processor=procs, do_sample=False, max_new_tokens=4, min_new_tokens=4)
    assert out.shape[1] == ids.shape[1] + 4
    assert out[0, ids.shape[1]:].tolist() == [t[3] for t in procs[-1].trace]  # mirostat's choices are generated


# The expectations of llama.cpp's own tests/test-sampling.cpp (the vendored copy) for these samplers:
# logits logf(p) in id order; after the sampler, llama.cpp's dist renormalises over what is left.
def _softmax_after(proc, probs, history=(0,)):
    x = torch.from_numpy(np.log(np.asarray(probs, dtype=np.float64)).astype(np.float32))[None]
    out = proc(torch.tensor([list(history)]), x)[0].double()
    return torch.softmax(out, 0).tolist()


@pytest.mark.parametrize("t, d, e, expected", [
    (1.0, 0.0, 1.0, [0.1, 0.2, 0.3, 0.4]),
    (0.0, 0.0, 1.0, [0.0, 0.0, 0.0, 1.0]),
])
def test_sampling_cpp_temp_ext(t, d, e, expected):
    assert _softmax_after(lc.TempExtLogitsProcessor(t, d, e), [0.1, 0.2, 0.3, 0.4]) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("t, expected", [
    (0.09, [0.1]), (0.19, [0.2, 0.1]), (0.29, [0.3, 0.2, 0.1]), (0.39, [0.4, 0.3, 0.2, 0.1]),
])
def test_sampling_cpp_xtc(t, expected):
    probs = [0.4, 0.3, 0.2, 0.1]
    proc = lc.XTCLogitsProcessor(0.99, t, min_keep=0, seed=0)
    x = torch.from_numpy(np.log(np.asarray(probs)).astype(np.float32))[None]
    kept = torch.isfinite(proc(None, x)[0]).tolist()
    # XTC leaves p as its softmax over the whole array: the kept tokens' original probabilities
    assert [p for p, k in zip(probs, kept) if k] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("history, expected, rep, freq, pres", [
    ([0], [0, 0.25, 0.25, 0.25, 0.25], 50.0, 0.0, 0.0),
    ([0, 1, 2], [0, 0, 0, 0.5, 0.5], 50.0, 0.0, 0.0),
    ([0, 1, 2, 0, 0], [0, 0, 0, 0.5, 0.5], 50.0, 0.0, 0.0),
    ([0], [0.000011, 0.249997, 0.249997, 0.249997, 0.249997], 1.0, 5.0, 5.0),
    ([0, 1, 2], [0.000023, 0.000023, 0.000023, 0.499966, 0.499966], 1.0, 5.0, 5.0),
    ([0, 1, 2, 0, 0], [0.000000, 0.000023, 0.000023, 0.499977, 0.499977], 1.0, 5.0, 5.0),
])
def test_sampling_cpp_penalties(history, expected, rep, freq, pres):
    proc = lc.LlamaCppPenaltiesLogitsProcessor(len(history), rep, freq, pres)
    assert _softmax_after(proc, [0.2] * 5, history) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("n, expected", [
    (1.0, [0.0, 0.0, 0.428571, 0.571429]), (0.0, [0.1, 0.2, 0.3, 0.4]), (3.0, [0.1, 0.2, 0.3, 0.4]),
])
def test_sampling_cpp_top_n_sigma(n, expected):
    assert _softmax_after(lc.TopNSigmaLogitsProcessor(n), [0.1, 0.2, 0.3, 0.4]) == pytest.approx(expected, abs=1e-5)
