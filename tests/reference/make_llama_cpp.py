"""Record llama.cpp's own samplers on many candidate arrays, as the fixture
``tests/reference/llama_cpp_0_3_36.json`` that ``tests/test_llama_cpp.py`` compares
:mod:`decoding_lessons.llama_cpp` with. ``make test`` never runs this (it needs a compiled llama.cpp).

Recipe (about 12 minutes of compiling on 2 shared cores, once)::

    python3 -m venv /tmp/venvllama
    /tmp/venvllama/bin/pip install numpy
    CMAKE_BUILD_PARALLEL_LEVEL=1 CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF" \\
        /tmp/venvllama/bin/pip install llama-cpp-python==0.3.36
    /tmp/venvllama/bin/python tests/reference/make_llama_cpp.py   # a few seconds

Each context is a vocabulary of 512 logits ``k / 64`` with integer ``k`` (exact in float32, stored as
the integers); some contexts are quantised coarsely so that many logits tie. Each case applies one
sampler with the low-level API (``llama_sampler_apply`` on a ``llama_token_data_array``, no model)
and stores, per call, what is left in the array (and the selected token where the sampler
selects): the kept set as a bit mask, the logits it changed, the selected token. Settings: the boundaries, and random values from a fixed numpy seed.
"""

from __future__ import annotations

import ctypes
import json
import pathlib

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
    OUT.write_text(json.dumps({"version": "llama-cpp-python 0.3.36", "vocab": VOCAB, "logit_scale": 64,
                               "contexts": ctxs, "cases": cases}, separators=(",", ":")))
    print(OUT, OUT.stat().st_size, "bytes,", len(cases), "cases")


if __name__ == "__main__":
    main()
