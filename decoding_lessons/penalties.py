"""The context-dependent processors, spelled out: repetition penalty and no-repeat-ngram.

Unlike the sampling warpers these two read the *context* (``input_ids``, prompt included) and act
even in greedy decoding: ``generate()`` applies them first, before temperature and truncation.
Each function recomputes one processor's rule in plain Python so a lesson can show the numbers;
the tests check it against transformers' ``RepetitionPenaltyLogitsProcessor`` and
``NoRepeatNGramLogitsProcessor``.

Examples:
    >>> step = cap("New York is in New York. New York")
    >>> torch.equal(repetition_penalty(step.logits, step.input_ids, 1.3),
    ...             step.scores(DecodingConfig(repetition_penalty=1.3)))
    True
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch

from .processors import check_float, check_int
from .scoring import probabilities


def _context_list(input_ids) -> list[int]:
    ids = torch.as_tensor(input_ids).reshape(-1).tolist()
    if not ids:
        raise ValueError("`input_ids` must hold at least one token, but it is empty")
    return [int(i) for i in ids]


def repetition_penalty(logits: torch.Tensor, input_ids, penalty: float) -> torch.Tensor:
    """What ``RepetitionPenaltyLogitsProcessor(penalty)`` does to one distribution.

    For every *distinct* token ``t`` present in the context (prompt included — for decoder-only
    models ``generate()`` passes the whole sequence):

    * ``logit_t / penalty`` if ``logit_t > 0`` (a positive logit shrinks towards 0),
    * ``logit_t * penalty`` if ``logit_t < 0`` (a negative logit grows away from 0).

    The penalty is applied once, however often the token occurs; tokens not in the context are
    untouched. With ``penalty > 1`` both cases lower the token's logit. The CTRL paper (Keskar et
    al. 2019) suggests about 1.2; ``penalty < 1`` *rewards* repetition. Because the logit is scaled
    rather than shifted, the effect depends on the logit's size and sign: a token with logit 0
    is not penalised at all.

    Args:
        logits: one distribution's logits, ``(vocab,)``.
        input_ids: the context, any shape holding the token ids.
        penalty: in (0, inf); 1.0 changes nothing.

    Returns:
        The penalised logits, float32, same shape.

    Examples:
        >>> repetition_penalty(torch.tensor([2.0, -2.0, 1.0]), [0, 1, 0], 2.0)
        tensor([ 1., -4.,  1.])
    """
    check_float("repetition_penalty", penalty, 0, float("inf"), True, True)
    out = logits.detach().to(torch.float32).clone()
    for token in sorted(set(_context_list(input_ids))):
        if token >= out.shape[-1]:  # an id the output layer cannot produce: nothing to penalise
            continue
        value = out[token]
        out[token] = value * penalty if value < 0 else value / penalty
    return out


@dataclass(frozen=True)
class PenaltyRow:
    """One context token under a repetition penalty (see :func:`repetition_table`)."""

    token_id: int
    count: int
    logit: float
    penalized: float
    p_before: float
    p_after: float


def repetition_table(logits: torch.Tensor, input_ids, penalty: float) -> list[PenaltyRow]:
    """Before/after numbers for every distinct context token, most likely (before) first.

    ``p_before``/``p_after`` are ``softmax`` over the whole vocabulary of the logits before and
    after :func:`repetition_penalty` (no other processor). ``count`` is how often the token occurs
    in the context — shown to make the point that it does not matter.

    Examples:
        >>> rows = repetition_table(step.logits, step.input_ids, 1.3)
        >>> all(abs(r.penalized - (r.logit / 1.3 if r.logit > 0 else r.logit * 1.3)) < 1e-5 for r in rows)
        True
    """
    ids = _context_list(input_ids)
    counts = Counter(ids)
    after = repetition_penalty(logits, ids, penalty)
    p0, p1 = probabilities(logits.float()), probabilities(after)
    vocab = logits.shape[-1]
    rows = [
        PenaltyRow(t, counts[t], float(logits[t]), float(after[t]), float(p0[t]), float(p1[t]))
        for t in counts
        if t < vocab
    ]
    return sorted(rows, key=lambda r: -r.p_before)


def banned_ngram_tokens(input_ids, ngram_size: int) -> list[int]:
    """The tokens ``NoRepeatNGramLogitsProcessor(ngram_size)`` forbids as the next token.

    Take the last ``n - 1`` tokens of the context as a prefix. Every earlier n-gram of the context
    (prompt included) that starts with that prefix would be repeated by its last token, so that
    token is banned (its score becomes ``-inf``), however likely. With ``n = 2``: once the bigram
    "New York" has occurred, " York" can never again follow " New". The blog post "How to generate
    text" (von Platen, 2020) warns about exactly this; typical values, when used at all, are 2–4,
    mostly with beam search.

    Args:
        input_ids: the context, any shape holding the token ids.
        ngram_size: n >= 1.

    Returns:
        The banned token ids, sorted, without duplicates (empty if the context is shorter than n).

    Examples:
        >>> banned_ngram_tokens([5, 7, 9, 5], 2)       # the bigram (5, 7) occurred, the context ends in 5
        [7]
    """
    check_int("ngram_size", ngram_size, 1)
    ids = _context_list(input_ids)
    if len(ids) < ngram_size:
        return []
    prefix = tuple(ids[len(ids) - ngram_size + 1 :]) if ngram_size > 1 else ()
    banned = set()
    for start in range(len(ids) - ngram_size + 1):
        window = ids[start : start + ngram_size]
        if tuple(window[:-1]) == prefix:
            banned.add(window[-1])
    return sorted(banned)
