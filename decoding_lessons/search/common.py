"""What the three searches share besides the decoder (:mod:`decoding_lessons.decoder`): the
penalty processors a search applies, and its own argument check."""

from __future__ import annotations

from ..processors import PROCESSORS
from ..scoring import DecodingConfig, logits_processors


def processors(decoder, no_repeat_ngram_size: int = 0, repetition_penalty: float = 1.0):
    """``generate()``'s processors for a search: repetition penalty, then n-gram blocking (no sampling
    warpers; a search is deterministic). Unset knobs follow the model's ``generation_config``."""
    config = DecodingConfig(do_sample=False, no_repeat_ngram_size=no_repeat_ngram_size, repetition_penalty=repetition_penalty)
    return logits_processors(config, getattr(decoder, "generation_config", None))


def check_penalties(no_repeat_ngram_size, repetition_penalty) -> None:
    """A search's two penalties, refused by name outside their ranges (the processor table's own
    intervals: ``>= 0`` and ``(0, inf)``); ``None`` is not "off" here, the searches take numbers."""
    PROCESSORS["no_repeat_ngram_size"].check(no_repeat_ngram_size)
    if repetition_penalty is None:
        raise ValueError("`repetition_penalty` has to be a float in the (0, inf) interval, but is None")
    PROCESSORS["repetition_penalty"].check(repetition_penalty)


def check_early_stopping(value) -> None:
    if value not in (True, False, "never") or (not isinstance(value, bool) and value != "never"):
        raise ValueError(f'`early_stopping` has to be True, False or "never", but is {value!r}')
