"""What the three searches share besides the decoder (:mod:`decoding_lessons.decoder`): the
penalty processors a search applies, and its own argument check."""

from __future__ import annotations

from ..scoring import DecodingConfig, logits_processors


def processors(decoder, no_repeat_ngram_size: int = 0, repetition_penalty: float = 1.0):
    """``generate()``'s processors for a search: repetition penalty, then n-gram blocking (no sampling
    warpers; a search is deterministic). Unset knobs follow the model's ``generation_config``."""
    config = DecodingConfig(do_sample=False, no_repeat_ngram_size=no_repeat_ngram_size, repetition_penalty=repetition_penalty)
    return logits_processors(config, getattr(decoder, "generation_config", None))


def check_early_stopping(value) -> None:
    if value not in (True, False, "never") or (not isinstance(value, bool) and value != "never"):
        raise ValueError(f'`early_stopping` has to be True, False or "never", but is {value!r}')
