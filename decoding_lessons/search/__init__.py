"""Search: decoding strategies that look further than one token.

* :mod:`.beam` — beam search, exactly as ``generate(num_beams=...)`` runs it, recorded step by step.
* :mod:`.diverse` — diverse (group) beam search, Vijayakumar et al. 2016, as transformers ran it
  before 4.57 (``num_beam_groups``, ``diversity_penalty``).
* :mod:`.contrastive` — contrastive search, Su et al. 2022, as transformers ran it before 4.56
  (``penalty_alpha``, ``top_k``).
* :mod:`.common` — the penalty processors a search applies, and its argument checks. The decoder
  (one forward pass per step, all rows at once, with the KV cache) is :mod:`decoding_lessons.decoder`;
  the measures of the outputs (joint log-probability, distinct-n) are :mod:`decoding_lessons.measures`.
* :mod:`.toy` — a hand-built bigram "model" whose searches can be worked out with pencil and paper.

Every search returns a record of what it did (candidates, scores, what was kept and pruned), which
:mod:`decoding_lessons.plotting.search` draws.
"""

from .beam import BeamSearchResult, BeamStep, Candidate, Hypothesis, beam_search
from .contrastive import ContrastiveCandidate, ContrastiveResult, ContrastiveStep, contrastive_search, degeneration_scores
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
    "beam_search",
    "contrastive_search",
    "degeneration_scores",
    "diverse_beam_search",
    "hamming_penalty",
]
