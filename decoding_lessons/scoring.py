"""The strategy catalogue: a decoding configuration, and the logits processors it turns into.

:class:`DecodingConfig` holds every knob of ``generate()`` that changes the next-token
distribution. :func:`logits_processors` turns it into transformers' own processors, in exactly the
order and with exactly the defaults that ``generate()`` uses (``GenerationMixin._get_logits_processor``
in transformers 5):

1. always: sequence bias, repetition penalty, no-repeat-ngram, then the controls that constrain
   the output (bad words, the EOS ban of ``min_new_tokens``, a grammar's allowed tokens, forced
   EOS, the exponential length penalty, suppressed tokens);
2. only when ``do_sample=True``: temperature → top-H → top-k → top-p → min-p → typical → ε → η;
3. always, last: the watermark (``watermarking_config``), on the scores all the others shaped.

Some controls need to know where the generation stands (how long the prompt was, how many tokens
may follow): :func:`logits_processors` takes ``prompt_length`` and ``max_length`` for them, as
``generate()`` knows them.

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

from .checks import check_int

from .processors import GENERATE_DEFAULTS, GENERATE_ORDER, PENALTY_ORDER, PROCESSORS, ROWS, WARPER_ORDER, BuildContext, Watermark

# Every fact about a processor (field, class, default, off value, interval, order) is one row of
# the table in processors.py; this module builds the configuration and the processor lists from it.


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
        sequence_bias: add a bias to token sequences' last token: ``{(id, ...): bias}`` or
            ``[[[id, ...], bias], ...]``; a one-token sequence is biased at every step, a longer one
            only when the rest of it ends the context. Bias in [-inf, inf) (-inf bans).
        bad_words_ids: ``[[id, ...], ...]``: token sequences that may never be completed (a
            one-token word is banned at every step; a lone EOS is dropped from the list, as
            ``generate()`` drops it).
        min_new_tokens: the EOS ban: EOS gets -inf until this many new tokens exist; >= 0.
        prefix_allowed_tokens_fn: ``fn(batch_id, input_ids) -> [allowed ids]``: every other token
            gets -inf (a grammar); it must allow at least one token.
        forced_eos_token_id: at the step that reaches ``max_length`` (the last one), only this
            token (or these) keeps a finite score.
        exponential_decay_length_penalty: ``(start_index, decay_factor)``: ``start_index`` new
            tokens in, EOS's score grows by ``|score| · (decay_factor^n − 1)``; factor in (0, inf).
        suppress_tokens: ``[id, ...]``: these tokens get -inf at every step.
        watermarking_config: Kirchenbauer et al.'s watermark (arXiv 2301.10226): ``+ bias`` on a
            green list of ``greenlist_ratio`` of the vocabulary, seeded by the previous token(s); a
            ``transformers.WatermarkingConfig`` or a dict of its fields, stored as a frozen
            :class:`~decoding_lessons.processors.Watermark`. Applied after every other processor,
            greedy or sampled.

    Token-id lists are stored as tuples (so the configuration stays hashable) and handed to
    ``generate()`` as the lists it documents (:meth:`explicit`).

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
    sequence_bias: Any = None
    bad_words_ids: Any = None
    min_new_tokens: int | None = None
    prefix_allowed_tokens_fn: Any = None
    forced_eos_token_id: Any = None
    exponential_decay_length_penalty: Any = None
    suppress_tokens: Any = None
    watermarking_config: Any = None

    def __post_init__(self):
        if self.do_sample is not None and not isinstance(self.do_sample, bool):
            raise ValueError(f"`do_sample` has to be True or False, but is {self.do_sample!r}")
        for row in ROWS:  # each field against its interval, as the processor table states it
            value = getattr(self, row.field)
            if value is not None:
                # stored as the table's row returns it: an int for a float field as a float
                # (transformers' TemperatureLogitsWarper refuses ints), token-id lists as tuples
                object.__setattr__(self, row.field, row.check(value))
        forced, suppressed = self.forced_eos_token_id, self.suppress_tokens
        if forced is not None and suppressed is not None:
            forced = {forced} if isinstance(forced, int) else set(forced)
            if forced <= set(suppressed):  # GenerationConfig.validate() refuses it too
                raise ValueError(
                    f"`forced_eos_token_id` has to name a token that `suppress_tokens` does not suppress, but "
                    f"every one of {sorted(forced)} is suppressed: the forced step would have no finite score"
                )

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
            DecodingConfig(do_sample=True, temperature=None, top_k=None, top_p=0.9, min_p=None, typical_p=None, epsilon_cutoff=None, eta_cutoff=None, top_h=None, repetition_penalty=None, no_repeat_ngram_size=None, sequence_bias=None, bad_words_ids=None, min_new_tokens=None, prefix_allowed_tokens_fn=None, forced_eos_token_id=None, exponential_decay_length_penalty=None, suppress_tokens=None, watermarking_config=None)
        """
        from transformers import GenerationConfig

        if not isinstance(generation_config, GenerationConfig):
            raise TypeError(
                "`generation_config` has to be a transformers.GenerationConfig, "
                f"but is a {type(generation_config).__name__}"
            )
        values = {}
        for f in fields(cls):
            if f.name in PROCESSORS and not PROCESSORS[f.name].in_generation_config:
                continue
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

        # a function (prefix_allowed_tokens_fn) is no GenerationConfig field: pass it to generate() itself
        settings = {k: v for k, v in self.explicit().items() if k not in PROCESSORS or PROCESSORS[k].in_generation_config}
        if base is None:
            return GenerationConfig(**settings)
        if not isinstance(base, GenerationConfig):
            raise TypeError(f"`base` has to be a transformers.GenerationConfig or None, but is a {type(base).__name__}")
        out = copy.deepcopy(base)
        for name, value in settings.items():
            setattr(out, name, value)
        return out

    def explicit(self) -> dict[str, Any]:
        """Only the fields that were set: the keyword arguments to pass to ``generate()`` (token-id
        tuples as the lists ``generate()`` documents).

        Examples:
            >>> DecodingConfig(suppress_tokens=(5, 7), min_new_tokens=3).explicit()
            {'min_new_tokens': 3, 'suppress_tokens': [5, 7]}
        """
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = PROCESSORS[f.name].generate_value(value) if f.name in PROCESSORS else value
        return out

    def resolved(self, generation_config=None) -> dict[str, Any]:
        """Every field, with ``None`` replaced as ``generate()`` would: by the model's
        ``generation_config`` when it sets the field, else by transformers' default."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and generation_config is not None:
                value = getattr(generation_config, f.name, None)
                if value is not None and f.name in PROCESSORS:  # the model's own setting, in the stored form
                    value = PROCESSORS[f.name].check(value)
            if value is None:
                value = GENERATE_DEFAULTS[f.name]
            out[f.name] = value
        return out

    def describe(self) -> str:
        """A short human label such as ``do_sample=True, top_p=0.9``."""
        def text(k, v):
            if isinstance(getattr(self, k), Watermark):  # the stored form reads shorter than WatermarkingConfig's JSON
                return str(getattr(self, k))
            return getattr(v, "__name__", type(v).__name__) if callable(v) else v

        parts = [f"{k}={text(k, v)}" for k, v in self.explicit().items()]
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


def eos_token_ids(generation_config) -> tuple[int, ...]:
    """The model's EOS ids as ``generate()`` reads them (``generation_config.eos_token_id``)."""
    eos = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    if eos is None:
        return ()
    return (int(eos),) if isinstance(eos, int) else tuple(int(e) for e in (eos.tolist() if hasattr(eos, "tolist") else eos))


def logits_processors(
    config: DecodingConfig | None = None,
    generation_config=None,
    num_beams: int = 1,
    eos_token_count: int | None = None,
    *,
    prompt_length: int | None = None,
    max_length: int | None = None,
    vocab_size: int | None = None,
    device=None,
) -> LogitsProcessorList:
    """transformers' processors for ``config``, in ``generate()``'s order.

    Args:
        config: the decoding configuration (default: ``generate()``'s defaults, i.e. greedy).
        generation_config: the model's ``generation_config``, consulted for unset fields and for
            the EOS ids (the EOS ban, bad words, the length penalty read them).
        num_beams: with beam sampling, the warpers keep at least ``eos_token_count + 1`` tokens,
            as ``generate()`` does.
        eos_token_count: number of EOS ids of the model (for ``min_tokens_to_keep``); default:
            counted from ``generation_config``.
        prompt_length: the prompt's length (``min_new_tokens`` and
            ``exponential_decay_length_penalty`` count new tokens from it).
        max_length: prompt length + ``max_new_tokens`` (``forced_eos_token_id`` acts on the step
            that reaches it).
        vocab_size: the scores' width: token ids in the configuration are checked against it, and
            the watermark draws its green list from it.
        device: the scores' device (default: the CPU): the watermark's green list is drawn with a
            ``torch.Generator`` there, and a CUDA generator draws another list than the CPU's.

    Returns:
        A ``LogitsProcessorList``; calling it as ``procs(input_ids, logits)`` gives the scores.

    Raises:
        ValueError: a control that needs ``prompt_length``, ``max_length`` or ``vocab_size`` without
            it, or a token id outside ``[0, vocab_size)``.
    """
    check_config(config)
    c = (config or DecodingConfig()).resolved(generation_config)
    eos = eos_token_ids(generation_config)
    count = len(eos) if eos_token_count is None else eos_token_count
    context = BuildContext(
        min_tokens_to_keep=count + 1 if num_beams > 1 else 1, eos_token_ids=eos, prompt_length=prompt_length,
        max_length=max_length, vocab_size=vocab_size, num_beams=num_beams, device="cpu" if device is None else device,
    )
    procs = LogitsProcessorList()
    for name in GENERATE_ORDER:
        if PROCESSORS[name].sampling_only and not c["do_sample"]:
            continue
        proc = PROCESSORS[name].build(c[name], context=context)
        if proc is not None:
            procs.append(proc)
    return procs


def build_processor(name: str, resolved: dict[str, Any], min_tokens_to_keep: int = 1, context: BuildContext | None = None):
    """transformers' processor for one field of a resolved configuration, or ``None`` when that
    field is inactive (``temperature=1``, ``top_k=0``, ``top_p=1``, ``min_p=None``, ...).

    It is built exactly as ``generate()`` builds it, so the processors can be applied one by one,
    or in another order (see :func:`decoding_lessons.sampling.apply_in_order`). ``do_sample`` is
    not consulted here: :func:`logits_processors` adds the warpers only when sampling.

    Args:
        name: a field of :class:`DecodingConfig` (a row of the processor table).
        resolved: ``DecodingConfig.resolved()``: every field with a concrete value.
        min_tokens_to_keep: what ``generate()`` passes to the truncating warpers (1, or
            ``eos_token_count + 1`` for beam sampling).
        context: what a control needs beyond its value (a :class:`~decoding_lessons.processors.BuildContext`);
            when given, its ``min_tokens_to_keep`` is used.

    Examples:
        >>> type(build_processor("top_k", DecodingConfig(top_k=5).resolved())).__name__
        'TopKLogitsWarper'
        >>> build_processor("top_k", DecodingConfig(top_k=0).resolved()) is None
        True
    """
    if name not in GENERATE_ORDER:
        raise ValueError(f"`name` has to be one of {', '.join(GENERATE_ORDER)}, but is {name!r}")
    return PROCESSORS[name].build(resolved[name], min_tokens_to_keep, context)


def apply_processors(
    logits: torch.Tensor,
    input_ids: torch.Tensor,
    config: DecodingConfig | None = None,
    generation_config=None,
    *,
    prompt_length: int | None = None,
    max_new_tokens: int | None = None,
    device=None,
) -> torch.Tensor:
    """Scores for one step: ``generate()``'s processors for ``config`` applied to ``logits``.

    Args:
        logits: raw next-token logits, shape ``(vocab,)`` or ``(batch, vocab)``; not modified.
        input_ids: the context the logits were computed from, ``(batch, length)`` (the repetition
            penalty and n-gram blocking read it).
        prompt_length: where the generation started: the context's first ``prompt_length`` tokens
            were the prompt, the rest were generated. Default: the whole context (this step makes
            the first new token).
        max_new_tokens: the generation's length limit (for ``forced_eos_token_id``): the step that
            makes token number ``max_new_tokens`` is the last.
        device: where to apply the processors (default: the logits' device). The watermark draws
            its green list with a generator on this device, so scores captured on the CPU from a
            model that generates on CUDA need ``device="cuda"`` to match ``generate()``.

    Returns:
        float32 scores of the same shape, on the logits' device; filtered tokens hold ``-inf``.
    """
    squeeze = logits.dim() == 1
    scores = logits.detach().to(torch.float32).clone().reshape(1, -1) if squeeze else logits.detach().float().clone()
    ids = input_ids.to(scores.device)
    length = ids.shape[-1]
    if prompt_length is None:
        prompt_length = length
    check_int("prompt_length", prompt_length, 1, length)
    max_length = None
    if max_new_tokens is not None:
        check_int("max_new_tokens", max_new_tokens, length - prompt_length + 1)
        max_length = prompt_length + max_new_tokens
    home = scores.device
    if device is not None:
        scores, ids = scores.to(device), ids.to(device)
    procs = logits_processors(
        config, generation_config, prompt_length=prompt_length, max_length=max_length, vocab_size=scores.shape[-1],
        device=scores.device,
    )
    scores = procs(ids, scores).to(home)
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
