"""llama.cpp's samplers as transformers ``LogitsProcessor`` s, operation by operation.

The reference is ``src/llama-sampler.cpp`` of the llama.cpp that ``llama-cpp-python==0.3.36``
vendors (llama.cpp commit ``0c1e57098bba43ac29e6e3b677cdceebdd22334f``). Each class here follows
one ``llama_sampler_*_apply`` function in float32 where llama.cpp computes in float32, and is usable
with ``model.generate(logits_processor=LogitsProcessorList([...]))``.

How llama.cpp's candidate array maps onto our scores:

- llama.cpp works on a ``llama_token_data_array`` of ``{id, logit, p}``; a sampler either edits
  ``logit`` (penalties, temperature, top-nσ write ``-inf``), or shrinks the array (XTC, mirostat:
  the tokens left out are gone). Our ``scores[b, id]`` is ``logit``; a token left out of the array is
  ``-inf`` here. ``p`` is llama.cpp's softmax over the array (``llama_sampler_softmax_impl``:
  descending sort, ``expf(logit - max)``, a float32 running sum in that order); the kept
  probabilities compared in the tests are the softmax of the kept logits.
- Ties: llama.cpp sorts with ``std::partial_sort``/``std::sort`` (not stable), so which of two
  tokens with the *same* logit comes first is the C++ library's choice. We sort by logit
  descending, then by token id; a sampler whose decision depends on the order of exactly tied
  tokens (XTC's last kept "top choice", mirostat's draw between tied tokens) can differ there.
- Random numbers: llama.cpp seeds a ``std::mt19937`` per sampler. :class:`MT19937` is that
  generator, and :func:`uniform_float` / :func:`uniform_double` are libstdc++'s
  ``generate_canonical`` for ``float`` (one 32-bit draw, XTC) and ``double`` (two draws,
  ``std::discrete_distribution`` in mirostat). So a seed gives llama.cpp's decisions; or pass the
  uniform draws yourself (``draws=[...]``) to feed both sides the same numbers.
- A JS or other port must keep the same float32 steps (``Math.fround``) and the same draw order.

Not here yet: DRY, mirostat v1, llama.cpp's full default chain.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import torch
from transformers import LogitsProcessor

from .checks import check_float, check_int

LLAMA_CPP_VERSION = "llama-cpp-python 0.3.36 (llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f)"

_F32 = array("f", [0.0])


def _f32(x: float) -> float:
    """Round a Python float to float32 (as a C ``float`` assignment does)."""
    _F32[0] = x
    return _F32[0]


class MT19937:
    """``std::mt19937`` (32-bit Mersenne Twister), seeded as ``std::mt19937(seed)``.

    Examples:
        >>> MT19937(5489)()  # the C++ standard's check value is the 10000th draw; the first is:
        3499211612
    """

    def __init__(self, seed: int):
        check_int("seed", seed, 0, 2**32 - 1)
        mt = [0] * 624
        mt[0] = seed
        for i in range(1, 624):
            mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
        self.mt, self.index = mt, 624

    def __call__(self) -> int:
        mt = self.mt
        if self.index >= 624:
            for i in range(624):
                y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.index = 0
        y = mt[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y & 0xFFFFFFFF


def uniform_float(rng: MT19937) -> float:
    """``std::uniform_real_distribution<float>(0, 1)(rng)`` as libstdc++ computes it."""
    u = _f32(float(rng())) / 4294967296.0
    return _f32(1.0 - 2.0**-24) if u >= 1.0 else u


def uniform_double(rng: MT19937) -> float:
    """``generate_canonical<double, 53>(rng)`` (libstdc++): two 32-bit draws."""
    total = float(rng())
    total += float(rng()) * 4294967296.0
    u = total / 18446744073709551616.0
    return math.nextafter(1.0, 0.0) if u >= 1.0 else u


class _Draws:
    """Uniform numbers from a seed (llama.cpp's generator) or from a given list."""

    def __init__(self, seed, draws):
        if (seed is None) == (draws is None):
            raise ValueError("give exactly one of `seed` and `draws`")
        if draws is not None:
            for u in draws:
                check_float("draws", u, 0, 1, high_open=True)
            self.draws = list(draws)
        else:
            self.rng = MT19937(seed)
            self.draws = None

    def next(self, kind: str) -> float:
        if self.draws is not None:
            if not self.draws:
                raise ValueError("`draws` has run out of uniform numbers")
            return self.draws.pop(0)
        return uniform_float(self.rng) if kind == "float" else uniform_double(self.rng)


def _sorted_softmax(logits: np.ndarray, ids: np.ndarray):
    """``llama_sampler_softmax_impl(cur_p, true)`` on the candidates ``ids``: returns the ids sorted by
    logit descending (ties by id) and their float32 probabilities."""
    order = np.lexsort((ids, -logits[ids].astype(np.float64)))
    ids = ids[order]
    lg = logits[ids].astype(np.float32)
    ex = np.exp((lg - lg[0]).astype(np.float64)).astype(np.float32)  # expf, correctly rounded
    total = np.cumsum(ex, dtype=np.float32)[-1]  # float32 running sum in sorted order
    return ids, (ex / total).astype(np.float32)


def _rows(scores: torch.FloatTensor):
    return scores.detach().to(torch.float32).cpu().numpy().copy()


def _back(rows: np.ndarray, like: torch.FloatTensor) -> torch.FloatTensor:
    return torch.from_numpy(rows).to(device=like.device, dtype=like.dtype)


class TopNSigmaLogitsProcessor(LogitsProcessor):
    """top-nσ (Tang et al. 2024, https://arxiv.org/abs/2411.07641): keep logits >= max − n·σ.

    ``llama_sampler_top_n_sigma_apply``: mean and σ over the finite logits (float32 sums), tokens
    below ``max - n*std`` become ``-inf``. ``n <= 0`` leaves the scores as they are, as in llama.cpp.
    """

    def __init__(self, top_n_sigma: float):
        check_float("top_n_sigma", top_n_sigma, 0)
        self.n = _f32(float(top_n_sigma))

    def apply_row(self, x: np.ndarray) -> np.ndarray:
        if self.n <= 0.0 or x.size <= 1:
            return x
        valid = x[x != -np.inf]
        count = valid.size
        mx = _f32(max(float(x[0]), float(valid.max()))) if count else float(x[0])
        mean = _f32(float(np.cumsum(valid, dtype=np.float32)[-1]) / _f32(float(count))) if count else 0.0
        acc = 0.0
        for v in valid.tolist():
            d = _f32(v - mean)
            acc = _f32(acc + d * d)  # pow(float, 2) is a double; acc += rounds back to float
        std = _f32(math.sqrt(_f32(acc / _f32(float(count))))) if count else 0.0
        threshold = _f32(mx - _f32(self.n * std))
        out = x.copy()
        out[x < np.float32(threshold)] = -np.inf
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = _rows(scores)
        return _back(np.stack([self.apply_row(r) for r in rows]), scores)


class XTCLogitsProcessor(LogitsProcessor):
    """XTC, "exclude top choices" (llama.cpp's ``llama_sample_xtc_apply``).

    With probability ``xtc_probability`` (one uniform float draw per call, only when the sampler is
    active and there are >= 2 candidates), every token with ``p >= xtc_threshold`` except the least
    likely of them is removed, provided ``min_keep`` tokens remain. ``xtc_threshold > 0.5`` or
    ``xtc_probability == 0`` disables it (no draw), as in llama.cpp. ``seed`` seeds llama.cpp's
    ``std::mt19937``; or give the uniform ``draws``.
    """

    def __init__(self, xtc_probability: float, xtc_threshold: float, min_keep: int = 1, seed=None, draws=None):
        check_float("xtc_probability", xtc_probability, 0, 1)
        check_float("xtc_threshold", xtc_threshold, 0, 1)
        check_int("min_keep", min_keep, 0)
        self.probability, self.threshold = _f32(float(xtc_probability)), _f32(float(xtc_threshold))
        self.min_keep = min_keep
        self.rand = _Draws(seed, draws)
        self.fired: list[bool] = []

    def apply_row(self, x: np.ndarray) -> np.ndarray:
        ids = np.arange(x.size)
        if self.probability <= 0.0 or self.threshold > 0.5 or ids.size < 2:
            return x
        chance = self.rand.next("float")
        if chance > self.probability:
            self.fired.append(False)
            return x
        self.fired.append(True)
        ids, p = _sorted_softmax(x, ids)
        pos_last = 0
        for i in range(p.size):
            if p[i] >= np.float32(self.threshold):
                pos_last = i
            else:
                break
        out = x.copy()
        if ids.size - pos_last >= self.min_keep and pos_last > 0:
            out[ids[:pos_last]] = -np.inf
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = _rows(scores)
        return _back(np.stack([self.apply_row(r) for r in rows]), scores)


class MirostatV2LogitsProcessor(LogitsProcessor):
    """Mirostat 2.0 (Basu et al. 2020, https://arxiv.org/abs/2007.14966), as
    ``llama_sampler_mirostat_v2_apply``: keep the sorted tokens until the first whose surprise
    ``-log2 p`` exceeds μ (at least one), renormalise, draw one (``std::discrete_distribution``),
    then ``μ ← μ − η·(surprise − τ)``. μ starts at ``2τ``. The drawn token is the only finite score
    left, so any later sampling or greedy step picks it. ``trace`` holds ``(mu_before, surprise,
    kept, token)`` per call (one batch row).
    """

    def __init__(self, tau: float, eta: float, seed=None, draws=None):
        check_float("tau", tau, 0)
        check_float("eta", eta, 0)
        self.tau, self.eta = _f32(float(tau)), _f32(float(eta))
        self.mu = _f32(2.0 * self.tau)
        self.rand = _Draws(seed, draws)
        self.trace: list[tuple[float, float, int, int]] = []

    def apply_row(self, x: np.ndarray) -> np.ndarray:
        ids, p = _sorted_softmax(x, np.arange(x.size))
        with np.errstate(divide="ignore"):  # p == 0: surprise inf, as -log2f(0) is
            surprise = -np.log2(p.astype(np.float64)).astype(np.float32)
        over = np.flatnonzero(surprise > np.float32(self.mu))
        size = int(over[0]) if over.size else ids.size
        size = max(size, 1)
        ids, p = _sorted_softmax(x, ids[:size])
        if size < 2:
            idx = 0  # libstdc++'s discrete_distribution draws nothing for one outcome
        else:
            probs = p.astype(np.float64)
            cp = np.cumsum(probs / _accumulate(probs))
            cp[-1] = 1.0
            idx = int(np.searchsorted(cp, self.rand.next("double"), side="left"))
        observed = _f32(-math.log2(float(p[idx])))
        mu_before = self.mu
        self.mu = _f32(self.mu - _f32(self.eta * _f32(observed - self.tau)))
        self.trace.append((mu_before, observed, size, int(ids[idx])))
        out = np.full_like(x, -np.inf)
        out[ids[idx]] = x[ids[idx]]
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = _rows(scores)
        return _back(np.stack([self.apply_row(r) for r in rows]), scores)


def _accumulate(values: np.ndarray) -> float:
    """``std::accumulate(begin, end, 0.0)``: a left-to-right double sum."""
    total = 0.0
    for v in values.tolist():
        total += v
    return total


class TempExtLogitsProcessor(LogitsProcessor):
    """Dynamic temperature (``llama_sampler_temp_ext_apply``): with ``delta > 0`` the temperature is
    ``min_t + (max_t − min_t)·(H/H_max)^exponent`` over ``[max(0, T − δ), T + δ]``, H the entropy (nats)
    of the softmax; with ``delta <= 0`` plain temperature (``T <= 0``: only the first maximum stays).
    """

    def __init__(self, temperature: float, delta: float = 0.0, exponent: float = 1.0):
        check_float("temperature", temperature, 0)
        check_float("delta", delta, 0)
        check_float("exponent", exponent, 0)
        self.temp, self.delta, self.exponent = _f32(float(temperature)), _f32(float(delta)), _f32(float(exponent))
        self.last_temperature: float | None = None

    @staticmethod
    def _temp(x: np.ndarray, t: float) -> np.ndarray:
        if t <= 0.0:
            out = np.full_like(x, -np.inf)
            i = int(np.argmax(x))  # the first maximum, as llama_sampler_temp_impl keeps
            out[i] = x[i]
            return out
        return (x / np.float32(t)).astype(np.float32)

    def apply_row(self, x: np.ndarray) -> np.ndarray:
        if self.delta > 0:
            min_t = max(0.0, _f32(self.temp - self.delta))
            max_t = _f32(self.temp + self.delta)
            if x.size <= 1:
                return x
            max_entropy = _f32(-math.log(_f32(1.0 / _f32(float(x.size)))))
            _, p = _sorted_softmax(x, np.arange(x.size))
            pos = p[p > 0].astype(np.float64)
            terms = (pos * np.log(pos).astype(np.float32).astype(np.float64)).astype(np.float32)
            entropy = float(np.cumsum(-terms, dtype=np.float32)[-1]) if terms.size else 0.0
            norm = _f32(entropy / max_entropy)
            t = _f32(min_t + _f32(_f32(max_t - min_t) * _f32(norm ** self.exponent)))
            self.last_temperature = t
            return self._temp(x, t)
        self.last_temperature = self.temp
        return self._temp(x, self.temp)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = _rows(scores)
        return _back(np.stack([self.apply_row(r) for r in rows]), scores)


class LlamaCppPenaltiesLogitsProcessor(LogitsProcessor):
    """llama.cpp's ``penalties`` sampler over the last ``penalty_last_n`` tokens of the context
    (the prompt included, as llama.cpp's CLI and server feed it): for each token seen ``c`` times,
    ``logit *= repeat`` if ``logit <= 0`` else ``logit /= repeat``, then
    ``logit -= c·frequency + presence``. ``penalty_last_n = -1``: the whole context; ``0``: off.
    """

    def __init__(self, penalty_last_n: int = 64, repeat_penalty: float = 1.0, frequency_penalty: float = 0.0,
                 presence_penalty: float = 0.0):
        check_int("penalty_last_n", penalty_last_n, -1)
        check_float("repeat_penalty", repeat_penalty, 0, low_open=True)
        check_float("frequency_penalty", frequency_penalty)
        check_float("presence_penalty", presence_penalty)
        self.last_n = penalty_last_n
        self.repeat, self.freq, self.present = (_f32(float(v)) for v in (repeat_penalty, frequency_penalty, presence_penalty))

    def apply_row(self, x: np.ndarray, context: list[int]) -> np.ndarray:
        if self.last_n == 0 or (self.repeat == 1.0 and self.freq == 0.0 and self.present == 0.0):
            return x
        window = context if self.last_n == -1 else context[-self.last_n:] if context else []
        ids, counts = np.unique(np.asarray(window, dtype=np.int64), return_counts=True)
        out = x.copy()
        for i, c in zip(ids.tolist(), counts.tolist()):
            v = float(out[i])
            v = _f32(v * self.repeat) if v <= 0 else _f32(v / self.repeat)
            out[i] = _f32(v - _f32(_f32(float(c) * self.freq) + self.present))
        return out

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = _rows(scores)
        ctx = input_ids.tolist()
        return _back(np.stack([self.apply_row(r, c) for r, c in zip(rows, ctx)]), scores)


class OpenAIPenaltiesLogitsProcessor(LogitsProcessor):
    """The OpenAI API's (and vLLM's) presence and frequency penalties: over the *generated* tokens
    only (not the prompt), ``logit -= count·frequency_penalty + (count > 0)·presence_penalty``; both
    in ``[-2, 2]``. The prompt length is taken from the first call (or given)."""

    def __init__(self, frequency_penalty: float = 0.0, presence_penalty: float = 0.0, prompt_length: int | None = None):
        check_float("frequency_penalty", frequency_penalty, -2, 2)
        check_float("presence_penalty", presence_penalty, -2, 2)
        if prompt_length is not None:
            check_int("prompt_length", prompt_length, 0)
        self.freq, self.present, self.prompt_length = float(frequency_penalty), float(presence_penalty), prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        out = input_ids[:, self.prompt_length:]
        counts = torch.zeros_like(scores)
        counts.scatter_add_(1, out, torch.ones_like(out, dtype=scores.dtype))
        return scores - self.freq * counts - self.present * (counts > 0).to(scores.dtype)


__all__ = [
    "LLAMA_CPP_VERSION",
    "LlamaCppPenaltiesLogitsProcessor",
    "MT19937",
    "MirostatV2LogitsProcessor",
    "OpenAIPenaltiesLogitsProcessor",
    "TempExtLogitsProcessor",
    "TopNSigmaLogitsProcessor",
    "XTCLogitsProcessor",
    "uniform_double",
    "uniform_float",
]
