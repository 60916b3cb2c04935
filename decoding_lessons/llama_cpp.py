"""llama.cpp's samplers as transformers ``LogitsProcessor`` s, operation by operation.

The reference is ``src/llama-sampler.cpp`` of the llama.cpp that ``llama-cpp-python==0.3.36``
vendors (llama.cpp commit ``0c1e57098bba43ac29e6e3b677cdceebdd22334f``), and its
``common/common.h`` / ``common/sampling.cpp`` for the default chain. Each class here follows one
``llama_sampler_*_apply`` function in float32 where llama.cpp computes in float32, and is usable
with ``model.generate(logits_processor=LogitsProcessorList([...]))``:

- top-nσ, XTC, mirostat (v1 and v2), dynamic temperature (``temp_ext``), llama.cpp's penalties,
  DRY, and llama.cpp's own top-k, top-p, min-p and typical (:class:`LlamaCppTopKLogitsProcessor`
  ...), the final ``dist`` draw (:class:`DistLogitsProcessor`);
- :func:`llama_cpp_chain`: llama.cpp's default chain with its defaults (:data:`LLAMA_CPP_DEFAULTS`);
- the OpenAI/vLLM presence and frequency penalties (:class:`OpenAIPenaltiesLogitsProcessor`).

How llama.cpp's candidate array maps onto our scores:

- llama.cpp works on a ``llama_token_data_array`` of ``{id, logit, p}`` with a ``sorted`` flag; a
  sampler either edits ``logit`` (penalties, DRY, temperature, top-nσ write ``-inf`` and keep the
  token in the array), or shrinks the array (top-k, top-p, min-p, typical, XTC, mirostat: the
  tokens left out are gone), and some reorder it (a sort by logit; typical's order by "surprise
  distance"). Our ``scores[b, id]`` is ``logit``; a token left out of the array is ``-inf`` here.
  ``p`` is llama.cpp's softmax over the array (``llama_sampler_softmax_impl``: ``expf(logit -
  max)``, a float32 running sum *in array order*); the kept probabilities compared in the tests
  are the softmax of the kept logits.
- A processor called on its own sees a fresh array: the whole vocabulary in token-id order, as
  ``llama_sampler_sample`` builds it. The processors of one :func:`llama_cpp_chain` pass llama.cpp's
  array (its order, its size with the ``-inf`` entries that are still in it, its ``sorted`` flag)
  from one to the next, so that the chain is llama.cpp's chain and not only its kept sets: which
  token ``dist`` draws for a given random number depends on the order of the array.
- Ties: llama.cpp sorts with ``std::partial_sort`` (128 entries or fewer) or a bucket sort whose
  buckets it ``std::sort``-s; neither is stable, so which of two tokens with the *same* logit comes
  first is the C++ library's choice. :mod:`._stdsort` carries libstdc++'s algorithms step for
  step, and the arrays here are sorted as llama.cpp sorts them (``_Cands.sort``, ``_bucket_sort``,
  top-p's adaptive 256-then-all, typical's ``std::sort`` of indices), so a decision between exactly
  tied tokens (XTC's last kept "top choice", top-k's last place, a draw between tied tokens) is
  llama.cpp's too: the tests demand the same token in every golden call.
- Random numbers: llama.cpp seeds a ``std::mt19937`` per sampler. :class:`MT19937` is that
  generator, and :func:`uniform_float` / :func:`uniform_double` are libstdc++'s
  ``generate_canonical`` for ``float`` (one 32-bit draw, XTC) and ``double`` (two draws,
  ``std::discrete_distribution`` in mirostat, ``uniform_real_distribution<double>`` in dist). So
  a seed gives llama.cpp's decisions; or pass the uniform draws yourself (``draws=[...]``).
- Scalar ``logf``/``powf``/``log2f`` calls are the C library's own (through ``ctypes``, as
  llama.cpp's are; glibc's ``logf`` is not correctly rounded in about 0.7% of arguments); the
  vectorised ``expf``/``logf`` over a whole array are correctly rounded float32 (numpy in float64,
  rounded), which glibc's equal but for one ulp on rare arguments.
- A JS or other port must keep the same float32 steps (``Math.fround``) and the same draw order.

Not ported: the grammar,
infill, adaptive-p and logit-bias samplers. Ported as llama.cpp does it, though it is a quirk:
``typical`` on an array that holds a ``-inf`` (top-nσ's, say): the entropy is NaN, and the order
is what ``std::sort`` does with no comparison true.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import secrets
import weakref
from array import array

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList

from ._stdsort import partial_sort, std_sort
from .checks import check_float, check_int
from .tokens import byte_decoder

LLAMA_CPP_VERSION = "llama-cpp-python 0.3.36 (llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f)"
LLAMA_DEFAULT_SEED = 0xFFFFFFFF  # llama.h: "a random seed" (std::random_device)

_F32 = array("f", [0.0])


def _f32(x: float) -> float:
    """Round a Python float to float32 (as a C ``float`` assignment does)."""
    _F32[0] = x
    return _F32[0]


def _load_libm():
    name = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(name) if name else None
        fns = {}
        for fn, nargs in (("logf", 1), ("log2f", 1), ("powf", 2)):
            f = getattr(lib, fn)
            f.restype, f.argtypes = ctypes.c_float, [ctypes.c_float] * nargs
            fns[fn] = f
        return fns
    except (OSError, AttributeError, TypeError):
        return None


_LIBM = _load_libm()


def _logf(x: float) -> float:
    if _LIBM is not None:
        return _LIBM["logf"](x)
    return _f32(math.log(x)) if x > 0 else (-math.inf if x == 0 else math.nan)


def _log2f(x: float) -> float:
    if _LIBM is not None:
        return _LIBM["log2f"](x)
    return _f32(math.log2(x)) if x > 0 else (-math.inf if x == 0 else math.nan)


def _powf(x: float, y: float) -> float:
    if _LIBM is not None:
        return _LIBM["powf"](x, y)
    try:
        return _f32(math.pow(x, y))
    except (OverflowError, ValueError):
        return math.inf if x > 1 else math.nan


def _expf_vec(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        return np.exp(x.astype(np.float64)).astype(np.float32)


def _int_of_float(x: float) -> int:
    """C++ ``int(float)`` on x86-64 (``cvttss2si``): truncation; NaN or out of range gives INT_MIN."""
    if math.isnan(x) or not (-2147483648.0 <= x < 2147483648.0):
        return -2147483648
    return int(x)


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


def _seed_of(seed: int) -> int:
    """A sampler's seed as llama.cpp takes it: ``LLAMA_DEFAULT_SEED`` asks for a random one."""
    return secrets.randbits(32) if seed == LLAMA_DEFAULT_SEED else seed


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


def _bucket_sort(logits: np.ndarray, npartial: int) -> np.ndarray:
    """``llama_token_data_array_partial_sort(cur, npartial, res)``: the positions, in the order it
    leaves them, of the highest logits (at least ``npartial``; the first ``npartial`` sorted
    descending). The logits go into 128 buckets over [-10, 10] (clamped), in array order, from the
    highest bucket down until ``npartial`` are in; each full bucket is ``std::sort``-ed and the last
    one ``std::partial_sort``-ed, by ``a.logit > b.logit``."""
    x = logits.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        raw = x * np.float32(6.4) + np.float32(64.0)  # bucket_scale * val + bucket_inter, in float32
    ok = np.isfinite(raw) & (raw >= -2147483648.0) & (raw < 2147483648.0)
    ib_all = np.where(ok, np.trunc(np.where(ok, raw, 0)), -2147483648).astype(np.int64)  # int(float): INT_MIN out of range
    ib_all = np.clip(ib_all, 0, 127)
    histo = np.bincount(ib_all, minlength=128)
    have, ib = 0, 127
    while ib >= 0:
        have += int(histo[ib])
        if have >= npartial:
            break
        ib -= 1
    ib = max(ib, 0)
    pieces, done = [], 0
    for j in range(127, ib - 1, -1):
        members = np.flatnonzero(ib_all == j)  # in array order
        if not members.size:
            continue
        keys = -x[members]  # a.logit > b.logit is -a.logit < -b.logit
        if j > ib:
            pieces.append(members[std_sort(keys)])
            done += members.size
        else:
            pieces.append(members[partial_sort(keys, npartial - done)])
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)


class _Cands:
    """A ``llama_token_data_array``: token ids and float32 logits in array order, the ``sorted``
    flag, and the selected position (``None`` until a selecting sampler ran)."""

    __slots__ = ("ids", "logits", "sorted", "selected")

    def __init__(self, ids: np.ndarray, logits: np.ndarray, is_sorted: bool = False):
        self.ids, self.logits, self.sorted, self.selected = ids, logits, is_sorted, None

    @classmethod
    def full(cls, row: np.ndarray) -> "_Cands":
        return cls(np.arange(row.size, dtype=np.int64), row.astype(np.float32).copy())

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def sort(self, npartial: int | None = None) -> None:
        """``llama_token_data_array_partial_sort_inplace(cur_p, npartial)``: the ``npartial`` (all)
        highest logits, descending, in llama.cpp's own order between exact ties; the array keeps
        only them."""
        n = self.size if npartial is None else min(npartial, self.size)
        if n <= 128:
            order = partial_sort(-self.logits, n)
        else:
            order = _bucket_sort(self.logits, n)[:n]
        self.ids, self.logits, self.sorted = self.ids[order], self.logits[order], True

    def take(self, positions) -> None:
        self.ids, self.logits = self.ids[positions], self.logits[positions]

    def keep(self, n: int) -> None:
        self.take(slice(0, n))

    def softmax(self, do_sort: bool) -> np.ndarray:
        """``llama_sampler_softmax_impl``: the float32 ``p`` of each entry, in array order."""
        if do_sort and not self.sorted:
            self.sort()
        lg = self.logits
        max_l = lg[0] if self.sorted else lg.max()
        with np.errstate(invalid="ignore"):
            ex = _expf_vec(lg - max_l)
        total = np.cumsum(ex, dtype=np.float32)[-1]  # float32 running sum in array order
        with np.errstate(invalid="ignore", divide="ignore"):
            return (ex / total).astype(np.float32)

    def keep_selected(self, position: int) -> None:
        """A drawing sampler's choice (``cur_p->selected``), left as the array's only entry: a
        sampler after it in :func:`~decoding_lessons.apply_in_order` sees that token alone."""
        self.take(slice(position, position + 1))
        self.selected = 0

    def top_k(self, k: int) -> None:
        """``llama_sampler_top_k_impl``."""
        if k <= 0:
            return
        k = min(k, self.size)
        if not self.sorted:
            self.sort(k)
        self.keep(k)

    def row(self, vocab: int) -> np.ndarray:
        out = np.full(vocab, -np.inf, dtype=np.float32)
        if self.selected is not None:
            out[self.ids[self.selected]] = self.logits[self.selected]
        else:
            out[self.ids] = self.logits
        return out


def _rows(scores: torch.FloatTensor):
    return scores.detach().to(torch.float32).cpu().numpy().copy()


def _back(rows: np.ndarray, like: torch.FloatTensor) -> torch.FloatTensor:
    return torch.from_numpy(rows).to(device=like.device, dtype=like.dtype)


class _Link:
    """The candidate arrays that the processors of one :func:`llama_cpp_chain` hand on: the
    processor at position ``i`` takes the arrays that position ``i - 1`` left, provided the scores
    it receives are the ones that position returned (else it starts from a fresh array)."""

    def __init__(self):
        self.position, self.scores, self.arrays = None, None, None

    def take(self, position: int, scores: torch.Tensor):
        if position == 0 or self.position != position - 1 or self.scores is None:
            return None
        if scores is not self.scores and not (scores.shape == self.scores.shape and torch.equal(scores, self.scores)):
            return None
        return self.arrays

    def put(self, position: int, scores: torch.Tensor, arrays) -> None:
        self.position, self.scores, self.arrays = position, scores, arrays


class _Sampler(LogitsProcessor):
    """A llama.cpp sampler: ``apply_array`` edits one candidate array, as ``llama_sampler_apply``."""

    _link: _Link | None = None
    _position: int = 0

    def apply_array(self, cur: _Cands, context: list[int]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_row(self, x: np.ndarray, context=()) -> np.ndarray:
        """The sampler on one fresh array (the scores ``x`` of one row, in token-id order)."""
        cur = _Cands.full(np.asarray(x, dtype=np.float32))
        self.apply_array(cur, list(context))
        return cur.row(np.asarray(x).size)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = _rows(scores)
        arrays = self._link.take(self._position, scores) if self._link is not None else None
        if arrays is None:
            arrays = [_Cands.full(r) for r in rows]
        contexts = input_ids.tolist() if input_ids is not None else [[] for _ in arrays]
        for cur, context in zip(arrays, contexts):
            self.apply_array(cur, context)
        out = _back(np.stack([cur.row(rows.shape[1]) for cur in arrays]), scores)
        if self._link is not None:
            self._link.put(self._position, out, arrays)
        return out


class TopNSigmaLogitsProcessor(_Sampler):
    """top-nσ (Tang et al. 2024, https://arxiv.org/abs/2411.07641): keep logits >= max − n·σ.

    ``llama_sampler_top_n_sigma_apply``: mean and σ over the finite logits (float32 sums), tokens
    below ``max - n*std`` become ``-inf``. ``n <= 0`` leaves the scores as they are, as in llama.cpp.
    """

    def __init__(self, top_n_sigma: float):
        check_float("top_n_sigma", top_n_sigma, 0)
        self.n = _f32(float(top_n_sigma))

    def apply_array(self, cur: _Cands, context) -> None:
        x = cur.logits
        if self.n <= 0.0 or x.size <= 1:
            return
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
        cur.logits = np.where(x < np.float32(threshold), np.float32(-np.inf), x).astype(np.float32)


class XTCLogitsProcessor(_Sampler):
    """XTC, "exclude top choices" (llama.cpp's ``llama_sample_xtc_apply``).

    With probability ``xtc_probability`` (one uniform float draw per call, only when the sampler is
    active and there are >= 2 candidates), every token with ``p >= xtc_threshold`` except the least
    likely of them is removed, provided ``min_keep`` tokens remain. ``xtc_threshold > 0.5`` or
    ``xtc_probability == 0`` disables it (no draw), as in llama.cpp. ``seed`` seeds llama.cpp's
    ``std::mt19937``; or give the uniform ``draws``. ``fired`` records each draw's outcome.
    """

    def __init__(self, xtc_probability: float, xtc_threshold: float, min_keep: int = 1, seed=None, draws=None):
        check_float("xtc_probability", xtc_probability, 0, 1)
        check_float("xtc_threshold", xtc_threshold, 0, 1)
        check_int("min_keep", min_keep, 0)
        self.probability, self.threshold = _f32(float(xtc_probability)), _f32(float(xtc_threshold))
        self.min_keep = min_keep
        self.rand = _Draws(seed, draws)
        self.fired: list[bool] = []

    def apply_array(self, cur: _Cands, context) -> None:
        if self.probability <= 0.0 or self.threshold > 0.5 or cur.size < 2:
            return
        chance = self.rand.next("float")
        if chance > self.probability:
            self.fired.append(False)
            return
        self.fired.append(True)
        p = cur.softmax(True)
        pos_last = 0
        for i in range(p.size):
            if p[i] >= np.float32(self.threshold):
                pos_last = i
            else:
                break
        if cur.size - pos_last >= self.min_keep and pos_last > 0:
            cur.take(slice(pos_last, None))


def _discrete(p: np.ndarray, rand: _Draws) -> int:
    """``std::discrete_distribution<int>(p...)(rng)`` (libstdc++): no draw for one outcome."""
    if p.size < 2:
        return 0
    probs = p.astype(np.float64)
    cp = np.cumsum(probs / _accumulate(probs))
    cp[-1] = 1.0
    return int(np.searchsorted(cp, rand.next("double"), side="left"))


def _accumulate(values: np.ndarray) -> float:
    """``std::accumulate(begin, end, 0.0)``: a left-to-right double sum."""
    total = 0.0
    for v in values.tolist():
        total += v
    return total


class MirostatV2LogitsProcessor(_Sampler):
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

    def apply_array(self, cur: _Cands, context) -> None:
        p = cur.softmax(True)
        with np.errstate(divide="ignore"):  # p == 0: surprise inf, as -log2f(0) is
            surprise = -np.log2(p.astype(np.float64)).astype(np.float32)
        over = np.flatnonzero(surprise > np.float32(self.mu))
        size = max(int(over[0]) if over.size else cur.size, 1)
        cur.keep(size)
        p = cur.softmax(True)
        idx = _discrete(p, self.rand)
        observed = _f32(-math.log2(float(p[idx])))
        mu_before = self.mu
        self.mu = _f32(self.mu - _f32(self.eta * _f32(observed - self.tau)))
        self.trace.append((mu_before, observed, size, int(cur.ids[idx])))
        cur.keep_selected(idx)


class MirostatLogitsProcessor(_Sampler):
    """Mirostat 1.0 (Basu et al. 2020, https://arxiv.org/abs/2007.14966), as
    ``llama_sampler_mirostat_apply``: estimate the Zipf exponent ``ŝ`` from the ``m`` most likely
    tokens (a least-squares fit of ``log(p_i / p_{i+1})`` on ``log((i+2)/(i+1))``), keep the top
    ``k = (ε̂·2^μ / (1 − N^−ε̂))^(1/ŝ)`` tokens (``ε̂ = ŝ − 1``, ``N = n_vocab``; llama.cpp's
    ``int(k)``, so a ``k`` beyond the int range keeps one token), renormalise, draw one, then
    ``μ ← μ − η·(surprise − τ)``. μ starts at ``2τ``. ``n_vocab`` defaults to the width of the
    scores. ``trace`` holds ``(mu_before, surprise, kept, token)`` per call (one batch row).
    """

    def __init__(self, tau: float, eta: float, m: int = 100, n_vocab: int | None = None, seed=None, draws=None):
        check_float("tau", tau, 0)
        check_float("eta", eta, 0)
        check_int("m", m, 1)
        if n_vocab is not None:
            check_int("n_vocab", n_vocab, 1)
        self.tau, self.eta, self.m, self.n_vocab = _f32(float(tau)), _f32(float(eta)), m, n_vocab
        self.mu = _f32(2.0 * self.tau)
        self.rand = _Draws(seed, draws)
        self.trace: list[tuple[float, float, int, int]] = []

    def apply_array(self, cur: _Cands, context) -> None:
        n_vocab = self.n_vocab if self.n_vocab is not None else self.vocab_width
        p = cur.softmax(True).tolist()
        sum_ti_bi = sum_ti_sq = 0.0
        for i in range(min(self.m - 1, cur.size - 1)):
            t_i = _logf(_f32(float(i + 2) / float(i + 1)))
            ratio = _f32(p[i] / p[i + 1]) if p[i + 1] != 0 else (math.inf if p[i] > 0 else math.nan)
            b_i = _logf(ratio)
            sum_ti_bi = _f32(sum_ti_bi + _f32(t_i * b_i))
            sum_ti_sq = _f32(sum_ti_sq + _f32(t_i * t_i))
        s_hat = _f32(sum_ti_bi / sum_ti_sq) if sum_ti_sq != 0 else math.nan
        eps = _f32(s_hat - 1.0)
        num = _f32(eps * _powf(2.0, self.mu))
        den = _f32(1.0 - _powf(_f32(float(n_vocab)), -eps))
        base = _f32(num / den) if den != 0 else (math.nan if num == 0 or math.isnan(num) else math.copysign(math.inf, num) * math.copysign(1.0, den))
        inv = _f32(1.0 / s_hat) if s_hat != 0 else (math.nan if math.isnan(s_hat) else math.copysign(math.inf, s_hat))
        k = _powf(base, inv)
        cur.top_k(max(_int_of_float(k), 1))
        p = cur.softmax(True)
        idx = _discrete(p, self.rand)
        observed = _f32(-_log2f(float(p[idx])))
        mu_before = self.mu
        self.mu = _f32(self.mu - _f32(self.eta * _f32(observed - self.tau)))
        self.trace.append((mu_before, observed, cur.size, int(cur.ids[idx])))
        cur.keep_selected(idx)

    def __call__(self, input_ids, scores):
        self.vocab_width = scores.shape[-1]
        return super().__call__(input_ids, scores)

    def apply_row(self, x, context=()):
        self.vocab_width = np.asarray(x).size
        return super().apply_row(x, context)


class DistLogitsProcessor(_Sampler):
    """llama.cpp's final ``dist`` sampler (``llama_sampler_dist_apply``): one uniform double draw
    per call (also for a single candidate), then the first candidate *in array order* whose running
    sum of ``expf(logit - max)`` (in double) reaches ``draw · total``. The drawn token is the only
    finite score left, so ``generate(do_sample=False)`` picks it. On its own the array is the
    vocabulary in token-id order; in :func:`llama_cpp_chain` it is the array the chain left (sorted
    by logit once top-k, top-p or min-p sorted it). ``trace`` holds ``(token, p)`` per call."""

    def __init__(self, seed=None, draws=None):
        self.rand = _Draws(seed, draws)
        self.trace: list[tuple[int, float]] = []

    def apply_array(self, cur: _Cands, context) -> None:
        if cur.size == 0:
            return
        if cur.size == 1:
            self.rand.next("double")  # llama.cpp draws to keep its generator aligned
            cur.selected = 0
            self.trace.append((int(cur.ids[0]), 1.0))
            return
        lg = cur.logits
        max_l = lg[0] if cur.sorted else lg.max()
        with np.errstate(invalid="ignore"):
            p = _expf_vec(lg - max_l).astype(np.float64)
        run = np.cumsum(p)  # double running sums, in array order
        rnd = self.rand.next("double")
        hit = np.flatnonzero(run >= run[-1] * rnd)
        idx = int(hit[0]) if hit.size else cur.size - 1
        cur.selected = idx
        self.trace.append((int(cur.ids[idx]), float(p[idx] / run[-1])))


class LlamaCppTopKLogitsProcessor(_Sampler):
    """llama.cpp's top-k (``llama_sampler_top_k_impl``): exactly ``min(k, n)`` tokens, the array
    sorted; ``k <= 0`` off. transformers' ``TopKLogitsWarper`` keeps every token tied with the
    k-th."""

    def __init__(self, top_k: int):
        check_int("top_k", top_k, 0)
        self.k = top_k

    def apply_array(self, cur: _Cands, context) -> None:
        cur.top_k(self.k)


class LlamaCppTopPLogitsProcessor(_Sampler):
    """llama.cpp's top-p (``llama_sampler_top_p_apply``): the softmax in array order, then the
    sorted tokens up to the first whose float32 running sum reaches ``p`` (``>= p``) and at least
    ``min_keep``; ``p >= 1`` off."""

    def __init__(self, top_p: float, min_keep: int = 0):
        check_float("top_p", top_p, 0, 1)
        check_int("min_keep", min_keep, 0)
        self.p, self.min_keep = _f32(float(top_p)), min_keep

    def apply_array(self, cur: _Cands, context) -> None:
        if self.p >= 1.0:
            return
        p = cur.softmax(False)
        order = None
        if not cur.sorted:
            # llama.cpp's adaptive sort: the top 256 of a large array first (bucket sort), then all of
            # it if the running sum has not reached p by then; the kept order is the last sort's
            if cur.size > 1024:
                k = min(256, cur.size)
                order = _bucket_sort(cur.logits, k)[:k]
            else:
                k = cur.size
                order = partial_sort(-cur.logits, k) if k <= 128 else _bucket_sort(cur.logits, k)
            q = p[order]
            cum = np.cumsum(q, dtype=np.float32)
            hit = np.flatnonzero((cum >= np.float32(self.p)) & (np.arange(1, q.size + 1) >= self.min_keep))
            if not hit.size and k < cur.size:
                order = _bucket_sort(cur.logits, cur.size)
                p = p[order]
            else:
                p = q
            cur.take(order)
            cur.sorted = True
        cum = np.cumsum(p, dtype=np.float32)
        ok = (cum >= np.float32(self.p)) & (np.arange(1, p.size + 1) >= self.min_keep)
        hit = np.flatnonzero(ok)
        cur.keep(int(hit[0]) + 1 if hit.size else cur.size)


class LlamaCppMinPLogitsProcessor(_Sampler):
    """llama.cpp's min-p (``llama_sampler_min_p_apply``): keep logits ``>= max + logf(p)`` (in
    logit space, float32), in array order; if fewer than ``min_keep`` pass, the sorted top
    ``min_keep`` and those above the bar; ``p <= 0`` off."""

    def __init__(self, min_p: float, min_keep: int = 0):
        check_float("min_p", min_p, 0, 1)
        check_int("min_keep", min_keep, 0)
        self.p, self.min_keep = _f32(float(min_p)), min_keep

    def apply_array(self, cur: _Cands, context) -> None:
        if self.p <= 0.0 or cur.size == 0:
            return
        log_p = _logf(self.p)
        if not cur.sorted:
            max_logit = max(-3.4028234663852886e38, float(cur.logits.max()))
            min_logit = np.float32(_f32(max_logit + log_p))
            passed = np.flatnonzero(cur.logits >= min_logit)
            if passed.size and passed.size >= self.min_keep:
                cur.take(passed)
                return
            cur.sort()
        min_logit = np.float32(_f32(float(cur.logits[0]) + log_p))
        below = np.flatnonzero((cur.logits < min_logit) & (np.arange(cur.size) >= self.min_keep))
        below = below[below >= 1]
        cur.keep(int(below[0]) if below.size else cur.size)


class LlamaCppTypicalLogitsProcessor(_Sampler):
    """llama.cpp's locally typical sampling (``llama_sampler_typical_apply``; Meister et al. 2022,
    https://arxiv.org/abs/2202.00666): order the tokens by ``|−log p − H|``, keep them until the
    float32 running sum of ``p`` exceeds ``p`` (``> p``) and at least ``min_keep``; the array is
    left in that order (unsorted). ``p >= 1`` off."""

    def __init__(self, typical_p: float, min_keep: int = 0):
        check_float("typical_p", typical_p, 0, 1)
        check_int("min_keep", min_keep, 0)
        self.p, self.min_keep = _f32(float(typical_p)), min_keep

    def apply_array(self, cur: _Cands, context) -> None:
        if self.p >= 1.0:
            return
        p = cur.softmax(True)
        p64 = p.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = np.log(p64).astype(np.float32)
            terms = (-p * logp).astype(np.float32)  # -p * logf(p), float32
            entropy = np.cumsum(terms, dtype=np.float32)[-1]
            shifted = np.abs((-logp - entropy).astype(np.float32))
        # std::sort of the indices by shifted score: between equal scores (and NaN ones, from a p of 0,
        # which compare false with everything) its own order
        order = std_sort(shifted)
        cum = np.cumsum(p[order], dtype=np.float32)
        i = np.arange(order.size)
        ok = (cum > np.float32(self.p)) & ((self.min_keep == 0) | (i >= self.min_keep - 1))
        hit = np.flatnonzero(ok)
        last = int(hit[0]) + 1 if hit.size else order.size
        cur.take(order[:last])
        cur.sorted = False


class TempExtLogitsProcessor(_Sampler):
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
        # the float32 entropy (nats) and log(size) the last dynamic temperature was computed from
        self.last_entropy: float | None = None
        self.last_max_entropy: float | None = None

    @staticmethod
    def _temp(cur: _Cands, t: float) -> None:
        """``llama_sampler_temp_impl``: ``t <= 0`` keeps the first maximum in array order."""
        if cur.size == 0:
            return
        if t <= 0.0:
            i = int(np.argmax(cur.logits))
            out = np.full_like(cur.logits, -np.inf)
            out[i] = cur.logits[i]
            cur.logits = out
            return
        cur.logits = (cur.logits / np.float32(t)).astype(np.float32)

    def apply_array(self, cur: _Cands, context) -> None:
        if self.delta > 0:
            min_t = max(0.0, _f32(self.temp - self.delta))
            max_t = _f32(self.temp + self.delta)
            if cur.size <= 1:
                return
            max_entropy = _f32(-_logf(_f32(1.0 / _f32(float(cur.size)))))
            p = cur.softmax(True)
            pos = p[p > 0].astype(np.float64)
            terms = (pos * np.log(pos).astype(np.float32).astype(np.float64)).astype(np.float32)
            entropy = float(np.cumsum(-terms, dtype=np.float32)[-1]) if terms.size else 0.0
            norm = _f32(entropy / max_entropy)
            t = _f32(min_t + _f32(_f32(max_t - min_t) * _powf(norm, self.exponent)))
            self.last_temperature, self.last_entropy, self.last_max_entropy = t, entropy, max_entropy
            self._temp(cur, t)
            return
        self.last_temperature = self.temp
        self._temp(cur, self.temp)


class LlamaCppPenaltiesLogitsProcessor(_Sampler):
    """llama.cpp's ``penalties`` sampler over the last ``penalty_last_n`` tokens of the context
    (the prompt included, as llama.cpp's CLI and server feed it): for each token seen ``c`` times,
    ``logit *= repeat`` if ``logit <= 0`` else ``logit /= repeat``, then
    ``logit -= c·frequency + presence``. ``penalty_last_n = -1``: the whole context, as llama.cpp's
    CLI and server read it (they replace -1 by the context size); ``0``: off. (The sampler itself,
    ``llama_sampler_init_penalties``, clamps a negative ``penalty_last_n`` to 0, off; the CLI and
    server refuse anything below -1.)
    """

    def __init__(self, penalty_last_n: int = 64, repeat_penalty: float = 1.0, frequency_penalty: float = 0.0,
                 presence_penalty: float = 0.0):
        check_int("penalty_last_n", penalty_last_n, -1)
        check_float("repeat_penalty", repeat_penalty, 0, low_open=True)
        check_float("frequency_penalty", frequency_penalty)
        check_float("presence_penalty", presence_penalty)
        self.last_n = penalty_last_n
        self.repeat, self.freq, self.present = (_f32(float(v)) for v in (repeat_penalty, frequency_penalty, presence_penalty))

    def apply_array(self, cur: _Cands, context) -> None:
        if self.last_n == 0 or (self.repeat == 1.0 and self.freq == 0.0 and self.present == 0.0):
            return
        window = context if self.last_n == -1 else context[-self.last_n:] if context else []
        ids, counts = np.unique(np.asarray(window, dtype=np.int64), return_counts=True)
        count = dict(zip(ids.tolist(), counts.tolist()))
        out = cur.logits.copy()
        for pos in np.flatnonzero(np.isin(cur.ids, ids)).tolist():
            c = count[int(cur.ids[pos])]
            v = float(out[pos])
            v = _f32(v * self.repeat) if v <= 0 else _f32(v / self.repeat)
            out[pos] = _f32(v - _f32(_f32(float(c) * self.freq) + self.present))
        cur.logits = out
        cur.sorted = False


_PIECES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # tokenizer -> its pieces


def llama_cpp_token_pieces(tokenizer) -> list[bytes]:
    """Each token's text as llama.cpp's ``detokenize({id}, special=true)`` gives it (what DRY's
    sequence breakers are matched against), from a transformers tokenizer: the added/special
    tokens as their text; a byte-level BPE token (GPT-2 style, "Ġ") through the byte mapping; a
    SentencePiece-style token with "▁" for a space and ``<0xXX>`` byte tokens. Equal to llama.cpp's
    on all 49,152 tokens of the embedded model (byte-level BPE); the SentencePiece branch follows
    llama.cpp's ``token_to_piece`` but is not checked against a GGUF here.

    Examples:
        >>> pieces = llama_cpp_token_pieces(tokenizer)
        >>> len(pieces) == len(tokenizer), b"\\n" in pieces
        (True, True)
    """
    try:
        return list(_PIECES[tokenizer])
    except (KeyError, TypeError):
        pass
    vocab_size = len(tokenizer)
    texts = tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
    added = set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    decoder = byte_decoder()  # GPT-2's bytes_to_unicode, inverted (tokens.py)
    normal = [t for i, t in enumerate(texts) if i not in added and t is not None]
    byte_level = all(ch in decoder for t in normal[:5000] for ch in t) and not any("▁" in t for t in normal[:5000])
    out = []
    for i, t in enumerate(texts):
        if t is None:
            out.append(b"")
        elif i in added:
            out.append(t.encode("utf-8"))
        elif byte_level and all(ch in decoder for ch in t):
            out.append(bytes(decoder[ch] for ch in t))
        elif len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            out.append(bytes([int(t[3:5], 16)]))
        else:
            out.append(t.replace("▁", " ").encode("utf-8"))
    try:
        _PIECES[tokenizer] = tuple(out)
    except TypeError:
        pass
    return out


DRY_SEQUENCE_BREAKERS = ("\n", ":", '"', "*")  # common/common.h: dry_sequence_breakers


class DRYLogitsProcessor(_Sampler):
    """DRY, "don't repeat yourself" (``llama_sampler_dry_apply``, ported from koboldcpp): a token
    that would extend a sequence of the context's last ``dry_penalty_last_n`` tokens repeated
    earlier, of length ``n >= dry_allowed_length``, loses ``dry_multiplier · dry_base^(n −
    dry_allowed_length)`` from its logit. A repeat is cut at a *sequence breaker* (default "\\n",
    ":", '"', "*"): any token whose text contains a breaker, or ends with the start of one that the
    next tokens complete. The breakers are matched against the vocabulary's texts, so give the
    ``tokenizer`` (transformers; :func:`llama_cpp_token_pieces` and its tokenization of a breaker's
    tail), or ``pieces`` (each token's text, bytes or str) with ``tokenize`` (text → ids; needed only
    for breakers of more than one character). ``dry_multiplier == 0``, ``dry_base < 1`` or
    ``dry_penalty_last_n == 0`` turn it off, as in llama.cpp.
    """

    MAX_CHAR_LEN, MAX_SEQ_LEN = 40, 20

    def __init__(self, dry_multiplier: float, dry_base: float = 1.75, dry_allowed_length: int = 2,
                 dry_penalty_last_n: int = 64, sequence_breakers=DRY_SEQUENCE_BREAKERS, tokenizer=None,
                 pieces=None, tokenize=None):
        check_float("dry_multiplier", dry_multiplier, 0)
        check_float("dry_base", dry_base, 0)
        check_int("dry_allowed_length", dry_allowed_length, 0)
        check_int("dry_penalty_last_n", dry_penalty_last_n, 0)
        if isinstance(sequence_breakers, (str, bytes)) or not all(isinstance(b, (str, bytes)) for b in sequence_breakers):
            raise ValueError(f"`sequence_breakers` has to be a list of strings, but is {sequence_breakers!r}")
        self.multiplier, self.base = _f32(float(dry_multiplier)), _f32(float(dry_base))
        self.allowed, self.last_n = dry_allowed_length, dry_penalty_last_n
        self.sequence_breakers = list(sequence_breakers)
        self.enabled = self.multiplier != 0.0 and self.base >= 1.0 and self.last_n != 0
        self.breakers: dict[int, list[list[int]]] = {}
        if not self.enabled:
            return
        if tokenizer is None and pieces is None:
            raise ValueError("DRY needs the vocabulary's texts: give `tokenizer` or `pieces`")
        if pieces is None:
            pieces = llama_cpp_token_pieces(tokenizer)
            if tokenize is None:
                tokenize = lambda text: _hf_tokenize(tokenizer, text)  # noqa: E731
        if not all(type(p) is bytes for p in pieces):
            pieces = [p.encode("utf-8") if isinstance(p, str) else bytes(p) for p in pieces]
        for breaker in self.sequence_breakers:
            raw = breaker.encode("utf-8") if isinstance(breaker, str) else bytes(breaker)
            if not raw:
                continue  # llama.cpp skips an empty breaker
            self._add_breaker(pieces, raw[: self.MAX_CHAR_LEN], tokenize)

    def _add_breaker(self, pieces: list[bytes], s: bytes, tokenize) -> None:
        """``get_overlapping_token_sequences(vocab, s, ..., MAX_SEQ_LEN)``."""
        head = s[:1]
        tails: dict[int, list[int]] = {}  # tokenisations of s[i:], by i
        for token_id in [i for i, w in enumerate(pieces) if head in w]:
            word = pieces[token_id]
            if s in word:
                self.breakers.setdefault(token_id, []).append([])
                continue
            pos = word.find(head)
            while pos != -1:
                i, match = 1, True
                while i < len(s) and i + pos < len(word):
                    if word[pos + i] != s[i]:
                        match = False
                        break
                    i += 1
                if match:
                    if tokenize is None:
                        raise ValueError("a sequence breaker of more than one character needs `tokenize` (or `tokenizer`)")
                    if i not in tails:
                        tails[i] = list(tokenize(s[i:].decode("utf-8", errors="replace")))[: self.MAX_SEQ_LEN]
                    tail = tails[i]
                    seqs = self.breakers.setdefault(token_id, [])
                    if tail not in seqs:
                        seqs.append(tail)
                pos = word.find(head, pos + 1)

    def apply_array(self, cur: _Cands, context) -> None:
        if not self.enabled:
            return
        last_tokens = list(context[-self.last_n:])
        n = min(len(last_tokens), self.last_n)
        if n <= self.allowed:
            return

        def rat(i):
            return last_tokens[len(last_tokens) - 1 - i]

        rep_limit = n  # step 1: the nearest sequence breaker limits the repetition length
        for i in range(n):
            seqs = self.breakers.get(rat(i))
            if seqs is None:
                continue
            longest = -1
            for tail in seqs:
                if longest < len(tail) <= i and all(tail[o] == rat(i - o - 1) for o in range(len(tail))):
                    longest = len(tail)
            if longest >= 0:
                rep_limit = i - longest
                break
        if rep_limit < self.allowed:
            return

        repeat = [0] * n  # step 2: the reversed Z-algorithm
        last, rt, lt = n - 1, 0, 0
        for k in range(1, n):
            if k > rt:
                m = 0
                while m + k < n and rat(m) == rat(m + k):
                    m += 1
                repeat[last - k] = min(m, rep_limit)
                if m > 0:
                    lt, rt = k, k + m - 1
            else:
                p = k - lt
                right_part_len = rt - k + 1
                if repeat[last - p] < right_part_len:
                    repeat[last - k] = min(repeat[last - p], rep_limit)
                else:
                    i = rt + 1
                    while i < n and rat(i) == rat(i - k):
                        i += 1
                    repeat[last - k] = min(i - k, rep_limit)
                    lt, rt = k, i - 1

        max_repeat: dict[int, int] = {}  # step 3: the longest repeat each next token would extend
        for i in range(n - 1):
            length = repeat[i]
            if length >= self.allowed:
                token = rat(n - 2 - i)
                if max_repeat.get(token, -1) < length:
                    max_repeat[token] = length

        max_exponent = 0  # step 4: the penalties
        if self.base > _f32(1.000001):
            max_exponent = _int_of_float(_f32(_f32(88.7228391) / _logf(self.base)))
        out = cur.logits.copy()
        for pos in np.flatnonzero(np.isin(cur.ids, np.fromiter(max_repeat, dtype=np.int64))).tolist():
            token = int(cur.ids[pos])
            if any(len(tail) == 0 for tail in self.breakers.get(token, ())):
                continue
            exponent = max_repeat[token] - self.allowed
            if max_exponent > 0 and exponent > max_exponent:
                exponent = max_exponent
            penalty = _f32(self.multiplier * math.pow(self.base, exponent))
            out[pos] = _f32(float(out[pos]) - penalty)
        cur.logits = out
        cur.sorted = False


def dry_breaker_table(tokenizer=None, sequence_breakers=DRY_SEQUENCE_BREAKERS, pieces=None, tokenize=None) -> dict[str, list[list[int]]]:
    """DRY's sequence breakers matched against a vocabulary, as JSON for the browser engine
    (``apply(..., {dryBreakers})`` in ``docs/javascripts/engine.mjs``): ``{token id: [tail, ...]}``,
    each tail the token ids that must follow the token to complete a breaker (``[]``: the token
    holds a whole breaker). What :class:`DRYLogitsProcessor` builds from the ``tokenizer`` (or
    ``pieces`` and ``tokenize``).

    Examples:
        >>> table = dry_breaker_table(tokenizer)
        >>> newline = tokenizer("\\n", add_special_tokens=False)["input_ids"][0]
        >>> table[str(newline)]
        [[]]
    """
    dry = DRYLogitsProcessor(1.0, sequence_breakers=sequence_breakers, tokenizer=tokenizer, pieces=pieces, tokenize=tokenize)
    return {str(token): [list(tail) for tail in tails] for token, tails in sorted(dry.breakers.items())}


def _hf_tokenize(tokenizer, text: str) -> list[int]:
    """llama.cpp's ``tokenize(text, add_special=false, parse_special=false)`` through transformers."""
    try:
        return tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    except TypeError:
        return tokenizer(text, add_special_tokens=False)["input_ids"]


# llama.cpp's defaults: `struct common_params_sampling` in common/common.h (lines 226-273) of
# llama.cpp 0c1e57098bba43ac29e6e3b677cdceebdd22334f (vendored by llama-cpp-python 0.3.36); the
# chain they build: common_sampler_init in common/sampling.cpp (lines 340-405). Names as there.
LLAMA_CPP_DEFAULTS = {
    "seed": LLAMA_DEFAULT_SEED,  # uint32_t seed = LLAMA_DEFAULT_SEED (a random seed per sampler)
    "min_keep": 0,  # int32_t min_keep = 0
    "top_k": 40,  # int32_t top_k = 40 (<= 0: off)
    "top_p": 0.95,  # float top_p = 0.95f (1.0: off)
    "min_p": 0.05,  # float min_p = 0.05f (0.0: off)
    "xtc_probability": 0.0,  # float xtc_probability = 0.00f (0.0: off)
    "xtc_threshold": 0.1,  # float xtc_threshold = 0.10f (> 0.5: off)
    "typ_p": 1.0,  # float typ_p = 1.00f (1.0: off)
    "temp": 0.8,  # float temp = 0.80f
    "dynatemp_range": 0.0,  # float dynatemp_range = 0.00f (0.0: off)
    "dynatemp_exponent": 1.0,  # float dynatemp_exponent = 1.00f
    "penalty_last_n": 64,  # int32_t penalty_last_n = 64 (0: off)
    "penalty_repeat": 1.0,  # float penalty_repeat = 1.00f (1.0: off)
    "penalty_freq": 0.0,  # float penalty_freq = 0.00f
    "penalty_present": 0.0,  # float penalty_present = 0.00f
    "dry_multiplier": 0.0,  # float dry_multiplier = 0.0f (0.0: off)
    "dry_base": 1.75,  # float dry_base = 1.75f
    "dry_allowed_length": 2,  # int32_t dry_allowed_length = 2
    "dry_penalty_last_n": 64,  # int32_t dry_penalty_last_n = 64 (0: off)
    "dry_sequence_breakers": DRY_SEQUENCE_BREAKERS,  # {"\n", ":", "\"", "*"}
    "mirostat": 0,  # int32_t mirostat = 0 (1: mirostat, 2: mirostat 2.0)
    "top_n_sigma": -1.0,  # float top_n_sigma = -1.00f (<= 0: off)
    "mirostat_tau": 5.0,  # float mirostat_tau = 5.00f
    "mirostat_eta": 0.1,  # float mirostat_eta = 0.10f
    "samplers": ("penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"),
}
LLAMA_CPP_SAMPLERS = LLAMA_CPP_DEFAULTS["samplers"]


def _check_chain(s: dict) -> None:
    check_int("seed", s["seed"], 0, 2**32 - 1)
    check_int("min_keep", s["min_keep"], 0)
    check_int("top_k", s["top_k"], 0)
    for name in ("top_p", "min_p", "xtc_probability", "xtc_threshold", "typ_p"):
        check_float(name, s[name], 0, 1)
    for name in ("temp", "dynatemp_range", "dynatemp_exponent", "dry_multiplier", "dry_base", "mirostat_tau", "mirostat_eta"):
        check_float(name, s[name], 0)
    check_int("penalty_last_n", s["penalty_last_n"], 0)
    check_float("penalty_repeat", s["penalty_repeat"], 0, low_open=True)
    check_float("penalty_freq", s["penalty_freq"])
    check_float("penalty_present", s["penalty_present"])
    check_int("dry_allowed_length", s["dry_allowed_length"], 0)
    check_int("dry_penalty_last_n", s["dry_penalty_last_n"], 0)
    check_int("mirostat", s["mirostat"], 0, 2)
    check_float("top_n_sigma", s["top_n_sigma"])
    bad = [n for n in s["samplers"] if n not in LLAMA_CPP_SAMPLERS]
    if isinstance(s["samplers"], str) or bad:
        raise ValueError(f"`samplers` has to be a list of {', '.join(LLAMA_CPP_SAMPLERS)}, but is {s['samplers']!r}")


def llama_cpp_chain(tokenizer=None, pieces=None, **settings) -> LogitsProcessorList:
    """llama.cpp's sampler chain as ``common_sampler_init`` builds it, with llama.cpp's defaults
    (:data:`LLAMA_CPP_DEFAULTS`, overridable by keyword with the same names): penalties → DRY →
    top-nσ → top-k → typical → top-p → min-p → XTC → temperature (``temp_ext``) → dist; or, with
    ``mirostat=1``/``2``, temperature → mirostat (llama.cpp leaves the others out then). A sampler
    that is off at its value (``top_k=0``, ``top_p=1``, ``temp=1`` ...) is left out: llama.cpp's
    ``llama_sampler_init_*`` returns an empty sampler for it, which does nothing. XTC, dist and
    mirostat are each seeded with ``seed`` (``LLAMA_DEFAULT_SEED``: a random seed each, as
    llama.cpp). DRY needs the ``tokenizer`` (or ``pieces``) when it is on. The processors hand
    llama.cpp's candidate array on to each other, so use them in this order, with
    ``generate(do_sample=False)``: the last one leaves only the drawn token.

    Examples:
        >>> chain = llama_cpp_chain(seed=42)
        >>> [type(p).__name__ for p in chain]
        ['LlamaCppTopKLogitsProcessor', 'LlamaCppTopPLogitsProcessor', 'LlamaCppMinPLogitsProcessor', 'TempExtLogitsProcessor', 'DistLogitsProcessor']
    """
    unknown = sorted(set(settings) - set(LLAMA_CPP_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown llama.cpp setting(s) {', '.join(unknown)}; the settings are {', '.join(LLAMA_CPP_DEFAULTS)}")
    s = {**LLAMA_CPP_DEFAULTS, **settings}
    _check_chain(s)

    def seed():
        return _seed_of(s["seed"])

    procs: list[_Sampler] = []
    if s["mirostat"] == 0:
        for name in s["samplers"]:
            if name == "penalties":
                if s["penalty_last_n"] != 0 and not (s["penalty_repeat"] == 1 and s["penalty_freq"] == 0 and s["penalty_present"] == 0):
                    procs.append(LlamaCppPenaltiesLogitsProcessor(s["penalty_last_n"], s["penalty_repeat"], s["penalty_freq"], s["penalty_present"]))
            elif name == "dry":
                if s["dry_multiplier"] != 0 and s["dry_base"] >= 1 and s["dry_penalty_last_n"] != 0:
                    procs.append(DRYLogitsProcessor(s["dry_multiplier"], s["dry_base"], s["dry_allowed_length"], s["dry_penalty_last_n"],
                                                    s["dry_sequence_breakers"], tokenizer=tokenizer, pieces=pieces))
            elif name == "top_n_sigma":
                if s["top_n_sigma"] > 0:
                    procs.append(TopNSigmaLogitsProcessor(s["top_n_sigma"]))
            elif name == "top_k":
                if s["top_k"] > 0:
                    procs.append(LlamaCppTopKLogitsProcessor(s["top_k"]))
            elif name == "typ_p":
                if s["typ_p"] < 1:
                    procs.append(LlamaCppTypicalLogitsProcessor(s["typ_p"], s["min_keep"]))
            elif name == "top_p":
                if s["top_p"] < 1:
                    procs.append(LlamaCppTopPLogitsProcessor(s["top_p"], s["min_keep"]))
            elif name == "min_p":
                if s["min_p"] > 0:
                    procs.append(LlamaCppMinPLogitsProcessor(s["min_p"], s["min_keep"]))
            elif name == "xtc":
                if s["xtc_probability"] > 0 and s["xtc_threshold"] <= 0.5:
                    procs.append(XTCLogitsProcessor(s["xtc_probability"], s["xtc_threshold"], s["min_keep"], seed=seed()))
            elif name == "temperature":
                if not (s["temp"] == 1 and s["dynatemp_range"] <= 0):
                    procs.append(TempExtLogitsProcessor(s["temp"], s["dynatemp_range"], s["dynatemp_exponent"]))
        procs.append(DistLogitsProcessor(seed=seed()))
    else:
        if s["temp"] != 1:  # llama_sampler_init_temp: the same as temp_ext with no range
            procs.append(TempExtLogitsProcessor(s["temp"]))
        if s["mirostat"] == 1:
            procs.append(MirostatLogitsProcessor(s["mirostat_tau"], s["mirostat_eta"], m=100, seed=seed()))
        else:
            procs.append(MirostatV2LogitsProcessor(s["mirostat_tau"], s["mirostat_eta"], seed=seed()))
    link = _Link()
    for i, p in enumerate(procs):
        p._link, p._position = link, i
    return LogitsProcessorList(procs)


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
    "DRYLogitsProcessor",
    "DRY_SEQUENCE_BREAKERS",
    "DistLogitsProcessor",
    "LLAMA_CPP_DEFAULTS",
    "LLAMA_CPP_VERSION",
    "LLAMA_DEFAULT_SEED",
    "LlamaCppMinPLogitsProcessor",
    "LlamaCppPenaltiesLogitsProcessor",
    "LlamaCppTopKLogitsProcessor",
    "LlamaCppTopPLogitsProcessor",
    "LlamaCppTypicalLogitsProcessor",
    "MT19937",
    "MirostatLogitsProcessor",
    "MirostatV2LogitsProcessor",
    "OpenAIPenaltiesLogitsProcessor",
    "TempExtLogitsProcessor",
    "TopNSigmaLogitsProcessor",
    "XTCLogitsProcessor",
    "dry_breaker_table",
    "llama_cpp_chain",
    "llama_cpp_token_pieces",
    "uniform_double",
    "uniform_float",
]
