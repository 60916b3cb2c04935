"""Strategies compared over many samples: quality (how likely the model finds the text) against
diversity (how different the samples are), the way a single seeded run cannot show.

* :func:`compare_strategies` — one ``generate()`` call per strategy: every prompt at once (left
  padded) and ``num_samples`` draws each (``num_return_sequences``), the model's raw logits kept.
* :func:`continuation_logprobs` — from such a call, each row's continuation and the log-probability
  of each of its tokens under the **untempered** model (``output_logits``: before any processor).
* :class:`StrategySamples` — one strategy's samples, their mean log-probability per token, and
  distinct-n over the samples of each prompt (:func:`~decoding_lessons.measures.distinct_ngrams`).
* :class:`StrategyComparison` — every strategy; :meth:`~StrategyComparison.summary` (medians and
  spreads) and :meth:`~StrategyComparison.markdown` (the table a lesson shows).

The figure is :func:`decoding_lessons.plotting.strategies.quality_diversity_chart`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from .checks import check_int
from .loading import as_language_model
from .measures import distinct_ngrams
from .scoring import DecodingConfig, check_config


def _eos_ids(model) -> list[int]:
    eos = model.generation_config.eos_token_id
    return [] if eos is None else ([int(eos)] if isinstance(eos, int) else [int(e) for e in eos])


def continuation_logprobs(logits: Sequence[torch.Tensor], sequences: torch.Tensor, prompt_length: int,
                          eos_token_ids: Sequence[int] = ()) -> list[tuple[tuple[int, ...], torch.Tensor]]:
    """Each row's continuation and the log-probability of each of its tokens under the raw logits.

    ``logits`` is ``generate(..., output_logits=True, return_dict_in_generate=True).logits``: one
    ``(rows, vocab)`` tensor per step, the model's output *before* any processor, so the
    log-probabilities are the untempered model's whatever the strategy sampled with. A row's
    continuation ends with its first end-of-sequence token (kept: the model chose to stop);
    ``generate()`` pads the rows that finished early, and those positions are left out.

    Args:
        logits: the per-step raw logits, ``len(logits)`` steps.
        sequences: ``(rows, prompt_length + steps)`` token ids, as ``generate()`` returns them.
        prompt_length: where the continuation starts (the padded prompt's length).
        eos_token_ids: the end-of-sequence ids.

    Returns:
        One ``(token ids, log-probabilities)`` pair per row.

    Examples:
        >>> logits = [torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 100.0]])]
        >>> rows = continuation_logprobs(logits, torch.tensor([[7, 1, 1]]), prompt_length=1, eos_token_ids=[1])
        >>> rows[0][0], [round(v, 3) for v in rows[0][1].tolist()]   # ends at the first EOS
        ((1,), [-0.693])
    """
    check_int("prompt_length", prompt_length, 0)
    steps = len(logits)
    if sequences.dim() != 2 or sequences.shape[1] != prompt_length + steps:
        raise ValueError(
            f"`sequences` has to be (rows, prompt_length + steps) = (rows, {prompt_length + steps}), "
            f"but is {tuple(sequences.shape)}"
        )
    eos = {int(e) for e in eos_token_ids}
    new = sequences[:, prompt_length:].cpu()
    per_step = [
        torch.log_softmax(step.float().cpu(), dim=-1).gather(-1, new[:, t : t + 1]).squeeze(-1) for t, step in enumerate(logits)
    ]
    table = torch.stack(per_step, dim=1) if per_step else torch.zeros((new.shape[0], 0))
    out = []
    for row in range(new.shape[0]):
        ids = new[row].tolist()
        end = next((t + 1 for t, token in enumerate(ids) if token in eos), len(ids))
        out.append((tuple(ids[:end]), table[row, :end].clone()))
    return out


@dataclass(frozen=True)
class StrategySamples:
    """One strategy's samples on every prompt.

    Attributes:
        name: the strategy's label.
        config: its decoding configuration.
        continuations: ``[prompt][sample]`` the generated token ids (up to and with the first EOS).
        token_logprobs: ``[prompt][sample]`` the log-probability of each generated token under the
            untempered model.
        steps: how many decoding steps ``generate()`` ran (one forward pass each, over every row).
        repeated: ``True`` when the strategy is deterministic (greedy): one text per prompt,
            repeated ``num_samples`` times, since every draw would give the same one.
    """

    name: str
    config: DecodingConfig
    continuations: tuple[tuple[tuple[int, ...], ...], ...]
    token_logprobs: tuple[tuple[torch.Tensor, ...], ...]
    steps: int
    repeated: bool = False

    @property
    def quality(self) -> list[float]:
        """The mean log-probability per token of every sample, prompt by prompt (prompts × samples values)."""
        return [float(lp.mean()) if lp.numel() else 0.0 for row in self.token_logprobs for lp in row]

    def distinct(self, n: int = 2) -> list[float]:
        """distinct-n over the samples of each prompt: one value per prompt."""
        check_int("n", n, 1)
        return [distinct_ngrams(row, n) for row in self.continuations]


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


@dataclass(frozen=True)
class StrategySummary:
    """One strategy's point on the quality/diversity chart and its spread.

    Attributes:
        name: the strategy's label.
        quality: the median over prompts × samples of the mean log-probability per token.
        quality_q1, quality_q3: its first and third quartiles (the interquartile range).
        diversity: the median over prompts of distinct-n over a prompt's samples.
        diversity_min, diversity_max: its smallest and largest value over the prompts.
    """

    name: str
    quality: float
    quality_q1: float
    quality_q3: float
    diversity: float
    diversity_min: float
    diversity_max: float


@dataclass(frozen=True)
class StrategyComparison:
    """Every strategy's samples on the same prompts (:func:`compare_strategies`).

    Attributes:
        prompts: the prompts.
        strategies: ``{label: StrategySamples}``, in the order given.
        num_samples: draws per prompt and strategy.
        max_new_tokens: the length limit.
        seed: the torch seed set before each strategy's call (the same for every strategy).
        n: the n of distinct-n.
    """

    prompts: tuple[str, ...]
    strategies: dict[str, StrategySamples]
    num_samples: int
    max_new_tokens: int
    seed: int
    n: int = 2
    _summary: dict = field(default_factory=dict, repr=False, compare=False)

    def summary(self) -> dict[str, StrategySummary]:
        """``{label: StrategySummary}``: each strategy's medians and spreads."""
        if not self._summary:
            for name, s in self.strategies.items():
                q1, q2, q3 = _quartiles(s.quality)
                d = s.distinct(self.n)
                self._summary[name] = StrategySummary(name, q2, q1, q3, statistics.median(d), min(d), max(d))
        return dict(self._summary)

    def markdown(self, lm, prompt: int = 0) -> str:
        """The comparison as a Markdown table: per strategy its configuration, the median log-probability
        per token (interquartile range), distinct-n (range over prompts) and, as an illustration, its
        first sample on prompt number ``prompt``."""
        from .lesson import markdown_table

        check_int("prompt", prompt, 0, len(self.prompts) - 1)
        lm = as_language_model(lm)
        rows = []
        for name, s in self.strategies.items():
            m = self.summary()[name]
            rows.append([
                f"**{name}**<br>`{s.config.describe()}`",
                f"{m.quality:.2f} ({m.quality_q1:.2f} to {m.quality_q3:.2f})",
                f"{m.diversity:.2f} ({m.diversity_min:.2f} to {m.diversity_max:.2f})",
                lm.text(s.continuations[prompt][0]),
            ])
        header = ["strategy", "log p per token: median (IQR)", f"distinct-{self.n}: median (range)",
                  f"first sample after “{self.prompts[prompt]}”"]
        return markdown_table(header, rows, align="lrrl")


def compare_strategies(lm, prompts: Sequence[str], strategies: Mapping[str, DecodingConfig], num_samples: int = 8,
                       max_new_tokens: int = 24, seed: int = 0, n: int = 2) -> StrategyComparison:
    """Run every strategy on every prompt ``num_samples`` times, in one ``generate()`` call per strategy.

    Each call takes all the prompts at once (left padded, with their attention mask) and
    ``num_return_sequences=num_samples``, after ``torch.manual_seed(seed)``; it keeps the raw
    logits (``output_logits``), from which :func:`continuation_logprobs` reads each token's
    log-probability under the untempered model. A deterministic strategy (``do_sample`` not set)
    runs once per prompt, and its text stands for all ``num_samples`` draws.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`.
        prompts: the prompts (non-empty strings).
        strategies: ``{label: DecodingConfig}``.
        num_samples: draws per prompt, >= 2 (distinct-n compares them).
        max_new_tokens: tokens per sample, >= 2.
        seed: the torch seed, the same before every strategy (so every strategy gets the same random numbers).
        n: the n of distinct-n, >= 1.

    Examples:
        >>> cmp = compare_strategies(lm, ["The sky is"], {"greedy": DecodingConfig(),
        ...     "T = 1": DecodingConfig(do_sample=True, top_k=0)}, num_samples=3, max_new_tokens=4)
        >>> s = cmp.summary()
        >>> s["greedy"].diversity < s["T = 1"].diversity, s["greedy"].quality >= s["T = 1"].quality_q1
        (True, True)
    """
    lm = as_language_model(lm)
    prompts = list(prompts) if isinstance(prompts, Sequence) and not isinstance(prompts, str) else []
    if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise ValueError(f"`prompts` has to be a non-empty list of non-empty strings, but is {prompts!r}")
    if not isinstance(strategies, Mapping) or not strategies:
        raise ValueError(f"`strategies` has to be a non-empty dict of label → DecodingConfig, but is {strategies!r}")
    for name, config in strategies.items():
        if not isinstance(config, DecodingConfig):
            raise ValueError(f"`strategies[{name!r}]` has to be a DecodingConfig, but is {config!r}")
        check_config(config)
    check_int("num_samples", num_samples, 2)
    check_int("max_new_tokens", max_new_tokens, 2)
    check_int("seed", seed, 0)
    check_int("n", n, 1)
    tok, model = lm.tokenizer, lm.model
    side = tok.padding_side
    tok.padding_side = "left"
    try:
        batch = tok(prompts, return_tensors="pt", padding=True).to(lm.device)
    finally:
        tok.padding_side = side
    for row, mask in enumerate(batch.attention_mask):
        lm.check_length(int(mask.sum()), max_new_tokens, what=f"prompts[{row}]")
    eos = _eos_ids(model)
    results = {}
    for name, config in strategies.items():
        sampled = bool(config.do_sample)
        kwargs = dict(
            attention_mask=batch.attention_mask, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id,
            return_dict_in_generate=True, output_logits=True, num_return_sequences=num_samples if sampled else 1,
        )
        kwargs.update(config.explicit())
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = model.generate(batch.input_ids, **kwargs)
        rows = continuation_logprobs(out.logits, out.sequences, batch.input_ids.shape[1], eos)
        per = num_samples if sampled else 1
        grouped = [rows[i * per : (i + 1) * per] for i in range(len(prompts))]
        if not sampled:
            grouped = [group * num_samples for group in grouped]
        results[name] = StrategySamples(
            name=name,
            config=config,
            continuations=tuple(tuple(ids for ids, _ in group) for group in grouped),
            token_logprobs=tuple(tuple(lp for _, lp in group) for group in grouped),
            steps=len(out.logits),
            repeated=not sampled,
        )
    return StrategyComparison(tuple(prompts), results, num_samples, max_new_tokens, seed, n)


__all__ = ["StrategyComparison", "StrategySamples", "StrategySummary", "compare_strategies", "continuation_logprobs"]
