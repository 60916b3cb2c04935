"""Logit capture: one forward pass per distinct context, then any number of decoding configurations.

Examples:
    >>> cap = LogitCapture(lm)                               # lm = load_model()
    >>> step = cap("The sky is")                             # one forward pass
    >>> scores = step.scores(DecodingConfig(do_sample=True, top_p=0.9))   # no further pass
    >>> cap.forward_passes
    1

The raw logits are what ``generate(output_logits=True)`` reports; :meth:`NextToken.scores` is what
``generate(output_scores=True)`` reports for the same settings, because the processors are
transformers' own, in ``generate()``'s order (see :mod:`decoding_lessons.scoring`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .loading import LanguageModel, as_language_model
from .scoring import DecodingConfig, apply_processors, entropy, probabilities


def adds_bos(tokenizer) -> bool:
    """Whether ``tokenizer(text)`` puts its beginning-of-sequence token in front of the text."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False
    cached = getattr(tokenizer, "_dl_adds_bos", None)
    if cached is None:
        cached = tokenizer("a").input_ids[:1] == [bos]
        try:
            tokenizer._dl_adds_bos = cached
        except AttributeError:
            pass
    return cached


@dataclass
class NextToken:
    """The next-token distribution after one context.

    Attributes:
        input_ids: the context, ``(1, length)``, on the CPU.
        logits: raw full-vocabulary logits, ``(vocab,)``, float32 on the CPU.
        lm: the model (for its tokenizer and ``generation_config``).
    """

    input_ids: torch.Tensor
    logits: torch.Tensor
    lm: LanguageModel = field(repr=False)

    @property
    def text(self) -> str:
        """The context as text. A beginning-of-sequence token that the tokenizer puts in front by
        itself (Gemma's ``<bos>``, Llama's ``<s>``) is left out: it is not part of what was written."""
        ids = self.input_ids[0].tolist()
        if ids and adds_bos(self.lm.tokenizer) and ids[0] == self.lm.tokenizer.bos_token_id:
            ids = ids[1:]
        return self.lm.tokenizer.decode(ids)

    def scores(
        self, config: DecodingConfig | None = None, *, prompt_length: int | None = None, max_new_tokens: int | None = None
    ) -> torch.Tensor:
        """The scores ``generate()`` would sample from (or take the argmax of) under ``config``.

        The controls that count tokens need to know where this step stands in a generation:
        ``prompt_length`` (the context's first tokens that were the prompt; default: all of it, so
        this step makes the first new token) and ``max_new_tokens`` (for ``forced_eos_token_id``).
        With a watermark the processors run on the model's device (its green list is drawn with a
        generator there, as ``generate()`` draws it); the scores come back on the CPU.

        Examples:
            >>> step = cap("The sky is")
            >>> eos = lm.model.generation_config.eos_token_id
            >>> bool(step.scores(DecodingConfig(min_new_tokens=2))[eos].isneginf())   # the EOS ban
            True
        """
        return apply_processors(
            self.logits, self.input_ids, config, self.lm.model.generation_config,
            prompt_length=prompt_length, max_new_tokens=max_new_tokens,
            device=self.lm.device if getattr(config, "watermarking_config", None) is not None else None,
        )

    def probs(self, config: DecodingConfig | None = None, **position) -> torch.Tensor:
        """softmax(scores): the distribution the next token is drawn from (``position``: as for
        :meth:`scores`)."""
        return probabilities(self.scores(config, **position))

    def kept(self, config: DecodingConfig | None = None) -> int:
        """How many tokens ``config`` leaves to draw from: those with a finite score."""
        return int(torch.isfinite(self.scores(config)).sum())

    def entropy(self, config: DecodingConfig | None = None) -> float:
        """Entropy (nats) of :meth:`probs`."""
        return float(entropy(self.scores(config)))

    def top(self, k: int = 10, config: DecodingConfig | None = None) -> list[tuple[int, float, float]]:
        """The ``k`` highest-logit tokens as ``(token_id, logit, probability under config)``."""
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"`k` has to be an integer >= 1, but is {k!r}")
        k = min(k, self.logits.shape[-1])
        p = self.probs(config)
        values, idx = self.logits.topk(k)
        return [(int(i), float(v), float(p[i])) for v, i in zip(values, idx)]


    def table(self, k: int = 10, config: DecodingConfig | None = None) -> list[dict]:
        """The ``k`` highest-logit tokens as rows for ``pandas.DataFrame``: rank, token id, the
        token's text (as the tokenizer decodes it), its readable label, logit, score under
        ``config`` and probability under ``config`` (``0`` for a filtered token).

        Examples:
            >>> import pandas as pd
            >>> frame = pd.DataFrame(step.table(5, DecodingConfig(do_sample=True, top_k=3)))
            >>> list(frame.columns)
            ['rank', 'token_id', 'text', 'label', 'logit', 'score', 'probability']
            >>> int((frame.probability > 0).sum())                # top_k=3: two of the five are cut
            3
        """
        from .tokens import token_label

        scores = self.scores(config)
        probs = probabilities(scores)
        return [
            {
                "rank": rank,
                "token_id": token_id,
                "text": self.lm.tokenizer.decode([token_id]),
                "label": token_label(self.lm.tokenizer, token_id).display,
                "logit": logit,
                "score": float(scores[token_id]),
                "probability": float(probs[token_id]),
            }
            for rank, (token_id, logit, _) in enumerate(self.top(k), start=1)
        ]


class LogitCapture:
    """Runs the model once per distinct context and remembers the next-token logits.

    ``forward_passes`` counts the model calls, so tests and the benchmark can check that charts,
    sliders and comparisons reuse captured logits instead of re-running the model.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel` (from ``load_model()``), or a transformers
            causal LM that you loaded yourself...
        tokenizer: ...with its tokenizer: ``LogitCapture(model, tokenizer)``.

    Raises:
        TypeError: ``lm`` is neither, or a model came without its tokenizer.
        ValueError: a context longer than the model's :attr:`~decoding_lessons.LanguageModel.context_length`.
    """

    def __init__(self, lm: LanguageModel, tokenizer=None):
        self.lm = as_language_model(lm, tokenizer)
        self.forward_passes = 0
        self._cache: dict[tuple[int, ...], NextToken] = {}

    @property
    def distinct_contexts(self) -> int:
        return len(self._cache)

    def __call__(self, context: str | torch.Tensor | list[int]) -> NextToken:
        """The next-token distribution after ``context`` (a prompt string or token ids)."""
        if isinstance(context, str):
            ids = self.lm.encode(context).cpu()
        else:
            ids = torch.as_tensor(context, dtype=torch.long).reshape(1, -1).cpu()
            if ids.shape[1] == 0:
                raise ValueError("`context` must hold at least one token, but it is empty")
            self.lm.check_length(ids.shape[1], what="context")
        key = tuple(ids[0].tolist())
        if key not in self._cache:
            self._cache[key] = NextToken(input_ids=ids, logits=self._forward(ids), lm=self.lm)
        return self._cache[key]

    @torch.inference_mode()
    def _forward(self, ids: torch.Tensor) -> torch.Tensor:
        self.forward_passes += 1
        device = self.lm.device
        out = self.lm.model(
            input_ids=ids.to(device), attention_mask=torch.ones_like(ids, device=device), logits_to_keep=1
        )
        # as generate(): only the last position through the LM head (bit-identical logits), cast to float32
        return out.logits[0, -1, :].to(dtype=torch.float32).cpu()
