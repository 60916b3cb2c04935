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
            if ours[3] != call["selected_id"] or ours[2] != int(kept_ref.sum()):
                return None
            continue
        kept = np.isfinite(out)
        if not np.array_equal(kept, kept_ref):
            return None
        worst = max(worst, float(np.abs(_probs(kept, out) - _probs(kept_ref, logits_ref)).max()))
    return worst


SAMPLERS = ["mirostat_v2", "penalties", "temp_ext", "top_n_sigma", "xtc"]  # part 1; part 2 below


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


# ------------------------------------------------------------------------------------------------
# Part 2: DRY, mirostat 1, dist, llama.cpp's top-k/top-p/min-p/typical and the whole chain, on the
# synthetic contexts and on the embedded model's own logits and vocabulary (the "real" contexts).
# ------------------------------------------------------------------------------------------------

import base64
import hashlib
import zlib

REAL = [
    (np.frombuffer(zlib.decompress(base64.b64decode(r["k"])), dtype="<i2").astype(np.float64) / FIXTURE["logit_scale"]).astype(np.float32)
    for r in FIXTURE["real_contexts"]
]
PART2 = ["mirostat", "dist", "top_k", "top_p", "min_p", "typical", "dry", "chain"]
WORST = {}  # sampler -> largest |Δp| seen


def _base(case):
    return REAL[case["context"]] if case.get("real") else _logits(case["context"])


def _kept_ref(case, call, base):
    if "kept" in call and isinstance(call["kept"], list):
        kept = np.zeros(base.size, dtype=bool)
        kept[call["kept"]] = True
    elif "dropped" in call:
        kept = np.ones(base.size, dtype=bool)
        kept[call["dropped"]] = False
    else:
        kept = None
    logits = base.astype(np.float64).copy()
    for i, v in call.get("logits", {}).items():
        logits[int(i)] = v
    return kept, logits


def _new_processor(case, tokenizer=None):
    a = dict(case["args"])
    s = case["sampler"]
    if s == "mirostat":
        return lc.MirostatLogitsProcessor(a["tau"], a["eta"], m=a["m"], n_vocab=a["n_vocab"], seed=a["seed"])
    if s == "dist":
        return lc.DistLogitsProcessor(seed=a["seed"])
    if s == "top_k":
        return lc.LlamaCppTopKLogitsProcessor(a["top_k"])
    if s == "top_p":
        return lc.LlamaCppTopPLogitsProcessor(a["top_p"], a["min_keep"])
    if s == "min_p":
        return lc.LlamaCppMinPLogitsProcessor(a["min_p"], a["min_keep"])
    if s == "typical":
        return lc.LlamaCppTypicalLogitsProcessor(a["typical_p"], a["min_keep"])
    if s == "dry":
        return lc.DRYLogitsProcessor(a["dry_multiplier"], a["dry_base"], a["dry_allowed_length"], a["dry_penalty_last_n"],
                                     a["sequence_breakers"], tokenizer=tokenizer)
    raise AssertionError(s)


def _compare_new(case, tokenizer, procs=None):
    """Max |Δp| over the calls, or a string saying what differs."""
    s, base = case["sampler"], _base(case)
    history = list(case.get("history", [0]))
    if s == "chain":
        settings = dict(case["args"])
        procs = procs or lc.llama_cpp_chain(tokenizer=tokenizer, **settings)
    else:
        procs = procs or [_new_processor(case, tokenizer)]
    worst = 0.0
    for n, call in enumerate(case["calls"]):
        ids = torch.tensor([history])
        x = torch.from_numpy(base.copy())[None]
        for p in procs[:-1]:
            x = p(ids, x)
        before = x
        out = procs[-1](ids, x)[0].numpy().astype(np.float64)
        kept_ref, logits_ref = _kept_ref(case, call, base)
        last = procs[-1]
        if "selected_id" in call:
            ours = int(np.flatnonzero(np.isfinite(out))[0])
            if ours != call["selected_id"]:
                return f"call {n}: selected {ours}, llama.cpp {call['selected_id']}"
            if isinstance(last, (lc.MirostatLogitsProcessor, lc.MirostatV2LogitsProcessor)):
                if last.trace[-1][2] != call["n"]:
                    return f"call {n}: mirostat kept {last.trace[-1][2]}, llama.cpp {call['n']}"
            elif kept_ref is not None:
                kept = np.isfinite(before[0].numpy())
                if not np.array_equal(kept, kept_ref):
                    return f"call {n}: kept {int(kept.sum())}, llama.cpp {int(kept_ref.sum())}"
                else:
                    worst = max(worst, float(np.abs(_probs(kept, before[0].numpy().astype(np.float64)) - _probs(kept_ref, logits_ref)).max()))
            history = history + [call["selected_id"]]
            continue
        kept = np.isfinite(out)
        if kept_ref is None:  # the sorted top n
            if int(kept.sum()) != call["n"]:
                return f"call {n}: kept {int(kept.sum())}, llama.cpp {call['n']}"
            continue
        if not np.array_equal(kept, kept_ref):
            return f"call {n}: kept {int(kept.sum())}, llama.cpp {int(kept_ref.sum())}"
        worst = max(worst, float(np.abs(_probs(kept, out) - _probs(kept_ref, logits_ref)).max()))
    return worst


@pytest.fixture(scope="module")
def tokenizer(lm):
    return lm.tokenizer


def test_token_pieces_are_llama_cpps(tokenizer):
    h = hashlib.sha256()
    pieces = lc.llama_cpp_token_pieces(tokenizer)
    assert len(pieces) == FIXTURE["real_vocab"]
    for piece in pieces:
        h.update(len(piece).to_bytes(4, "little") + piece)
    assert h.hexdigest() == FIXTURE["pieces_sha256"]


@pytest.mark.parametrize("sampler", PART2)
def test_part2_equal_to_llama_cpp(sampler, tokenizer):
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == sampler]
    assert len(cases) >= 60
    worst, bad = 0.0, []
    for i, case in enumerate(cases):
        d = _compare_new(case, tokenizer)
        if isinstance(d, str):
            bad.append((i, case["context"], case.get("real", False), case["args"], d))
        else:
            worst = max(worst, d)
    WORST[sampler] = worst
    assert not bad, f"{len(bad)} of {len(cases)} differ: {bad[:3]}"
    assert worst <= 1e-6, worst


def test_chain_needs_the_array_order(tokenizer):
    """dist on the chain's sorted array, not on a fresh one in id order: unlinked, the draws differ."""
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == "chain" and set(c["args"]) == {"seed"}]
    differ = 0
    for case in cases:
        procs = list(lc.llama_cpp_chain(tokenizer=tokenizer, **case["args"]))
        for p in procs:
            p._link = None  # each processor starts from a fresh array in token-id order
        differ += isinstance(_compare_new(case, tokenizer, procs=procs), str)
    assert differ >= len(cases) // 2


def test_mutation_mirostat_v1_wrong_m_fails():
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == "mirostat" and c["args"]["m"] == 100]
    differ = 0
    for case in cases:
        a = case["args"]
        proc = lc.MirostatLogitsProcessor(a["tau"], a["eta"], m=50, n_vocab=a["n_vocab"], seed=a["seed"])
        differ += isinstance(_compare_new(case, None, procs=[proc]), str)
    assert differ >= 5


def test_mutation_dry_without_breakers_fails(tokenizer):
    cases = [c for c in FIXTURE["cases"] if c["sampler"] == "dry" and c["args"]["sequence_breakers"] == list(lc.DRY_SEQUENCE_BREAKERS)
             and c["args"]["dry_multiplier"] > 0 and c["args"]["dry_penalty_last_n"] > 0 and c["args"]["dry_base"] >= 1]
    differ = 0
    for case in cases:
        a = case["args"]
        proc = lc.DRYLogitsProcessor(a["dry_multiplier"], a["dry_base"], a["dry_allowed_length"], a["dry_penalty_last_n"], [],
                                     tokenizer=tokenizer)
        differ += _compare_new(case, tokenizer, procs=[proc]) != 0.0
    assert differ >= 5


def test_dry_penalises_the_repeat(tokenizer):
    ids = tokenizer("The cat sat on the mat. The cat sat on the mat. The cat sat on the", add_special_tokens=False).input_ids
    proc = lc.DRYLogitsProcessor(0.8, 1.75, 2, 64, tokenizer=tokenizer)
    out = proc(torch.tensor([ids]), torch.zeros(1, len(tokenizer)))[0]
    mat = tokenizer(" mat", add_special_tokens=False).input_ids[0]
    assert out[mat] < 0 and int((out < 0).sum()) == 1  # only " mat" extends the repeat


def test_transformers_warpers_differ_from_llama_cpp():
    """transformers' TopKLogitsWarper keeps every token tied with the k-th; llama.cpp exactly k
    (hence LlamaCppTopKLogitsProcessor). Our ports equal llama.cpp on the same cases (above)."""
    from transformers import TopKLogitsWarper

    differ = 0
    for case in (c for c in FIXTURE["cases"] if c["sampler"] == "top_k"):
        base = _base(case)
        out = TopKLogitsWarper(case["args"]["top_k"])(None, torch.from_numpy(base.copy())[None])[0]
        differ += int(torch.isfinite(out).sum()) != case["calls"][0]["n"]
    assert differ >= 10


def test_chain_defaults_and_order(tokenizer):
    assert lc.LLAMA_CPP_DEFAULTS["samplers"] == ("penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature")
    names = [type(p).__name__ for p in lc.llama_cpp_chain(seed=1, penalty_repeat=1.1, dry_multiplier=0.8, top_n_sigma=1.0,
                                                          typ_p=0.9, xtc_probability=0.5, dynatemp_range=0.5, tokenizer=tokenizer)]
    assert names == ["LlamaCppPenaltiesLogitsProcessor", "DRYLogitsProcessor", "TopNSigmaLogitsProcessor", "LlamaCppTopKLogitsProcessor",
                     "LlamaCppTypicalLogitsProcessor", "LlamaCppTopPLogitsProcessor", "LlamaCppMinPLogitsProcessor",
                     "XTCLogitsProcessor", "TempExtLogitsProcessor", "DistLogitsProcessor"]
    assert [type(p).__name__ for p in lc.llama_cpp_chain(seed=1, mirostat=1)] == ["TempExtLogitsProcessor", "MirostatLogitsProcessor"]
    assert [type(p).__name__ for p in lc.llama_cpp_chain(seed=1, mirostat=2, temp=1.0)] == ["MirostatV2LogitsProcessor"]
    assert [type(p).__name__ for p in lc.llama_cpp_chain(seed=1, top_k=0, top_p=1.0, min_p=0.0, temp=1.0)] == ["DistLogitsProcessor"]


def test_generate_with_the_chain(lm):
    model, tok = lm.model, lm.tokenizer
    ids = tok("The cat sat on the mat. The cat sat on the", return_tensors="pt").input_ids
    chain = lc.llama_cpp_chain(seed=5, dry_multiplier=0.8, penalty_repeat=1.1, tokenizer=tok)
    out = model.generate(ids, logits_processor=chain, do_sample=False, max_new_tokens=5, min_new_tokens=5)
    assert out.shape == (1, ids.shape[1] + 5)
    assert out[0, ids.shape[1]:].tolist() == [t[0] for t in chain[-1].trace]  # dist's draws are what is generated
    again = model.generate(ids, logits_processor=lc.llama_cpp_chain(seed=5, dry_multiplier=0.8, penalty_repeat=1.1, tokenizer=tok),
                           do_sample=False, max_new_tokens=5, min_new_tokens=5)
    assert torch.equal(out, again)  # a seed gives the same generation


def test_chain_on_a_batch():
    x = torch.from_numpy(np.stack([_logits(0), _logits(1)]))
    chain = lc.llama_cpp_chain(seed=3)
    for p in chain:
        x = p(torch.zeros(2, 1, dtype=torch.long), x)
    assert torch.isfinite(x).sum(1).tolist() == [1, 1]
    assert [t[0] for t in chain[-1].trace] == torch.isfinite(x).float().argmax(1).tolist()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: lc.DRYLogitsProcessor(-0.5), "`dry_multiplier` has to be a float >= 0, but is -0.5"),
        (lambda: lc.DRYLogitsProcessor(0.8, -1.0), "`dry_base` has to be a float >= 0, but is -1.0"),
        (lambda: lc.DRYLogitsProcessor(0.8, 1.75, -1), "`dry_allowed_length` has to be an integer >= 0, but is -1"),
        (lambda: lc.DRYLogitsProcessor(0.8, 1.75, 2, -1), "`dry_penalty_last_n` has to be an integer >= 0, but is -1"),
        (lambda: lc.DRYLogitsProcessor(0.8, sequence_breakers="\n"), "`sequence_breakers` has to be a list of strings, but is '\\n'"),
        (lambda: lc.DRYLogitsProcessor(0.8), "DRY needs the vocabulary's texts: give `tokenizer` or `pieces`"),
        (lambda: lc.DRYLogitsProcessor(0.8, sequence_breakers=["ab"], pieces=["xa", "b"]),
         "a sequence breaker of more than one character needs `tokenize` (or `tokenizer`)"),
        (lambda: lc.MirostatLogitsProcessor(5.0, 0.1, m=0, seed=1), "`m` has to be an integer >= 1, but is 0"),
        (lambda: lc.MirostatLogitsProcessor(5.0, -0.1, seed=1), "`eta` has to be a float >= 0, but is -0.1"),
        (lambda: lc.DistLogitsProcessor(), "give exactly one of `seed` and `draws`"),
        (lambda: lc.LlamaCppTopKLogitsProcessor(-1), "`top_k` has to be an integer >= 0, but is -1"),
        (lambda: lc.LlamaCppTopPLogitsProcessor(1.5), "`top_p` has to be a float in the [0, 1] interval, but is 1.5"),
        (lambda: lc.LlamaCppMinPLogitsProcessor(0.1, -1), "`min_keep` has to be an integer >= 0, but is -1"),
        (lambda: lc.LlamaCppTypicalLogitsProcessor(-0.1), "`typical_p` has to be a float in the [0, 1] interval, but is -0.1"),
        (lambda: lc.llama_cpp_chain(top_k=-1), "`top_k` has to be an integer >= 0, but is -1"),
        (lambda: lc.llama_cpp_chain(mirostat=3), "`mirostat` has to be an integer in [0, 2], but is 3"),
        (lambda: lc.llama_cpp_chain(temp=-0.5), "`temp` has to be a float >= 0, but is -0.5"),
        (lambda: lc.llama_cpp_chain(penalty_last_n=-1), "`penalty_last_n` has to be an integer >= 0, but is -1"),
        (lambda: lc.llama_cpp_chain(dry_multiplier=0.8), "DRY needs the vocabulary's texts: give `tokenizer` or `pieces`"),
        (lambda: lc.llama_cpp_chain(samplers=["top_k", "tfs"]), "`samplers` has to be a list of penalties, dry, top_n_sigma, top_k, typ_p, top_p, min_p, xtc, temperature, but is ['top_k', 'tfs']"),
        (lambda: lc.llama_cpp_chain(temperature=0.5), "unknown llama.cpp setting(s) temperature; the settings are " + ", ".join(lc.LLAMA_CPP_DEFAULTS)),
    ],
)
def test_bad_input_part2(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message


# llama.cpp's own tests/test-sampling.cpp (the vendored copy): logits logf(p); the sampler, then dist(0)
# (which renormalises what is left), except typical (no dist: the kept tokens' own p).
def _kept_probs(procs, probs, history=(0,), renormalise=True):
    x = torch.from_numpy(np.log(np.asarray(probs, dtype=np.float32)).astype(np.float32))[None]
    for p in procs:
        x = p(torch.tensor([list(history)]), x)
    kept = torch.isfinite(x[0])
    if not renormalise:
        return sorted((p for p, k in zip(probs, kept.tolist()) if k), reverse=True)
    return sorted(torch.softmax(x[0].double(), 0)[kept].tolist(), reverse=True)


@pytest.mark.parametrize("k, expected", [(1, [1.0]), (3, [0.44444, 0.33333, 0.22222]), (4, [0.4, 0.3, 0.2, 0.1]), (0, [0.4, 0.3, 0.2, 0.1])])
def test_sampling_cpp_top_k(k, expected):
    assert _kept_probs([lc.LlamaCppTopKLogitsProcessor(k)], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("p, expected", [(0.0, [1.0]), (0.7, [0.571429, 0.428571]), (0.8, [0.44444, 0.33333, 0.22222]),
                                         (1.0, [0.4, 0.3, 0.2, 0.1])])
def test_sampling_cpp_top_p(p, expected):
    assert _kept_probs([lc.LlamaCppTopPLogitsProcessor(p)], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("p, expected", [
    (0.0, [0.4, 0.3, 0.2, 0.1]), (0.24, [0.4, 0.3, 0.2, 0.1]), (0.26, [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9]),
    (0.49, [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9]), (0.51, [0.4 / 0.7, 0.3 / 0.7]), (0.74, [0.4 / 0.7, 0.3 / 0.7]),
    (0.76, [1.0]), (1.0, [1.0]),
])
def test_sampling_cpp_min_p(p, expected):
    assert _kept_probs([lc.LlamaCppMinPLogitsProcessor(p)], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("probs, expected", [([0.97, 0.01, 0.01, 0.01], [0.97]), ([0.4, 0.2, 0.2, 0.2], [0.2, 0.2, 0.2])])
def test_sampling_cpp_typical(probs, expected):
    got = _kept_probs([lc.LlamaCppTypicalLogitsProcessor(0.5)], probs, renormalise=False)
    assert got == pytest.approx(expected, abs=1e-5)


# test_dry's token-sequence breakers, as texts: token 3 is a single-token breaker "\n".
@pytest.mark.parametrize("probs, history, expected, mult, base, allowed, last_n, breakers", [
    ([0.25] * 4, [0, 1], [0.25] * 4, 1.0, 1.1, 2, 4, []),
    ([0.25] * 4, [0, 1, 2, 0, 1], [0.296923, 0.296923, 0.109232, 0.296923], 1.0, 1.1, 2, 5, []),
    ([0.2] * 5, [0, 1, 3, 4, 0, 1], [0.2] * 5, 1.0, 1.1, 2, 6, ["\n"]),
    ([0.2] * 5, [0, 1, 2, 0, 1], [0.241818, 0.241818, 0.032727, 0.241818, 0.241818], 2.0, 1.1, 2, 5, []),
    ([0.2] * 5, [0, 1, 2, 3, 4, 0, 1], [0.2] * 5, 1.0, 1.1, 4, 7, []),
])
def test_sampling_cpp_dry(probs, history, expected, mult, base, allowed, last_n, breakers):
    proc = lc.DRYLogitsProcessor(mult, base, allowed, last_n, breakers, pieces=["a", "b", "c", "\n", "d"][: len(probs)])
    x = torch.from_numpy(np.log(np.asarray(probs, dtype=np.float32)))[None]
    out = torch.softmax(proc(torch.tensor([history]), x)[0].double(), 0).tolist()
    assert out == pytest.approx(expected, abs=1e-5)


def test_mutation_ties_in_id_order_fail(monkeypatch, tokenizer):
    """llama.cpp's own order between exactly tied logits (std::sort / std::partial_sort, per bucket)
    decides which tied token is drawn or kept: sorting ties by token id instead breaks cases."""
    monkeypatch.setattr(lc, "std_sort", lambda keys: np.argsort(keys, kind="stable"))
    monkeypatch.setattr(lc, "partial_sort", lambda keys, m: np.argsort(keys, kind="stable")[:m])
    bad = sum(_compare(c, _processor(c)) is None for c in FIXTURE["cases"] if c["sampler"] in SAMPLERS)
    bad += sum(isinstance(_compare_new(c, tokenizer), str) for c in FIXTURE["cases"] if c["sampler"] in PART2)
    assert bad >= 20, bad


def test_std_sort_port_on_ties():
    """The libstdc++ port (decoding_lessons._stdsort) against properties std::sort guarantees, on
    arrays full of ties: sorted keys, a permutation; and not the stable order (it is unstable)."""
    from decoding_lessons._stdsort import partial_sort, std_sort

    rng = np.random.default_rng(1)
    unstable = 0
    for n in (3, 16, 17, 100, 1000, 5000):
        keys = rng.integers(0, 7, n).astype(np.float32)
        perm = std_sort(keys)
        assert sorted(perm.tolist()) == list(range(n)) and np.all(np.diff(keys[perm]) >= 0)
        unstable += not np.array_equal(perm, np.argsort(keys, kind="stable"))
        top = partial_sort(keys, min(10, n))
        assert np.array_equal(keys[top], np.sort(keys)[: min(10, n)])
    assert unstable >= 3
