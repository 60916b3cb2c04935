"""Constrained beam search: beam search that must put given words in its output, as transformers
ran it in core up to 4.55 (``generate(force_words_ids=...)`` or ``generate(constraints=[...])``).

A **constraint** is a phrase that has to appear, token for token (a *phrasal* constraint), or a set
of phrases of which one has to appear (a *disjunctive* one: ``[" rain", " rainy", " raining"]``).
Beam search cannot simply ban everything else: the words have to come at a moment the model finds
plausible. The algorithm (Hokamp & Liu 2017's grid beam search, in the form of Post & Vilar 2018's
dynamic beam allocation) keeps, at every step, besides the ordinary top candidates, the candidates
that **advance** a constraint (the next token of a phrase in progress, or the first token of one
not started), and shares the beams out among **banks**: a beam's bank is how many constraint tokens
it has met so far. Each step (``ConstrainedBeamSearchScorer.process`` and
``step_sentence_constraint``):

1. one forward pass over all live beams; log-softmax, then the processors (repetition penalty,
   n-gram blocking);
2. the best ``2 × num_beams`` candidates by cumulative score; walking them best first, an EOS within
   the top ``num_beams`` *finishes* a hypothesis only if its beam has met every constraint (else it
   is dropped), and the first ``num_beams`` other candidates are kept;
3. for every live beam, each token that would advance its constraints is added as a candidate (at
   its own cumulative score) unless it is already there;
4. the candidates are ranked by ``bank × 100 + score`` and taken **round-robin over the banks**: the
   best of each bank first, then the second best of each, ... The first ``num_beams`` are the new
   beams. A beam that has met more of the constraints is therefore kept even when its score is far
   lower, as long as the banks above it are not full;
5. stop when no live beam can beat the worst finished hypothesis (the pool's early-stopping rule,
   as in diverse beam search) or at the length limit. At the end, the live beams that met every
   constraint join the pool; if fewer than ``num_return_sequences`` did, **every** live beam joins
   it, so a result can come back without its words (the length limit came first).

This module ports 4.55's ``PhrasalConstraint``, ``DisjunctiveConstraint`` and
``ConstraintListState`` (:class:`PhrasalConstraint`, :class:`DisjunctiveConstraint`,
:class:`ConstraintState`) with their behaviour kept as it was, quirks included, so the outputs equal
4.55.4's: a phrase broken off half way starts again from nothing (its next token is not tried as the
phrase's first), a state is built by replaying the whole sequence, *prompt included* (a word already
in the prompt counts as met), and a copied in-progress disjunctive constraint shares its token list
with the original (when one beam can advance to several branches of a disjunctive trie, the later
branches' banks are counted from a list the earlier ones already extended).

Examples:
    >>> r = constrained_beam_search(lm, "The sky is", [" purple"], num_beams=4, max_new_tokens=10)
    >>> r.returned[0].constraints_met, "purple" in r.texts[0]
    (True, True)
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .beam import NEG, BeamSearchResult, BeamStep, Candidate, Hypothesis, check_beam_args, finish_result
from .common import processors
from .diverse import HypothesisPool, best_of_pools, finalize_sequences, length_hypothesis, offer
from ..checks import check_int
from ..decoder import as_decoder, prompt_ids


class PhrasalConstraint:
    """Every token of ``token_ids``, in order (4.55's ``PhrasalConstraint``).

    Examples:
        >>> c = PhrasalConstraint([5, 7])
        >>> c.advance(), c.update(5), c.advance(), c.update(7), c.remaining()
        (5, (True, False, False), 7, (True, True, False), 0)
    """

    def __init__(self, token_ids):
        self.token_ids = _ids(token_ids, "a phrasal constraint")
        self.seqlen = len(self.token_ids)
        self.fulfilled_idx = -1  # the index of the last token met
        self.completed = False

    def advance(self):
        """The token that would make progress (``None`` once complete)."""
        return None if self.completed else self.token_ids[self.fulfilled_idx + 1]

    def does_advance(self, token_id: int) -> bool:
        return not self.completed and token_id == self.token_ids[self.fulfilled_idx + 1]

    def update(self, token_id: int):
        """Feed one token: ``(stepped, completed, reset)``."""
        stepped = completed = reset = False
        if self.does_advance(token_id):
            self.fulfilled_idx += 1
            stepped = True
            if self.fulfilled_idx == self.seqlen - 1:
                completed = True
            self.completed = completed
        else:
            reset = True
            self.reset()
        return stepped, completed, reset

    def reset(self):
        self.completed = False
        self.fulfilled_idx = 0  # 4.55's value (not -1); the list state discards a reset constraint anyway

    def remaining(self) -> int:
        return self.seqlen - (self.fulfilled_idx + 1)

    def copy(self, stateful: bool = False) -> "PhrasalConstraint":
        new = PhrasalConstraint(self.token_ids)
        if stateful:
            new.fulfilled_idx, new.completed = self.fulfilled_idx, self.completed
        return new

    def __repr__(self) -> str:
        return f"PhrasalConstraint({self.token_ids})"


class DisjunctiveConstraint:
    """One of several token sequences (4.55's ``DisjunctiveConstraint``), walked as a trie; no
    sequence may be a prefix of another.

    Examples:
        >>> c = DisjunctiveConstraint([[1, 2], [1, 3], [4]])
        >>> sorted(c.advance()), c.update(1), sorted(c.advance()), c.update(3)[1]
        ([1, 4], (True, False, False), [2, 3], True)
    """

    def __init__(self, nested_token_ids):
        if isinstance(nested_token_ids, (str, bytes)) or not isinstance(nested_token_ids, (list, tuple)) or not nested_token_ids:
            raise ValueError(f"a disjunctive constraint has to be a non-empty list of token-id lists, but is {nested_token_ids!r}")
        self.token_ids = [_ids(seq, "each branch of a disjunctive constraint") for seq in nested_token_ids]
        self.trie: dict = {}
        for seq in self.token_ids:
            level = self.trie
            for token in seq:
                level = level.setdefault(token, {})
        if _leaves(self.trie) != len(self.token_ids):
            raise ValueError(
                "a disjunctive constraint's branches may not repeat or be the start of one another (4.55 refuses "
                f"it too: the trie could never tell them apart), but they are {self.token_ids}"
            )
        self.seqlen = max(len(seq) for seq in self.token_ids)
        self.current_seq: list[int] = []
        self.completed = False

    def _next(self):
        level = self.trie
        for token in self.current_seq:
            level = level[token]
        return list(level.keys())

    def advance(self):
        """The tokens that would make progress (``None`` once complete)."""
        return self._next() or None

    def does_advance(self, token_id: int) -> bool:
        return token_id in self._next()

    def update(self, token_id: int):
        """Feed one token: ``(stepped, completed, reset)``."""
        stepped = reset = False
        if self.does_advance(token_id):
            self.current_seq.append(token_id)
            stepped = True
        else:
            reset = True
            self.reset()
        self.completed = not self._next()
        return stepped, self.completed, reset

    def reset(self):
        self.completed = False
        self.current_seq = []

    def remaining(self) -> int:
        return 0 if self.completed else self.seqlen - len(self.current_seq)

    def copy(self, stateful: bool = False) -> "DisjunctiveConstraint":
        new = DisjunctiveConstraint(self.token_ids)
        if stateful:
            # 4.55 shares the list (no copy): a later update of either appends to both
            new.current_seq, new.completed = self.current_seq, self.completed
        return new

    def __repr__(self) -> str:
        return f"DisjunctiveConstraint({self.token_ids})"


def _leaves(trie: dict) -> int:
    return 1 if not trie else sum(_leaves(t) for t in trie.values())


def _ids(value, what: str) -> list[int]:
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    ok = isinstance(value, (list, tuple)) and value and all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value)
    if not ok:
        raise ValueError(f"{what} has to be a non-empty list of token ids (integers >= 0), but is {value!r}")
    return [int(t) for t in value]


class ConstraintState:
    """Where one sequence stands on all the constraints (4.55's ``ConstraintListState``): the ones
    met, the one in progress (at most one at a time) and the ones pending.

    Its :meth:`bank` is the number of constraint tokens met: ``len(met) × longest + progress``, where
    ``longest`` is the longest constraint's length and ``progress`` is ``longest − remaining`` of the
    one in progress (so a half-done short phrase can count as much as a long one).

    Examples:
        >>> s = ConstraintState([PhrasalConstraint([5, 7]), PhrasalConstraint([9])])
        >>> s.reset([1, 5, 7]); s.bank(), s.completed
        (2, False)
    """

    def __init__(self, constraints):
        self.constraints = constraints
        self.max_seqlen = max(c.seqlen for c in constraints)
        self.completed = False
        self.init_state()

    def init_state(self):
        self.complete_constraints: list = []
        self.inprogress_constraint = None
        self.pending_constraints = [c.copy(stateful=False) for c in self.constraints]

    def bank(self) -> int:
        add = self.max_seqlen - self.inprogress_constraint.remaining() if self.inprogress_constraint else 0
        return len(self.complete_constraints) * self.max_seqlen + add

    def advance(self):
        """The tokens that would make progress: the in-progress constraint's next ones, or else the
        first tokens of every pending constraint; ``None`` when there are none."""
        tokens: list[int] = []
        sources = [self.inprogress_constraint] if self.inprogress_constraint is not None else self.pending_constraints
        for c in sources:
            a = c.advance()
            if isinstance(a, int):
                tokens.append(a)
            elif isinstance(a, list):
                tokens.extend(a)
        return tokens or None

    def reset(self, token_ids):
        """Replay ``token_ids`` from the start."""
        self.init_state()
        if token_ids is not None:
            for token in token_ids:
                self.add(token)
                if self.completed:
                    break

    def add(self, token_id: int):
        complete = stepped = False
        if self.completed:
            return True, False
        if self.inprogress_constraint is not None:
            stepped, complete, reset = self.inprogress_constraint.update(token_id)
            if reset:  # broken off: back to pending, from nothing (this token is not tried as a new start)
                self.pending_constraints.append(self.inprogress_constraint.copy(stateful=False))
                self.inprogress_constraint = None
            if complete:
                self.complete_constraints.append(self.inprogress_constraint)
                self.inprogress_constraint = None
                if not self.pending_constraints:
                    self.completed = True
        else:
            for i, pending in enumerate(self.pending_constraints):
                if pending.does_advance(token_id):
                    stepped, complete, reset = pending.update(token_id)
                    if complete:
                        self.complete_constraints.append(pending)
                        self.inprogress_constraint = None
                    if not complete and stepped:
                        self.inprogress_constraint = pending
                    if complete or stepped:
                        self.pending_constraints = self.pending_constraints[:i] + self.pending_constraints[i + 1 :]
                        if not self.pending_constraints and self.inprogress_constraint is None:
                            self.completed = True
                        break  # one token steps one constraint at most
        return complete, stepped

    def copy(self, stateful: bool = True) -> "ConstraintState":
        new = ConstraintState(self.constraints)
        if stateful:
            new.complete_constraints = [c.copy(stateful=True) for c in self.complete_constraints]
            if self.inprogress_constraint is not None:
                new.inprogress_constraint = self.inprogress_constraint.copy(stateful=True)
            new.pending_constraints = [c.copy() for c in self.pending_constraints]
        return new


def build_constraints(decoder, constraints=None, force_words_ids=None) -> list:
    """The constraint objects, in 4.55's order: ``constraints`` first, then ``force_words_ids``.

    Args:
        decoder: what encodes words (its ``tokenizer``) and bounds ids (its vocabulary).
        constraints: a list whose items are a word or phrase (``" purple"``: a phrasal constraint on
            its tokens), a list of words (``[" rain", " rainy"]``: one of them), or a
            :class:`PhrasalConstraint` / :class:`DisjunctiveConstraint`.
        force_words_ids: ``generate()``'s form: a list whose items are a list of ids (a phrase) or a
            list of id lists (one of them).
    """
    tokenizer = getattr(decoder, "tokenizer", None)

    def encode(word) -> list[int]:
        if not isinstance(word, str):
            raise ValueError(f"`constraints` has to hold words, lists of words or constraint objects, but holds {word!r}")
        if tokenizer is None:
            raise ValueError("`constraints` given as words needs a model with a tokenizer; give `force_words_ids` instead")
        ids = tokenizer(word, add_special_tokens=False).input_ids
        if not ids:
            raise ValueError(f"`constraints` has to hold words that encode to at least one token, but {word!r} encodes to none")
        return ids

    out: list = []
    if constraints is not None:
        if isinstance(constraints, (str, bytes)) or not isinstance(constraints, (list, tuple)):
            raise ValueError(f"`constraints` has to be a list of words, lists of words or constraint objects, but is {constraints!r}")
        for item in constraints:
            if isinstance(item, (PhrasalConstraint, DisjunctiveConstraint)):
                out.append(item)
            elif isinstance(item, (list, tuple)):
                out.append(DisjunctiveConstraint([encode(w) for w in item]))
            else:
                out.append(PhrasalConstraint(encode(item)))
    if force_words_ids is not None:
        what = "a non-empty list of token-id lists (a phrase) or of lists of token-id lists (one of several phrases)"
        if isinstance(force_words_ids, (str, bytes)) or not isinstance(force_words_ids, (list, tuple)) or not force_words_ids:
            raise ValueError(f"`force_words_ids` has to be {what}, but is {force_words_ids!r}")
        for item in force_words_ids:
            if not isinstance(item, (list, tuple)) or not item:
                raise ValueError(f"`force_words_ids` has to be {what}, but holds {item!r}")
            try:
                out.append(DisjunctiveConstraint(item) if isinstance(item[0], (list, tuple)) else PhrasalConstraint(item))
            except ValueError as error:
                raise ValueError(f"`force_words_ids`: {error}") from None
    if not out:
        raise ValueError("constrained beam search needs at least one constraint: give `constraints` or `force_words_ids`")
    vocab = _vocab_size(decoder)
    if vocab is not None:
        bad = sorted({t for c in out for seq in (c.token_ids if isinstance(c, DisjunctiveConstraint) else [c.token_ids]) for t in seq if t >= vocab})
        if bad:
            raise ValueError(f"the constraints have to hold token ids in the [0, {vocab}) interval, but hold {bad}")
    return out


def _vocab_size(decoder) -> int | None:
    model = getattr(decoder, "model", None)
    if model is not None:
        return model.get_output_embeddings().weight.shape[0] if model.get_output_embeddings() is not None else None
    vocab = getattr(decoder, "vocab", None)
    return len(vocab) if vocab is not None else None


def constrained_beam_search(
    lm,
    prompt,
    constraints=None,
    num_beams: int = 4,
    max_new_tokens: int = 12,
    num_return_sequences: int = 1,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
    force_words_ids=None,
) -> BeamSearchResult:
    """Constrained beam search on one prompt, recording every candidate and its bank; equal to
    transformers 4.55.4's ``generate(force_words_ids=..., num_beams=...)``.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`, a transformers causal LM, or a decoder.
        prompt: text, or token ids.
        constraints: the words that must appear (see :func:`build_constraints`): ``" purple"``
            (a phrase), ``[" rain", " rainy"]`` (one of them), or constraint objects.
        num_beams: live beams, >= 2 (4.55 refuses 1).
        max_new_tokens: the length limit, >= 1. If it comes before the constraints are met, the
            result holds beams that do not meet them.
        num_return_sequences: in [1, num_beams]; default 1, as ``generate()``. With more, beams that
            did not meet the constraints fill the list when too few did (4.55's ``finalize``).
        length_penalty: as in :func:`~decoding_lessons.search.beam.beam_search`.
        early_stopping: as in :func:`~decoding_lessons.search.beam.beam_search`.
        no_repeat_ngram_size: forbid repeating any n-gram of this size (0 = off).
        repetition_penalty: CTRL's penalty on tokens already present (1.0 = off).
        force_words_ids: ``generate()``'s token-id form of the constraints, after ``constraints``.

    Returns:
        A :class:`~decoding_lessons.search.beam.BeamSearchResult`. Each candidate carries its
        ``bank`` (constraint tokens met; ``None`` for candidates past the ones the step ranked) and
        ``forced`` (added because it advances a constraint, not for its score); each hypothesis
        ``constraints_met``. ``settings["constraints"]`` lists the constraints' token ids and
        ``settings["max_bank"]`` the bank of a beam that met them all.

    Raises:
        ValueError: an argument out of range, a word that encodes to no tokens, a disjunctive set
            whose branches start one another, ids outside the vocabulary.

    Examples:
        >>> r = constrained_beam_search(lm, "The sky is", [[" rain", " rainy"]], max_new_tokens=10)
        >>> r.returned[0].constraints_met
        True
    """
    check_int("num_beams", num_beams, 2)
    check_beam_args(num_beams, num_return_sequences, max_new_tokens, length_penalty, early_stopping, no_repeat_ngram_size, repetition_penalty)
    started = time.perf_counter()
    decoder = as_decoder(lm)
    spec = build_constraints(decoder, constraints, force_words_ids)
    ids = prompt_ids(decoder, prompt, max_new_tokens)
    procs = processors(decoder, no_repeat_ngram_size, repetition_penalty)
    eos_ids = decoder.eos_token_ids
    eos = torch.tensor(eos_ids, dtype=torch.long, device=ids.device) if eos_ids else None
    pad = decoder.pad_token_id
    device = ids.device
    prompt_len = ids.shape[1]
    max_length = prompt_len + max_new_tokens
    n = num_beams
    k = max(2, 1 + len(eos_ids)) * n

    def fresh_states(count: int) -> list[ConstraintState]:
        return [ConstraintState([c.copy() for c in spec]) for _ in range(count)]

    def completes(sequence: list[int]) -> bool:
        state = fresh_states(1)[0]
        state.reset(sequence)
        return state.completed

    max_bank = fresh_states(1)[0].max_seqlen * len(spec)
    running = ids.repeat(n, 1)
    beam_scores = torch.zeros((1, n), dtype=torch.float, device=ids.device)
    beam_scores[:, 1:] = NEG
    beam_scores = beam_scores.view((n,))
    nodes: list[int | None] = [None] * n
    pool = HypothesisPool(n, length_penalty, early_stopping, max_length)
    done = False

    candidates: list[Candidate] = []
    finished: list[Hypothesis] = []
    steps: list[BeamStep] = []
    out = decoder.start(running)
    while True:
        cur_len = running.shape[1]
        step = cur_len - prompt_len
        logprobs = torch.log_softmax(out.logits, dim=-1)
        scores = procs(running, logprobs)
        totals = scores + beam_scores[:, None].expand_as(scores)
        vocab = totals.shape[-1]
        top_scores, flat = torch.topk(totals.view(1, n * vocab), k, dim=1, largest=True, sorted=True)
        parents = (flat / vocab).long()[0]  # as 4.55 computes it
        tokens = (flat % vocab)[0]
        top_scores = top_scores[0]

        record = BeamStep(step, [nodes[r] for r in range(n) if float(beam_scores[r]) > NEG / 2],
                          [float(beam_scores[r]) for r in range(n) if float(beam_scores[r]) > NEG / 2], [])
        ranked: list[Candidate] = []
        for rank in range(k):
            parent, token = int(parents[rank]), int(tokens[rank])
            cand = Candidate(
                id=len(candidates), step=step, group=0, parent=nodes[parent], slot=parent, token_id=token,
                logprob=float(logprobs[parent, token]), step_score=float(scores[parent, token]), score=float(top_scores[rank]),
                rank=rank, ended="eos" if token in eos_ids else None,
            )
            candidates.append(cand)
            record.candidates.append(cand.id)
            ranked.append(cand)

        # ConstrainedBeamSearchScorer.process: EOS finishes only a beam that met every constraint
        sent_scores = torch.zeros(n, dtype=top_scores.dtype, device=device)
        sent_tokens = torch.zeros(n, dtype=tokens.dtype, device=device)
        sent_indices = torch.zeros(n, dtype=parents.dtype, device=device)
        sent: list[Candidate] = []
        for cand in ranked:
            if cand.ended == "eos":
                if cand.rank >= n:
                    continue
                body = running[cand.slot].tolist()
                if completes(body):
                    h = Hypothesis(
                        tokens=tuple(body[prompt_len:]) + (cand.token_id,), sum_logprobs=cand.score,
                        score=cand.score / ((cur_len + 1 - prompt_len) ** length_penalty), length=cur_len + 1 - prompt_len,
                        step=step, group=0, node=cand.id, eos=True, constraints_met=True,
                    )
                    cand.bank = max_bank
                    offer(pool, finished, h, cand, step)
            else:
                j = len(sent)
                sent_scores[j], sent_tokens[j], sent_indices[j] = top_scores[cand.rank], tokens[cand.rank], parents[cand.rank]
                sent.append(cand)
            if len(sent) == n:
                break
        if len(sent) < n:
            raise ValueError(f"at most {n} of the {k} best candidates may end with EOS, but more did at step {step + 1}")

        # step_sentence_constraint: add the candidates that advance a constraint, then share the
        # beams out round-robin over the banks
        topk_states, advance_states = fresh_states(n), fresh_states(n)
        full = torch.cat((running[sent_indices], sent_tokens.unsqueeze(-1)), dim=-1)
        seen = full.tolist()
        new_states, new_indices, new_tokens, new_scores, new_cands = [], [], [], [], []
        for row in range(n):
            topk_states[row].reset(full[row].tolist())
            state = advance_states[row]
            state.reset(running[row].tolist())
            if state.completed:
                continue
            for token in torch.tensor(state.advance(), dtype=torch.long, device=device):
                new_state = state.copy(stateful=True)
                new_state.add(token.tolist())
                seq = torch.cat((running[row], token.unsqueeze(0)), -1).tolist()
                if seq in seen:
                    continue
                seen.append(seq)
                new_states.append(new_state)
                new_indices.append(row)
                new_tokens.append(token)
                new_scores.append(totals[row].take(token))
                t = int(token)
                cand = Candidate(
                    id=len(candidates), step=step, group=0, parent=nodes[row], slot=row, token_id=t,
                    logprob=float(logprobs[row, t]), step_score=float(scores[row, t]), score=float(totals[row, t]),
                    rank=k + len(new_cands), ended="eos" if t in eos_ids else None, forced=True,
                )
                candidates.append(cand)
                record.candidates.append(cand.id)
                new_cands.append(cand)
        pool_of = sent + new_cands
        if new_indices:
            all_states = topk_states + new_states
            all_tokens = torch.cat((sent_tokens, torch.stack(new_tokens)), -1)
            all_scores = torch.cat((sent_scores, torch.stack(new_scores)), -1)
            all_banks = torch.tensor([s.bank() for s in all_states], device=device)
            for cand, bank in zip(pool_of, all_banks.tolist()):
                cand.bank = bank
            order = (all_banks * 100 + all_scores).sort(descending=True).indices
            sorted_banks = all_banks[order]
            counter, current, increments = -1, sorted_banks[0], []
            for bank in sorted_banks:
                if bank == current:
                    counter += 1
                else:
                    counter, current = 0, bank
                increments.append(counter)
            order = order[torch.tensor(np.argsort(increments, kind="mergesort"))][:n]
            beam_scores = all_scores[order]
            next_tokens = all_tokens[order]
            next_rows = torch.cat((sent_indices, torch.tensor(new_indices, dtype=sent_indices.dtype, device=device)))[order]
            chosen = [pool_of[i] for i in order.tolist()]
        else:
            for cand, state in zip(sent, topk_states):
                cand.bank = state.bank()
            beam_scores, next_tokens, next_rows, chosen = sent_scores, sent_tokens, sent_indices, sent
        for slot, cand in enumerate(chosen):
            cand.status, cand.next_slot = "kept", slot
        done = done or pool.is_done(float(top_scores.max()), cur_len + 1, prompt_len)
        steps.append(record)

        running = torch.cat([running[next_rows], next_tokens.unsqueeze(-1)], dim=-1)
        nodes = [c.id for c in chosen]
        ended_all = eos is not None and bool(torch.isin(running[:, -1], eos).all())
        if done or running.shape[1] >= max_length or ended_all:
            break
        out = decoder.advance(next_rows, next_tokens)

    # finalize: the live beams that met the constraints join the pool; if fewer than
    # num_return_sequences did, every other live beam joins it too
    if not done:
        met = [completes(running[r].tolist()) for r in range(n)]
        order = [r for r in range(n) if met[r]]
        if len(order) < num_return_sequences:
            order += [r for r in range(n) if not met[r]]
        for r in order:
            cand = candidates[nodes[r]]
            h = length_hypothesis(running, r, beam_scores, cand, prompt_len, length_penalty, constraints_met=met[r])
            offer(pool, finished, h, cand, None)
    returned = best_of_pools([pool], finished, num_return_sequences)
    sequences, seq_scores = finalize_sequences(returned, ids, eos_ids, pad, max_length)
    settings = dict(
        num_beams=num_beams, num_return_sequences=num_return_sequences, max_new_tokens=max_new_tokens,
        length_penalty=length_penalty, early_stopping=early_stopping, no_repeat_ngram_size=no_repeat_ngram_size,
        repetition_penalty=repetition_penalty, num_beam_groups=1, diversity_penalty=0.0, algorithm="constrained beam search",
        constraints=[c.token_ids for c in spec], constraint_kinds=[type(c).__name__ for c in spec], max_bank=max_bank,
        constraint_texts=[[decoder.decode(b) for b in c.token_ids] if isinstance(c, DisjunctiveConstraint) else decoder.decode(c.token_ids) for c in spec],
    )
    return finish_result(decoder, ids, sequences, seq_scores, returned, finished, candidates, steps, started, settings)


__all__ = ["ConstraintState", "DisjunctiveConstraint", "PhrasalConstraint", "build_constraints", "constrained_beam_search"]
