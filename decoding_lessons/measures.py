"""Measures of what a decoding run produced: how close draws are to their distribution, how much
a sequence repeats itself, how diverse several outputs are, how likely an output is.

* :func:`tv_bound` — how far ``n`` draws' frequencies may lie from the probabilities (a bound
  with failure probability :data:`TV_DELTA`).
* :func:`longest_repetition` — the longest n-gram a sequence repeats (greedy decoding's loops).
* :func:`distinct_ngrams` — distinct-n over several outputs (diverse beam search).
* :func:`sequence_logprob` — log p(continuation | prompt), from one forward pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from .checks import check_int
from .decoder import as_decoder, prompt_ids
from .tokens import decode_visible

TV_DELTA = 1e-3  # the failure probability of :func:`tv_bound`



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
    check_int("n", n, 1)
    if not isinstance(delta, float) or not 0.0 < delta < 1.0:
        raise ValueError(f"`delta` has to be a float in the (0, 1) interval, but is {delta!r}")
    p = probs.double()
    expected = 0.5 * float(torch.minimum(torch.sqrt(p * (1 - p) / n), 2 * p).sum())
    return expected + math.sqrt(math.log(1 / delta) / (2 * n))


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
    check_int("min_length", min_length, 1)
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


def distinct_ngrams(sequences, n: int = 2) -> float:
    """distinct-n: unique n-grams divided by all n-grams, pooled over ``sequences`` (lists of ids).

    1.0 means no n-gram occurs twice anywhere; lower values mean the outputs repeat themselves or
    each other. Diverse beam search is judged by it (Vijayakumar et al. 2016, Li et al. 2016), and
    for one sequence ``1 - distinct_ngrams([seq], n)`` is its repetition rate.

    Examples:
        >>> distinct_ngrams([[1, 2, 3], [1, 2, 4]], n=2)   # (1,2) twice, (2,3), (2,4): 3 of 4
        0.75
    """
    check_int("n", n, 1)
    grams = [tuple(seq[i : i + n]) for seq in sequences for i in range(len(seq) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


@torch.inference_mode()
def sequence_logprob(lm, prompt, continuation) -> float:
    """log p(continuation | prompt) under the model: the sum of each token's log-probability, from one
    forward pass over prompt + continuation. ``exp`` of it is the joint probability of the output.

    Examples:
        >>> sequence_logprob(lm, "The sky is", lm.encode(" blue")[0]) < 0
        True
    """
    decoder = as_decoder(lm)
    ids = prompt_ids(decoder, prompt)
    cont = torch.as_tensor(continuation, dtype=torch.long).reshape(1, -1).to(ids.device)
    if cont.shape[1] == 0:
        return 0.0
    full = torch.cat([ids, cont], dim=1)
    model = decoder.model
    logits = model(input_ids=full, attention_mask=torch.ones_like(full)).logits[0, ids.shape[1] - 1 : -1].float()
    logp = torch.log_softmax(logits, dim=-1)
    return float(logp.gather(-1, cont[0].unsqueeze(-1)).sum())


__all__ = ["TV_DELTA", "Repetition", "distinct_ngrams", "longest_repetition", "sequence_logprob", "tv_bound"]
