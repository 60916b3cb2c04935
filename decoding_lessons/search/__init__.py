"""Search: decoding strategies that look further than one token.

* :mod:`.beam` — beam search, exactly as ``generate(num_beams=...)`` runs it, recorded step by step.
* :mod:`.beam_sampling` — beam sampling, ``generate(do_sample=True, num_beams=...)``: beam search
  whose candidates are drawn (the same loop and record).
* :mod:`.diverse` — diverse (group) beam search, Vijayakumar et al. 2016, as transformers ran it
  before 4.57 (``num_beam_groups``, ``diversity_penalty``).
* :mod:`.contrastive` — contrastive search, Su et al. 2022, as transformers ran it before 4.56
  (``penalty_alpha``, ``top_k``).
* :mod:`.constrained` — constrained beam search, as transformers ran it up to 4.55
  (``force_words_ids``, ``constraints``): the words that must appear, and the banks.
* :mod:`.dola` — DoLa, decoding by contrasting layers, Chuang et al. 2024, as transformers ran it
  up to 4.55 (``dola_layers``).
* :mod:`.common` — the penalty processors a search applies, and its argument checks. The decoder
  (one forward pass per step, all rows at once, with the KV cache) is :mod:`decoding_lessons.decoder`;
  the measures of the outputs (joint log-probability, distinct-n) are :mod:`decoding_lessons.measures`.
* :mod:`.toy` — a hand-built bigram "model" whose searches can be worked out with pencil and paper.

Every search returns a record of what it did (candidates, scores, what was kept and pruned), which
:mod:`decoding_lessons.plotting.search` draws.
"""

from .beam import BeamSearchResult, BeamStep, Candidate, Hypothesis, beam_search
from .beam_sampling import beam_sample
from .constrained import ConstraintState, DisjunctiveConstraint, PhrasalConstraint, constrained_beam_search
from .contrastive import ContrastiveCandidate, ContrastiveResult, ContrastiveStep, contrastive_search, degeneration_scores
from .dola import DolaResult, DolaStep, dola_candidate_layers, dola_decoding, js_divergences, relative_top_contrast
from .diverse import diverse_beam_search, hamming_penalty
from .toy import BigramModel

__all__ = [
    "BigramModel",
    "BeamSearchResult",
    "BeamStep",
    "Candidate",
    "ContrastiveCandidate",
    "ContrastiveResult",
    "ContrastiveStep",
    "Hypothesis",
    "beam_sample",
    "constrained_beam_search",
    "ConstraintState",
    "DisjunctiveConstraint",
    "PhrasalConstraint",
    "beam_search",
    "contrastive_search",
    "DolaResult",
    "DolaStep",
    "dola_candidate_layers",
    "degeneration_scores",
    "dola_decoding",
    "js_divergences",
    "relative_top_contrast",
    "diverse_beam_search",
    "hamming_penalty",
]
