"""The oracle: transformers' own ``generate()``, called the one way every comparison calls it.

The lessons' hidden checks, the tests and the benchmark compare what ``decoding_lessons`` computes
(captured scores, ``generate_with_trace``, the searches) with ``generate()`` itself. They all call it
through :func:`reference_generate`, so each comparison passes the same arguments: an attention mask
of ones, the tokenizer's pad id, the configuration's explicit fields and nothing else, and the
global torch generator seeded right before the call when a seed is given (as
``generate_with_trace(seed=...)`` seeds it).

Examples:
    >>> out = reference_generate(lm, "2 + 2 = ", max_new_tokens=4)
    >>> out.shape[0], out.shape[1] > 4
    (1, True)
"""

from __future__ import annotations

import torch

from .loading import as_language_model
from .scoring import DecodingConfig, check_config


def reference_generate(
    lm,
    prompt,
    config: DecodingConfig | None = None,
    *,
    max_new_tokens: int,
    seed: int | None = None,
    scores: bool = False,
    logits: bool = False,
    **generate_kwargs,
):
    """``lm.model.generate()`` on ``prompt`` with ``config``'s explicit fields.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`, or a transformers causal LM without a
            tokenizer (then ``prompt`` is ids, and the pad id is its ``generation_config``'s unless
            ``pad_token_id=`` is given).
        prompt: text, or token ids (a list, a 1-D or ``(1, length)`` tensor).
        config: the decoding configuration; ``None`` is ``generate()``'s defaults (greedy, or the
            model's ``generation_config``).
        max_new_tokens: passed on.
        seed: ``torch.manual_seed(seed)`` right before the call (sampling draws from the global
            generator).
        scores: return the per-step ``scores`` too (then the result is transformers'
            ``GenerateOutput``, with ``return_dict_in_generate=True``).
        logits: return the per-step ``logits`` too (likewise).
        **generate_kwargs: anything else ``generate()`` takes (``num_beams=4``, ...).

    Returns:
        The generated ids, ``(rows, prompt + new)``, as ``generate()`` returns them; or its
        ``GenerateOutput`` when ``scores`` or ``logits`` is asked for.
    """
    if config is not None:
        check_config(config)
    if isinstance(lm, torch.nn.Module) and not isinstance(prompt, str):  # a bare model (no tokenizer): ids only
        model, pad = lm, lm.generation_config.pad_token_id
    else:
        lm = as_language_model(lm)
        model, pad = lm.model, lm.tokenizer.pad_token_id
    if isinstance(prompt, str):
        ids = lm.encode(prompt)
    else:
        ids = torch.as_tensor(prompt, dtype=torch.long).reshape(1, -1).to(next(model.parameters()).device)
    kwargs = dict(attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, pad_token_id=pad)
    if scores or logits:
        kwargs.update(return_dict_in_generate=True, output_scores=scores, output_logits=logits)
    kwargs.update(config.explicit() if config is not None else {})
    kwargs.update(generate_kwargs)
    if seed is not None:
        torch.manual_seed(seed)
    return model.generate(ids, **kwargs)


__all__ = ["reference_generate"]
