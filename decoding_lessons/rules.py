"""The truncation rules, spelled out: top-k's ties, and the entropy-aware typical-p, ε, η and Top-H.

transformers' warpers (``TypicalLogitsWarper``, ``EpsilonLogitsWarper``, ``EtaLogitsWarper``,
``TopHLogitsWarper``) only return the filtered scores. To *show* a rule — the entropy it compares
against, the threshold it draws, the cumulative sum it stops on — a lesson needs the intermediate
numbers. Each function below recomputes one warper's rule step by step, on the same float32
operations, and returns those numbers together with the kept set. The tests check that every kept
set is exactly the one the warper keeps (``torch.isfinite`` of its output).

All functions take one distribution's ``scores`` (shape ``(vocab,)``): the scores as they *enter*
the warper inside ``generate()``'s chain. :func:`scores_entering` computes them from a captured step,
so that temperature, top-k, … that come earlier in the chain are applied first.

Examples:
    >>> step = cap("The sky is")
    >>> cfg = DecodingConfig(do_sample=True, top_k=0, typical_p=0.5)
    >>> rule = typical_rule(scores_entering(step, cfg, "typical_p"), 0.5)
    >>> torch.equal(rule.keep, torch.isfinite(step.scores(cfg)))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .processors import OFF, WARPER_ORDER, check_float, check_int
from .scoring import DecodingConfig

# The value that switches each sampling warper off (a column of the processor table).
WARPER_OFF = {name: OFF[name] for name in WARPER_ORDER}

# Top-H looks at no more than this many tokens (TopHLogitsWarper.top_n in transformers 5).
TOP_H_CANDIDATES = 100


def scores_entering(step, config: DecodingConfig, warper: str) -> torch.Tensor:
    """The scores that ``warper`` receives inside ``generate()`` under ``config``.

    ``generate()`` applies the sampling warpers in a fixed order (temperature → top-H → top-k →
    top-p → min-p → typical → ε → η, after the penalties). The scores a warper sees are the logits
    after the penalties and every *earlier* warper. This turns ``warper`` and every later one off
    and asks the captured step for its scores: no forward pass.

    Args:
        step: a captured :class:`~decoding_lessons.capture.NextToken`.
        config: the full configuration (``do_sample=True`` for the warpers to act).
        warper: one of ``"temperature", "top_h", "top_k", "top_p", "min_p", "typical_p",
            "epsilon_cutoff", "eta_cutoff"``.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, temperature=0.7, top_k=0, eta_cutoff=1e-3)
        >>> step = cap("The sky is")
        >>> torch.equal(scores_entering(step, cfg, "eta_cutoff"), step.logits / 0.7)
        True
    """
    if warper not in WARPER_ORDER:
        raise ValueError(f"`warper` has to be one of {', '.join(WARPER_ORDER)}, but is {warper!r}")
    later = WARPER_ORDER[WARPER_ORDER.index(warper) :]
    return step.scores(config.replace(**{name: WARPER_OFF[name] for name in later}))


def _min_tokens_mask(scores: torch.Tensor, min_tokens_to_keep: int) -> torch.Tensor:
    """The tokens whose score is among the ``min_tokens_to_keep`` highest (ties included)."""
    k = min(min_tokens_to_keep, scores.shape[-1])
    return scores >= torch.topk(scores, k)[0][..., -1, None]


def _check_scores(scores: torch.Tensor) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor) or scores.dim() != 1 or scores.numel() == 0:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"`scores` has to be a non-empty 1-D tensor (one distribution), but has shape {shape}")
    return scores.detach().to(torch.float32)


@dataclass(frozen=True)
class TopKRule:
    """What ``TopKLogitsWarper(top_k)`` keeps, and why it can be more than ``top_k``.

    The warper finds the ``k``-th highest score and removes every token *below* it
    (``scores < topk(scores, k).values[-1]``), so every token tied with the ``k``-th is kept.
    Ties are rare in float32 logits and common in bfloat16 ones (8 significant bits: between 4
    and 8, only multiples of 1/32 exist), so in bf16 "top-k keeps k tokens" often fails.

    Attributes:
        k: the ``top_k`` asked for (at least ``min_tokens_to_keep``, at most the vocabulary).
        kth_score: the ``k``-th highest score, the cut-off.
        kept: how many tokens the warper keeps: ``k`` plus those tied with the ``k``-th beyond it.
        tied: how many tokens have exactly the ``k``-th score (1 when there is no tie).
        keep: boolean mask of the kept tokens.
    """

    k: int
    kth_score: float
    kept: int
    tied: int
    keep: torch.Tensor

    @property
    def extra(self) -> int:
        """Tokens kept beyond ``k`` because they tie with the ``k``-th."""
        return self.kept - self.k


def top_k_rule(scores: torch.Tensor, top_k: int, min_tokens_to_keep: int = 1) -> TopKRule:
    """Top-k's cut-off and its ties, on the scores that enter ``TopKLogitsWarper``.

    Examples:
        >>> rule = top_k_rule(torch.tensor([3.0, 2.0, 2.0, 1.0]), 2)
        >>> rule.kept, rule.tied, rule.extra
        (3, 2, 1)
    """
    scores = _check_scores(scores)
    check_int("top_k", top_k, 1)
    k = min(max(top_k, min_tokens_to_keep), scores.shape[-1])  # as TopKLogitsWarper clamps it
    kth = torch.topk(scores, k)[0][-1]
    keep = scores >= kth
    return TopKRule(k=k, kth_score=float(kth), kept=int(keep.sum()), tied=int((scores == kth).sum()), keep=keep)


@dataclass(frozen=True)
class TypicalRule:
    """Locally typical sampling, one step (Meister et al. 2022).

    Attributes:
        entropy: H, the entropy (nats) of the distribution entering the warper.
        surprisal: ``-log p`` per token (nats); ``inf`` for tokens already filtered.
        typicality: ``|-log p - H|`` per token: how far a token's surprisal is from the expected one.
        cutoff: the largest typicality that is kept; the kept tokens are those with surprisal in
            ``[H - cutoff, H + cutoff]``.
        keep: the kept set, a boolean mask.
    """

    entropy: float
    surprisal: torch.Tensor
    typicality: torch.Tensor
    cutoff: float
    keep: torch.Tensor


def typical_rule(scores: torch.Tensor, typical_p: float, min_tokens_to_keep: int = 1) -> TypicalRule:
    """What ``TypicalLogitsWarper(mass=typical_p)`` does, with its intermediate numbers.

    1. ``p = softmax(scores)`` and the entropy ``H = -Σ p log p`` (the surprisal a token has *on
       average*).
    2. Each token's typicality ``|-log p(x) - H|``: zero for a token exactly as surprising as
       expected.
    3. Sort tokens from most to least typical and add their probabilities; keep the shortest prefix
       whose mass reaches ``typical_p`` (every token as typical as the last one, ties included).

    The most likely token is *not* always kept: when it is much less surprising than average
    (``-log p_max < H - cutoff``), it is cut, which is what sets typical sampling apart from top-p.
    Typical values: ``typical_p`` 0.2–0.95 (the paper recommends 0.2 for story generation and
    0.95 for summarisation); 1.0 turns the warper off.

    Args:
        scores: one distribution's scores, ``(vocab,)``, as they enter the warper.
        typical_p: the mass to keep, in (0, 1).
        min_tokens_to_keep: as the warper's argument (``generate()`` passes 1 unless beam sampling).

    Examples:
        >>> rule = typical_rule(step.logits, 0.5)
        >>> rule.cutoff >= 0 and int(rule.keep.sum()) >= 1
        True
    """
    check_float("typical_p", typical_p, 0, 1, True, True)
    scores = _check_scores(scores)
    logp = torch.log_softmax(scores, dim=-1)
    p = logp.exp()
    entropy = -(logp * p).nansum(-1)
    typicality = (-logp - entropy).abs()
    order = typicality.argsort(stable=True)
    cumulative = p[order].cumsum(-1)
    last = min(int((cumulative < typical_p).sum()), scores.shape[-1] - 1)
    cutoff = typicality[order[last]]
    keep = typicality <= cutoff
    keep[order[:min_tokens_to_keep]] = True
    return TypicalRule(float(entropy), -logp, typicality, float(cutoff), keep)


@dataclass(frozen=True)
class ThresholdRule:
    """A probability threshold: keep ``p >= threshold`` (and always the most likely token).

    Attributes:
        entropy: H (nats) of the distribution entering the warper.
        threshold: the probability below which tokens are cut.
        probs: ``softmax(scores)`` (the distribution before the cut).
        keep: the kept set.
    """

    entropy: float
    threshold: float
    probs: torch.Tensor
    keep: torch.Tensor


def epsilon_rule(scores: torch.Tensor, epsilon: float, min_tokens_to_keep: int = 1) -> ThresholdRule:
    """What ``EpsilonLogitsWarper(epsilon)`` does: a fixed probability floor.

    Keep every token with ``p >= ε`` (transformers removes ``p < ε``); if none qualifies, the most
    likely token stays. ε is absolute: on a flat distribution (high entropy) it can cut most of
    the plausible tokens, on a peaked one it barely acts. Hewitt et al. (2022) suggest
    ``epsilon_cutoff`` between 3e-4 and 9e-4 (the docstring's "pro tip").

    Examples:
        >>> bool((torch.softmax(step.logits, -1)[epsilon_rule(step.logits, 3e-4).keep] > 3e-4).all())
        True
    """
    check_float("epsilon_cutoff", epsilon, 0, 1, True, True)
    scores = _check_scores(scores)
    probs = scores.softmax(dim=-1)
    keep = ~(probs < epsilon) | _min_tokens_mask(scores, min_tokens_to_keep)
    entropy = torch.distributions.Categorical(logits=scores).entropy()
    return ThresholdRule(float(entropy), float(epsilon), probs, keep)


def eta_threshold(entropy: float, eta: float) -> float:
    """η-sampling's cutoff: ``min(η, sqrt(η) · exp(-H))``.

    When the model is confident (low entropy H) the second term is large and the cutoff is η
    itself; when it is uncertain (high H) the cutoff drops, so more of the long tail survives.
    The switch happens where ``sqrt(η)·exp(-H) = η``, i.e. at ``H = -½ ln η`` (≈ 3.1 nats for
    η = 2e-3).

    Examples:
        >>> eta_threshold(0.5, 2e-3), eta_threshold(6.0, 2e-3)
        (0.002, 0.00011085...)
    """
    check_float("eta_cutoff", eta, 0, 1, True, True)
    return min(eta, math.sqrt(eta) * math.exp(-entropy))


def eta_rule(scores: torch.Tensor, eta: float, min_tokens_to_keep: int = 1) -> ThresholdRule:
    """What ``EtaLogitsWarper(eta)`` does: an entropy-dependent probability floor.

    ``threshold = min(η, sqrt(η) · exp(-H))`` with H the entropy of ``softmax(scores)``; keep
    ``p >= threshold`` (and the most likely token). Computed on float32 tensors exactly as the
    warper does. (The warper's docstring writes ``sqrt(epsilon * e^-entropy)``; its code, and the
    paper, use ``sqrt(epsilon) * e^-entropy``, which is what this computes.) Hewitt et al. (2022)
    suggest ``eta_cutoff`` between 3e-4 and 4e-3 depending on the model's size (the warper's
    docstring; ``GenerationConfig``'s says 3e-4 to 2e-3).

    Examples:
        >>> rule = eta_rule(step.logits, 2e-3)
        >>> rule.threshold <= 2e-3
        True
    """
    check_float("eta_cutoff", eta, 0, 1, True, True)
    scores = _check_scores(scores)
    probs = scores.softmax(dim=-1)
    entropy = torch.distributions.Categorical(logits=scores).entropy()
    eta_t = torch.tensor(eta)
    threshold = torch.min(eta_t, torch.sqrt(eta_t) * torch.exp(-entropy))
    keep = ~(probs < threshold) | _min_tokens_mask(scores, min_tokens_to_keep)
    return ThresholdRule(float(entropy), float(threshold), probs, keep)


@dataclass(frozen=True)
class TopHRule:
    """Top-H, one step, as transformers' ``TopHLogitsWarper`` computes it.

    Attributes:
        candidates: the ids of the (at most 100) highest-scoring tokens, most likely first.
        q: their probabilities renormalised over the candidates only.
        terms: each candidate's entropy term ``-q log q``.
        cumulative: the running sum of ``terms``.
        entropy_candidates: ``H(q) = terms.sum()``: the entropy of the candidates' distribution.
        tau: the budget ``top_h · H(q)``.
        n_kept: how many candidates are kept (a prefix of ``candidates``).
        keep: the kept set over the whole vocabulary.
    """

    candidates: torch.Tensor
    q: torch.Tensor
    terms: torch.Tensor
    cumulative: torch.Tensor
    entropy_candidates: float
    tau: float
    n_kept: int
    keep: torch.Tensor


def top_h_rule(scores: torch.Tensor, top_h: float) -> TopHRule:
    """What ``TopHLogitsWarper(top_h)`` does, with its intermediate numbers.

    Top-H (Potraghloo et al. 2025, "Top-H Decoding: Adapting the Creativity and Coherence with
    Bounded Entropy in Text Generation") bounds the entropy of the kept set, renormalised, by a
    fraction of the distribution's entropy; ``GenerationConfig``'s docstring states that rule ("the
    smallest prefix of tokens is kept whose *renormalized* entropy is less than or equal to
    ``top_h`` times the entropy of the full distribution"). transformers' warper computes it as
    follows (read its source):

    1. Take the ``n = min(100, vocab)`` highest-scoring tokens and renormalise over them only:
       ``q = softmax(top-n scores)``. Tokens outside the top 100 are never kept.
    2. Budget: ``τ = top_h · H(q)`` with ``H(q) = -Σ q log q``, the entropy of the top-100
       distribution — not of the full vocabulary.
    3. Walk down the candidates, most likely first, adding each one's term ``-q_i log q_i``;
       keep token *i* while the running sum is ``<= τ``. The most likely token is always kept.

    So the code bounds a cumulative partial sum of ``H(q)``'s terms over a prefix of the top 100,
    where the paper's rule bounds the entropy of the kept set renormalised; and its reference
    entropy is that of the top-100 distribution, where the rule names the full distribution's.
    Since every term is ≥ 0 the kept set is a prefix, and ``top_h = 1`` keeps (up to rounding of
    the last term) all 100 candidates. Typical values: 0.3–0.6 (``GenerationConfig``'s
    docstring); transformers accepts (0, 1].

    Examples:
        >>> rule = top_h_rule(step.logits, 0.4)
        >>> 1 <= rule.n_kept <= 100
        True
    """
    check_float("top_h", top_h, 0, 1, True, False)
    scores = _check_scores(scores)
    n = min(TOP_H_CANDIDATES, scores.shape[-1])
    top_scores, candidates = torch.topk(scores, n, largest=True, sorted=True)
    dist = torch.distributions.Categorical(logits=top_scores)  # the warper's own float32 operations
    q = dist.probs
    terms = -q * torch.log(q)
    cumulative = torch.cumsum(terms, dim=-1)
    entropy_candidates = dist.entropy()
    tau = entropy_candidates * top_h
    selected = cumulative <= tau
    selected[0] = True
    keep = torch.zeros_like(scores, dtype=torch.bool)
    keep[candidates] = selected
    return TopHRule(candidates, q, terms, cumulative, float(entropy_candidates), float(tau), int(selected.sum()), keep)
