"""Sampling: draws from one distribution, and whole generations step by step.

Two questions a lesson asks once it has a distribution, each with a function and its figure:

* **"Is the sampler really drawing from softmax(scores)?"** :func:`draw` draws ``n`` tokens with a
  seeded generator and reports the total-variation distance to the theory, with a bound that says
  how small it must be for that ``n`` (:func:`~decoding_lessons.measures.tv_bound`); :func:`histogram_chart` shows both.
* **"What does a strategy do over a whole generation?"** :func:`generate_with_trace` is
  ``generate()``'s sampling loop written out (KV cache, transformers' processors, argmax or
  ``torch.multinomial``), token for token the same as ``generate()``, recording the entropy and the
  size of the kept set at every step; :func:`trace_chart` draws them.

Examples:
    >>> result = draw(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0), n=10_000)
    >>> result.tv_distance < result.tv_bound
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .capture import NextToken
from .checks import check_int
from .decoder import ModelDecoder
from .decoder import prompt_ids as to_prompt_ids
from .loading import LanguageModel, as_language_model
from .measures import TV_DELTA, tv_bound
from .scoring import DecodingConfig, entropy, logits_processors, probabilities
from .tokens import decode_visible

# --------------------------------------------------------------------------------------------------
# Draws from one distribution
# --------------------------------------------------------------------------------------------------

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
    check_int("n", n, 1)
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
    check_int("max_new_tokens", max_new_tokens, 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    config = config or DecodingConfig()
    lm = as_language_model(lm)
    # the searches' decoder: the KV-cache loop, the EOS ids and the prompt, in one place
    decoder = ModelDecoder(lm.model, lm.tokenizer)
    prompt_ids = to_prompt_ids(decoder, prompt, max_new_tokens)
    do_sample = bool(config.resolved(decoder.generation_config)["do_sample"])
    eos = set(decoder.eos_token_ids)

    torch.manual_seed(seed)
    input_ids = prompt_ids
    steps: list[TraceStep] = []
    out = decoder.start(input_ids)  # 1. the prompt once; afterwards one new token per pass
    length = prompt_ids.shape[1]  # the controls count from the prompt's end and stop at max_length
    processors = logits_processors(
        config, decoder.generation_config, prompt_length=length, max_length=length + max_new_tokens,
        vocab_size=out.logits.shape[-1], device=out.logits.device,
    )
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


__all__ = ["GenerationTrace", "SampleResult", "TV_DELTA", "TraceStep", "draw", "generate_with_trace"]
