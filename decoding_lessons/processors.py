"""The processor table: one row per logits processor, and every fact about it in that row.

A row says which :class:`~decoding_lessons.DecodingConfig` field switches the processor on, which
transformers class implements it, transformers' default for the field, the value that switches it
off, the values it accepts (and how an error states them), what else ``generate()`` hands the
processor when it builds it (the prompt's length, the length limit, the model's EOS ids), whether
``generate()`` runs it only when sampling, and its place in ``generate()``'s order and in
llama.cpp's default chain.

Everything else derives from this table: the configuration's validation, ``generate()``'s defaults
(:data:`GENERATE_DEFAULTS`), the processors built for a configuration, the orders
(:data:`GENERATE_ORDER`, :data:`HF_ORDER`, :data:`LLAMA_CPP_ORDER`), the "off" values the lessons'
rule helpers use, and the JSON the site build writes for the browser (:func:`table_json`). Adding a
processor is adding a row (and, for a lesson, its rule).

``generate()``'s order (``GenerationMixin._get_logits_processor`` in transformers 5) is the order of
the rows. Always: sequence bias → repetition penalty → no-repeat-n-gram → bad words → min new
tokens (the EOS ban) → prefix-allowed tokens (a grammar) → forced EOS → exponential decay length
penalty → suppressed tokens; then, only when ``do_sample=True``, temperature → top-H → top-k →
top-p → min-p → typical → ε → η; then, last and whether sampling or not, the watermark
(:data:`FINAL_ORDER`: it sees the scores every other processor has shaped).

The kinds of row:

* **knobs** (:data:`KNOBS`): one number, nothing else needed (``temperature``, ``top_k``, ...).
  :data:`HF_ORDER` is their order in ``generate()``; sliders, :func:`~decoding_lessons.apply_in_order`
  and llama.cpp's chain work with them.
* **controls** (:data:`CONTROL_ORDER`): token ids, a bias table, a function, or a number that needs
  to know where the generation stands. Their ``kind`` says which value they take, and ``context``
  what :class:`BuildContext` must hold to build them (``"prompt_length"``, ``"max_length"``).
  They come before the sampling warpers.
* **after the warpers** (:data:`FINAL_ORDER`): the watermark (``watermarking_config``, a
  :class:`Watermark`), which ``generate()`` appends after everything else, greedy or sampled.
* **other libraries' samplers** (:data:`LIBRARY_ROWS`): our exact ports of llama.cpp's samplers
  that transformers lacks (``penalties``, ``dry``, ``top_n_sigma``, ``xtc``, ``temp_ext``,
  ``mirostat``) and the OpenAI API's penalties (``openai_penalties``). No ``DecodingConfig``
  field: :func:`~decoding_lessons.apply_in_order` takes them by keyword, a number
  (``top_n_sigma``) or a dict of a sampler's :class:`Param` s (``kind="params"``).

Examples:
    >>> PROCESSORS["min_p"].interval
    '[0, 1]'
    >>> [row.field for row in ROWS if row.sampling_only][:3]
    ['temperature', 'top_h', 'top_k']
    >>> PROCESSORS["top_k"].is_off(0), PROCESSORS["top_k"].is_off(50)
    (True, False)
    >>> GENERATE_ORDER.index("sequence_bias") < GENERATE_ORDER.index("repetition_penalty")
    True
    >>> PROCESSORS["min_new_tokens"].context
    ('prompt_length',)
    >>> GENERATE_ORDER[-1], FINAL_ORDER
    ('watermarking_config', ('watermarking_config',))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from transformers import (
    EpsilonLogitsWarper,
    EtaLogitsWarper,
    ExponentialDecayLengthPenalty,
    ForcedEOSTokenLogitsProcessor,
    MinNewTokensLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    PrefixConstrainedLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SequenceBiasLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopHLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
    WatermarkingConfig,
    WatermarkLogitsProcessor,
)

from .checks import check_float, check_int, interval_text
from .llama_cpp import TopNSigmaLogitsProcessor


@dataclass(frozen=True)
class BuildContext:
    """What ``generate()`` knows when it builds its processors, beyond the configuration.

    Attributes:
        min_tokens_to_keep: what the truncating warpers keep at least (1; ``eos_count + 1`` for
            beam sampling).
        eos_token_ids: the model's EOS ids (``generation_config.eos_token_id``), ``()`` if none.
        prompt_length: the prompt's length in tokens (``input_ids_seq_length``): the EOS ban and
            the length penalty count new tokens from there.
        max_length: prompt length + ``max_new_tokens``: forced EOS acts on the step that reaches it.
        vocab_size: the scores' width, for the token-id range checks (``None``: not checked here);
            the watermark draws its green list from it (``generate()`` passes the model config's
            text ``vocab_size``, the same number).
        num_beams: rows per prompt (the prefix function is called once per row).
        device: where the scores live: the watermark's green list comes from ``torch.randperm``
            with a ``torch.Generator`` on this device, and CPU and CUDA draw different lists.
        tokenizer: the model's tokenizer (DRY matches its sequence breakers against the
            vocabulary's texts).
    """

    min_tokens_to_keep: int = 1
    eos_token_ids: tuple[int, ...] = ()
    prompt_length: int | None = None
    max_length: int | None = None
    vocab_size: int | None = None
    num_beams: int = 1
    device: Any = "cpu"
    tokenizer: Any = None

    def need(self, what: str, field: str):
        """``self.<what>``, or a ValueError saying that ``field`` needs it."""
        value = getattr(self, what)
        if value is None:
            why = {
                "prompt_length": "to count the new tokens from",
                "max_length": "(prompt length + max_new_tokens) to know which step is the last",
                "vocab_size": "(the scores' width) to draw the green list from",
            }[what]
            raise ValueError(f"`{field}` needs the generation's `{what}` {why}, but none was given")
        return value


@dataclass(frozen=True)
class Param:
    """One named number of a sampler row (``kind="params"``): llama.cpp's samplers take several.

    Attributes:
        name: the setting's name, as llama.cpp's ``common_params_sampling`` (or the OpenAI API)
            spells it (``xtc_threshold``, ``penalty_last_n``).
        kind: ``"float"`` or ``"int"``.
        default: the library's default (llama.cpp's ``common/common.h``).
        low, high: the allowed interval's ends (``high`` may be ``inf``); for an int, both ends
            are included (``high`` ``inf``: no upper end).
        low_open, high_open: whether a float's ends are excluded.
    """

    name: str
    kind: str
    default: Any
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    @property
    def interval(self) -> str:
        if self.kind == "int":
            return f">= {int(self.low)}" if math.isinf(self.high) else f"in [{int(self.low)}, {int(self.high)}]"
        return interval_text(self.low, self.high, self.low_open, self.high_open)

    def check(self, value):
        """Refuse a value outside the interval (naming the parameter); return it as stored."""
        if self.kind == "int":
            check_int(self.name, value, int(self.low), None if math.isinf(self.high) else int(self.high))
            return value
        check_float(self.name, value, self.low, self.high, self.low_open, self.high_open)
        return float(value)


def _params_of(field: str, params: tuple[Param, ...]):
    """The ``normalize`` of a sampler row: a mapping of its parameters (the unset ones take their
    default), each checked; stored as a tuple of ``(name, value)`` pairs in the row's order."""

    def normalize(value):
        if not isinstance(value, dict):
            raise ValueError(
                f"`{field}` has to be a dict of its parameters ({', '.join(p.name for p in params)}), but is {value!r}"
            )
        names = [p.name for p in params]
        unknown = sorted(k for k in value if k not in names)
        if unknown:
            raise ValueError(f"`{field}` takes only the parameters {', '.join(names)}, but was given {unknown}")
        return tuple((p.name, p.check(value[p.name]) if p.name in value else p.default) for p in params)

    return normalize


@dataclass(frozen=True)
class Processor:
    """One logits processor, as ``generate()`` builds it from one ``DecodingConfig`` field.

    Attributes:
        field: the ``DecodingConfig`` / ``generate()`` argument.
        cls: the transformers class.
        default: transformers' global default for the field (``GenerationConfig``).
        off: the value that switches the processor off (``None``: unset).
        kind: the value it takes: ``"float"``, ``"int"``, ``"token_ids"`` (a list of ids),
            ``"token_id"`` (one id or a list), ``"token_sequences"`` (a list of id lists),
            ``"bias"`` (token sequences with a float each), ``"decay"`` (``(start, factor)``),
            ``"callable"`` (a function of the context), ``"watermark"`` (a :class:`Watermark`).
        low, high: the allowed interval's ends (``high`` may be ``inf``); for an int, ``low`` only.
        low_open, high_open: whether the ends are excluded.
        sampling_only: ``generate()`` adds it only when ``do_sample=True`` (the warpers).
        llama_cpp: position in llama.cpp's default chain, ``None`` if it has no counterpart there.
        active: ``active(value)``: whether ``generate()`` adds the processor for this value.
        make: ``make(value, context)``: the processor, built as ``generate()`` builds it, from the
            value and a :class:`BuildContext`.
        summary: one line for docs and the browser.
        context: what ``make`` needs from the :class:`BuildContext` that a single captured step
            does not say by itself (``"prompt_length"``, ``"max_length"``); ``()`` for none.
        browser: whether a browser engine can run it from the table's JSON (a Python function
            cannot travel there).
        in_generation_config: whether ``GenerationConfig`` has the field (``False``: only
            ``generate()`` takes it, as ``prefix_allowed_tokens_fn``).
        normalize: ``normalize(value)``: checks a non-numeric value and returns its stored,
            hashable form (tuples); ``None`` for the numbers.
        to_generate: ``to_generate(stored)``: the form ``generate()`` takes (lists); ``None``: as stored.
        allowed: the accepted values in words, for a non-numeric kind.
        library: ``"transformers"``: ``generate()`` builds it from its own argument; ``"llama.cpp"``
            (or ``"OpenAI API"``): our exact port of another library's sampler
            (:mod:`decoding_lessons.llama_cpp`), which ``generate()`` runs only when handed it as
            ``logits_processor=[...]``. Such a row is none of :class:`DecodingConfig`'s fields:
            give its value to :func:`~decoding_lessons.apply_in_order` by keyword.
        params: for ``kind="params"`` (a sampler with several settings: XTC, DRY, llama.cpp's
            penalties ...), its :class:`Param` s; the value is a dict of them, and the unset ones
            take the library's default.
    """

    field: str
    cls: type
    default: Any
    off: Any
    kind: str
    low: float
    high: float
    low_open: bool
    high_open: bool
    sampling_only: bool
    llama_cpp: int | None
    active: Callable[[Any], bool]
    make: Callable[[Any, BuildContext], Any]
    summary: str
    context: tuple[str, ...] = ()
    browser: bool = True
    in_generation_config: bool = True
    normalize: Callable[[Any], Any] | None = None
    to_generate: Callable[[Any], Any] | None = None
    allowed: str | None = None
    library: str = "transformers"
    params: tuple[Param, ...] = ()

    @property
    def knob(self) -> bool:
        """One number and nothing else needed: a slider's parameter."""
        return self.kind in ("float", "int") and not self.context

    @property
    def interval(self) -> str:
        """The allowed values as an error states them: ``[0, 1]``, ``(0, inf)``, ``>= 0``."""
        if self.allowed is not None:
            return self.allowed
        if self.kind == "int":
            return f">= {self.low:g}"
        return interval_text(self.low, self.high, self.low_open, self.high_open)

    def is_off(self, value) -> bool:
        """Whether ``value`` (already resolved) leaves the processor out of ``generate()``'s list."""
        return not self.active(value)

    def check(self, value):
        """Refuse a value outside the interval, naming the field, the interval and the value; return
        the value as it is stored (ints as floats for a float field, lists as tuples)."""
        if self.normalize is not None:
            return self.normalize(value)
        if self.kind == "int":
            check_int(self.field, value, int(self.low))
            return value
        if self.field == "temperature" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            raise ValueError(
                "`temperature` has to be a float in the (0, inf) interval, but is 0: "
                "T = 0 would divide by zero; for greedy decoding use do_sample=False"
            )
        check_float(self.field, value, self.low, self.high, self.low_open, self.high_open)
        # an integer (temperature=2, a slider grid [1, 1.5, 2]) is stored as a float: transformers'
        # TemperatureLogitsWarper and RepetitionPenaltyLogitsProcessor refuse ints
        return float(value) if self.kind == "float" else value

    def generate_value(self, value):
        """``value`` (stored form) as ``generate()`` takes it."""
        return value if value is None or self.to_generate is None else self.to_generate(value)

    def build(self, value, min_tokens_to_keep: int = 1, context: BuildContext | None = None):
        """The processor for ``value``, or ``None`` when ``value`` switches it off."""
        if not self.active(value):
            return None
        if context is None:
            context = BuildContext(min_tokens_to_keep=min_tokens_to_keep)
        return self.make(value, context)


INF = math.inf

# --------------------------------------------------------------------------------------------------
# The controls' values: checked once here, stored as tuples (hashable, immutable), handed to
# generate() as the lists it documents.


def _is_id(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _id_list(field: str, value, what: str) -> tuple[int, ...]:
    import torch

    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value or not all(_is_id(x) for x in value):
        raise ValueError(f"`{field}` has to be {what}, but is {value!r}")
    return tuple(int(x) for x in value)


def _token_ids(field):
    return lambda v: _id_list(field, v, "a non-empty list of token ids (integers >= 0)")


def _token_id(v):
    if _is_id(v):
        return int(v)
    return _id_list("forced_eos_token_id", v, "a token id (an integer >= 0) or a non-empty list of them")


def _token_sequences(v):
    what = "a non-empty list of non-empty lists of token ids (integers >= 0)"
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)) or not v:
        raise ValueError(f"`bad_words_ids` has to be {what}, but is {v!r}")
    return tuple(_id_list("bad_words_ids", seq, what) for seq in v)


BIAS_INTERVAL = interval_text(-INF, INF, False, True)  # -inf bans; +inf would make softmax NaN


def _bias(v):
    what = ("a non-empty dict {tuple of token ids: bias} or list of [token ids, bias], "
            f"each bias a float in the {BIAS_INTERVAL} interval")
    items = list(v.items()) if isinstance(v, dict) else v
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)) or not items:
        raise ValueError(f"`sequence_bias` has to be {what}, but is {v!r}")
    out = []
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ValueError(f"`sequence_bias` has to be {what}, but holds {item!r}")
        ids, bias = item
        ids = _id_list("sequence_bias", ids, what)
        ok = isinstance(bias, (int, float)) and not isinstance(bias, bool) and not math.isnan(bias) and bias != INF
        if not ok:
            raise ValueError(f"`sequence_bias` has to be {what}, but the bias of {list(ids)} is {bias!r}")
        out.append((ids, float(bias)))
    if len({ids for ids, _ in out}) != len(out):
        raise ValueError(f"`sequence_bias` has to give each token sequence one bias, but repeats one in {v!r}")
    return tuple(out)


DECAY_ALLOWED = "(start_index, decay_factor) with start_index an integer >= 0 and decay_factor a float in the (0, inf) interval"


def _decay(v):
    ok = isinstance(v, (list, tuple)) and len(v) == 2
    if ok:
        start, factor = v
        ok = _is_id(start) and isinstance(factor, (int, float)) and not isinstance(factor, bool) and math.isfinite(factor) and factor > 0
    if not ok:
        raise ValueError(f"`exponential_decay_length_penalty` has to be {DECAY_ALLOWED}, but is {v!r}")
    return (int(v[0]), float(v[1]))


def _callable(v):
    if not callable(v):
        raise ValueError(
            "`prefix_allowed_tokens_fn` has to be a function (batch_id, input_ids) -> list of allowed "
            f"token ids, but is {v!r}"
        )
    return v


def _check_range(field: str, ids, context: BuildContext) -> None:
    vocab = context.vocab_size
    if vocab is None:
        return
    bad = sorted({i for i in ids if i >= vocab})
    if bad:
        raise ValueError(f"`{field}` has to hold token ids in the [0, {vocab}) interval, but holds {bad}")


def _eos(context: BuildContext):
    return list(context.eos_token_ids) if context.eos_token_ids else None


def _make_sequence_bias(v, c):
    _check_range("sequence_bias", [i for ids, _ in v for i in ids], c)
    return SequenceBiasLogitsProcessor(sequence_bias=[[list(ids), bias] for ids, bias in v])


def _make_bad_words(v, c):
    _check_range("bad_words_ids", [i for seq in v for i in seq], c)
    return NoBadWordsLogitsProcessor([list(seq) for seq in v], _eos(c))


def _make_min_new_tokens(v, c):
    prompt_length = c.need("prompt_length", "min_new_tokens")
    if not c.eos_token_ids:  # generate() adds it only when the model has an EOS id: nothing to ban
        return None
    return MinNewTokensLengthLogitsProcessor(prompt_length, v, list(c.eos_token_ids))


class AllowedTokens:
    """``prefix_allowed_tokens_fn`` with its answer checked before ``PrefixConstrainedLogitsProcessor``
    uses it: a non-empty list of token ids in the vocabulary. The answer itself is passed on
    unchanged, so the scores are ``generate()``'s.

    ``generate()`` also refuses an empty answer (transformers' "returned an empty list for batch ID
    0 ... the constraint is unsatisfiable"); this says which context it was, and refuses ids outside
    the vocabulary (an ``IndexError`` deep in transformers otherwise).
    """

    def __init__(self, fn, vocab_size: int | None):
        self.fn, self.vocab_size = fn, vocab_size

    def __call__(self, batch_id, input_ids):
        allowed = self.fn(batch_id, input_ids)
        ids = allowed.tolist() if hasattr(allowed, "tolist") else allowed
        interval = "the vocabulary" if self.vocab_size is None else f"[0, {self.vocab_size})"
        if isinstance(ids, int) or not isinstance(ids, (list, tuple)) or not all(_is_id(i) for i in ids):
            raise ValueError(
                f"`prefix_allowed_tokens_fn` has to return a list of token ids in {interval}, but returned "
                f"{allowed!r} after {input_ids.shape[-1]} tokens"
            )
        if not ids:
            raise ValueError(
                f"`prefix_allowed_tokens_fn` has to return at least one token id in {interval}, but allowed "
                f"nothing after {input_ids.shape[-1]} tokens (ending {input_ids[-5:].tolist()}): the "
                "constraint is unsatisfiable there (generate() refuses it too)"
            )
        if self.vocab_size is not None and max(ids) >= self.vocab_size:
            raise ValueError(
                f"`prefix_allowed_tokens_fn` has to return token ids in {interval}, but returned "
                f"{sorted(i for i in ids if i >= self.vocab_size)} after {input_ids.shape[-1]} tokens"
            )
        return allowed


def _make_prefix(v, c):
    return PrefixConstrainedLogitsProcessor(AllowedTokens(v, c.vocab_size), c.num_beams)


def _make_forced_eos(v, c):
    max_length = c.need("max_length", "forced_eos_token_id")
    _check_range("forced_eos_token_id", [v] if isinstance(v, int) else v, c)
    return ForcedEOSTokenLogitsProcessor(max_length, v if isinstance(v, int) else list(v))


def _make_decay(v, c):
    prompt_length = c.need("prompt_length", "exponential_decay_length_penalty")
    if not c.eos_token_ids:
        raise ValueError("`exponential_decay_length_penalty` raises the EOS score, but the model has no EOS id")
    return ExponentialDecayLengthPenalty(v, list(c.eos_token_ids), prompt_length)


def _make_suppress(v, c):
    _check_range("suppress_tokens", v, c)
    return SuppressTokensLogitsProcessor(list(v))


SEEDING_SCHEMES = ("lefthash", "selfhash")
WATERMARK_ALLOWED = (
    "a transformers.WatermarkingConfig or a dict of its fields: greenlist_ratio a float in the (0, 1) "
    "interval, bias a finite float, hashing_key an integer in [0, 2**63), seeding_scheme one of "
    "'lefthash', 'selfhash', context_width an integer >= 1"
)


@dataclass(frozen=True)
class Watermark:
    """The stored form of ``watermarking_config``: Kirchenbauer et al.'s watermark, checked and hashable.

    transformers' ``WatermarkingConfig`` is mutable (so a ``DecodingConfig`` holding it could not be
    hashed); this frozen copy holds the same five fields and gives it back with :meth:`to_config`.
    A green list of ``int(vocab_size * greenlist_ratio)`` tokens is drawn at every step from a seed
    made of the previous token ("lefthash": ``hashing_key * last token``; only the last token counts,
    whatever ``context_width``) or of the last ``context_width`` tokens and the candidate token itself
    ("selfhash"); the green tokens' scores get ``+ bias``.

    Attributes:
        greenlist_ratio: γ, the share of the vocabulary that is green at each step; in (0, 1).
        bias: δ, added to the green tokens' scores; a finite float (transformers recommends 0.5–2).
        hashing_key: the secret key the seeds are made with (default: the millionth prime).
        seeding_scheme: ``"lefthash"`` (Algorithm 2 of arXiv 2306.04634) or ``"selfhash"``
            (Algorithm 3: the candidate token is part of its own seed; 40 candidates are tried).
        context_width: how many previous tokens make the seed, >= 1.

    Examples:
        >>> Watermark(bias=1.0).to_config().bias
        1.0
        >>> DecodingConfig(watermarking_config={"greenlist_ratio": 1.5})
        Traceback (most recent call last):
        ...
        ValueError: `watermarking_config.greenlist_ratio` has to be a float in the (0, 1) interval, but is 1.5
    """

    greenlist_ratio: float = 0.25
    bias: float = 2.0
    hashing_key: int = 15485863
    seeding_scheme: str = "lefthash"
    context_width: int = 1

    def __post_init__(self):
        check_float("watermarking_config.greenlist_ratio", self.greenlist_ratio, 0, 1, True, True)
        check_float("watermarking_config.bias", self.bias)
        check_int("watermarking_config.hashing_key", self.hashing_key, 0, 2**63 - 1)
        if self.seeding_scheme not in SEEDING_SCHEMES:
            raise ValueError(
                f"`watermarking_config.seeding_scheme` has to be one of 'lefthash', 'selfhash', but is {self.seeding_scheme!r}"
            )
        check_int("watermarking_config.context_width", self.context_width, 1)
        object.__setattr__(self, "greenlist_ratio", float(self.greenlist_ratio))
        object.__setattr__(self, "bias", float(self.bias))

    def to_config(self) -> WatermarkingConfig:
        """transformers' ``WatermarkingConfig`` with these fields: what ``generate()`` takes."""
        return WatermarkingConfig(**self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        """The five fields as a dict (``WatermarkingConfig(**w.as_dict())``)."""
        return {f: getattr(self, f) for f in WATERMARK_FIELDS}

    def replace(self, **changes) -> "Watermark":
        """A copy with ``changes`` applied (and checked): ``w.replace(bias=4.0)``."""
        return _watermark({**self.as_dict(), **changes})

    def __str__(self) -> str:
        return (f"watermark(γ={self.greenlist_ratio:g}, δ={self.bias:g}, {self.seeding_scheme}, "
                f"context_width={self.context_width})")


WATERMARK_FIELDS = ("greenlist_ratio", "bias", "hashing_key", "seeding_scheme", "context_width")


def _watermark(v) -> Watermark:
    if isinstance(v, Watermark):
        return v
    if isinstance(v, WatermarkingConfig):
        v = v.to_dict()
    if not isinstance(v, dict):
        raise ValueError(f"`watermarking_config` has to be {WATERMARK_ALLOWED}, but is {v!r}")
    unknown = sorted(str(k) for k in v if k not in WATERMARK_FIELDS)
    if unknown:
        raise ValueError(
            f"`watermarking_config` has to be a dict of the fields {', '.join(WATERMARK_FIELDS)} (a WatermarkingConfig's), "
            f"but holds the unknown {unknown}"
        )
    return Watermark(**v)


# selfhash tries the 40 highest-scoring candidates (WatermarkLogitsProcessor._score_rejection_sampling)
SELFHASH_CANDIDATES = 40


def _make_watermark(v, c):
    vocab = c.need("vocab_size", "watermarking_config")
    if v.seeding_scheme == "selfhash" and vocab < SELFHASH_CANDIDATES:
        raise ValueError(
            f"`watermarking_config` with seeding_scheme 'selfhash' tries {SELFHASH_CANDIDATES} candidates, so it needs a "
            f"vocabulary of at least {SELFHASH_CANDIDATES} tokens, but the scores hold {vocab}"
        )
    # exactly generate()'s call (GenerationMixin._get_logits_processor)
    return v.to_config().construct_processor(vocab, c.device)


def _lists(v):
    return [list(x) for x in v]


def _unset(v) -> bool:
    return v is not None


ROWS: tuple[Processor, ...] = (
    Processor(
        "sequence_bias", SequenceBiasLogitsProcessor, None, None, "bias", -INF, INF, False, True, False, None,
        _unset, _make_sequence_bias,
        "add a bias to a token, or to a sequence's last token when the sequence is about to be completed",
        normalize=_bias, to_generate=lambda v: [[list(ids), bias] for ids, bias in v],
        allowed=f"token sequences with a bias in {BIAS_INTERVAL}",
    ),
    Processor(
        "repetition_penalty", RepetitionPenaltyLogitsProcessor, 1.0, 1.0, "float", 0, INF, True, True, False, 0,
        lambda v: v != 1.0, lambda v, c: RepetitionPenaltyLogitsProcessor(v),
        "CTRL's penalty on every token already in the context: logit / p if positive, logit * p if negative",
    ),
    Processor(
        "no_repeat_ngram_size", NoRepeatNGramLogitsProcessor, 0, 0, "int", 0, INF, False, False, False, None,
        lambda v: v > 0, lambda v, c: NoRepeatNGramLogitsProcessor(v),
        "forbid every token that would make an n-gram of this size occur twice",
    ),
    Processor(
        "bad_words_ids", NoBadWordsLogitsProcessor, None, None, "token_sequences", 0, INF, False, True, False, None,
        _unset, _make_bad_words,
        "forbid the last token of each listed sequence once the rest of it is there (a one-token word always)",
        normalize=_token_sequences, to_generate=_lists, allowed="lists of token ids in [0, vocab)",
    ),
    Processor(
        "min_new_tokens", MinNewTokensLengthLogitsProcessor, None, None, "int", 0, INF, False, False, False, None,
        lambda v: v is not None and v > 0, _make_min_new_tokens,
        "ban EOS (score -inf) until this many new tokens have been generated",
        context=("prompt_length",),
    ),
    Processor(
        "prefix_allowed_tokens_fn", PrefixConstrainedLogitsProcessor, None, None, "callable", 0, INF, False, True, False, None,
        _unset, _make_prefix,
        "a function of the context lists the allowed next tokens; every other token gets -inf (a grammar)",
        browser=False, in_generation_config=False, normalize=_callable,
        allowed="a function (batch_id, input_ids) -> non-empty list of token ids in [0, vocab)",
    ),
    Processor(
        "forced_eos_token_id", ForcedEOSTokenLogitsProcessor, None, None, "token_id", 0, INF, False, True, False, None,
        _unset, _make_forced_eos,
        "at the last step before max_length, every token but this one gets -inf",
        context=("max_length",), normalize=_token_id,
        to_generate=lambda v: v if isinstance(v, int) else list(v), allowed="token ids in [0, vocab)",
    ),
    Processor(
        "exponential_decay_length_penalty", ExponentialDecayLengthPenalty, None, None, "decay", 0, INF, False, True, False, None,
        _unset, _make_decay,
        "after start_index new tokens, raise EOS's score by |score| * (factor^n - 1), n tokens past the start",
        context=("prompt_length",), normalize=_decay, to_generate=tuple, allowed=DECAY_ALLOWED,
    ),
    Processor(
        "suppress_tokens", SuppressTokensLogitsProcessor, None, None, "token_ids", 0, INF, False, True, False, None,
        _unset, _make_suppress,
        "these tokens get -inf at every step",
        normalize=_token_ids("suppress_tokens"), to_generate=list, allowed="token ids in [0, vocab)",
    ),
    Processor(
        "temperature", TemperatureLogitsWarper, 1.0, 1.0, "float", 0, INF, True, True, True, 8,
        lambda v: v != 1.0, lambda v, c: TemperatureLogitsWarper(v),
        "divide the logits by T",
    ),
    Processor(
        "top_h", TopHLogitsWarper, None, None, "float", 0, 1, True, False, True, None,
        lambda v: v is not None, lambda v, c: TopHLogitsWarper(top_h=v),
        "Top-H: an entropy-bounded nucleus over the 100 most likely tokens",
    ),
    Processor(
        "top_k", TopKLogitsWarper, 50, 0, "int", 0, INF, False, False, True, 3,
        lambda v: v != 0, lambda v, c: TopKLogitsWarper(top_k=v, min_tokens_to_keep=c.min_tokens_to_keep),
        "keep the k highest scores (and every token tied with the k-th)",
    ),
    Processor(
        "top_p", TopPLogitsWarper, 1.0, 1.0, "float", 0, 1, False, False, True, 5,
        lambda v: v < 1.0, lambda v, c: TopPLogitsWarper(top_p=v, min_tokens_to_keep=c.min_tokens_to_keep),
        "nucleus: the smallest set of most likely tokens whose probability reaches p",
    ),
    Processor(
        "min_p", MinPLogitsWarper, None, None, "float", 0, 1, False, False, True, 6,
        lambda v: v is not None, lambda v, c: MinPLogitsWarper(min_p=v, min_tokens_to_keep=c.min_tokens_to_keep),
        "keep tokens with p >= min_p * p_max",
    ),
    Processor(
        "typical_p", TypicalLogitsWarper, 1.0, 1.0, "float", 0, 1, True, False, True, 4,
        lambda v: v < 1.0, lambda v, c: TypicalLogitsWarper(mass=v, min_tokens_to_keep=c.min_tokens_to_keep),
        "locally typical: the tokens whose surprisal is closest to the entropy, up to mass p",
    ),
    Processor(
        "epsilon_cutoff", EpsilonLogitsWarper, 0.0, 0.0, "float", 0, 1, False, True, True, None,
        lambda v: 0.0 < v < 1.0, lambda v, c: EpsilonLogitsWarper(epsilon=v, min_tokens_to_keep=c.min_tokens_to_keep),
        "ε-sampling: keep p > ε",
    ),
    Processor(
        "eta_cutoff", EtaLogitsWarper, 0.0, 0.0, "float", 0, 1, False, True, True, None,
        lambda v: 0.0 < v < 1.0, lambda v, c: EtaLogitsWarper(epsilon=v, min_tokens_to_keep=c.min_tokens_to_keep),
        "η-sampling: keep p > min(η, sqrt(η)·exp(-H))",
    ),
    Processor(
        "watermarking_config", WatermarkLogitsProcessor, None, None, "watermark", 0, INF, False, True, False, None,
        _unset, _make_watermark,
        "Kirchenbauer et al.'s watermark: + bias (δ) on a green list of greenlist_ratio (γ) of the vocabulary, "
        "seeded by the previous token(s); after every other processor, greedy or sampled",
        browser=False, normalize=_watermark, to_generate=lambda v: v.to_config(), allowed=WATERMARK_ALLOWED,
    ),
)

# The samplers of other libraries that transformers lacks, as rows of the same table: our exact
# ports (decoding_lessons.llama_cpp). They are no DecodingConfig field and generate() never builds
# them; handed to generate() as ``logits_processor=[...]`` they run where generate() merges a
# custom processor: after its penalties and controls, before the sampling warpers (HF_ORDER places
# them there, in the table's order). ``llama_cpp`` is the position in llama.cpp's default chain
# (common/common.h: penalties 0, dry 1, top_n_sigma 2, top_k 3, typ_p 4, top_p 5, min_p 6, xtc 7,
# temperature 8; mirostat, 9 here, replaces the chain after temperature). A sampler with several
# settings is one row of kind "params": its value is a dict, the unset settings take llama.cpp's
# defaults (LLAMA_CPP_DEFAULTS), and each is checked against its own interval.
_SEED = Param("seed", "int", 0, 0, 2**32 - 1)  # llama.cpp's default, 0xFFFFFFFF, asks for a random seed


def _sampler_row(field, cls, params, llama_cpp, active, make, summary, *, context=(), browser=True, library="llama.cpp"):
    params = tuple(params)
    return Processor(
        field, cls, None, None, "params", -INF, INF, False, False, False, llama_cpp,
        lambda v: v is not None and active(dict(v)), lambda v, c: make(dict(v), c), summary,
        context=context, browser=browser, in_generation_config=False, normalize=_params_of(field, params),
        allowed=f"a dict of {', '.join(p.name for p in params)}", library=library, params=params,
    )


def _library_rows() -> tuple[Processor, ...]:
    from . import llama_cpp as L

    D = L.LLAMA_CPP_DEFAULTS
    return (
        _sampler_row(
            "penalties", L.LlamaCppPenaltiesLogitsProcessor,
            (Param("penalty_last_n", "int", D["penalty_last_n"], -1), Param("penalty_repeat", "float", D["penalty_repeat"], 0, INF, True),
             Param("penalty_freq", "float", D["penalty_freq"]), Param("penalty_present", "float", D["penalty_present"])),
            0,
            lambda d: d["penalty_last_n"] != 0 and not (d["penalty_repeat"] == 1 and d["penalty_freq"] == 0 and d["penalty_present"] == 0),
            lambda d, c: L.LlamaCppPenaltiesLogitsProcessor(d["penalty_last_n"], d["penalty_repeat"], d["penalty_freq"], d["penalty_present"]),
            "llama.cpp's penalties over the last penalty_last_n tokens (the prompt included; -1: the whole context): "
            "the repeat penalty divides a positive logit (multiplies a negative one), then count·freq + present is subtracted",
        ),
        _sampler_row(
            "dry", L.DRYLogitsProcessor,
            (Param("dry_multiplier", "float", D["dry_multiplier"], 0), Param("dry_base", "float", D["dry_base"], 0),
             Param("dry_allowed_length", "int", D["dry_allowed_length"], 0), Param("dry_penalty_last_n", "int", D["dry_penalty_last_n"], 0)),
            1,
            lambda d: d["dry_multiplier"] != 0 and d["dry_base"] >= 1 and d["dry_penalty_last_n"] != 0,
            lambda d, c: L.DRYLogitsProcessor(d["dry_multiplier"], d["dry_base"], d["dry_allowed_length"], d["dry_penalty_last_n"],
                                              tokenizer=c.tokenizer),
            "DRY: a token that would extend a repeat of length n >= dry_allowed_length loses "
            "dry_multiplier·dry_base^(n − dry_allowed_length); llama.cpp's sequence breakers (\\n : \" *) cut a repeat",
            context=("tokenizer",),  # the breakers are matched against the whole vocabulary's texts (the browser: dry_breaker_table)
        ),
        Processor(
            "top_n_sigma", TopNSigmaLogitsProcessor, 0.0, 0.0, "float", 0, INF, False, True, False, 2,
            lambda v: v is not None and v > 0, lambda v, c: TopNSigmaLogitsProcessor(v),
            "top-nσ: keep the logits within n standard deviations of the largest; the kept set does not change "
            "with temperature (llama.cpp: n <= 0 is off, its default is -1)",
            library="llama.cpp",
        ),
        _sampler_row(
            "xtc", L.XTCLogitsProcessor,
            (Param("xtc_probability", "float", D["xtc_probability"], 0, 1), Param("xtc_threshold", "float", D["xtc_threshold"], 0, 1), _SEED),
            7,
            lambda d: d["xtc_probability"] > 0 and d["xtc_threshold"] <= 0.5,
            lambda d, c: L.XTCLogitsProcessor(d["xtc_probability"], d["xtc_threshold"], c.min_tokens_to_keep, seed=L._seed_of(d["seed"])),
            "XTC: with probability xtc_probability (one uniform draw from llama.cpp's mt19937 seeded with seed), remove "
            "every token with p >= xtc_threshold but the least likely of them; xtc_threshold > 0.5 is off",
        ),
        _sampler_row(
            "temp_ext", L.TempExtLogitsProcessor,
            (Param("temp", "float", D["temp"], 0), Param("dynatemp_range", "float", D["dynatemp_range"], 0),
             Param("dynatemp_exponent", "float", D["dynatemp_exponent"], 0)),
            8,
            lambda d: not (d["temp"] == 1 and d["dynatemp_range"] <= 0),
            lambda d, c: L.TempExtLogitsProcessor(d["temp"], d["dynatemp_range"], d["dynatemp_exponent"]),
            "llama.cpp's temperature (temp, last in its chain); with dynatemp_range > 0 the temperature moves in "
            "[temp − range, temp + range] with the normalised entropy to the power dynatemp_exponent",
        ),
        _sampler_row(
            "mirostat", L.MirostatV2LogitsProcessor,
            (Param("mirostat", "int", D["mirostat"], 0, 2), Param("mirostat_tau", "float", D["mirostat_tau"], 0),
             Param("mirostat_eta", "float", D["mirostat_eta"], 0), _SEED),
            9,
            lambda d: d["mirostat"] != 0,
            lambda d, c: (L.MirostatLogitsProcessor(d["mirostat_tau"], d["mirostat_eta"], m=100, seed=L._seed_of(d["seed"]))
                          if d["mirostat"] == 1 else L.MirostatV2LogitsProcessor(d["mirostat_tau"], d["mirostat_eta"], seed=L._seed_of(d["seed"]))),
            "mirostat 1 or 2: keep the tokens whose surprise fits μ (2·mirostat_tau at the start), draw one, and move "
            "μ by mirostat_eta toward the target surprise; it leaves only the drawn token",
        ),
        _sampler_row(
            "openai_penalties", L.OpenAIPenaltiesLogitsProcessor,
            (Param("frequency_penalty", "float", 0.0, -2, 2), Param("presence_penalty", "float", 0.0, -2, 2)),
            None,
            lambda d: d["frequency_penalty"] != 0 or d["presence_penalty"] != 0,
            lambda d, c: L.OpenAIPenaltiesLogitsProcessor(d["frequency_penalty"], d["presence_penalty"], c.prompt_length),
            "the OpenAI API's (and vLLM's) penalties over the generated tokens only: count·frequency_penalty + "
            "presence_penalty (if seen) is subtracted from the logit",
            context=("prompt_length",), library="OpenAI API",
        ),
    )


LIBRARY_ROWS: tuple[Processor, ...] = _library_rows()

# The whole table: generate()'s rows, then the other libraries' samplers.
TABLE: tuple[Processor, ...] = ROWS + LIBRARY_ROWS
PROCESSORS: dict[str, Processor] = {row.field: row for row in TABLE}

# transformers' global defaults (GenerationConfig._get_default_generation_params); a test checks
# that they still agree with the installed transformers.
GENERATE_DEFAULTS: dict[str, Any] = {"do_sample": False, **{row.field: row.default for row in ROWS}}

# generate()'s whole order: every row of its own, as _get_logits_processor appends them.
GENERATE_ORDER: tuple[str, ...] = tuple(row.field for row in ROWS)
# The knobs: one number each, nothing else needed (generate()'s own).
KNOBS: tuple[Processor, ...] = tuple(row for row in ROWS if row.knob)
# The other libraries' knobs (top_n_sigma): values given to apply_in_order by keyword.
LIBRARY_KNOBS: tuple[Processor, ...] = tuple(row for row in LIBRARY_ROWS if row.knob)
# Every knob of the table, generate()'s and the other libraries': what sliders and the browser engine offer.
ALL_KNOBS: tuple[Processor, ...] = KNOBS + LIBRARY_KNOBS
PENALTY_ORDER: tuple[str, ...] = tuple(row.field for row in KNOBS if not row.sampling_only)
WARPER_ORDER: tuple[str, ...] = tuple(row.field for row in ROWS if row.sampling_only)
# What generate() appends after the sampling warpers, whether sampling or not (the watermark).
FINAL_ORDER: tuple[str, ...] = GENERATE_ORDER[GENERATE_ORDER.index(WARPER_ORDER[-1]) + 1:]
# The controls: token ids, a bias table, a function, or a number that needs the generation's context;
# all of them before the warpers.
CONTROL_ORDER: tuple[str, ...] = tuple(
    row.field for row in ROWS if not row.knob and not row.sampling_only and row.field not in FINAL_ORDER
)
# generate()'s order of the knobs: the penalties always, then (where generate() merges a custom
# logits_processor) the other libraries' samplers, then the sampling warpers (when do_sample=True).
HF_ORDER: tuple[str, ...] = PENALTY_ORDER + tuple(row.field for row in LIBRARY_ROWS) + WARPER_ORDER
# llama.cpp's default sampler chain over this table's knobs and samplers (penalties → DRY → top-nσ →
# top-k → typical → top-p → min-p → XTC → temperature → mirostat; transformers' repetition penalty and
# temperature in the places of llama.cpp's): the truncations see the untempered distribution, and
# temperature only reshapes what survived.
LLAMA_CPP_ORDER: tuple[str, ...] = tuple(
    row.field for row in sorted((r for r in KNOBS + LIBRARY_ROWS if r.llama_cpp is not None), key=lambda r: r.llama_cpp)
)
# The value that switches each knob off (the controls are off when unset, None).
OFF: dict[str, Any] = {row.field: row.off for row in ALL_KNOBS}


def table_json() -> str:
    """The table as JSON (field, class, kind, default, off, interval, sampling_only, orders, what a
    row needs to be built and whether a browser can run it), for the browser: the site build writes
    it to ``assets/processors.json``."""

    def number(x):
        return None if x is None else (("inf" if x > 0 else "-inf") if isinstance(x, float) and math.isinf(x) else x)

    rows = [
        {
            "field": r.field,
            "class": r.cls.__name__,
            "kind": r.kind,
            "default": number(r.default),
            "off": number(r.off),
            "interval": {"low": number(r.low), "high": number(r.high), "low_open": r.low_open, "high_open": r.high_open,
                         "text": r.interval},
            "sampling_only": r.sampling_only,
            "generate_order": GENERATE_ORDER.index(r.field) if r.field in GENERATE_ORDER else None,
            "hf_order": HF_ORDER.index(r.field) if r.field in HF_ORDER else None,
            "llama_cpp_order": LLAMA_CPP_ORDER.index(r.field) if r.field in LLAMA_CPP_ORDER else None,
            "needs": list(r.context) + (["eos_token_ids"] if r.field in _NEEDS_EOS else []),
            "browser": r.browser,
            "library": r.library,
            "summary": r.summary,
            "params": [
                {"name": q.name, "kind": q.kind, "default": number(q.default),
                 "interval": {"low": number(q.low), "high": number(q.high), "low_open": q.low_open, "high_open": q.high_open,
                              "text": q.interval}}
                for q in r.params
            ],
        }
        for r in TABLE
    ]
    return json.dumps(
        {"processors": rows, "generate_order": list(GENERATE_ORDER), "hf_order": list(HF_ORDER),
         "llama_cpp_order": list(LLAMA_CPP_ORDER)},
        indent=1,
    )


# The rows whose processor reads the model's EOS ids (always known from its generation_config).
_NEEDS_EOS = ("bad_words_ids", "min_new_tokens", "exponential_decay_length_penalty")
