"""Sampling: draws from one distribution, whole generations step by step, and processor orders.

Three questions a lesson asks once it has a distribution, each with a function and its figure:

* **"Is the sampler really drawing from softmax(scores)?"** :func:`draw` draws ``n`` tokens with a
  seeded generator and reports the total-variation distance to the theory, with a bound that says
  how small it must be for that ``n``; :func:`histogram_chart` shows both.
* **"What does a strategy do over a whole generation?"** :func:`generate_with_trace` is
  ``generate()``'s sampling loop written out (KV cache, transformers' processors, argmax or
  ``torch.multinomial``), token for token the same as ``generate()``, recording the entropy and the
  size of the kept set at every step; :func:`trace_chart` draws them.
* **"Does the order of the processors matter?"** :func:`apply_in_order` applies the same
  processors in another order (llama.cpp puts temperature *last*, ``generate()`` puts it first);
  :func:`order_chart` compares the results.

Examples:
    >>> result = draw(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0), n=10_000)
    >>> result.tv_distance < result.tv_bound
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch

from .capture import NextToken
from .loading import LanguageModel, as_language_model
from .search.common import ModelDecoder
from .search.common import prompt_ids as to_prompt_ids
from .processors import HF_ORDER, LLAMA_CPP_ORDER, PENALTY_ORDER, WARPER_ORDER
from .strategies import DecodingConfig, build_processor, entropy, logits_processors, probabilities
from .tokens import decode_visible

# --------------------------------------------------------------------------------------------------
# Draws from one distribution
# --------------------------------------------------------------------------------------------------

TV_DELTA = 1e-3  # the failure probability of :func:`tv_bound`


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` has to be an integer >= 1, but is {value!r}")


def tv_bound(probs: torch.Tensor, n: int, delta: float = TV_DELTA) -> float:
    """A bound ``b`` such that the total-variation distance between the empirical distribution
    of ``n`` i.i.d. draws from ``probs`` and ``probs`` itself is at most ``b`` with probability at
    least ``1 - delta``.

    Two steps:

    1. **Expectation.** TV = ½ Σᵢ |p̂ᵢ − pᵢ| where ``n·p̂ᵢ ~ Binomial(n, pᵢ)``. For each token,
       ``E|p̂ᵢ − pᵢ| ≤ sqrt(pᵢ(1 − pᵢ)/n)`` (Jensen: the mean absolute deviation is at most the
       standard deviation) and ``E|p̂ᵢ − pᵢ| ≤ 2pᵢ`` (the positive and negative parts have equal
       mean, and the negative part is at most ``pᵢ``). So
       ``E[TV] ≤ ½ Σᵢ min(sqrt(pᵢ(1 − pᵢ)/n), 2pᵢ)``. The ``2pᵢ`` term matters: a vocabulary has
       tens of thousands of tokens with tiny probabilities, and ``Σ sqrt(pᵢ/n)`` alone over them
       would make the bound useless.
    2. **Concentration.** Changing one of the ``n`` draws moves TV by at most ``1/n``, so by
       McDiarmid's inequality ``P(TV ≥ E[TV] + t) ≤ exp(−2nt²)``; with ``t = sqrt(ln(1/δ)/(2n))``
       that probability is at most δ.

    The bound shrinks like ``1/sqrt(n)``: for a peaked distribution and ``n = 20,000`` it is a few
    hundredths; for a flat one over thousands of tokens it stays larger (there are more
    probabilities to estimate).

    Args:
        probs: a probability vector (sums to 1).
        n: number of draws, >= 1.
        delta: failure probability in (0, 1); default 1e-3.

    Examples:
        >>> round(tv_bound(torch.tensor([0.5, 0.5]), 10_000), 4)
        0.0236
    """
    _check_positive_int("n", n)
    if not isinstance(delta, float) or not 0.0 < delta < 1.0:
        raise ValueError(f"`delta` has to be a float in the (0, 1) interval, but is {delta!r}")
    p = probs.double()
    expected = 0.5 * float(torch.minimum(torch.sqrt(p * (1 - p) / n), 2 * p).sum())
    return expected + math.sqrt(math.log(1 / delta) / (2 * n))


@dataclass
class SampleResult:
    """``n`` tokens drawn from one distribution.

    Attributes:
        counts: how often each token was drawn, a full-vocabulary ``LongTensor`` summing to ``n``.
        n: number of draws.
        probs: the distribution drawn from, ``softmax(scores)``.
        config: the decoding configuration that gave the scores.
        seed: the generator's seed.
        tv_distance: total variation between the empirical frequencies ``counts / n`` and
            ``probs``: ½ Σ |counts/n − probs|, in [0, 1].
        tv_bound: :func:`tv_bound` for ``probs`` and ``n``: TV exceeds it with probability at most
            :data:`TV_DELTA`.
    """

    counts: torch.Tensor
    n: int
    probs: torch.Tensor
    config: DecodingConfig
    seed: int
    tv_distance: float
    tv_bound: float

    @property
    def frequencies(self) -> torch.Tensor:
        """Empirical frequencies ``counts / n``."""
        return self.counts.double() / self.n


def draw(step: NextToken, config: DecodingConfig | None, n: int, seed: int = 0) -> SampleResult:
    """Draw ``n`` i.i.d. next tokens from ``softmax(step.scores(config))``.

    This is what ``generate()`` does once per step, done ``n`` times from the same step: a check
    that the sampler draws from the distribution the charts show, and a way to see how many draws
    it takes for frequencies to look like probabilities. The draws use their own
    ``torch.Generator`` seeded with ``seed``, so the result is reproducible and the global RNG is
    left alone. No forward pass.

    Args:
        step: a captured next-token distribution.
        config: the decoding configuration (use ``do_sample=True``; with greedy settings the
            distribution is ``softmax(logits)``, which is not what greedy decoding picks from).
        n: number of draws, >= 1 (typical 1,000–100,000).
        seed: the generator's seed.

    Returns:
        A :class:`SampleResult` with the counts, the TV distance and its bound.

    Examples:
        >>> r = draw(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0), n=20_000)
        >>> int(r.counts.sum())
        20000
    """
    _check_positive_int("n", n)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    config = config or DecodingConfig()
    probs = probabilities(step.scores(config))
    generator = torch.Generator().manual_seed(seed)
    samples = torch.multinomial(probs, n, replacement=True, generator=generator)
    counts = torch.bincount(samples, minlength=probs.shape[-1])
    tv = 0.5 * float((counts.double() / n - probs.double()).abs().sum())
    return SampleResult(
        counts=counts, n=n, probs=probs, config=config, seed=seed, tv_distance=tv, tv_bound=tv_bound(probs, n)
    )


# --------------------------------------------------------------------------------------------------
# A whole generation, step by step
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceStep:
    """One step of :func:`generate_with_trace`.

    Attributes:
        token_id: the token chosen at this step.
        entropy: entropy (nats) of ``softmax(scores)`` at this step: how uncertain the sampler was.
        kept: number of tokens with a finite score (the kept set after truncation).
        prob: ``softmax(scores)`` of the chosen token.
        scores: the full scores, only when ``keep_scores=True`` was asked for.
    """

    token_id: int
    entropy: float
    kept: int
    prob: float
    scores: torch.Tensor | None = field(default=None, repr=False)


@dataclass
class GenerationTrace:
    """A generation and what the sampler saw at every step.

    Attributes:
        prompt_ids: the prompt's token ids, ``(1, length)``.
        steps: one :class:`TraceStep` per generated token.
        config: the decoding configuration.
        seed: the seed set with ``torch.manual_seed`` before the first step.
        forward_passes: model calls made (one per generated token: the prompt once, then one new
            token at a time through the KV cache).
        lm: the model (for its tokenizer).
    """

    prompt_ids: torch.Tensor
    steps: list[TraceStep]
    config: DecodingConfig
    seed: int
    forward_passes: int
    lm: LanguageModel = field(repr=False)

    @property
    def token_ids(self) -> list[int]:
        """The generated token ids (without the prompt)."""
        return [s.token_id for s in self.steps]

    @property
    def sequence(self) -> torch.Tensor:
        """Prompt and generated ids, ``(1, length)``: what ``generate()`` returns."""
        return torch.cat([self.prompt_ids.cpu(), torch.tensor([self.token_ids], dtype=torch.long)], dim=-1)

    @property
    def text(self) -> str:
        """The generated text (without the prompt), special tokens dropped."""
        return self.lm.tokenizer.decode(self.token_ids, skip_special_tokens=True)

    @property
    def visible_text(self) -> str:
        """The generated text with whitespace made visible (``␣``, ``↵``)."""
        return decode_visible(self.lm.tokenizer, self.token_ids)

    @property
    def entropies(self) -> list[float]:
        return [s.entropy for s in self.steps]

    @property
    def kept_counts(self) -> list[int]:
        return [s.kept for s in self.steps]


@torch.inference_mode()
def generate_with_trace(
    lm: LanguageModel,
    prompt: str | torch.Tensor,
    config: DecodingConfig | None,
    max_new_tokens: int,
    seed: int = 0,
    keep_scores: bool = False,
) -> GenerationTrace:
    """``generate()``'s decoding loop, written out, recording what the sampler saw at each step.

    The loop is the one in ``GenerationMixin._sample``:

    1. run the model on the prompt once, keeping its KV cache; afterwards feed one new token per
       step (the cache holds the past), taking only the last position's logits, in float32;
    2. apply transformers' processors for ``config`` (:func:`~decoding_lessons.logits_processors`,
       in ``generate()``'s order) to get the scores;
    3. pick ``argmax(scores)`` (greedy) or ``torch.multinomial(softmax(scores), 1)`` (sampling);
    4. stop after ``max_new_tokens`` or right after an end-of-sequence token.

    ``torch.manual_seed(seed)`` is called first, as you would before ``generate()``; the loop
    draws from the global generator exactly as ``generate()`` does, so the two give the same
    tokens (the tests check it for greedy and sampled configurations).

    Args:
        lm: the model.
        prompt: a string, or token ids ``(1, length)``.
        config: the decoding configuration.
        max_new_tokens: how many tokens to generate at most, >= 1.
        seed: passed to ``torch.manual_seed`` before the first step (note: this reseeds torch's
            global generator, as a ``generate()`` call preceded by ``torch.manual_seed`` would).
        keep_scores: also keep every step's full scores (``TraceStep.scores``, on the CPU).

    Returns:
        A :class:`GenerationTrace`: ``.token_ids``, ``.text``, ``.steps`` (entropy, kept-set size,
        probability of the chosen token), ``.forward_passes``.

    Examples:
        >>> trace = generate_with_trace(lm, "2 + 2 = ", DecodingConfig(), max_new_tokens=20)
        >>> len(trace.steps) == trace.forward_passes <= 20
        True
    """
    _check_positive_int("max_new_tokens", max_new_tokens)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    config = config or DecodingConfig()
    lm = as_language_model(lm)
    # the searches' decoder: the KV-cache loop, the EOS ids and the prompt, in one place
    decoder = ModelDecoder(lm.model, lm.tokenizer)
    prompt_ids = to_prompt_ids(decoder, prompt, max_new_tokens)
    processors = logits_processors(config, decoder.generation_config)
    do_sample = bool(config.resolved(decoder.generation_config)["do_sample"])
    eos = set(decoder.eos_token_ids)

    torch.manual_seed(seed)
    input_ids = prompt_ids
    steps: list[TraceStep] = []
    out = decoder.start(input_ids)  # 1. the prompt once; afterwards one new token per pass
    for step in range(max_new_tokens):
        scores = processors(input_ids, out.logits)  # 2. generate()'s processors, in its order
        probs = torch.softmax(scores, dim=-1)
        if do_sample:  # 3. a draw from softmax(scores), or the argmax (ties: the lower id)
            next_token = torch.multinomial(probs, num_samples=1).squeeze(1)
        else:
            next_token = torch.argmax(scores, dim=-1)
        token = int(next_token[0])
        steps.append(
            TraceStep(
                token_id=token,
                entropy=float(entropy(scores[0])),
                kept=int(torch.isfinite(scores[0]).sum()),
                prob=float(probs[0, token]),
                scores=scores[0].cpu().clone() if keep_scores else None,
            )
        )
        input_ids = torch.cat([input_ids, next_token[:, None]], dim=-1)
        if token in eos or step == max_new_tokens - 1:  # 4. stop after EOS or the length limit
            break
        out = decoder.advance(torch.zeros(1, dtype=torch.long), next_token)
    passes = decoder.forward_passes
    return GenerationTrace(
        prompt_ids=prompt_ids.cpu(), steps=steps, config=config, seed=seed, forward_passes=passes, lm=lm
    )


@dataclass(frozen=True)
class Repetition:
    """The longest stretch of tokens that a sequence repeats.

    Attributes:
        ngram: the repeated token ids (the longest n-gram occurring at least twice without
            overlapping itself).
        positions: where it starts, each occurrence (non-overlapping, left to right).
        text: the n-gram decoded, whitespace made visible.
    """

    ngram: tuple[int, ...]
    positions: tuple[int, ...]
    text: str

    @property
    def count(self) -> int:
        return len(self.positions)

    @property
    def covered(self) -> int:
        """How many tokens the occurrences cover together."""
        return len(self.ngram) * self.count


def longest_repetition(token_ids: Sequence[int], tokenizer=None, min_length: int = 2) -> Repetition | None:
    """The longest n-gram that occurs at least twice, non-overlapping, in ``token_ids``.

    Greedy decoding of a base model often falls into a loop: once a phrase has been produced, the
    context makes the same continuation the most likely again, and argmax takes it every time.
    This finds the loop's unit, so a lesson can *measure* it rather than point at it. Ties between
    n-grams of the same length go to the one that occurs first.

    Args:
        token_ids: a generated sequence (e.g. ``trace.token_ids``).
        tokenizer: used to decode the n-gram into :attr:`Repetition.text` (optional).
        min_length: the shortest n-gram worth reporting, >= 1 (default 2: a single repeated token
            such as ``" the"`` is no loop).

    Returns:
        A :class:`Repetition`, or ``None`` when no n-gram of at least ``min_length`` tokens repeats.

    Examples:
        >>> longest_repetition([5, 1, 2, 3, 1, 2, 3, 1, 2]).ngram
        (1, 2, 3)
    """
    _check_positive_int("min_length", min_length)
    ids = [int(i) for i in token_ids]
    for length in range(len(ids) // 2, min_length - 1, -1):
        first_seen: dict[tuple[int, ...], list[int]] = {}
        for start in range(len(ids) - length + 1):
            gram = tuple(ids[start : start + length])
            starts = first_seen.setdefault(gram, [])
            if not starts or start >= starts[-1] + length:
                starts.append(start)
        repeated = [(starts[0], gram, starts) for gram, starts in first_seen.items() if len(starts) >= 2]
        if repeated:
            _, gram, starts = min(repeated)
            text = decode_visible(tokenizer, gram) if tokenizer is not None else ""
            return Repetition(ngram=gram, positions=tuple(starts), text=text)
    return None


# --------------------------------------------------------------------------------------------------
# The order of the processors
# --------------------------------------------------------------------------------------------------

# generate()'s order and llama.cpp's default chain: columns of the processor table (processors.py).


def _active_fields(config: DecodingConfig, generation_config) -> tuple[dict, list[str]]:
    resolved = config.resolved(generation_config)
    names = PENALTY_ORDER + (WARPER_ORDER if resolved["do_sample"] else ())
    return resolved, [n for n in names if build_processor(n, resolved) is not None]


def _check_order(order) -> list[str]:
    known = HF_ORDER
    if isinstance(order, str):
        raise ValueError(f"`order` has to be a sequence of field names ({', '.join(known)}), but is the string {order!r}")
    order = list(order)
    unknown = [n for n in order if n not in known]
    if unknown:
        raise ValueError(f"`order` has to hold only the fields {', '.join(known)}, but holds {unknown!r}")
    dupes = sorted({n for n in order if order.count(n) > 1})
    if dupes:
        raise ValueError(f"`order` has to name each field at most once, but repeats {dupes!r}")
    return order


def apply_in_order(step: NextToken, config: DecodingConfig | None, order: Sequence[str]) -> torch.Tensor:
    """The scores after applying ``config``'s active processors in the order ``order``.

    Each processor is built exactly as ``generate()`` builds it
    (:func:`~decoding_lessons.strategies.build_processor`); only the order changes. With
    :data:`HF_ORDER` the result equals ``step.scores(config)``. With :data:`LLAMA_CPP_ORDER`
    temperature comes last: top-k/top-p/min-p then cut the *untempered* distribution, so a high
    temperature can no longer let more tokens in, it only flattens the survivors.

    Args:
        step: a captured next-token distribution (no forward pass is made).
        config: the configuration; as in ``generate()``, the sampling warpers act only with
            ``do_sample=True``.
        order: field names of :class:`DecodingConfig`, e.g. :data:`HF_ORDER` or
            :data:`LLAMA_CPP_ORDER`. Every active field of ``config`` must appear in it; inactive
            names are skipped.

    Returns:
        float32 scores, ``(vocab,)``; filtered tokens hold ``-inf``.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, temperature=1.5, top_k=0, min_p=0.1)
        >>> hf = apply_in_order(step, cfg, HF_ORDER)
        >>> cpp = apply_in_order(step, cfg, LLAMA_CPP_ORDER)
        >>> int(torch.isfinite(hf).sum()) >= int(torch.isfinite(cpp).sum())
        True
    """
    order = _check_order(order)
    config = config or DecodingConfig()
    resolved, active = _active_fields(config, step.lm.model.generation_config)
    missing = [n for n in active if n not in order]
    if missing:
        raise ValueError(
            f"`order` has to name every active field of the configuration ({', '.join(active)}), but lacks {missing!r}"
        )
    scores = step.logits.detach().to(torch.float32).clone().reshape(1, -1)
    ids = step.input_ids
    for name in order:
        if name in active:
            scores = build_processor(name, resolved)(ids, scores)
    return scores[0]


__all__ = [
    "GenerationTrace",
    "HF_ORDER",
    "LLAMA_CPP_ORDER",
    "Repetition",
    "SampleResult",
    "TV_DELTA",
    "TraceStep",
    "apply_in_order",
    "draw",
    "generate_with_trace",
    "longest_repetition",
    "tv_bound",
]
