"""The decode loop's one step: a model that can be stepped row by row, with its KV cache.

``generate_with_trace`` and the three searches never call ``generate()``. They drive the model
themselves, one forward pass per step for all their rows at once, through a small *decoder*
interface:

* ``start(input_ids)`` — the prefill: one forward pass over the prompt rows ``(rows, length)``;
* ``advance(rows, tokens)`` — one step: row ``i`` of the new batch continues old row ``rows[i]``
  (its KV cache is copied there, so beams can be reordered, duplicated or dropped) with the new
  token ``tokens[i]``.

Both return a :class:`DecoderOutput`: the float32 next-token logits of every row and, when asked
for, the last layer's hidden states (contrastive search needs them). :class:`ModelDecoder` does this
for a transformers causal LM with its ``DynamicCache``, calling the model exactly as ``generate()``
does, and reads the EOS and pad ids as ``generate()`` does; :func:`prompt_ids` turns a prompt into
ids once for everyone. :class:`decoding_lessons.search.toy.BigramModel` speaks the same interface
for a hand-built table, so that tests and worked examples can be followed with pencil and paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .loading import check_context, context_length


@dataclass
class DecoderOutput:
    """One forward pass: ``logits`` ``(rows, vocab)`` in float32, and ``hidden`` ``(rows, length, width)``
    (the last layer's hidden states of the tokens fed in this pass) when the decoder was asked for them;
    ``layers``: every layer's hidden states (the model's ``hidden_states`` tuple: the embeddings, then
    each decoder layer's output, the last one after the final norm) when asked for ``"all"`` (DoLa)."""

    logits: torch.Tensor
    hidden: torch.Tensor | None = None
    layers: tuple | None = None


class ModelDecoder:
    """Steps a transformers causal LM with its KV cache, the way ``generate()`` does.

    Every call is one forward pass over all rows; :attr:`forward_passes` counts them, so a result can
    report "one pass per step, all beams together". The arguments match ``generate()``'s own calls
    (``attention_mask`` of ones, ``logits_to_keep=1``, the cache passed as ``cache``), so the logits
    are bit-identical to the ones ``generate()`` sees.

    Args:
        model: a transformers causal LM.
        tokenizer: to encode a text prompt and decode the output (optional).
        hidden_states: also return the last layer's hidden states (``True``: contrastive search), or
            every layer's (``"all"``: DoLa).
    """

    def __init__(self, model, tokenizer=None, hidden_states: bool = False):
        self.model = model
        self.tokenizer = tokenizer
        self.hidden_states = hidden_states
        self.forward_passes = 0
        self.generation_config = model.generation_config
        eos = self.generation_config.eos_token_id
        self.eos_token_ids: list[int] = [] if eos is None else ([int(eos)] if isinstance(eos, int) else [int(e) for e in eos])
        pad = self.generation_config.pad_token_id
        if pad is None and self.eos_token_ids:  # as generate() does ("Setting pad_token_id to eos_token_id")
            pad = self.eos_token_ids[0]
        self.pad_token_id: int | None = None if pad is None else int(pad)
        self.device = next(model.parameters()).device
        self._cache = None
        self._length = 0
        self._rows = 0

    def _forward(self, input_ids: torch.Tensor) -> DecoderOutput:
        self.forward_passes += 1
        mask = torch.ones((input_ids.shape[0], self._length), dtype=torch.long, device=self.device)
        extra = {"output_hidden_states": True} if self.hidden_states else {}
        out = self.model(
            input_ids=input_ids, attention_mask=mask, cache=self._cache, use_cache=True, logits_to_keep=1, return_dict=True, **extra
        )
        self._cache = out.cache
        logits = out.logits[:, -1, :].to(copy=True, dtype=torch.float32)
        hidden = out.hidden_states[-1] if self.hidden_states else None
        layers = tuple(out.hidden_states) if self.hidden_states == "all" else None
        return DecoderOutput(logits=logits, hidden=hidden, layers=layers)

    @torch.inference_mode()
    def start(self, input_ids: torch.Tensor) -> DecoderOutput:
        """Prefill: ``input_ids`` ``(rows, length)``, a fresh cache."""
        self._cache = None
        self._length = input_ids.shape[1]
        self._rows = input_ids.shape[0]
        return self._forward(input_ids.to(self.device))

    @torch.inference_mode()
    def advance(self, rows: torch.Tensor, tokens: torch.Tensor) -> DecoderOutput:
        """One step: new row ``i`` continues old row ``rows[i]`` with ``tokens[i]``."""
        rows = torch.as_tensor(rows, dtype=torch.long)
        if not (rows.numel() == self._rows and torch.equal(rows.cpu(), torch.arange(self._rows))):  # the same rows: no copy
            self._cache.reorder_cache(rows.to(self.device))  # index_select on every layer's keys and values
        self._rows = rows.numel()
        self._length += 1
        return self._forward(tokens.to(self.device).reshape(-1, 1))

    def decode(self, ids) -> str:
        if self.tokenizer is None:
            return " ".join(str(int(i)) for i in ids)
        from .tokens import decode_visible

        return decode_visible(self.tokenizer, [int(i) for i in ids])


def as_decoder(lm, hidden_states: bool = False):
    """A decoder for ``lm``: a :class:`~decoding_lessons.LanguageModel`, a transformers model, or
    anything that already has ``start`` and ``advance`` (such as the toy :class:`BigramModel`)."""
    if hasattr(lm, "start") and hasattr(lm, "advance"):
        lm.forward_passes = 0
        return lm
    if hasattr(lm, "model") and hasattr(lm, "tokenizer"):  # a LanguageModel
        return ModelDecoder(lm.model, lm.tokenizer, hidden_states=hidden_states)
    if not isinstance(lm, torch.nn.Module) or not hasattr(lm, "generation_config"):
        raise TypeError(
            "expected a decoding_lessons.LanguageModel, a transformers causal LM or a decoder with "
            f"start() and advance(), but got {type(lm).__name__}"
        )
    return ModelDecoder(lm, None, hidden_states=hidden_states)


def prompt_ids(decoder, prompt, max_new_tokens: int = 0) -> torch.Tensor:
    """The prompt as a ``(1, length)`` tensor of token ids: encoded when it is a string. A prompt
    that, with ``max_new_tokens`` more, does not fit the model's context is refused."""
    if isinstance(prompt, str):
        tokenizer = getattr(decoder, "tokenizer", None)
        if tokenizer is None:
            raise ValueError("`prompt` has to be token ids for a model without a tokenizer, but is a string")
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        if ids.shape[1] == 0:
            raise ValueError("`prompt` must encode to at least one token, but it is empty")
    else:
        ids = torch.as_tensor(prompt, dtype=torch.long).reshape(1, -1)
    if ids.shape[1] == 0:
        raise ValueError("`prompt` must hold at least one token, but it is empty")
    model = getattr(decoder, "model", None)
    if model is not None:
        check_context(ids.shape[1], max_new_tokens, context_length(model, getattr(decoder, "tokenizer", None)))
    return ids.to(getattr(decoder, "device", "cpu"))


__all__ = ["DecoderOutput", "ModelDecoder", "as_decoder", "prompt_ids"]
