"""Golden vectors for the browser engine (docs/javascripts/engine.mjs), written by transformers' own
processors through the package: ``dl.logits_processors`` (generate()'s order, do_sample=True, the
hidden top_k=50 included) and ``dl.apply_in_order`` (llama.cpp's chain and random orders).

``write_goldens(directory, lm)`` writes:

* ``logits/<name>.bin``: raw little-endian float32 logits (real ones from the model, synthetic ones
  with exact ties and huge/very negative values);
* ``cases/<n>.bin``: the expected result, int32 count, int32 kept ids, float32 kept scores;
* ``cases.json``: every case (logits, context ids, settings, order, min_tokens_to_keep, torch's
  margin of its closest rounding-sensitive decision and the stage that made it), the table JSON,
  and the validation cases (a bad value and Python's message).

The margin: for every probability-based decision (top-p's ``cum <= 1 - p``, min-p's
``p < min_p * p_max``, ε's and η's ``p < cut``, typical's ``cum < mass`` and
``shifted > shifted[last]``, top-H's ``cumulative entropy <= tau``), how far torch's two sides
are apart, relative to the threshold (absolute for cumulative probabilities). Each mirror's
decision is checked against the real processor's output, so the margin describes the decision
that was made. Decisions that do not depend on rounding (a probability of exactly 0, tokens
kept by min_tokens_to_keep, min_p = 1 against the top token itself) are left out.

Run by tests/test_engine.py; ``python tests/engine/make_golden.py DIR`` writes them by hand.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from transformers import GenerationConfig

import decoding_lessons as dl
from decoding_lessons.capture import NextToken
from decoding_lessons.orders import _active_fields, _link_in_order
from decoding_lessons.processors import (
    ALL_KNOBS, HF_ORDER, KNOBS, LIBRARY_KNOBS, LIBRARY_ROWS, LLAMA_CPP_ORDER, PROCESSORS, WARPER_ORDER, BuildContext,
)
from decoding_lessons.scoring import build_processor

FIELD_OF = {row.cls: row.field for row in ALL_KNOBS}
LIBRARY = {row.field for row in LIBRARY_KNOBS}
# llama.cpp's (and the OpenAI API's) samplers with several settings that a browser runs
SAMPLERS = {row.field for row in LIBRARY_ROWS if row.kind == "params" and row.browser}
INF = math.inf

PROMPTS = [
    "The capital of France is",
    "My name is",
    "Once upon a time, there was a little",
    # repeated tokens: the repetition penalty and no-repeat-n-gram act
    "the cat sat on the mat. the cat sat on the mat. the cat sat on the",
    "one two three one two three one two three one two",
    "Write a short poem about the sea. The sea, the sea, the endless",
]


# --------------------------------------------------------------------------------------------------
# Mirrors of the probability-based decisions: (removed mask, margin), checked against the processor.


def _min_margin(a: torch.Tensor, b, scale) -> float:
    if a.numel() == 0:
        return INF
    d = (a.double() - torch.as_tensor(b).double()).abs() / torch.as_tensor(scale).double()
    return float(d.min())


def _mirror(field, value, scores, mtk):
    """``(removed, margin)`` of one stage on ``scores`` ``(1, V)`` float32, as torch computes it."""
    V = scores.shape[-1]
    s = scores[0]
    if field == "top_p":
        sorted_logits, idx = torch.sort(scores, descending=False)
        cum = sorted_logits.softmax(-1).cumsum(-1)[0]
        thr = torch.tensor(1 - value, dtype=torch.float32)
        rm_sorted = cum <= thr
        rm_sorted[max(V - mtk, 0):] = False
        removed = torch.zeros(V, dtype=torch.bool)
        removed[idx[0]] = rm_sorted
        pos = torch.arange(V)
        sens = (pos < V - mtk) & (cum > 0)
        return removed, _min_margin(cum[sens], thr, 1.0)
    if field == "min_p":
        probs = torch.softmax(scores, -1)[0]
        scaled = (value * probs.amax()).float()
        removed = probs < scaled
        k = min(mtk, V)
        keep = torch.topk(probs, k).indices
        removed[keep] = False
        if float(scaled) == 0:
            return removed, INF
        sens = probs > 0
        sens[keep] = False
        if value == 1.0:
            sens &= s != s.max()
        return removed, _min_margin(probs[sens], scaled, scaled)
    if field in ("epsilon_cutoff", "eta_cutoff"):
        probs = scores.softmax(-1)[0]
        if field == "epsilon_cutoff":
            cut = torch.tensor(value, dtype=torch.float32)
        else:
            ent = torch.distributions.Categorical(logits=scores).entropy()[0]
            e = torch.tensor(value)
            cut = torch.min(e, torch.sqrt(e) * torch.exp(-ent))
        kth = torch.topk(s, min(mtk, V))[0][-1]
        removed = (probs < cut) & (s < kth)
        sens = (probs > 0) & (s < kth)
        return removed, _min_margin(probs[sens], cut, cut)
    if field == "typical_p":
        normalized = torch.nn.functional.log_softmax(scores, dim=-1)
        p = torch.exp(normalized)
        ent = -(normalized * p).nansum(-1, keepdim=True)
        shifted = torch.abs((-normalized) - ent)
        sorted_scores, idx = torch.sort(shifted, descending=False)
        cum = scores.gather(-1, idx).softmax(-1).cumsum(-1)[0]
        mass = torch.tensor(value, dtype=torch.float32)
        last = min(int((cum < mass).sum()), V - 1)
        thr = sorted_scores[0, last]
        rm_sorted = sorted_scores[0] > thr
        rm_sorted[:mtk] = False
        removed = torch.zeros(V, dtype=torch.bool)
        removed[idx[0]] = rm_sorted
        m1 = _min_margin(cum, mass, 1.0)
        ss = sorted_scores[0]
        sens = torch.isfinite(ss) & (ss != thr)
        sens[:mtk] = False
        mag = torch.clamp((-normalized[0]).gather(0, idx[0]).abs(), min=1.0)
        m2 = _min_margin(ss[sens], thr, mag[sens])
        return removed, min(m1, m2)
    if field == "top_h":
        n = min(100, V)
        top_logits, top_idx = torch.topk(scores, n, dim=-1, largest=True, sorted=True)
        dist = torch.distributions.Categorical(logits=top_logits)
        probs = dist.probs
        tau = (dist.entropy() * value).unsqueeze(-1)
        cum = torch.cumsum(-probs * torch.log(probs), dim=-1)[0]
        sel = cum <= tau[0]
        sel[0] = True
        removed = torch.ones(V, dtype=torch.bool)
        removed[top_idx[0][sel]] = False
        t = float(tau[0, 0])
        if t == 0:
            return removed, INF
        sens = ~torch.isnan(cum)
        sens[0] = False
        return removed, _min_margin(cum[sens], tau[0, 0], abs(t))
    return None, INF  # exact: temperature, top_k, the penalties


def _run_stages(procs, ids, logits, mtk):
    """Apply the (field, processor) list stage by stage; returns the scores, the smallest margin
    and its stage."""
    scores = logits.detach().to(torch.float32).clone().reshape(1, -1)
    margin, where = INF, None
    for field, proc in procs:
        removed, m = _mirror(field, _value(proc, field), scores, mtk)
        out = proc(ids, scores)
        if removed is not None:
            newly = torch.isneginf(out[0]) & ~torch.isneginf(scores[0])
            expect = removed & ~torch.isneginf(scores[0])
            assert torch.equal(newly, expect), f"the mirror of {field} disagrees with transformers"
        if m < margin:
            margin, where = m, field
        scores = out
    return scores[0], margin, where


def _value(proc, field):
    return {
        "top_p": lambda p: p.top_p, "min_p": lambda p: p.min_p, "epsilon_cutoff": lambda p: p.epsilon,
        "eta_cutoff": lambda p: float(p.epsilon), "typical_p": lambda p: p.mass, "top_h": lambda p: p.top_h,
    }.get(field, lambda p: None)(proc)


# --------------------------------------------------------------------------------------------------
# Settings


def _random_settings(rng: random.Random, fields) -> dict:
    """Random values (each field with probability ~1/2), some of them at a boundary."""
    pick = {
        "repetition_penalty": lambda: rng.choice([0.5, 0.8, 1.1, 1.3, 2.0, rng.uniform(0.3, 3.0)]),
        "no_repeat_ngram_size": lambda: rng.randint(1, 4),
        "temperature": lambda: rng.choice([1e-3, 0.3, 0.7, 1.5, 5.0, 100.0, rng.uniform(0.05, 3.0)]),
        "top_h": lambda: rng.choice([1e-3, 0.3, 0.8, 1.0, rng.uniform(0.05, 1.0)]),
        "top_k": lambda: rng.choice([1, 2, 5, 50, 1000, 200000, rng.randint(1, 400), 0]),
        "top_p": lambda: rng.choice([0.0, 0.5, 0.9, 0.95, 0.99, rng.uniform(0.05, 0.999)]),
        "min_p": lambda: rng.choice([0.0, 0.01, 0.05, 0.2, 1.0, rng.uniform(0.0, 0.5)]),
        "typical_p": lambda: rng.choice([1e-6, 0.2, 0.9, 0.95, rng.uniform(0.05, 0.999)]),
        "epsilon_cutoff": lambda: rng.choice([3e-4, 1e-3, 0.02, rng.uniform(1e-5, 0.05)]),
        "eta_cutoff": lambda: rng.choice([3e-4, 2e-3, 0.02, rng.uniform(1e-5, 0.05)]),
        "top_n_sigma": lambda: rng.choice([0.0, 0.5, 1.0, 2.0, rng.uniform(0.05, 4.0)]),
    }
    out = {}
    for name in fields:
        if rng.random() < 0.45:
            out[name] = pick[name]()
    return out


def _synthetic(vocab: int, seed: int, kind: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(vocab, generator=g) * 3
    if kind == "ties":  # many exact ties
        x = torch.round(x * 2) / 2
    elif kind == "extreme":  # a few huge and very negative values, some -inf
        x[torch.randint(vocab, (5,), generator=g)] = torch.tensor([80.0, 79.5, 80.0, -1e30, 60.0])
        x[torch.randint(vocab, (50,), generator=g)] = -1e4
        x[torch.randint(vocab, (20,), generator=g)] = -math.inf
    elif kind == "flat":  # nearly uniform: huge kept sets, ties everywhere
        x = torch.round(x) / 8
    elif kind == "dyadic":  # 4094 tokens at 0, one at float32(ln 2), the rest -inf: p = 1/4096 and 1/2048
        x[:] = -math.inf
        x[:4094] = 0.0
        x[4094] = math.log(2)
        x = x[torch.randperm(vocab, generator=g)]
    return x.float()


def transformers_scores(logits, ids, settings, order, mtk=1, gc=None):
    """transformers' own processors on one context: ``(pairs, scores)``, the ``(field, processor)``
    pairs that run and the scores they leave. ``order`` ``"hf"`` is generate()'s
    (``dl.logits_processors``, do_sample=True, the hidden top_k=50 included), ``"llama_cpp"`` or a
    list of fields goes through ``dl.apply_in_order`` (whose ValueError is raised). ``gc``: the
    defaults unset fields take (transformers' global ones)."""
    gc = GenerationConfig() if gc is None else gc
    library = {k: v for k, v in settings.items() if k in LIBRARY}  # llama.cpp's knobs (top_n_sigma)
    cfg = dl.DecodingConfig(do_sample=True, **{k: v for k, v in settings.items() if k not in LIBRARY})
    extra = [(k, p) for k, p in ((k, PROCESSORS[k].build(v)) for k, v in library.items()) if p is not None]
    if order == "hf":
        procs = dl.logits_processors(cfg, gc, num_beams=2 if mtk > 1 else 1, eos_token_count=mtk - 1)
        pairs = [(FIELD_OF[type(p)], p) for p in procs]
        # generate(logits_processor=[...]) merges a custom processor before the sampling warpers
        at = next((i for i, (f, _) in enumerate(pairs) if f in WARPER_ORDER), len(pairs))
        pairs[at:at] = extra
        scores = logits.clone().reshape(1, -1)
        for _, p in pairs:
            scores = p(ids, scores)
        return pairs, scores[0]
    names = list(LLAMA_CPP_ORDER) if order == "llama_cpp" else order
    resolved, active = _active_fields(cfg, gc)
    built = dict(extra)
    pairs = [(n, built[n] if n in LIBRARY else build_processor(n, resolved)) for n in names if n in active or n in built]
    step = NextToken(ids, logits, SimpleNamespace(model=SimpleNamespace(generation_config=gc), tokenizer=None))
    return pairs, dl.apply_in_order(step, cfg, names, **library)


def sampler_scores(logits, ids, settings, order, gc, prompt_length=None, tokenizer=None):
    """A case with llama.cpp's samplers (``settings`` holds a dict for xtc, penalties ...): the
    ``(field, processor)`` pairs built by the table's rows and linked as ``apply_in_order`` links
    them (fresh: a seeded XTC draws the same number again), and ``apply_in_order``'s scores."""
    names = list(LLAMA_CPP_ORDER) if order == "llama_cpp" else list(HF_ORDER) if order == "hf" else order
    library = {k: v for k, v in settings.items() if k in SAMPLERS or k in LIBRARY}
    cfg = dl.DecodingConfig(do_sample=True, **{k: v for k, v in settings.items() if k not in library})
    resolved, active = _active_fields(cfg, gc)
    built = {n: build_processor(n, resolved) for n in active}
    context = BuildContext(prompt_length=ids.shape[-1] if prompt_length is None else prompt_length, tokenizer=tokenizer)
    for k, v in library.items():
        proc = PROCESSORS[k].build(PROCESSORS[k].check(v), context=context)
        if proc is not None:
            built[k] = proc
    pairs = [(n, built[n]) for n in names if n in built]
    _link_in_order([p for _, p in pairs])
    step = NextToken(ids, logits, SimpleNamespace(model=SimpleNamespace(generation_config=gc), tokenizer=tokenizer))
    return pairs, dl.apply_in_order(step, cfg, names, prompt_length=prompt_length, **library)


class GoldenWriter:
    """Writes cases (``add``) into ``directory`` as the module's docstring says; ``finish`` adds the
    validation and order cases and writes ``cases.json``."""

    def __init__(self, directory: Path, tokenizer=None):
        self.directory = Path(directory)
        self.tokenizer = tokenizer  # DRY's sequence breakers are matched against its vocabulary
        (self.directory / "logits").mkdir(parents=True, exist_ok=True)
        (self.directory / "cases").mkdir(exist_ok=True)
        self.gc = GenerationConfig()  # transformers' global defaults: what the browser resolves against
        self.bare = SimpleNamespace(model=SimpleNamespace(generation_config=self.gc), tokenizer=None)
        self.cases: list[dict] = []
        self.skipped: list[dict] = []
        self.first = None

    def write_logits(self, contexts) -> None:
        for name, logits, ids in contexts:
            logits.numpy().astype("<f4").tofile(self.directory / "logits" / f"{name}.bin")
            self.first = self.first or (name, logits, ids)

    def add(self, ctx, settings, order, mtk=1, label="random", prompt_length=None):
        directory, cases = self.directory, self.cases
        name, logits, ids = ctx
        try:
            if any(k in SAMPLERS for k in settings):
                assert mtk == 1, "apply_in_order takes no min_tokens_to_keep"
                pairs, expect = sampler_scores(logits, ids, settings, order, self.gc, prompt_length, self.tokenizer)
            else:
                pairs, expect = transformers_scores(logits, ids, settings, order, mtk, self.gc)
        except ValueError as e:
            # an order that lets the n-gram ban remove the last kept token leaves every score
            # -inf, and η's Categorical refuses the NaNs: transformers has no answer to compare
            assert order != "hf" and "Categorical" in str(e), e
            self.skipped.append({"settings": settings, "order": order, "error": str(e).splitlines()[0]})
            return
        got, margin, where = _run_stages(pairs, ids, logits, mtk)
        assert torch.equal(got, expect)
        kept = torch.isfinite(expect).nonzero().flatten()
        n = len(cases)
        with open(directory / "cases" / f"{n}.bin", "wb") as fh:
            fh.write(np.array([kept.numel()], dtype="<i4").tobytes())
            fh.write(kept.numpy().astype("<i4").tobytes())
            fh.write(expect[kept].numpy().astype("<f4").tobytes())
        cases.append({
            "id": n, "label": label, "logits": name, "vocab": int(logits.numel()), "context": ids[0].tolist(),
            "settings": settings, "order": order, "min_tokens_to_keep": mtk, "prompt_length": prompt_length,
            "stages": [f for f, _ in pairs], "kept": int(kept.numel()),
            "margin": None if margin == INF else margin, "margin_stage": where,
        })
        for _, proc in pairs:  # mirostat's decision: μ, the surprise of the drawn token, the kept set's size, the token
            if getattr(proc, "trace", None) and isinstance(proc, (dl.MirostatLogitsProcessor, dl.MirostatV2LogitsProcessor)):
                mu, surprise, size, token = proc.trace[-1]
                cases[-1]["mirostat"] = {"mu": mu, "surprise": surprise, "kept": size, "token": token,
                                         "mu_next": float(proc.mu)}

    def add_random(self, rng: random.Random, contexts, n: int) -> None:
        """``n`` random configurations: generate()'s order (a third without an explicit top_k: the
        hidden 50), llama.cpp's chain, random orders, min_tokens_to_keep > 1."""
        every = [r.field for r in ALL_KNOBS]
        for i in range(n):
            settings = _random_settings(rng, every)
            if i % 3 == 0:
                settings.pop("top_k", None)
            ctx = rng.choice(contexts)
            order, mtk = "hf", 1
            r = i % 4
            if r == 1:  # llama.cpp's chain: only its processors
                settings = {k: v for k, v in settings.items() if k in LLAMA_CPP_ORDER}
                order = "llama_cpp"
            elif r == 2:  # a random order of a random superset of the active fields
                names = list(HF_ORDER)
                rng.shuffle(names)
                keep = [n for n in names if n in settings or n == "top_k" or rng.random() < 0.5]
                order = keep
            elif r == 3 and rng.random() < 0.5:
                mtk = rng.choice([2, 3])
            self.add(ctx, settings, order, mtk=mtk, label=f"random:{'hf' if order == 'hf' else 'llama_cpp' if order == 'llama_cpp' else 'custom'}")

    def add_boundaries(self, ctx, ranks=(3, 10)) -> None:
        """Thresholds set just above and just below a token's own probability (ε, min-p's ratio) or
        a cumulative sum (top-p), and top-k at a rank: decided by the rule, far from rounding."""
        p = torch.softmax(ctx[1], -1).sort(descending=True).values
        cum = torch.cumsum(p, 0)
        for r in ranks:
            for factor in (0.999, 1.001):
                self.add(ctx, {"epsilon_cutoff": float(p[r]) * factor, "top_k": 0}, "hf", label="boundary:epsilon")
                self.add(ctx, {"min_p": min(1.0, float(p[r] / p[0]) * factor), "top_k": 0}, "hf", label="boundary:min_p")
                self.add(ctx, {"top_p": min(1.0, float(cum[r]) * factor), "top_k": 0}, "hf", label="boundary:top_p")
            self.add(ctx, {"top_k": r}, "hf", label="boundary:top_k")

    def finish(self) -> dict:
        validation = []
        # validation: a bad value per field and Python's message
        bad = {
            "temperature": [0, -1, -0.5, True, "0.7"], "top_k": [-1, 2.5, True], "top_p": [1.3, -0.1, "x"],
            "min_p": [1.3, -1], "typical_p": [0, 1.5], "epsilon_cutoff": [1, -0.2, -1.5e-07, 1e16 + 0.5], "eta_cutoff": [1, 3.5],
            "top_h": [0, 1.1], "repetition_penalty": [0, -2, -1e-05], "no_repeat_ngram_size": [-1, 1.5],
            "top_n_sigma": [-1, -0.5, True, "1"],
            "xtc": [0.5, {"nope": 1}, {"xtc_threshold": 2}, {"xtc_probability": -0.1}, {"seed": -1}, {"seed": 1.5}, {"seed": 2**32}],
            "penalties": [{"penalty_last_n": -2}, {"penalty_repeat": 0}, {"penalty_freq": "1"}, [1.3]],
            "temp_ext": [{"temp": -1}, {"dynatemp_range": -0.5}, {"dynatemp_exponent": True}],
            "openai_penalties": [{"presence_penalty": 3}, {"frequency_penalty": -2.5}, {"frequency": 1}],
            "dry": [{"dry_multiplier": -1}, {"dry_allowed_length": 1.5}, {"dry_penalty_last_n": -1}, {"dry_base": "2"}],
            "mirostat": [{"mirostat": 3}, {"mirostat_tau": -1}, {"mirostat_eta": -0.1}, {"seed": 2**32}],
        }
        for field, values in bad.items():
            for v in values:
                try:
                    PROCESSORS[field].check(v) if field in LIBRARY or field in SAMPLERS else dl.DecodingConfig(**{field: v})
                except ValueError as e:
                    validation.append({"settings": {field: v}, "message": str(e)})
                else:
                    raise AssertionError(f"{field}={v!r} was accepted")
        good = [{"top_p": 0.9}, {"min_p": 0}, {"temperature": 2}, {"typical_p": 1}, {"top_h": 1}, {"top_k": 0}, {"top_n_sigma": 0},
                {"xtc": {}}, {"penalties": {"penalty_last_n": -1}}, {"temp_ext": {"temp": 0}}, {"openai_penalties": {"presence_penalty": 2}},
                {"dry": {"dry_multiplier": 0}}, {"mirostat": {"mirostat": 2}}]
        for settings in good:
            [PROCESSORS[k].check(v) for k, v in settings.items()]
            validation.append({"settings": settings, "message": None})

        # the orders: apply_in_order's messages
        order_errors = []
        _, logits, ids = self.first
        for order in ("top_p", ["top_p", "beam"], ["top_p", "top_p"]):
            try:
                dl.apply_in_order(NextToken(ids, logits, self.bare), dl.DecodingConfig(do_sample=True, top_p=0.5), order)
            except ValueError as e:
                order_errors.append({"order": order, "message": str(e)})

        breakers = dl.dry_breaker_table(self.tokenizer) if self.tokenizer is not None else None
        doc = {"table": json.loads(dl.processors.table_json()), "cases": self.cases, "validation": validation,
               "dry_breakers": breakers,
               "order_errors": order_errors, "skipped": self.skipped}
        (self.directory / "cases.json").write_text(json.dumps(doc))
        return doc


def write_goldens(directory: Path, lm, n_random: int = 240, seed: int = 0) -> dict:
    w = GoldenWriter(directory, lm.tokenizer)
    rng = random.Random(seed)

    # the contexts: (name, logits (V,), ids (1, L))
    contexts = []
    cap = dl.LogitCapture(lm)
    for i, prompt in enumerate(PROMPTS):
        step = cap(prompt)
        contexts.append((f"real{i}", step.logits.float(), step.input_ids))
    real_ids = [c[2] for c in contexts]
    for i, (vocab, kind) in enumerate([(8192, "ties"), (49152, "ties"), (8192, "extreme"), (49152, "extreme"), (8192, "flat"), (1000, "ties"), (6400, "ties"), (8192, "dyadic")]):
        ids = real_ids[(i + 3) % len(real_ids)] % vocab
        contexts.append((f"syn{i}_{kind}_{vocab}", _synthetic(vocab, 100 + i, kind), ids))
    w.write_logits(contexts)
    add = w.add

    real = contexts[: len(PROMPTS)]
    syn = contexts[len(PROMPTS):]
    # each processor alone (top_k=0 so the hidden 50 stays out), generate()'s order
    alone = {
        "repetition_penalty": [0.5, 0.9, 1.2, 2.0], "no_repeat_ngram_size": [1, 2, 3, 4],
        "temperature": [1e-3, 0.6, 1.7, 100.0], "top_h": [1e-3, 0.4, 0.9, 1.0], "top_k": [1, 7, 50, 49152, 200000],
        "top_p": [0.0, 0.3, 0.9, 0.999], "min_p": [0.0, 0.05, 0.3, 1.0], "typical_p": [1e-6, 0.3, 0.9, 0.999],
        "epsilon_cutoff": [1e-4, 3e-4, 0.01, 0.3], "eta_cutoff": [1e-4, 2e-3, 0.05, 0.5],
        "top_n_sigma": [0.0, 0.3, 1.0, 2.0, 5.0],
    }
    for field, values in alone.items():
        for v in values:
            for ctx in (real[3], real[0], syn[0], syn[3]):
                settings = {field: v} if field == "top_k" else {field: v, "top_k": 0}
                add(ctx, settings, "hf", label=f"alone:{field}")
    # min_tokens_to_keep > 1 (beam sampling), every warper that takes it
    for field, v in [("top_k", 1), ("top_p", 0.0), ("top_p", 0.5), ("min_p", 1.0), ("min_p", 0.2), ("typical_p", 1e-6),
                     ("typical_p", 0.5), ("epsilon_cutoff", 0.3), ("eta_cutoff", 0.5)]:
        for mtk in (2, 5):
            for ctx in (real[1], syn[0], syn[1]):
                add(ctx, {field: v, "top_k": 0} if field != "top_k" else {field: v}, "hf", mtk=mtk, label=f"mtk:{field}")
    # ε just above and just below a token's probability (decided by the rule, far from rounding)
    ctx = real[0]
    p = torch.softmax(ctx[1], -1).sort(descending=True).values
    for r in (3, 10):
        for factor in (0.999, 1.001):
            add(ctx, {"epsilon_cutoff": float(p[r]) * factor, "top_k": 0}, "hf", label="boundary:epsilon")
    # decided by the rule, not by rounding: on the dyadic context every p is 1/4096 (4094 tied
    # tokens) or 1/2048 (one token) exactly, and every cumulative sum is exact, so top-p's
    # `cum <= 1 - p` meets equality inside the tie (which tokens go is torch's sort order), ε = p
    # keeps (`p < ε` removes), min-p's p_max / 2 keeps the tied tokens (`p < floor` removes)
    # and typical_p = 4094/4096 meets `cum < mass` at equality at the edge of the tie
    dy = syn[-1]
    probs = torch.softmax(dy[1], -1)
    assert set(probs[probs > 0].tolist()) == {1 / 4096, 1 / 2048}, "the dyadic context is not exact in this torch"
    for settings in ({"top_p": 0.5}, {"top_p": 0.25}, {"top_p": 1 - 1 / 4096}, {"top_p": 1 / 2048}, {"top_p": 0.0},
                     {"epsilon_cutoff": 1 / 4096}, {"epsilon_cutoff": 1 / 2048}, {"min_p": 0.5}, {"min_p": 1.0},
                     {"typical_p": 0.5}, {"typical_p": 2047 / 2048}, {"top_h": 0.5}, {"top_k": 3}, {"top_k": 4095}):
        for mtk in (1, 3):
            add(dy, {"top_k": 0, **settings}, "hf", mtk=mtk, label="boundary:dyadic")
    # top-H's 100 candidates on a vocabulary of 64 * 100: torch.topk's std::partial_sort just applies
    for v in (0.3, 0.7, 1.0):
        add(syn[-2], {"top_h": v, "top_k": 0}, "hf", label="boundary:topk-6400")
    w.add_random(rng, contexts, n_random)
    add_samplers(w, rng, real, syn)
    return w.finish()


SAMPLER_VALUES = {
    "penalties": [{"penalty_repeat": 1.3}, {"penalty_repeat": 0.8, "penalty_last_n": -1},
                  {"penalty_freq": 0.5, "penalty_present": 0.3, "penalty_last_n": 8},
                  {"penalty_repeat": 1.1, "penalty_freq": -0.2, "penalty_present": 1.0}],
    "xtc": [{"xtc_probability": 1.0, "xtc_threshold": 0.05}, {"xtc_probability": 1.0}, {"xtc_probability": 1.0, "xtc_threshold": 0.3},
            {"xtc_probability": 0.5, "seed": 1}, {"xtc_probability": 0.5, "seed": 2}, {"xtc_probability": 0.5, "seed": 3}],
    "temp_ext": [{"temp": 0.8}, {"temp": 0.0}, {"temp": 1.0, "dynatemp_range": 0.5},
                 {"temp": 0.7, "dynatemp_range": 0.7, "dynatemp_exponent": 2.0}, {"temp": 1.5, "dynatemp_range": 1.0, "dynatemp_exponent": 0.5}],
    "openai_penalties": [{"frequency_penalty": 0.5}, {"presence_penalty": 1.5}, {"frequency_penalty": -1.0, "presence_penalty": 0.5}],
    "dry": [{"dry_multiplier": 0.8}, {"dry_multiplier": 1.5, "dry_base": 2.0, "dry_allowed_length": 1},
            {"dry_multiplier": 0.5, "dry_penalty_last_n": 8}, {"dry_multiplier": 3.0, "dry_base": 1.0, "dry_allowed_length": 3},
            {"dry_multiplier": 2.0, "dry_base": 100.0, "dry_allowed_length": 0}],
    "mirostat": [{"mirostat": 2, "seed": 1}, {"mirostat": 2, "mirostat_tau": 1.0, "seed": 2}, {"mirostat": 2, "mirostat_tau": 12.0, "seed": 7},
                 {"mirostat": 1, "seed": 3}, {"mirostat": 1, "mirostat_tau": 3.0, "mirostat_eta": 0.5, "seed": 4},
                 {"mirostat": 1, "mirostat_tau": 0.5, "seed": 5}],
}


def add_samplers(w: "GoldenWriter", rng: random.Random, real, syn) -> None:
    """llama.cpp's samplers with several settings (penalties, XTC, its temperature) and the OpenAI
    penalties: each alone, all of them in llama.cpp's chain with top-nσ and transformers' knobs,
    and in random orders; random values too."""
    for field, values in SAMPLER_VALUES.items():
        order = "hf" if field == "openai_penalties" else "llama_cpp"
        for v in values:
            for ctx in (real[3], real[0], syn[0], syn[3]):
                w.add(ctx, {field: v, "top_k": 0}, order, label=f"sampler:{field}", prompt_length=2 if field == "openai_penalties" else None)

    def random_sampler(field):
        if field == "penalties":
            return {"penalty_repeat": round(rng.uniform(0.7, 1.6), 3), "penalty_freq": rng.choice([0.0, round(rng.uniform(-1, 1), 3)]),
                    "penalty_present": rng.choice([0.0, round(rng.uniform(-1, 1), 3)]), "penalty_last_n": rng.choice([-1, 4, 16, 64])}
        if field == "xtc":
            return {"xtc_probability": rng.choice([1.0, 0.5, round(rng.uniform(0, 1), 3)]), "xtc_threshold": rng.choice([0.05, 0.1, round(rng.uniform(0, 0.5), 3)]),
                    "seed": rng.randrange(2**32 - 1)}
        if field == "temp_ext":
            return {"temp": rng.choice([0.5, 0.8, 1.0, round(rng.uniform(0.1, 2), 3)]), "dynatemp_range": rng.choice([0.0, 0.5, round(rng.uniform(0, 1.5), 3)]),
                    "dynatemp_exponent": rng.choice([1.0, round(rng.uniform(0.2, 3), 3)])}
        if field == "dry":
            return {"dry_multiplier": round(rng.uniform(0, 3), 3), "dry_base": rng.choice([1.0, 1.75, round(rng.uniform(1, 4), 3)]),
                    "dry_allowed_length": rng.choice([0, 1, 2, 4]), "dry_penalty_last_n": rng.choice([4, 16, 64, 1000])}
        if field == "mirostat":
            return {"mirostat": rng.choice([1, 2]), "mirostat_tau": round(rng.uniform(0.5, 10), 3),
                    "mirostat_eta": round(rng.uniform(0, 1), 3), "seed": rng.randrange(2**32 - 1)}
        return {"frequency_penalty": round(rng.uniform(-2, 2), 3), "presence_penalty": round(rng.uniform(-2, 2), 3)}

    contexts = real + syn
    for i in range(90):
        ctx = rng.choice(contexts)
        settings = {f: random_sampler(f) for f in SAMPLER_VALUES if rng.random() < (0.25 if f == "mirostat" else 0.6) or f == "xtc"}
        knobs = _random_settings(rng, [r.field for r in ALL_KNOBS])
        if i % 3 == 0:  # llama.cpp's chain: only its processors
            settings.pop("openai_penalties", None)
            settings.update({k: v for k, v in knobs.items() if k in LLAMA_CPP_ORDER})
            order, label = "llama_cpp", "random-sampler:llama_cpp"
        elif i % 3 == 1:
            settings.update(knobs)
            order, label = "hf", "random-sampler:hf"
        else:
            settings.update(knobs)
            names = list(HF_ORDER)
            rng.shuffle(names)
            order = [n for n in names if n in settings or n == "top_k" or rng.random() < 0.5]
            label = "random-sampler:custom"
        w.add(ctx, settings, order, label=label, prompt_length=rng.choice([None, 1, 3]))


def write_playground_goldens(directory: Path, playground: Path, n_random: int = 200, seed: int = 1) -> dict:
    """Golden cases on the playground's own contexts (``decoding_lessons.playground``'s files in
    ``playground``): ``n_random`` random configurations and boundary cases on a few of them."""
    w = GoldenWriter(directory)
    index = json.loads((Path(playground) / "index.json").read_text())
    contexts = []
    for entry in index["contexts"]:
        key = entry["key"]
        logits = torch.from_numpy(np.fromfile(Path(playground) / f"{key}.f32", dtype="<f4").copy())
        ids = torch.tensor([json.loads((Path(playground) / f"{key}.json").read_text())["ids"]])
        contexts.append((f"pg_{key}", logits, ids))
    w.write_logits(contexts)
    w.add_random(random.Random(seed), contexts, n_random)
    for ctx in contexts[::5]:
        w.add_boundaries(ctx)
    return w.finish()


if __name__ == "__main__":
    out = Path(sys.argv[1])
    doc = write_goldens(out, dl.load_model("embedded", device="cpu"))
    print(f"{len(doc['cases'])} cases in {out}")
