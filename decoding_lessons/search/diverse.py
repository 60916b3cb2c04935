"""Diverse (group) beam search: Vijayakumar et al. 2016, as transformers ran it in core before 4.57.

Plain beam search tends to return ``num_beams`` near-copies of one sentence: the beams share a
prefix and differ in a word or two. Diverse beam search splits the beams into ``num_beam_groups``
groups of ``num_beams / num_beam_groups`` beams. At every step the groups are processed in order,
and each group is an ordinary beam search of its own, except that its scores are first lowered by
a *Hamming diversity penalty*:

    score(token) = log p(token) − diversity_penalty × (times an earlier group chose token at this step)

so a group pays for picking a token that an earlier group already picked *at the same step*. Group 0
is plain beam search; later groups are pushed elsewhere. The penalty stays in the beams' cumulative
scores (and so in the returned ``sequences_scores``), exactly as in transformers.

This follows transformers 4.55 line by line: ``_group_beam_search`` with one forward pass per step
for all groups' beams, ``HammingDiversityLogitsProcessor`` (applied before the repetition penalty
and n-gram blocking), one ``BeamSearchScorer`` per group keeping ``2 × group size`` candidates and a
pool of ``group size`` finished hypotheses (``BeamHypotheses``), and ``finalize``: the unfinished
beams of groups that are not done join their pools, and the best ``num_return_sequences``
hypotheses over *all* groups are returned.

With ``num_beam_groups=1`` it is plain beam search (``generate()`` dispatched one group there, and
so do we). With ``diversity_penalty=0`` every group is the same beam search of ``group size`` beams,
run through the group machinery: it returns what ``generate(num_beams=group size)`` returns, except
in rare cases after an EOS, where the per-group scorer's rules differ from the vectorised beam
search's: the scorer judges "done" by the best candidate of the step (an EOS included) rather than
the best live beam, and a done group drops its live beams at the end.

Examples:
    >>> r = diverse_beam_search(lm, "The sky is", num_beams=6, num_beam_groups=3, diversity_penalty=1.0)
    >>> sorted({h.group for h in r.returned})
    [0, 1, 2]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from .beam import NEG, BeamSearchResult, BeamStep, Candidate, Hypothesis, beam_search, check_beam_args, finish_result
from ..checks import check_float
from ..decoder import as_decoder, prompt_ids
from .common import processors


@dataclass
class HypothesisPool:
    """transformers 4.55's ``BeamHypotheses``: the ``size`` best finished hypotheses of one group.

    A hypothesis is scored ``sum_logprobs / generated_len ** length_penalty`` and enters if the pool
    is not full or it beats the worst one, which then leaves.
    """

    size: int
    length_penalty: float
    early_stopping: bool | str
    max_length: int
    beams: list[tuple[float, int]] = field(default_factory=list)  # (score, index into `finished`)
    worst_score: float = 1e9

    def add(self, score: float, index: int) -> tuple[bool, int | None]:
        """Offer a (length-penalised) hypothesis; returns (accepted, index of the one it evicted)."""
        if len(self.beams) < self.size or score > self.worst_score:
            self.beams.append((score, index))
            if len(self.beams) > self.size:
                ranked = sorted((s, i) for i, (s, _) in enumerate(self.beams))
                evicted = self.beams[ranked[0][1]][1]
                del self.beams[ranked[0][1]]
                self.worst_score = ranked[1][0]
                return True, evicted
            self.worst_score = min(score, self.worst_score)
            return True, None
        return False, None

    def is_done(self, best_sum_logprobs: float, cur_len: int, prompt_len: int) -> bool:
        """Can no live beam of this group beat the worst finished hypothesis any more?

        ``best_sum_logprobs`` is the best *candidate* score of the step, an EOS candidate included
        (transformers 5's vectorised beam search uses the best *live beam* instead, which is why the
        two can stop at different steps once an EOS has ranked first)."""
        if len(self.beams) < self.size:
            return False
        if self.early_stopping is True:
            return True
        if self.early_stopping is False:  # heuristic: score the best candidate at the current length
            highest = best_sum_logprobs / (cur_len - prompt_len) ** self.length_penalty
        elif self.length_penalty > 0.0:  # "never": the best possible, at max_length
            highest = best_sum_logprobs / (self.max_length - prompt_len) ** self.length_penalty
        else:
            highest = best_sum_logprobs / (cur_len - prompt_len) ** self.length_penalty
        return self.worst_score >= highest


def hamming_penalty(scores: torch.Tensor, earlier_tokens: torch.Tensor, diversity_penalty: float) -> torch.Tensor:
    """Subtract ``diversity_penalty × count`` from every token that earlier groups chose at this step
    (transformers' ``HammingDiversityLogitsProcessor``).

    Examples:
        >>> hamming_penalty(torch.zeros(1, 4), torch.tensor([2, 2, 0]), 0.5)
        tensor([[-0.5000,  0.0000, -1.0000,  0.0000]])
    """
    if earlier_tokens.numel() == 0:
        return scores
    frequency = torch.bincount(earlier_tokens, minlength=scores.shape[-1]).to(scores.device)
    return scores - diversity_penalty * frequency


def diverse_beam_search(
    lm,
    prompt,
    num_beams: int = 6,
    num_beam_groups: int = 3,
    diversity_penalty: float = 1.0,
    max_new_tokens: int = 12,
    num_return_sequences: int | None = None,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
) -> BeamSearchResult:
    """Diverse beam search on one prompt, recording every step of every group.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`, a transformers causal LM, or a decoder
            such as :class:`~decoding_lessons.search.toy.BigramModel`.
        prompt: text, or token ids.
        num_beams: all beams together, >= 1.
        num_beam_groups: groups, >= 1, dividing ``num_beams``. 2–4 groups of 2 beams are typical.
        diversity_penalty: subtracted from a token's score once per earlier group that chose it at
            this step; >= 0. 0 makes every group the same beam search; 0.5–2 is typical (log-prob
            units: 1.0 costs as much as a token e ≈ 2.7 times less likely).
        max_new_tokens: the length limit, >= 1.
        num_return_sequences: how many hypotheses to return, pooled over all groups and ranked by
            score, in [1, num_beams]; default: all ``num_beams``.
        length_penalty: as in :func:`~decoding_lessons.search.beam.beam_search`.
        early_stopping: as in :func:`~decoding_lessons.search.beam.beam_search`, applied per group.
        no_repeat_ngram_size: forbid repeating any n-gram of this size (0 = off).
        repetition_penalty: CTRL's penalty on tokens already present (1.0 = off).

    Returns:
        A :class:`~decoding_lessons.search.beam.BeamSearchResult`; each candidate and hypothesis
        carries its ``group``, each candidate its ``diversity_penalty``.

    Examples:
        >>> r = diverse_beam_search(lm, "The sky is", num_beams=4, num_beam_groups=2, diversity_penalty=1.0, max_new_tokens=6)
        >>> sorted(h.group for h in r.returned)
        [0, 0, 1, 1]
    """
    num_return_sequences = num_beams if num_return_sequences is None else num_return_sequences
    check_beam_args(num_beams, num_return_sequences, max_new_tokens, length_penalty, early_stopping, no_repeat_ngram_size, repetition_penalty)
    if not isinstance(num_beam_groups, int) or isinstance(num_beam_groups, bool) or num_beam_groups < 1 or num_beams % num_beam_groups:
        raise ValueError(
            f"`num_beam_groups` has to be an integer >= 1 that divides `num_beams` ({num_beams}), but is {num_beam_groups!r}"
        )
    check_float("diversity_penalty", diversity_penalty, 0.0)
    if num_beam_groups == 1:
        # transformers never ran one group through the group machinery: generate() sent
        # num_beam_groups=1 to plain beam search (whose early-stopping rule differs from the
        # per-group scorer's in rare cases, after an EOS; see HypothesisPool.is_done). So do we.
        return beam_search(
            lm, prompt, num_beams=num_beams, max_new_tokens=max_new_tokens, num_return_sequences=num_return_sequences,
            length_penalty=length_penalty, early_stopping=early_stopping, no_repeat_ngram_size=no_repeat_ngram_size,
            repetition_penalty=repetition_penalty,
        )
    started = time.perf_counter()
    decoder = as_decoder(lm)
    ids = prompt_ids(decoder, prompt, max_new_tokens)
    procs = processors(decoder, no_repeat_ngram_size, repetition_penalty)
    eos_ids = decoder.eos_token_ids
    pad = decoder.pad_token_id
    prompt_len = ids.shape[1]
    max_length = prompt_len + max_new_tokens
    n, groups = num_beams, num_beam_groups
    size = n // groups  # beams per group
    k = max(2, 1 + len(eos_ids)) * size  # candidates per group and step

    running = ids.repeat(n, 1)
    # the first beam of every group at 0, the others at -1e9: each group starts from one beam
    beam_scores = torch.full((n,), NEG, device=ids.device)
    beam_scores[::size] = 0.0
    nodes: list[int | None] = [None] * n
    pools = [HypothesisPool(size, length_penalty, early_stopping, max_length) for _ in range(groups)]
    done = [False] * groups

    candidates: list[Candidate] = []
    finished: list[Hypothesis] = []
    steps: list[BeamStep] = []
    out = decoder.start(running)
    cur_len = prompt_len
    while True:
        step = cur_len - prompt_len
        current_tokens = torch.zeros(n, dtype=torch.long, device=ids.device)  # tokens chosen at this step
        reorder = torch.zeros(n, dtype=torch.long, device=ids.device)  # which old row each new row continues
        new_running = running.clone()
        new_nodes = list(nodes)
        record = BeamStep(step, [], [], [])
        for g in range(groups):
            rows = list(range(g * size, (g + 1) * size))
            group_ids = running[rows]
            if done[g]:  # a finished group idles: its rows continue its first row with the pad token
                beam_scores[rows] = 0.0
                new_running[rows] = group_ids[0]
                current_tokens[rows] = pad
                reorder[rows] = g * size
                new_nodes[g * size : (g + 1) * size] = [None] * size
                continue
            logprobs = torch.log_softmax(out.logits[rows], dim=-1)
            # the Hamming penalty comes first, then generate()'s other processors
            earlier = current_tokens[: g * size]  # what groups 0 .. g-1 chose at this step
            penalised = g > 0 and diversity_penalty > 0
            scores = hamming_penalty(logprobs, earlier, diversity_penalty) if penalised else logprobs
            scores = procs(group_ids, scores)
            vocab = scores.shape[-1]
            total = (scores + beam_scores[rows][:, None]).reshape(1, -1)
            top_scores, flat = (t[0] for t in torch.topk(total, k, dim=1, largest=True, sorted=True))
            parents, tokens = flat // vocab, flat % vocab
            frequency = torch.bincount(earlier, minlength=vocab) if penalised else None

            live_real = [r for r in rows if float(beam_scores[r]) > NEG / 2]
            record.live += [nodes[r] for r in live_real]
            record.live_scores += [float(beam_scores[r]) for r in live_real]
            group_cands = []
            for rank in range(k):
                parent, token = int(parents[rank]), int(tokens[rank])
                cand = Candidate(
                    id=len(candidates), step=step, group=g, parent=nodes[g * size + parent], slot=g * size + parent,
                    token_id=token, logprob=float(logprobs[parent, token]), step_score=float(scores[parent, token]),
                    score=float(top_scores[rank]), rank=rank,
                    diversity_penalty=diversity_penalty * int(frequency[token]) if penalised else 0.0,
                    ended="eos" if token in eos_ids else None,
                )
                candidates.append(cand)
                record.candidates.append(cand.id)
                group_cands.append(cand)

            # BeamSearchScorer.process: walk the candidates best first; an EOS within the top
            # group-size candidates is offered to the pool, other tokens fill the group's beams.
            kept: list[Candidate] = []
            for cand in group_cands:
                parent = cand.slot - g * size
                if cand.ended == "eos":
                    if cand.rank >= size:
                        continue
                    h = Hypothesis(
                        tokens=tuple(group_ids[parent, prompt_len:].tolist()) + (cand.token_id,), sum_logprobs=cand.score,
                        score=cand.score / ((cur_len + 1 - prompt_len) ** length_penalty), length=cur_len + 1 - prompt_len,
                        step=step, group=g, node=cand.id, eos=True,
                    )
                    offer(pools[g], finished, h, cand, step)
                else:
                    cand.status, cand.next_slot = "kept", g * size + len(kept)
                    kept.append(cand)
                if len(kept) == size:
                    break
            done[g] = pools[g].is_done(float(top_scores.max()), cur_len + 1, prompt_len)

            chosen = torch.tensor([c.slot - g * size for c in kept], device=ids.device)
            beam_scores[rows] = torch.stack([top_scores[c.rank] for c in kept])
            new_running[rows] = group_ids[chosen]
            current_tokens[rows] = torch.tensor([c.token_id for c in kept], device=ids.device)
            reorder[rows] = g * size + chosen
            new_nodes[g * size : (g + 1) * size] = [c.id for c in kept]
        steps.append(record)

        running = torch.cat([new_running, current_tokens[:, None]], dim=1)
        nodes = new_nodes
        cur_len += 1
        if all(done) or cur_len >= max_length:
            break
        out = decoder.advance(reorder, current_tokens)

    # finalize: the live beams of groups that are not done join their pools ...
    for g in range(groups):
        if done[g]:
            continue
        for r in range(g * size, (g + 1) * size):
            cand = candidates[nodes[r]]
            offer(pools[g], finished, length_hypothesis(running, r, beam_scores, cand, prompt_len, length_penalty, group=g), cand, None)
    # ... and the best hypotheses over all groups are returned
    returned = best_of_pools(pools, finished, num_return_sequences)
    sequences, scores = finalize_sequences(returned, ids, eos_ids, pad, max_length)
    settings = dict(
        num_beams=num_beams, num_return_sequences=num_return_sequences, max_new_tokens=max_new_tokens,
        length_penalty=length_penalty, early_stopping=early_stopping, no_repeat_ngram_size=no_repeat_ngram_size,
        repetition_penalty=repetition_penalty, num_beam_groups=num_beam_groups, diversity_penalty=diversity_penalty,
        algorithm="diverse beam search",
    )
    return finish_result(decoder, ids, sequences, scores, returned, finished, candidates, steps, started, settings)


def offer(pool: HypothesisPool, finished: list[Hypothesis], h: Hypothesis, cand: Candidate, step: int | None) -> None:
    """Offer hypothesis ``h`` (ended by ``cand``) to a group's pool, and record the outcome."""
    accepted, evicted = pool.add(h.score, len(finished))
    if not accepted:
        return
    cand.status = "finished"
    cand.hypothesis = len(finished)
    finished.append(h)
    if evicted is not None:
        finished[evicted].evicted_at = h.step if step is None else step


def length_hypothesis(running, row: int, beam_scores, cand: Candidate, prompt_len: int, length_penalty: float, group: int = 0, **extra) -> Hypothesis:
    """The live beam ``running[row]`` as a hypothesis that ends at the length limit (4.55's
    ``finalize``), its last candidate ``cand`` marked ended by length; ``extra`` fills further fields."""
    cand.ended = cand.ended or "length"
    length = running.shape[1] - prompt_len
    return Hypothesis(
        tokens=tuple(running[row, prompt_len:].tolist()), sum_logprobs=float(beam_scores[row]),
        score=float(beam_scores[row]) / (length**length_penalty), length=length, step=length - 1, group=group,
        node=cand.id, eos=False, **extra,
    )


def best_of_pools(pools: list[HypothesisPool], finished: list[Hypothesis], count: int) -> list[Hypothesis]:
    """The ``count`` best hypotheses of all ``pools``, best first, each given its ``rank``: 4.55's
    ``finalize`` sorts the pools' entries by score (a stable sort) and pops from the top."""
    ranked = sorted((entry for pool in pools for entry in pool.beams), key=lambda entry: entry[0])
    returned = []
    for rank in range(count):
        _, index = ranked.pop()
        finished[index].rank = rank
        returned.append(finished[index])
    return returned


def finalize_sequences(returned: list[Hypothesis], ids, eos_ids, pad, max_length):
    """``generate()``-style output as 4.55's ``finalize`` built it: hypotheses padded with the pad
    token, and an EOS written after a hypothesis that did not end with one, if it fits."""
    prompt = ids[0].cpu()
    # 4.55 stores hypotheses without their final EOS and writes eos_token_id[0] back afterwards
    bodies = [h.tokens[:-1] if h.eos else h.tokens for h in returned]
    lengths = [len(prompt) + len(b) for b in bodies]
    width = min(max(lengths) + 1, max_length)
    sequences = torch.full((len(returned), width), pad if pad is not None else 0, dtype=torch.long)
    for i, body in enumerate(bodies):
        sequences[i, : len(prompt)] = prompt
        sequences[i, len(prompt) : lengths[i]] = torch.tensor(body, dtype=torch.long)
        if lengths[i] < width:
            sequences[i, lengths[i]] = eos_ids[0]
    scores = torch.tensor([h.score for h in returned], dtype=torch.float32)
    return sequences, scores
