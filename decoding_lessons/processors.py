"""The processor table: one row per logits processor, and every fact about it in that row.

A row says which :class:`~decoding_lessons.DecodingConfig` field switches the processor on, which
transformers class implements it, transformers' default for the field, the value that switches it
off, the interval a value must lie in (and how an error states it), whether ``generate()`` runs it
only when sampling, and its place in ``generate()``'s order and in llama.cpp's default chain.

Everything else derives from this table: the configuration's validation, ``generate()``'s defaults
(:data:`GENERATE_DEFAULTS`), the processors built for a configuration, the orders (:data:`HF_ORDER`,
:data:`LLAMA_CPP_ORDER`), the "off" values the lessons' rule helpers use, and the JSON the site
build writes for the browser (:func:`table_json`). Adding a processor is adding a row (and, for a
lesson, its rule).

``generate()``'s order (``GenerationMixin._get_logits_processor`` in transformers 5) is the order of
the rows: the penalties always, then, only when ``do_sample=True``, temperature → top-H → top-k →
top-p → min-p → typical → ε → η.

Examples:
    >>> PROCESSORS["min_p"].interval
    '[0, 1]'
    >>> [row.field for row in ROWS if row.sampling_only][:3]
    ['temperature', 'top_h', 'top_k']
    >>> PROCESSORS["top_k"].is_off(0), PROCESSORS["top_k"].is_off(50)
    (True, False)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from transformers import (
    EpsilonLogitsWarper,
    EtaLogitsWarper,
    MinPLogitsWarper,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopHLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from .checks import check_float, check_int, interval_text


@dataclass(frozen=True)
class Processor:
    """One logits processor, as ``generate()`` builds it from one ``DecodingConfig`` field.

    Attributes:
        field: the ``DecodingConfig`` / ``generate()`` argument.
        cls: the transformers class.
        default: transformers' global default for the field (``GenerationConfig``).
        off: the value that switches the processor off (``None``: unset).
        kind: ``"float"`` or ``"int"``.
        low, high: the allowed interval's ends (``high`` may be ``inf``); for an int, ``low`` only.
        low_open, high_open: whether the ends are excluded.
        sampling_only: ``generate()`` adds it only when ``do_sample=True`` (the warpers).
        llama_cpp: position in llama.cpp's default chain, ``None`` if it has no counterpart there.
        active: ``active(value)``: whether ``generate()`` adds the processor for this value.
        make: ``make(value, min_tokens_to_keep)``: the processor, built as ``generate()`` builds it.
        summary: one line for docs and the browser.
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
    make: Callable[[Any, int], Any]
    summary: str

    @property
    def interval(self) -> str:
        """The allowed values as an error states them: ``[0, 1]``, ``(0, inf)``, ``>= 0``."""
        if self.kind == "int":
            return f">= {self.low:g}"
        return interval_text(self.low, self.high, self.low_open, self.high_open)

    def is_off(self, value) -> bool:
        """Whether ``value`` (already resolved) leaves the processor out of ``generate()``'s list."""
        return not self.active(value)

    def check(self, value) -> None:
        """Refuse a value outside the interval, naming the field, the interval and the value."""
        if self.kind == "int":
            check_int(self.field, value, int(self.low))
            return
        if self.field == "temperature" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
            raise ValueError(
                "`temperature` has to be a float in the (0, inf) interval, but is 0: "
                "T = 0 would divide by zero; for greedy decoding use do_sample=False"
            )
        check_float(self.field, value, self.low, self.high, self.low_open, self.high_open)

    def build(self, value, min_tokens_to_keep: int = 1):
        """The processor for ``value``, or ``None`` when ``value`` switches it off."""
        return self.make(value, min_tokens_to_keep) if self.active(value) else None


INF = math.inf

ROWS: tuple[Processor, ...] = (
    Processor(
        "repetition_penalty", RepetitionPenaltyLogitsProcessor, 1.0, 1.0, "float", 0, INF, True, True, False, 0,
        lambda v: v != 1.0, lambda v, keep: RepetitionPenaltyLogitsProcessor(v),
        "CTRL's penalty on every token already in the context: logit / p if positive, logit * p if negative",
    ),
    Processor(
        "no_repeat_ngram_size", NoRepeatNGramLogitsProcessor, 0, 0, "int", 0, INF, False, False, False, None,
        lambda v: v > 0, lambda v, keep: NoRepeatNGramLogitsProcessor(v),
        "forbid every token that would make an n-gram of this size occur twice",
    ),
    Processor(
        "temperature", TemperatureLogitsWarper, 1.0, 1.0, "float", 0, INF, True, True, True, 5,
        lambda v: v != 1.0, lambda v, keep: TemperatureLogitsWarper(v),
        "divide the logits by T",
    ),
    Processor(
        "top_h", TopHLogitsWarper, None, None, "float", 0, 1, True, False, True, None,
        lambda v: v is not None, lambda v, keep: TopHLogitsWarper(top_h=v),
        "Top-H: an entropy-bounded nucleus over the 100 most likely tokens",
    ),
    Processor(
        "top_k", TopKLogitsWarper, 50, 0, "int", 0, INF, False, False, True, 1,
        lambda v: v != 0, lambda v, keep: TopKLogitsWarper(top_k=v, min_tokens_to_keep=keep),
        "keep the k highest scores (and every token tied with the k-th)",
    ),
    Processor(
        "top_p", TopPLogitsWarper, 1.0, 1.0, "float", 0, 1, False, False, True, 3,
        lambda v: v < 1.0, lambda v, keep: TopPLogitsWarper(top_p=v, min_tokens_to_keep=keep),
        "nucleus: the smallest set of most likely tokens whose probability reaches p",
    ),
    Processor(
        "min_p", MinPLogitsWarper, None, None, "float", 0, 1, False, False, True, 4,
        lambda v: v is not None, lambda v, keep: MinPLogitsWarper(min_p=v, min_tokens_to_keep=keep),
        "keep tokens with p >= min_p * p_max",
    ),
    Processor(
        "typical_p", TypicalLogitsWarper, 1.0, 1.0, "float", 0, 1, True, False, True, 2,
        lambda v: v < 1.0, lambda v, keep: TypicalLogitsWarper(mass=v, min_tokens_to_keep=keep),
        "locally typical: the tokens whose surprisal is closest to the entropy, up to mass p",
    ),
    Processor(
        "epsilon_cutoff", EpsilonLogitsWarper, 0.0, 0.0, "float", 0, 1, False, True, True, None,
        lambda v: 0.0 < v < 1.0, lambda v, keep: EpsilonLogitsWarper(epsilon=v, min_tokens_to_keep=keep),
        "ε-sampling: keep p > ε",
    ),
    Processor(
        "eta_cutoff", EtaLogitsWarper, 0.0, 0.0, "float", 0, 1, False, True, True, None,
        lambda v: 0.0 < v < 1.0, lambda v, keep: EtaLogitsWarper(epsilon=v, min_tokens_to_keep=keep),
        "η-sampling: keep p > min(η, sqrt(η)·exp(-H))",
    ),
)

PROCESSORS: dict[str, Processor] = {row.field: row for row in ROWS}

# transformers' global defaults (GenerationConfig._get_default_generation_params); a test checks
# that they still agree with the installed transformers.
GENERATE_DEFAULTS: dict[str, Any] = {"do_sample": False, **{row.field: row.default for row in ROWS}}

PENALTY_ORDER: tuple[str, ...] = tuple(row.field for row in ROWS if not row.sampling_only)
WARPER_ORDER: tuple[str, ...] = tuple(row.field for row in ROWS if row.sampling_only)
# generate()'s order: the penalties always, then the sampling warpers (when do_sample=True).
HF_ORDER: tuple[str, ...] = PENALTY_ORDER + WARPER_ORDER
# llama.cpp's default sampler chain, restricted to the processors transformers has (penalties →
# top-k → typical → top-p → min-p → temperature): the truncations see the untempered distribution,
# and temperature only reshapes what survived.
LLAMA_CPP_ORDER: tuple[str, ...] = tuple(
    row.field for row in sorted((r for r in ROWS if r.llama_cpp is not None), key=lambda r: r.llama_cpp)
)
# The value that switches each field off.
OFF: dict[str, Any] = {row.field: row.off for row in ROWS}


def table_json() -> str:
    """The table as JSON (field, class, default, off, interval, sampling_only, orders), for the
    browser: the site build writes it to ``assets/processors.json``."""

    def number(x):
        return None if x is None else ("inf" if isinstance(x, float) and math.isinf(x) else x)

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
            "hf_order": HF_ORDER.index(r.field),
            "llama_cpp_order": LLAMA_CPP_ORDER.index(r.field) if r.field in LLAMA_CPP_ORDER else None,
            "summary": r.summary,
        }
        for r in ROWS
    ]
    return json.dumps({"processors": rows, "hf_order": list(HF_ORDER), "llama_cpp_order": list(LLAMA_CPP_ORDER)}, indent=1)
