"""Beam sampling: beam search whose candidates are drawn, not taken from the top.

``generate(do_sample=True, num_beams=N)`` runs the loop of beam search (transformers 5's
``GenerationMixin._beam_search``, see :mod:`decoding_lessons.search.beam`) with one change at
step 2. Each step:

1. one forward pass over all live beams gives each beam's next-token log-probabilities; the
   processors act on them: the penalties, then the sampling warpers (temperature, top-k, top-p,
   min-p, ...), each truncation keeping at least ``number of EOS ids + 1`` tokens per beam;
2. every beam × every token is a candidate with the cumulative score ``beam score + processed
   log p(token)``. Instead of the best ``2 × num_beams`` of them, beam sampling **draws**
   ``2 × num_beams`` candidates without replacement from ``softmax`` of those cumulative scores
   over all beams × tokens at once, with ``torch.multinomial``, then sorts the drawn ones by score;
3. to 5. are beam search's: the best drawn candidates that end join the pool of finished
   hypotheses (length-penalised), the best drawn ones that do not end become the next beams,
   and ``early_stopping`` decides when to stop.

Because the draw is weighted by the *cumulative* score, a candidate's chance is its whole
sequence's (processed) probability, not only its last token's: a strong beam supplies most of
the draws, a weak one few or none. Temperature scales every step's log-probabilities, so it moves
beam sampling between two ends: as ``T → 0`` the draw concentrates on the top candidates (beam
search), while at large ``T`` it spreads over many beams and tokens (closer to sampling). Note that
the scores it ranks and returns are the *processed* ones (``log p / T`` with a temperature, ``-inf``
for truncated tokens), exactly as ``generate()``'s ``sequences_scores`` are.

Examples:
    >>> r = beam_sample(lm, "The sky is", num_beams=4, max_new_tokens=10, temperature=0.8, seed=1)
    >>> r.settings["algorithm"], len(r.returned)   # == generate(do_sample=True, num_beams=4, ...) after torch.manual_seed(1)
    ('beam sampling', 4)
    >>> r.forward_passes == r.num_steps                # one pass per step, all beams together
    True
"""

from __future__ import annotations

from ..checks import check_int
from ..scoring import DecodingConfig
from .beam import BeamSearchResult, check_beam_args, run_beams


def beam_sample(
    lm,
    prompt,
    num_beams: int = 4,
    max_new_tokens: int = 12,
    num_return_sequences: int | None = None,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    min_p: float | None = None,
    typical_p: float | None = None,
    epsilon_cutoff: float | None = None,
    eta_cutoff: float | None = None,
    top_h: float | None = None,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
    seed: int = 0,
) -> BeamSearchResult:
    """Beam sampling on one prompt, recording every step; equal to ``generate(do_sample=True, num_beams=...)``.

    ``torch.manual_seed(seed)`` is called first, and the draws come from torch's global generator in
    the order ``generate()`` makes them, so ``torch.manual_seed(seed)`` followed by
    ``generate(do_sample=True, num_beams=num_beams, ...)`` returns the same ``sequences`` and
    ``sequences_scores`` (the tests check it).

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`, a transformers causal LM, or a decoder
            such as :class:`~decoding_lessons.search.toy.BigramModel`.
        prompt: text, or token ids.
        num_beams: live beams per step, >= 2 (``generate()`` with ``num_beams=1`` and
            ``do_sample=True`` is ordinary sampling: see :func:`~decoding_lessons.generate_with_trace`).
        max_new_tokens: the length limit, >= 1.
        num_return_sequences: how many hypotheses to return, in [1, num_beams]; default: all.
        length_penalty: as in :func:`~decoding_lessons.search.beam.beam_search`.
        early_stopping: ``True``, ``False`` (default) or ``"never"``, as in beam search.
        temperature: the sampling warpers, this one and the seven below, with
            :class:`~decoding_lessons.DecodingConfig`'s intervals. ``None`` means what ``generate()``
            would use: the model's ``generation_config``, else transformers' default, so
            **top_k=50 applies unless you pass top_k=0**.
        top_k: see ``temperature``.
        top_p: see ``temperature``.
        min_p: see ``temperature``.
        typical_p: see ``temperature``.
        epsilon_cutoff: see ``temperature``.
        eta_cutoff: see ``temperature``.
        top_h: see ``temperature``.
        no_repeat_ngram_size: forbid repeating any n-gram of this size (0 = off).
        repetition_penalty: CTRL's penalty on tokens already present (1.0 = off).
        seed: passed to ``torch.manual_seed`` before the first step, an integer in [0, 2**64 - 1]
            (this reseeds torch's global generator, as ``torch.manual_seed`` before ``generate()`` would).

    Returns:
        A :class:`~decoding_lessons.search.beam.BeamSearchResult`, drawn by
        :func:`~decoding_lessons.beam_tree` like a beam search. Each candidate's ``draw_prob`` is
        its probability in the distribution its step drew from; ``score`` and ``step_score`` are the
        processed scores the search ranks by, ``logprob`` the model's own log-probability.

    Examples:
        >>> r = beam_sample(lm, "The sky is", num_beams=4, max_new_tokens=8, temperature=0.7, seed=3)
        >>> all(c.draw_prob > 0 for c in r.candidates if c.status != "pruned")   # every beam was drawn
        True
        >>> beam_sample(lm, "The sky is", top_p=1.5)
        Traceback (most recent call last):
        ...
        ValueError: `top_p` has to be a float in the [0, 1] interval, but is 1.5
    """
    check_int("num_beams", num_beams, 2)
    num_return_sequences = num_beams if num_return_sequences is None else num_return_sequences
    check_beam_args(num_beams, num_return_sequences, max_new_tokens, length_penalty, early_stopping, no_repeat_ngram_size, repetition_penalty)
    check_int("seed", seed, 0, 2**64 - 1)
    sampling = DecodingConfig(  # checks each warper against its interval
        temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, typical_p=typical_p,
        epsilon_cutoff=epsilon_cutoff, eta_cutoff=eta_cutoff, top_h=top_h,
    )
    return run_beams(
        lm, prompt, num_beams, max_new_tokens, num_return_sequences, length_penalty, early_stopping, no_repeat_ngram_size,
        repetition_penalty, sampling=sampling, seed=seed,
    )


__all__ = ["beam_sample"]
