"""Contrastive search: Su et al. 2022, as transformers ran it in core before 4.56.

Greedy decoding picks the most likely token and, on long outputs, tends to loop: the same phrase
again and again. Sampling avoids loops but wanders off. Contrastive search stays deterministic and
adds a look-ahead: among the ``top_k`` most likely next tokens, it picks

    v* = argmax over v in top-k of   (1 − α) · p(v)  −  α · max_j cos(h_v, h_j)

where ``p(v)`` is the model's probability of ``v`` (the *model confidence*), ``h_v`` is the
hidden state the model computes *for* ``v`` (its last layer, at the new position), and the ``h_j``
are the hidden states of every token so far, prompt included. The second term, the *degeneration
penalty*, is large when ``v`` would put the model into a state it has already been in — the
signature of repetition. ``α = penalty_alpha``: 0 is greedy decoding; 0.6 with ``top_k = 4`` is the
paper's setting for open-ended text.

Computing ``h_v`` for each candidate costs one forward pass per step over all ``top_k``
candidates at once (the KV cache copied ``top_k`` times), as in transformers; the chosen
candidate's pass also gives the next step's logits, so a search of ``T`` tokens takes ``T + 1``
passes (the prefill, then one per token) of ``top_k`` rows each.

Examples:
    >>> r = contrastive_search(lm, "The sky is", penalty_alpha=0.6, top_k=4, max_new_tokens=8)
    >>> c = r.steps[0].candidates[0]
    >>> abs(c.score - (c.confidence - c.degeneration)) < 1e-6      # (1 - α)·p − α·max cos
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..checks import check_float, check_int
from ..decoder import as_decoder, prompt_ids
from .common import check_penalties, processors


@dataclass
class ContrastiveCandidate:
    """One of the ``top_k`` candidates of a step, with both terms of its score.

    Attributes:
        token_id: the candidate token.
        prob: the model's probability of it, ``softmax(scores)``.
        max_similarity: the largest cosine similarity between its hidden state and those of the
            tokens so far (in [-1, 1]).
        most_similar: the position (in prompt + generated tokens) that similarity is with.
        confidence: ``(1 − α) · prob``.
        degeneration: ``α · max_similarity``, the penalty.
        score: ``confidence − degeneration``; the highest wins.
        chosen: whether it was picked.
    """

    token_id: int
    prob: float
    max_similarity: float
    most_similar: int
    confidence: float
    degeneration: float
    score: float
    chosen: bool = False


@dataclass
class ContrastiveStep:
    """One step: the candidates in order of probability (index 0 is greedy's choice)."""

    step: int
    candidates: list[ContrastiveCandidate]

    @property
    def chosen(self) -> ContrastiveCandidate:
        return next(c for c in self.candidates if c.chosen)

    @property
    def flipped(self) -> bool:
        """Did the degeneration penalty overrule the most likely token?"""
        return not self.candidates[0].chosen


@dataclass
class ContrastiveResult:
    """Everything a contrastive search did. ``sequences`` is ``generate(penalty_alpha=..., top_k=...)``'s
    output (prompt included)."""

    prompt_ids: list[int]
    sequences: torch.Tensor
    steps: list[ContrastiveStep]
    forward_passes: int
    seconds: float
    settings: dict
    text: str = ""
    prompt_text: str = ""

    @property
    def tokens(self) -> list[int]:
        return [s.chosen.token_id for s in self.steps]


def degeneration_scores(context_hidden: torch.Tensor, candidate_hidden: torch.Tensor, probs: torch.Tensor, alpha: float):
    """Both terms for ``k`` candidates (transformers' ``_ranking_fast``).

    Args:
        context_hidden: ``(length, width)``, the hidden states of the tokens so far.
        candidate_hidden: ``(k, width)``, each candidate's hidden state.
        probs: ``(k,)``, the candidates' probabilities.
        alpha: ``penalty_alpha`` in [0, 1].

    Returns:
        ``(score, max_similarity, argmax position)``, each ``(k,)``;
        ``score = (1 − α)·probs − α·max_similarity``.

    Examples:
        >>> h = torch.tensor([[1.0, 0.0]])                       # one earlier token
        >>> cand = torch.tensor([[2.0, 0.0], [0.0, 1.0]])        # a repeat, and something new
        >>> degeneration_scores(h, cand, torch.tensor([0.6, 0.4]), alpha=0.5)[0]
        tensor([-0.2000,  0.2000])
    """
    context = context_hidden / context_hidden.norm(dim=-1, keepdim=True)
    cands = candidate_hidden / candidate_hidden.norm(dim=-1, keepdim=True)
    # (k, length, width) @ (k, width, 1): every candidate against every earlier token, computed as
    # transformers did (the same product, so that near-ties break the same way)
    k = cands.shape[0]
    cosine = torch.matmul(context.unsqueeze(0).expand(k, -1, -1), cands.unsqueeze(-1)).squeeze(-1)  # (k, length)
    max_similarity, position = cosine.max(dim=-1)
    score = (1.0 - alpha) * probs - alpha * max_similarity
    return score, max_similarity, position


def contrastive_search(
    lm,
    prompt,
    penalty_alpha: float = 0.6,
    top_k: int = 4,
    max_new_tokens: int = 32,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
) -> ContrastiveResult:
    """Contrastive search on one prompt, recording both terms of every candidate at every step.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`, a transformers causal LM, or a decoder
            with hidden states (such as :class:`~decoding_lessons.search.toy.BigramModel`).
        prompt: text, or token ids.
        penalty_alpha: α in [0, 1], the weight of the degeneration penalty. 0 = greedy; 0.6 is
            the paper's choice for open-ended generation.
        top_k: candidates per step, >= 1 (``generate()``'s ``top_k``). 4–10 is typical; 1 = greedy.
        max_new_tokens: the length limit, >= 1.
        no_repeat_ngram_size: forbid repeating any n-gram of this size (0 = off); applied to the
            logits before the candidates are picked, as in transformers.
        repetition_penalty: CTRL's penalty on tokens already present (1.0 = off); likewise.

    Returns:
        A :class:`ContrastiveResult`; ``result.sequences`` equals what transformers < 4.56 returned
        for ``generate(penalty_alpha=..., top_k=...)``.

    Examples:
        >>> r = contrastive_search(lm, "The sky is", penalty_alpha=0.6, top_k=4, max_new_tokens=8)
        >>> flips = sum(s.flipped for s in r.steps)        # steps where the penalty overruled greedy
        >>> r.forward_passes == len(r.steps) + 1           # the prefill, then one pass per token
        True
    """
    check_float("penalty_alpha", penalty_alpha, 0.0, 1.0)
    check_int("top_k", top_k, 1)
    check_int("max_new_tokens", max_new_tokens, 1)
    check_penalties(no_repeat_ngram_size, repetition_penalty)
    started = time.perf_counter()
    decoder = as_decoder(lm, hidden_states=True)
    ids = prompt_ids(decoder, prompt, max_new_tokens)
    procs = processors(decoder, no_repeat_ngram_size, repetition_penalty)
    eos = decoder.eos_token_ids
    prompt_len = ids.shape[1]

    out = decoder.start(ids)  # the prefill gives the first logits and the prompt's hidden states
    context = out.hidden[0]  # (length, width)
    logits = out.logits  # (1, vocab)
    sequence = ids
    steps: list[ContrastiveStep] = []
    chosen_row = 0  # the row of the last pass that holds the sequence so far
    for step in range(max_new_tokens):
        scores = procs(sequence, logits)
        probs = torch.softmax(scores, dim=-1)
        top_probs, top_ids = torch.topk(probs, k=top_k, dim=-1)  # (1, k)
        # one pass for all k candidates: k copies of the current row, each fed one candidate
        out = decoder.advance(torch.full((top_k,), int(chosen_row)), top_ids[0])
        cand_hidden = out.hidden[:, -1, :]  # (k, width)
        score, similarity, position = degeneration_scores(context, cand_hidden, top_probs[0], penalty_alpha)
        chosen_row = score.argmax()  # ties: the more likely candidate, as torch.max returns the first
        steps.append(
            ContrastiveStep(
                step,
                [
                    ContrastiveCandidate(
                        token_id=int(top_ids[0, i]), prob=float(top_probs[0, i]), max_similarity=float(similarity[i]),
                        most_similar=int(position[i]), confidence=float((1.0 - penalty_alpha) * top_probs[0, i]),
                        degeneration=float(penalty_alpha * similarity[i]), score=float(score[i]), chosen=i == int(chosen_row),
                    )
                    for i in range(top_k)
                ],
            )
        )
        token = top_ids[0, chosen_row].reshape(1, 1)
        sequence = torch.cat([sequence, token.to(sequence.device)], dim=1)
        context = torch.cat([context, cand_hidden[chosen_row][None]], dim=0)
        logits = out.logits[chosen_row][None]
        if int(token) in eos:
            break

    return ContrastiveResult(
        prompt_ids=ids[0].tolist(),
        sequences=sequence.cpu(),
        steps=steps,
        forward_passes=decoder.forward_passes,
        seconds=time.perf_counter() - started,
        settings=dict(penalty_alpha=penalty_alpha, top_k=top_k, max_new_tokens=max_new_tokens,
                      no_repeat_ngram_size=no_repeat_ngram_size, repetition_penalty=repetition_penalty),
        text=decoder.decode(sequence[0, prompt_len:].tolist()),
        prompt_text=decoder.decode(ids[0].tolist()),
    )
