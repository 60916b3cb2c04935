"""Beam search, exactly as transformers 5 runs it, recorded step by step so it can be drawn.

Greedy decoding commits to the single most likely token at every step. Beam search keeps the
``num_beams`` best *partial sequences* instead, scored by their summed log-probability, and only
commits at the end. At each step (transformers' ``GenerationMixin._beam_search``):

1. one forward pass over all live beams at once (with the KV cache) gives each beam's next-token
   log-probabilities; the logits processors (n-gram blocking, repetition penalty) act on them;
2. every beam × every token is a candidate with score ``beam score + log p(token)``; the best
   ``2 × num_beams`` candidates are kept for a look (twice as many, so that even if half of them
   end with EOS there are still ``num_beams`` to continue);
3. candidates that end here (EOS, or the length limit) and rank within the top ``num_beams`` become
   *finished hypotheses*, scored ``sum_logprobs / generated_length ** length_penalty``; the pool
   keeps the ``num_beams`` best;
4. the best ``num_beams`` candidates that did not end become the next live beams; the rest are pruned;
5. stop when no live beam can beat the worst finished hypothesis (``early_stopping``), or at the
   length limit.

``length_penalty`` > 0 favours longer hypotheses (their negative sum is divided by a larger number),
< 0 favours shorter ones, 0 compares raw sums. ``early_stopping``: ``True`` stops as soon as
``num_beams`` hypotheses are finished; ``False`` (default) stops when the best live beam, scored at
the current length, cannot beat the worst finished one (a heuristic); ``"never"`` stops only when
no improvement is possible at all (the canonical algorithm).

Beam sampling (``generate(do_sample=True, num_beams=...)``) runs this same loop with step 2 drawn
instead of taken from the top: see :mod:`decoding_lessons.search.beam_sampling`.

Examples:
    >>> result = beam_search(lm, "The sky is", num_beams=4, max_new_tokens=12)
    >>> len(result.sequences), len(result.sequences_scores)  # == generate(num_beams=4, num_return_sequences=4, ...)
    (4, 4)
    >>> result.forward_passes                        # one per step, all beams together
    12
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ..checks import check_float, check_int
from ..decoder import as_decoder, prompt_ids
from ..processors import PROCESSORS, WARPER_ORDER
from ..scoring import DecodingConfig, logits_processors
from .common import check_early_stopping, check_penalties, processors

NEG = -1.0e9  # transformers' stand-in for "minus infinity" in beam scores


@dataclass
class Candidate:
    """A live beam extended by one token: one node of the search tree.

    Attributes:
        id: index in :attr:`BeamSearchResult.candidates`.
        step: generation step (0 = first new token).
        group: beam group (diverse beam search; 0 otherwise).
        parent: id of the candidate this one extends, ``None`` when it extends the prompt.
        slot: index of the live beam it extends, among this step's ``num_beams`` beams.
        token_id: the new token.
        logprob: the model's log-probability of the token after that beam (log_softmax of the logits).
        step_score: what the search added to the beam's score: ``logprob`` after the processors
            (n-gram blocking, repetition penalty) and minus the diversity penalty.
        score: the cumulative score: the parent's score + ``step_score``.
        rank: 0 for the best candidate of its step (and group).
        status: ``"kept"`` (a live beam at the next step), ``"finished"`` (entered the pool of
            finished hypotheses) or ``"pruned"``.
        ended: ``"eos"`` or ``"length"`` when the sequence ends with this token (whether or not it
            made it into the pool), else ``None``.
        next_slot: the live-beam slot it occupies at the next step, when kept.
        diversity_penalty: the Hamming penalty subtracted (diverse beam search).
        hypothesis: index in :attr:`BeamSearchResult.finished` when it ended a hypothesis.
        draw_prob: beam sampling only (``None`` otherwise): the candidate's probability in the
            distribution its step's candidates were drawn from, softmax of the cumulative scores over
            every live beam × every token.
        bank: constrained beam search only: how many constraint tokens the beam has met with this
            token (``None`` otherwise, and for candidates the step did not rank).
        forced: constrained beam search only: added because it advances a constraint, not because
            it was among the best candidates.
    """

    id: int
    step: int
    group: int
    parent: int | None
    slot: int
    token_id: int
    logprob: float
    step_score: float
    score: float
    rank: int
    status: str = "pruned"
    ended: str | None = None
    next_slot: int | None = None
    diversity_penalty: float = 0.0
    hypothesis: int | None = None
    draw_prob: float | None = None
    bank: int | None = None
    forced: bool = False


@dataclass
class Hypothesis:
    """A finished sequence, as it entered the pool of finished hypotheses.

    Attributes:
        tokens: the generated tokens (prompt excluded), EOS included when it ended with EOS.
        sum_logprobs: its summed score (the candidate's cumulative score).
        score: ``sum_logprobs / length ** length_penalty``, the score it is ranked by.
        length: the generated length used in the penalty.
        step: the step at which it finished.
        group: its beam group.
        node: id of the candidate that ended it.
        eos: whether it ended with EOS (else it reached the length limit).
        rank: its position in the returned list (0 = best), ``None`` if it was not returned.
        evicted_at: the step at which a better hypothesis pushed it out of the pool, if one did.
        constraints_met: constrained beam search only: whether it holds every constraint
            (``None`` for the other searches).
    """

    tokens: tuple[int, ...]
    sum_logprobs: float
    score: float
    length: int
    step: int
    group: int
    node: int | None
    eos: bool
    rank: int | None = None
    evicted_at: int | None = None
    constraints_met: bool | None = None


@dataclass
class BeamStep:
    """One step: the live beams that were expanded (candidate ids, ``None`` = the prompt) and the ids
    of the candidates the search looked at."""

    step: int
    live: list[int | None]
    live_scores: list[float]
    candidates: list[int]


@dataclass
class BeamSearchResult:
    """Everything a beam search did.

    ``sequences`` and ``sequences_scores`` are what ``generate(num_beams=..., num_return_sequences=...,
    output_scores=True, return_dict_in_generate=True)`` returns (prompt included, padded);
    ``returned`` are the same hypotheses as records. ``candidates`` hold the whole tree; ``steps``
    say which beams were live when; ``finished`` lists every hypothesis that entered the pool.
    """

    prompt_ids: list[int]
    sequences: torch.Tensor
    sequences_scores: torch.Tensor
    returned: list[Hypothesis]
    finished: list[Hypothesis]
    candidates: list[Candidate]
    steps: list[BeamStep]
    forward_passes: int
    seconds: float
    settings: dict
    texts: list[str] = field(default_factory=list)
    prompt_text: str = ""

    @property
    def num_steps(self) -> int:
        return len(self.steps)

    def path(self, node: int | None) -> list[int]:
        """Candidate ids from the first step down to ``node``."""
        out = []
        while node is not None:
            out.append(node)
            node = self.candidates[node].parent
        return out[::-1]


# --------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------


def check_beam_args(num_beams, num_return_sequences, max_new_tokens, length_penalty, early_stopping, no_repeat_ngram_size, repetition_penalty):
    check_int("num_beams", num_beams, 1)
    check_int("num_return_sequences", num_return_sequences, 1, num_beams)
    check_int("max_new_tokens", max_new_tokens, 1)
    check_float("length_penalty", length_penalty)
    check_early_stopping(early_stopping)
    check_penalties(no_repeat_ngram_size, repetition_penalty)


def output_fill_value(decoder) -> int:
    """What pads shorter returned sequences: transformers 5 writes ``pad_token_id or eos_token_id[0]``
    (so a pad id of 0 falls back to EOS), and -1 for a model without EOS."""
    if not decoder.eos_token_ids:
        return -1
    return decoder.pad_token_id or decoder.eos_token_ids[0]


def beam_search(
    lm,
    prompt,
    num_beams: int = 4,
    max_new_tokens: int = 12,
    num_return_sequences: int | None = None,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
) -> BeamSearchResult:
    """Beam search on one prompt, recording every step; equal to ``generate(num_beams=...)``.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`, a transformers causal LM, or a decoder
            such as :class:`~decoding_lessons.search.toy.BigramModel`.
        prompt: text, or token ids.
        num_beams: live beams per step, >= 1. 4–8 is typical; 1 is greedy with a finished pool.
        max_new_tokens: the length limit, >= 1.
        num_return_sequences: how many hypotheses to return, in [1, num_beams]; default: all
            ``num_beams`` (``generate()``'s default is 1).
        length_penalty: exponent of the length that divides a finished hypothesis's summed
            log-probability; > 0 favours long outputs, < 0 short ones. Default 1.0.
        early_stopping: ``True``, ``False`` (default) or ``"never"``; see the module docstring.
        no_repeat_ngram_size: forbid repeating any n-gram of this size (0 = off).
        repetition_penalty: CTRL's penalty on tokens already present (1.0 = off).

    Returns:
        A :class:`BeamSearchResult`. ``result.sequences`` equals ``generate()``'s ``sequences``
        and ``result.sequences_scores`` its ``sequences_scores``; ``result.forward_passes`` is the
        number of steps (one batched pass per step, the first being the prompt's prefill).

    Examples:
        >>> r = beam_search(lm, "The sky is", num_beams=4, max_new_tokens=8)
        >>> scores = [h.score for h in r.returned]     # best first
        >>> scores == sorted(scores, reverse=True)
        True
        >>> sum(c.status == "pruned" for c in r.candidates) > 0   # candidates that lost their place
        True
    """
    num_return_sequences = num_beams if num_return_sequences is None else num_return_sequences
    check_beam_args(num_beams, num_return_sequences, max_new_tokens, length_penalty, early_stopping, no_repeat_ngram_size, repetition_penalty)
    return run_beams(
        lm, prompt, num_beams, max_new_tokens, num_return_sequences, length_penalty, early_stopping, no_repeat_ngram_size,
        repetition_penalty,
    )


def run_beams(
    lm, prompt, num_beams, max_new_tokens, num_return_sequences, length_penalty, early_stopping, no_repeat_ngram_size,
    repetition_penalty, sampling: DecodingConfig | None = None, seed: int | None = None,
) -> BeamSearchResult:
    """The loop of :func:`beam_search` and :func:`~decoding_lessons.search.beam_sampling.beam_sample`
    (arguments already checked). ``sampling`` is ``None`` for beam search; for beam sampling it is the
    warpers' :class:`~decoding_lessons.DecodingConfig` (``do_sample=True``), and ``torch.manual_seed(seed)``
    is called before the first step, as before a ``generate()`` call."""
    started = time.perf_counter()
    decoder = as_decoder(lm)
    ids = prompt_ids(decoder, prompt, max_new_tokens)
    do_sample = sampling is not None
    if do_sample:
        # generate()'s list for do_sample=True and num_beams > 1: the penalties, then the warpers, each
        # truncation keeping at least (number of EOS ids + 1) tokens per beam (2 without an EOS id)
        config = sampling.replace(do_sample=True, no_repeat_ngram_size=no_repeat_ngram_size, repetition_penalty=repetition_penalty)
        procs = logits_processors(config, getattr(decoder, "generation_config", None), num_beams=num_beams,
                                  eos_token_count=max(1, len(decoder.eos_token_ids)))
    else:
        procs = processors(decoder, no_repeat_ngram_size, repetition_penalty)
    eos = torch.tensor(decoder.eos_token_ids, dtype=torch.long, device=ids.device)
    prompt_len = ids.shape[1]
    max_length = prompt_len + max_new_tokens
    n = num_beams
    # 2 × num_beams candidates (more with several EOS ids): enough to refill every beam even if the
    # best num_beams all end here.
    k = max(2, 1 + len(decoder.eos_token_ids)) * n
    top_n = torch.arange(k, device=ids.device) < n  # only the top num_beams candidates may finish

    # live beams: all start as the prompt, but only beam 0 counts (the others at -1e9), so the first
    # step does not pick the same token num_beams times.
    running = ids.repeat(n, 1)
    running_scores = torch.full((n,), NEG, device=ids.device)
    running_scores[0] = 0.0
    running_nodes: list[int | None] = [None] * n
    # the pool of finished hypotheses: num_beams slots, empty slots at -1e9
    pool_scores = torch.full((n,), NEG, device=ids.device)
    pool_finished = torch.zeros(n, dtype=torch.bool, device=ids.device)
    pool: list[int | None] = [None] * n  # index into `finished`
    improvable = True  # can a live beam still beat the worst finished hypothesis?

    candidates: list[Candidate] = []
    finished: list[Hypothesis] = []
    steps: list[BeamStep] = []
    if do_sample:
        torch.manual_seed(seed)  # the draws come from torch's global generator, as generate()'s do
    out = decoder.start(running)  # the prefill: one pass for all beams
    cur_len = prompt_len
    while True:
        step = cur_len - prompt_len
        # 1. next-token scores of every live beam
        logprobs = torch.log_softmax(out.logits, dim=-1)
        scores = procs(running, logprobs)
        vocab = scores.shape[-1]
        # 2. k of the num_beams × vocab candidates, by cumulative score (over a (1, beams × vocab) row,
        #    as transformers does, so that ties break the same way)
        total = (scores + running_scores[:, None]).reshape(1, -1)
        if do_sample:
            # beam sampling: draw k candidates without replacement from softmax(cumulative scores),
            # then sort the drawn ones best first
            draw_probs = torch.softmax(total, dim=-1)
            drawn = torch.multinomial(draw_probs, num_samples=k)
            top_scores, order = torch.gather(total, 1, drawn).sort(dim=-1, descending=True)
            top_scores, flat = top_scores[0], drawn.gather(-1, order)[0]
        else:
            # beam search: the best k
            top_scores, flat = (t[0] for t in torch.topk(total, k))
        parent_slots = flat // vocab
        tokens = flat % vocab
        cand_seqs = torch.cat([running[parent_slots], tokens[:, None]], dim=1)
        # 3. which candidates end here: EOS, or the length limit
        ends = torch.isin(tokens, eos) | (cur_len + 1 >= max_length)
        # 4. the next live beams: the best num_beams candidates that do not end
        live_scores = top_scores + ends.to(torch.float32) * NEG
        next_idx = torch.topk(live_scores[None], n).indices[0]
        # 5. the pool: candidates that end within the top num_beams, length-penalised, compete with
        #    the finished hypotheses so far; the best num_beams stay.
        just_finished = ends & top_n
        fin_scores = top_scores / ((cur_len + 1 - prompt_len) ** length_penalty)
        pool_full = bool(pool_finished.all()) and early_stopping is True
        fin_scores = fin_scores + float(pool_full) * NEG
        fin_scores = fin_scores + float(not improvable) * NEG
        fin_scores = fin_scores + (~just_finished) * NEG
        merged = torch.topk(torch.cat([pool_scores, fin_scores])[None], n).indices[0]

        # ---- record this step (Python lists; the search itself is the tensor code) ----
        ids_here = []
        live_nodes = [running_nodes[s] for s in range(n)]
        for rank in range(k):
            slot, token = int(parent_slots[rank]), int(tokens[rank])
            cand = Candidate(
                id=len(candidates), step=step, group=0, parent=running_nodes[slot], slot=slot, token_id=token,
                logprob=float(logprobs[slot, token]), step_score=float(scores[slot, token]),
                score=float(top_scores[rank]), rank=rank,
                ended=("eos" if bool(torch.isin(tokens[rank], eos)) else "length") if bool(ends[rank]) else None,
                draw_prob=float(draw_probs[0, flat[rank]]) if do_sample else None,
            )
            candidates.append(cand)
            ids_here.append(cand.id)
        first = ids_here[0]
        new_pool: list[int | None] = []
        for m in merged.tolist():
            if m < n:
                new_pool.append(pool[m])
                continue
            cand = candidates[first + m - n]
            if not bool(just_finished[m - n]):  # an empty slot refilled with a non-finished filler
                new_pool.append(None)
                continue
            cand.status = "finished"
            cand.hypothesis = len(finished)
            finished.append(
                Hypothesis(
                    tokens=tuple(cand_seqs[m - n, prompt_len:].tolist()), sum_logprobs=cand.score,
                    score=float(fin_scores[m - n]), length=cur_len + 1 - prompt_len, step=step, group=0,
                    node=cand.id, eos=bool(torch.isin(tokens[m - n], eos)),
                )
            )
            new_pool.append(cand.hypothesis)
        for h in set(p for p in pool if p is not None) - set(p for p in new_pool if p is not None):
            finished[h].evicted_at = step
        for slot, i in enumerate(next_idx.tolist()):
            if not bool(ends[i]):
                candidates[first + i].status = "kept"
                candidates[first + i].next_slot = slot
        real = [s for s in range(n) if float(running_scores[s]) > NEG / 2]
        steps.append(BeamStep(step, [live_nodes[s] for s in real], [float(running_scores[s]) for s in real], ids_here))
        # ---- end of the record ----

        running = cand_seqs[next_idx]
        running_scores = live_scores[next_idx]
        running_nodes = [first + i for i in next_idx.tolist()]
        pool_scores = torch.cat([pool_scores, fin_scores])[merged]
        pool_finished = torch.cat([pool_finished, just_finished])[merged]
        pool = new_pool

        cur_len += 1
        # 6. stop? the early-stopping heuristic: can the best live beam still beat the worst finished
        #    hypothesis, if it were scored at the current length (or at max_length for "never"
        #    with a positive length_penalty)?
        if early_stopping == "never" and length_penalty > 0.0:
            best_length = max_length - prompt_len
        else:
            best_length = cur_len - prompt_len
        best_possible = running_scores[0] / (best_length**length_penalty)
        worst_finished = torch.where(pool_finished, pool_scores.min(), NEG)
        improvable = improvable and bool(torch.any(best_possible > worst_finished))
        all_finished_and_early = bool(pool_finished.all()) and early_stopping is True
        if not improvable or all_finished_and_early or bool(ends.all()):
            break
        # the cache follows the beams: row i of the next pass continues the beam it came from
        out = decoder.advance(parent_slots[next_idx], running[:, -1])

    # 7. the result: the pool, best first (topk keeps it sorted), padded like generate()
    if any(pool[i] is None for i in range(num_return_sequences)):
        raise RuntimeError("beam search ended with fewer finished hypotheses than num_return_sequences")
    returned = [finished[pool[i]] for i in range(num_return_sequences)]
    for rank, h in enumerate(returned):
        h.rank = rank
    width = prompt_len + max(len(h.tokens) for h in returned)
    sequences = torch.full((num_return_sequences, width), output_fill_value(decoder), dtype=torch.long)
    sequences[:, :prompt_len] = ids[0].cpu()
    for i, h in enumerate(returned):
        sequences[i, prompt_len : prompt_len + len(h.tokens)] = torch.tensor(h.tokens, dtype=torch.long)
    settings = dict(
        num_beams=num_beams, num_return_sequences=num_return_sequences, max_new_tokens=max_new_tokens,
        length_penalty=length_penalty, early_stopping=early_stopping, no_repeat_ngram_size=no_repeat_ngram_size,
        repetition_penalty=repetition_penalty, num_beam_groups=1, diversity_penalty=0.0,
        algorithm="beam sampling" if do_sample else "beam search", do_sample=do_sample,
    )
    if do_sample:  # the warpers that acted, with their resolved values (top_k=50 when only the default)
        resolved = config.resolved(getattr(decoder, "generation_config", None))
        warpers = {name: resolved[name] for name in WARPER_ORDER if not PROCESSORS[name].is_off(resolved[name])}
        settings.update(warpers=warpers, sampling=", ".join(f"{k}={v:g}" for k, v in warpers.items()) or "no warper", seed=seed)
    return finish_result(
        decoder, ids, sequences, pool_scores[:num_return_sequences].float().cpu(), returned, finished, candidates, steps, started, settings
    )


def finish_result(decoder, ids, sequences, sequences_scores, returned, finished, candidates, steps, started, settings) -> BeamSearchResult:
    """Assemble a :class:`BeamSearchResult` (token ids; the charts label them)."""
    return BeamSearchResult(
        prompt_ids=ids[0].tolist(),
        sequences=sequences,
        sequences_scores=sequences_scores,
        returned=returned,
        finished=finished,
        candidates=candidates,
        steps=steps,
        forward_passes=decoder.forward_passes,
        seconds=time.perf_counter() - started,
        settings=settings,
        texts=[decoder.decode(h.tokens) for h in returned],
        prompt_text=decoder.decode(ids[0].tolist()),
    )
