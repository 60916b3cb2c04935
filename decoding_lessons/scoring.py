"""The strategy catalogue: a decoding configuration, and the logits processors it turns into.

:class:`DecodingConfig` holds every knob of ``generate()`` that changes the next-token
distribution. :func:`logits_processors` turns it into transformers' own processors, in exactly the
order and with exactly the defaults that ``generate()`` uses (``GenerationMixin._get_logits_processor``
in transformers 5):

1. always: repetition penalty, then no-repeat-ngram;
2. only when ``do_sample=True``: temperature → top-H → top-k → top-p → min-p → typical → ε → η.

A field left at ``None`` means "what ``generate()`` would use": the model's own
``generation_config`` if it sets the field, otherwise transformers' global default. That is how
``top_k=50`` slips into "temperature only" sampling: ask for ``do_sample=True, temperature=0.7``
and the scores are also truncated to the 50 most likely tokens unless you pass ``top_k=0``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from transformers import LogitsProcessorList

from .processors import GENERATE_DEFAULTS, PENALTY_ORDER, PROCESSORS, ROWS, WARPER_ORDER

# Every fact about a processor (field, class, default, off value, interval, order) is one row of
# the table in processors.py; this module builds the configuration and the processor lists from it.
_FLOAT_FIELDS = tuple(row.field for row in ROWS if row.kind == "float")


@dataclass(frozen=True)
class DecodingConfig:
    """The ``generate()`` arguments that shape the next-token distribution.

    Every field defaults to ``None``: "whatever ``generate()`` would use" (the model's
    ``generation_config``, else transformers' default; see :data:`GENERATE_DEFAULTS`). Bad values
    are refused here, at construction, with the parameter, its allowed range and the value.

    Args:
        do_sample: sample (``True``) or take the argmax (``False``). The sampling warpers —
            temperature, top-H, top-k, top-p, min-p, typical, ε, η — only act when sampling.
        temperature: divides the logits; in (0, inf). ``T → 0`` approaches greedy; 0 itself is
            refused, use ``do_sample=False``.
        top_k: keep the ``k`` most likely tokens; 0 disables. Default 50 when sampling!
        top_p: nucleus sampling: the smallest set whose probability reaches ``top_p``; in [0, 1].
        min_p: keep tokens with ``p >= min_p * p_max``; in [0, 1]. Typical 0.01–0.2.
        typical_p: locally typical sampling (Meister et al. 2022); in (0, 1].
        epsilon_cutoff: ε-sampling, keep ``p > ε`` (Hewitt et al. 2022); in [0, 1). Typical 3e-4.
        eta_cutoff: η-sampling, keep ``p > min(η, sqrt(η)·exp(-H))``; in [0, 1). Typical 3e-4–2e-3.
        top_h: Top-H, an entropy-bounded nucleus (Potraghloo et al. 2025); in (0, 1].
        repetition_penalty: CTRL's penalty on every token already in the context (prompt
            included): ``logit / p`` if positive, ``logit * p`` if negative; in (0, inf), 1 = off.
        no_repeat_ngram_size: forbid any n-gram of this size from occurring twice; >= 0, 0 = off.

    Examples:
        >>> DecodingConfig(do_sample=True, temperature=0.7).resolved()["top_k"]
        50
        >>> DecodingConfig(min_p=1.3)
        Traceback (most recent call last):
        ...
        ValueError: `min_p` has to be a float in the [0, 1] interval, but is 1.3
    """

    do_sample: bool | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None
    typical_p: float | None = None
    epsilon_cutoff: float | None = None
    eta_cutoff: float | None = None
    top_h: float | None = None
    repetition_penalty: float | None = None
    no_repeat_ngram_size: int | None = None

    def __post_init__(self):
        if self.do_sample is not None and not isinstance(self.do_sample, bool):
            raise ValueError(f"`do_sample` has to be True or False, but is {self.do_sample!r}")
        for row in ROWS:  # each field against its interval, as the processor table states it
            value = getattr(self, row.field)
            if value is not None:
                row.check(value)
        # An integer for a float field (temperature=2, a slider grid [1, 1.5, 2]) is stored as a float:
        # transformers' TemperatureLogitsWarper and RepetitionPenaltyLogitsProcessor refuse ints.
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))

    def replace(self, **changes) -> "DecodingConfig":
        """A copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)

    @classmethod
    def from_generation_config(cls, generation_config, explicit_only: bool = True) -> "DecodingConfig":
        """The fields of a transformers ``GenerationConfig`` that shape the next-token distribution.

        Args:
            generation_config: a ``transformers.GenerationConfig`` (e.g. ``model.generation_config``).
            explicit_only: keep only what differs from transformers' defaults (the rest stays
                ``None``, "what ``generate()`` would use"), as ``GenerationConfig`` itself reports
                with ``to_diff_dict()``. ``False`` copies every field's value.

        Raises:
            TypeError: ``generation_config`` is not a ``GenerationConfig``.

        Examples:
            >>> from transformers import GenerationConfig
            >>> DecodingConfig.from_generation_config(GenerationConfig(do_sample=True, top_p=0.9))
            DecodingConfig(do_sample=True, temperature=None, top_k=None, top_p=0.9, min_p=None, typical_p=None, epsilon_cutoff=None, eta_cutoff=None, top_h=None, repetition_penalty=None, no_repeat_ngram_size=None)
        """
        from transformers import GenerationConfig

        if not isinstance(generation_config, GenerationConfig):
            raise TypeError(
                "`generation_config` has to be a transformers.GenerationConfig, "
                f"but is a {type(generation_config).__name__}"
            )
        values = {}
        for f in fields(cls):
            value = getattr(generation_config, f.name, None)
            if value is None or (explicit_only and value == GENERATE_DEFAULTS[f.name]):
                continue
            values[f.name] = value
        return cls(**values)

    def to_generation_config(self, base=None):
        """A transformers ``GenerationConfig`` with this configuration's fields set: ``base`` (e.g.
        the model's ``generation_config``, copied, not changed) updated with :meth:`explicit`, so
        ``generate(generation_config=cfg.to_generation_config(model.generation_config))`` decodes
        exactly as :meth:`~decoding_lessons.NextToken.scores` predicts.

        Examples:
            >>> DecodingConfig(do_sample=True, min_p=0.1).to_generation_config().min_p
            0.1
        """
        import copy

        from transformers import GenerationConfig

        if base is None:
            return GenerationConfig(**self.explicit())
        if not isinstance(base, GenerationConfig):
            raise TypeError(f"`base` has to be a transformers.GenerationConfig or None, but is a {type(base).__name__}")
        out = copy.deepcopy(base)
        for name, value in self.explicit().items():
            setattr(out, name, value)
        return out

    def explicit(self) -> dict[str, Any]:
        """Only the fields that were set: the keyword arguments to pass to ``generate()``."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def resolved(self, generation_config=None) -> dict[str, Any]:
        """Every field, with ``None`` replaced as ``generate()`` would: by the model's
        ``generation_config`` when it sets the field, else by transformers' default."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and generation_config is not None:
                value = getattr(generation_config, f.name, None)
            if value is None:
                value = GENERATE_DEFAULTS[f.name]
            out[f.name] = value
        return out

    def describe(self) -> str:
        """A short human label such as ``do_sample=True, top_p=0.9``."""
        parts = [f"{k}={v}" for k, v in self.explicit().items()]
        return ", ".join(parts) if parts else "generate() defaults"


def check_config(config) -> None:
    """Refuse a configuration that is not a :class:`DecodingConfig` (or ``None``) by name."""
    if config is None or isinstance(config, DecodingConfig):
        return
    hint = ""
    if isinstance(config, dict):
        hint = ": build one with DecodingConfig(**your_dict)"
    elif type(config).__name__ == "GenerationConfig":
        hint = ": convert it with DecodingConfig.from_generation_config(generation_config)"
    raise TypeError(f"`config` has to be a DecodingConfig or None, but is a {type(config).__name__}{hint}")


def logits_processors(
    config: DecodingConfig | None = None,
    generation_config=None,
    num_beams: int = 1,
    eos_token_count: int = 1,
) -> LogitsProcessorList:
    """transformers' processors for ``config``, in ``generate()``'s order.

    Args:
        config: the decoding configuration (default: ``generate()``'s defaults, i.e. greedy).
        generation_config: the model's ``generation_config``, consulted for unset fields.
        num_beams: with beam sampling, the warpers keep at least ``eos_token_count + 1`` tokens,
            as ``generate()`` does.
        eos_token_count: number of EOS ids of the model (for ``min_tokens_to_keep``).

    Returns:
        A ``LogitsProcessorList``; calling it as ``procs(input_ids, logits)`` gives the scores.
    """
    check_config(config)
    c = (config or DecodingConfig()).resolved(generation_config)
    keep = eos_token_count + 1 if num_beams > 1 else 1
    names = PENALTY_ORDER + (WARPER_ORDER if c["do_sample"] else ())
    procs = LogitsProcessorList()
    for name in names:
        proc = build_processor(name, c, min_tokens_to_keep=keep)
        if proc is not None:
            procs.append(proc)
    return procs


def build_processor(name: str, resolved: dict[str, Any], min_tokens_to_keep: int = 1):
    """transformers' processor for one field of a resolved configuration, or ``None`` when that
    field is inactive (``temperature=1``, ``top_k=0``, ``top_p=1``, ``min_p=None``, ...).

    It is built exactly as ``generate()`` builds it, so the processors can be applied one by one,
    or in another order (see :func:`decoding_lessons.sampling.apply_in_order`). ``do_sample`` is
    not consulted here: :func:`logits_processors` adds the warpers only when sampling.

    Args:
        name: a field of :class:`DecodingConfig` from :data:`PENALTY_ORDER` or :data:`WARPER_ORDER`.
        resolved: ``DecodingConfig.resolved()``: every field with a concrete value.
        min_tokens_to_keep: what ``generate()`` passes to the truncating warpers (1, or
            ``eos_token_count + 1`` for beam sampling).

    Examples:
        >>> type(build_processor("top_k", DecodingConfig(top_k=5).resolved())).__name__
        'TopKLogitsWarper'
        >>> build_processor("top_k", DecodingConfig(top_k=0).resolved()) is None
        True
    """
    if name not in PROCESSORS:
        raise ValueError(f"`name` has to be one of {', '.join(PENALTY_ORDER + WARPER_ORDER)}, but is {name!r}")
    return PROCESSORS[name].build(resolved[name], min_tokens_to_keep)


def apply_processors(
    logits: torch.Tensor, input_ids: torch.Tensor, config: DecodingConfig | None = None, generation_config=None
) -> torch.Tensor:
    """Scores for one step: ``generate()``'s processors for ``config`` applied to ``logits``.

    Args:
        logits: raw next-token logits, shape ``(vocab,)`` or ``(batch, vocab)``; not modified.
        input_ids: the context the logits were computed from, ``(batch, length)`` (the repetition
            penalty and n-gram blocking read it).

    Returns:
        float32 scores of the same shape; filtered tokens hold ``-inf``.
    """
    squeeze = logits.dim() == 1
    scores = logits.detach().to(torch.float32).clone().reshape(1, -1) if squeeze else logits.detach().float().clone()
    ids = input_ids.to(scores.device)
    scores = logits_processors(config, generation_config)(ids, scores)
    return scores[0] if squeeze else scores


def probabilities(scores: torch.Tensor) -> torch.Tensor:
    """softmax over the last axis, in float32: what the sampler draws from."""
    return torch.softmax(scores.float(), dim=-1)


def entropy(scores: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats of softmax(scores) (filtered tokens contribute 0)."""
    logp = torch.log_softmax(scores.float(), dim=-1)
    p = logp.exp()
    # a one-token distribution gives -0.0 (shown as "-0.00"), rounding can give a hair below 0: clamp, and + 0.0
    return (-(torch.where(p > 0, p * logp, torch.zeros_like(p))).sum(-1)).clamp_min(0.0) + 0.0
