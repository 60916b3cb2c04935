"""Sampling: draws from one distribution, whole generations step by step, and processor orders.

Three questions a lesson asks once it has a distribution, each with a function and its figure:

* **"Is the sampler really drawing from softmax(scores)?"** :func:`draw` draws ``n`` tokens with a
  seeded generator and reports the total-variation distance to the theory, with a bound that says
  how small it must be for that ``n``; :func:`histogram_chart` shows both.
* **"What does a strategy do over a whole generation?"** :func:`generate_with_trace` is
  ``generate()``'s sampling loop written out (KV cache, transformers' processors, argmax or
  ``torch.multinomial``), token for token the same as ``generate()``, recording the entropy and the
  size of the kept set at every step; :func:`trace_chart` draws them.
* **"Does the order of the processors matter?"** :func:`apply_in_order` applies the same
  processors in another order (llama.cpp puts temperature *last*, ``generate()`` puts it first);
  :func:`order_chart` compares the results.

Examples:
    >>> result = draw(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0), n=10_000)   # doctest: +SKIP
    >>> result.tv_distance < result.tv_bound                                                 # doctest: +SKIP
    True
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Sequence

import plotly.graph_objects as go
import torch

from .capture import NextToken
from .loading import LanguageModel, as_language_model
from .processors import HF_ORDER, LLAMA_CPP_ORDER, PENALTY_ORDER, WARPER_ORDER
from .strategies import DecodingConfig, build_processor, entropy, logits_processors, probabilities
from .tokens import decode_visible, escape, hover_text, html_label
from .plotting.theme import COLORS, QUALITATIVE, style

# --------------------------------------------------------------------------------------------------
# Draws from one distribution
# --------------------------------------------------------------------------------------------------

TV_DELTA = 1e-3  # the failure probability of :func:`tv_bound`


def _check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` has to be an integer >= 1, but is {value!r}")


def tv_bound(probs: torch.Tensor, n: int, delta: float = TV_DELTA) -> float:
    """A bound ``b`` such that the total-variation distance between the empirical distribution
    of ``n`` i.i.d. draws from ``probs`` and ``probs`` itself is at most ``b`` with probability at
    least ``1 - delta``.

    Two steps:

    1. **Expectation.** TV = ½ Σᵢ |p̂ᵢ − pᵢ| where ``n·p̂ᵢ ~ Binomial(n, pᵢ)``. For each token,
       ``E|p̂ᵢ − pᵢ| ≤ sqrt(pᵢ(1 − pᵢ)/n)`` (Jensen: the mean absolute deviation is at most the
       standard deviation) and ``E|p̂ᵢ − pᵢ| ≤ 2pᵢ`` (the positive and negative parts have equal
       mean, and the negative part is at most ``pᵢ``). So
       ``E[TV] ≤ ½ Σᵢ min(sqrt(pᵢ(1 − pᵢ)/n), 2pᵢ)``. The ``2pᵢ`` term matters: a vocabulary has
       tens of thousands of tokens with tiny probabilities, and ``Σ sqrt(pᵢ/n)`` alone over them
       would make the bound useless.
    2. **Concentration.** Changing one of the ``n`` draws moves TV by at most ``1/n``, so by
       McDiarmid's inequality ``P(TV ≥ E[TV] + t) ≤ exp(−2nt²)``; with ``t = sqrt(ln(1/δ)/(2n))``
       that probability is at most δ.

    The bound shrinks like ``1/sqrt(n)``: for a peaked distribution and ``n = 20,000`` it is a few
    hundredths; for a flat one over thousands of tokens it stays larger (there are more
    probabilities to estimate).

    Args:
        probs: a probability vector (sums to 1).
        n: number of draws, >= 1.
        delta: failure probability in (0, 1); default 1e-3.

    Examples:
        >>> round(tv_bound(torch.tensor([0.5, 0.5]), 10_000), 4)
        0.0236
    """
    _check_positive_int("n", n)
    if not isinstance(delta, float) or not 0.0 < delta < 1.0:
        raise ValueError(f"`delta` has to be a float in the (0, 1) interval, but is {delta!r}")
    p = probs.double()
    expected = 0.5 * float(torch.minimum(torch.sqrt(p * (1 - p) / n), 2 * p).sum())
    return expected + math.sqrt(math.log(1 / delta) / (2 * n))


@dataclass
class SampleResult:
    """``n`` tokens drawn from one distribution.

    Attributes:
        counts: how often each token was drawn, a full-vocabulary ``LongTensor`` summing to ``n``.
        n: number of draws.
        probs: the distribution drawn from, ``softmax(scores)``.
        config: the decoding configuration that gave the scores.
        seed: the generator's seed.
        tv_distance: total variation between the empirical frequencies ``counts / n`` and
            ``probs``: ½ Σ |counts/n − probs|, in [0, 1].
        tv_bound: :func:`tv_bound` for ``probs`` and ``n``: TV exceeds it with probability at most
            :data:`TV_DELTA`.
    """

    counts: torch.Tensor
    n: int
    probs: torch.Tensor
    config: DecodingConfig
    seed: int
    tv_distance: float
    tv_bound: float

    @property
    def frequencies(self) -> torch.Tensor:
        """Empirical frequencies ``counts / n``."""
        return self.counts.double() / self.n


def draw(step: NextToken, config: DecodingConfig | None, n: int, seed: int = 0) -> SampleResult:
    """Draw ``n`` i.i.d. next tokens from ``softmax(step.scores(config))``.

    This is what ``generate()`` does once per step, done ``n`` times from the same step: a check
    that the sampler draws from the distribution the charts show, and a way to see how many draws
    it takes for frequencies to look like probabilities. The draws use their own
    ``torch.Generator`` seeded with ``seed``, so the result is reproducible and the global RNG is
    left alone. No forward pass.

    Args:
        step: a captured next-token distribution.
        config: the decoding configuration (use ``do_sample=True``; with greedy settings the
            distribution is ``softmax(logits)``, which is not what greedy decoding picks from).
        n: number of draws, >= 1 (typical 1,000–100,000).
        seed: the generator's seed.

    Returns:
        A :class:`SampleResult` with the counts, the TV distance and its bound.

    Examples:
        >>> r = draw(cap("The sky is"), DecodingConfig(do_sample=True, top_k=0), n=20_000)  # doctest: +SKIP
        >>> int(r.counts.sum())                                                             # doctest: +SKIP
        20000
    """
    _check_positive_int("n", n)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    config = config or DecodingConfig()
    probs = probabilities(step.scores(config))
    generator = torch.Generator().manual_seed(seed)
    samples = torch.multinomial(probs, n, replacement=True, generator=generator)
    counts = torch.bincount(samples, minlength=probs.shape[-1])
    tv = 0.5 * float((counts.double() / n - probs.double()).abs().sum())
    return SampleResult(
        counts=counts, n=n, probs=probs, config=config, seed=seed, tv_distance=tv, tv_bound=tv_bound(probs, n)
    )


def histogram_chart(step: NextToken, config: DecodingConfig | None, result: SampleResult, k: int = 20) -> go.Figure:
    """Empirical frequency next to theoretical probability for the ``k`` most probable tokens.

    The last pair of bars holds every other token, so both series add up to 1. The title gives
    the total-variation distance and the bound it should stay under (see :func:`tv_bound`).

    Args:
        step: the captured distribution that ``result`` was drawn from.
        config: the configuration ``result`` was drawn under (checked against ``result.config``).
        result: the output of :func:`draw`.
        k: number of tokens shown, >= 1.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, top_k=0)
        >>> histogram_chart(step, cfg, draw(step, cfg, n=5_000)).show()     # doctest: +SKIP
    """
    _check_positive_int("k", k)
    config = config or DecodingConfig()
    if config != result.config:
        raise ValueError(
            f"`config` has to be the configuration `result` was drawn under ({result.config.describe()}), "
            f"but is {config.describe()}"
        )
    probs, freqs = result.probs, result.frequencies
    k = min(k, probs.shape[-1])
    ids = probs.topk(k).indices.tolist()
    tok = step.lm.tokenizer
    x = list(range(k + 1))
    labels = [html_label(tok, i) for i in ids] + [f"all {probs.shape[-1] - k:,} others"]
    theory = [float(probs[i]) for i in ids]
    empirical = [float(freqs[i]) for i in ids]
    theory.append(max(0.0, 1.0 - sum(theory)))
    empirical.append(max(0.0, 1.0 - sum(empirical)))
    counts = [int(result.counts[i]) for i in ids] + [result.n - sum(int(result.counts[i]) for i in ids)]
    hovers = [hover_text(tok, i) for i in ids] + [labels[-1]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            name="softmax(scores)", x=x, y=theory, marker_color=COLORS["prob"], hovertext=hovers,
            hovertemplate="%{hovertext}<br>probability: %{y:.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            name=f"frequency in {result.n:,} draws", x=x, y=empirical, marker_color=COLORS["logit"],
            hovertext=hovers, customdata=counts,
            hovertemplate="%{hovertext}<br>frequency: %{y:.4f} (%{customdata:,} draws)<extra></extra>",
        )
    )
    title = (
        f"{result.n:,} draws after “{_short(step.text)}”: TV distance {result.tv_distance:.4f} "
        f"(bound {result.tv_bound:.4f})<br><sup>{escape(config.describe())}, seed {result.seed}</sup>"
    )
    style(fig, title)
    fig.update_layout(
        barmode="group", margin_t=90,
        legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
        xaxis=dict(tickmode="array", tickvals=x, ticktext=labels, tickangle=-45),
        yaxis=dict(title="probability / frequency", tickformat=".0%"),
    )
    return fig


# --------------------------------------------------------------------------------------------------
# A whole generation, step by step
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceStep:
    """One step of :func:`generate_with_trace`.

    Attributes:
        token_id: the token chosen at this step.
        entropy: entropy (nats) of ``softmax(scores)`` at this step: how uncertain the sampler was.
        kept: number of tokens with a finite score (the kept set after truncation).
        prob: ``softmax(scores)`` of the chosen token.
        scores: the full scores, only when ``keep_scores=True`` was asked for.
    """

    token_id: int
    entropy: float
    kept: int
    prob: float
    scores: torch.Tensor | None = field(default=None, repr=False)


@dataclass
class GenerationTrace:
    """A generation and what the sampler saw at every step.

    Attributes:
        prompt_ids: the prompt's token ids, ``(1, length)``.
        steps: one :class:`TraceStep` per generated token.
        config: the decoding configuration.
        seed: the seed set with ``torch.manual_seed`` before the first step.
        forward_passes: model calls made (one per generated token: the prompt once, then one new
            token at a time through the KV cache).
        lm: the model (for its tokenizer).
    """

    prompt_ids: torch.Tensor
    steps: list[TraceStep]
    config: DecodingConfig
    seed: int
    forward_passes: int
    lm: LanguageModel = field(repr=False)

    @property
    def token_ids(self) -> list[int]:
        """The generated token ids (without the prompt)."""
        return [s.token_id for s in self.steps]

    @property
    def sequence(self) -> torch.Tensor:
        """Prompt and generated ids, ``(1, length)``: what ``generate()`` returns."""
        return torch.cat([self.prompt_ids.cpu(), torch.tensor([self.token_ids], dtype=torch.long)], dim=-1)

    @property
    def text(self) -> str:
        """The generated text (without the prompt), special tokens dropped."""
        return self.lm.tokenizer.decode(self.token_ids, skip_special_tokens=True)

    @property
    def visible_text(self) -> str:
        """The generated text with whitespace made visible (``␣``, ``↵``)."""
        return decode_visible(self.lm.tokenizer, self.token_ids)

    @property
    def entropies(self) -> list[float]:
        return [s.entropy for s in self.steps]

    @property
    def kept_counts(self) -> list[int]:
        return [s.kept for s in self.steps]


def _eos_ids(lm: LanguageModel) -> set[int]:
    eos = lm.model.generation_config.eos_token_id  # what generate() stops on
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])}


@torch.inference_mode()
def generate_with_trace(
    lm: LanguageModel,
    prompt: str | torch.Tensor,
    config: DecodingConfig | None,
    max_new_tokens: int,
    seed: int = 0,
    keep_scores: bool = False,
) -> GenerationTrace:
    """``generate()``'s decoding loop, written out, recording what the sampler saw at each step.

    The loop is the one in ``GenerationMixin._sample``:

    1. run the model on the prompt once, keeping its KV cache; afterwards feed one new token per
       step (the cache holds the past), taking only the last position's logits, in float32;
    2. apply transformers' processors for ``config`` (:func:`~decoding_lessons.logits_processors`,
       in ``generate()``'s order) to get the scores;
    3. pick ``argmax(scores)`` (greedy) or ``torch.multinomial(softmax(scores), 1)`` (sampling);
    4. stop after ``max_new_tokens`` or right after an end-of-sequence token.

    ``torch.manual_seed(seed)`` is called first, as you would before ``generate()``; the loop
    draws from the global generator exactly as ``generate()`` does, so the two give the same
    tokens (the tests check it for greedy and sampled configurations).

    Args:
        lm: the model.
        prompt: a string, or token ids ``(1, length)``.
        config: the decoding configuration.
        max_new_tokens: how many tokens to generate at most, >= 1.
        seed: passed to ``torch.manual_seed`` before the first step (note: this reseeds torch's
            global generator, as a ``generate()`` call preceded by ``torch.manual_seed`` would).
        keep_scores: also keep every step's full scores (``TraceStep.scores``, on the CPU).

    Returns:
        A :class:`GenerationTrace`: ``.token_ids``, ``.text``, ``.steps`` (entropy, kept-set size,
        probability of the chosen token), ``.forward_passes``.

    Examples:
        >>> trace = generate_with_trace(lm, "2 + 2 = ", DecodingConfig(), max_new_tokens=20)  # doctest: +SKIP
        >>> trace.text, round(trace.steps[0].entropy, 2)                                      # doctest: +SKIP
    """
    _check_positive_int("max_new_tokens", max_new_tokens)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    config = config or DecodingConfig()
    lm = as_language_model(lm)
    model = lm.model
    device = lm.device
    if isinstance(prompt, str):
        prompt_ids = lm.encode(prompt)
    else:
        prompt_ids = torch.as_tensor(prompt, dtype=torch.long).reshape(1, -1)
        if prompt_ids.shape[1] == 0:
            raise ValueError("`prompt` must hold at least one token, but it is empty")
    lm.check_length(prompt_ids.shape[1], max_new_tokens)
    prompt_ids = prompt_ids.to(device)
    processors = logits_processors(config, model.generation_config)
    do_sample = bool(config.resolved(model.generation_config)["do_sample"])
    eos = _eos_ids(lm)
    # transformers 5 calls the KV cache argument `cache`; earlier releases `past_key_values`
    params = inspect.signature(model.forward).parameters
    cache_arg = "cache" if "cache" in params else "past_key_values"
    extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

    torch.manual_seed(seed)
    input_ids = prompt_ids
    cache = None
    steps: list[TraceStep] = []
    passes = 0
    for _ in range(max_new_tokens):
        new = input_ids if cache is None else input_ids[:, -1:]
        start = input_ids.shape[1] - new.shape[1]
        position_ids = torch.arange(start, input_ids.shape[1], device=device).unsqueeze(0)
        out = model(input_ids=new, position_ids=position_ids, use_cache=True, return_dict=True, **{cache_arg: cache}, **extra)
        passes += 1
        cache = out.get("cache", None) if "cache" in out else out.past_key_values
        logits = out.logits[:, -1].to(copy=True, dtype=torch.float32, device=device)
        scores = processors(input_ids, logits)
        probs = torch.softmax(scores, dim=-1)
        if do_sample:
            next_token = torch.multinomial(probs, num_samples=1).squeeze(1)
        else:
            next_token = torch.argmax(scores, dim=-1)
        token = int(next_token[0])
        steps.append(
            TraceStep(
                token_id=token,
                entropy=float(entropy(scores[0])),
                kept=int(torch.isfinite(scores[0]).sum()),
                prob=float(probs[0, token]),
                scores=scores[0].cpu().clone() if keep_scores else None,
            )
        )
        input_ids = torch.cat([input_ids, next_token[:, None]], dim=-1)
        if token in eos:
            break
    return GenerationTrace(
        prompt_ids=prompt_ids.cpu(), steps=steps, config=config, seed=seed, forward_passes=passes, lm=lm
    )


@dataclass(frozen=True)
class Repetition:
    """The longest stretch of tokens that a sequence repeats.

    Attributes:
        ngram: the repeated token ids (the longest n-gram occurring at least twice without
            overlapping itself).
        positions: where it starts, each occurrence (non-overlapping, left to right).
        text: the n-gram decoded, whitespace made visible.
    """

    ngram: tuple[int, ...]
    positions: tuple[int, ...]
    text: str

    @property
    def count(self) -> int:
        return len(self.positions)

    @property
    def covered(self) -> int:
        """How many tokens the occurrences cover together."""
        return len(self.ngram) * self.count


def longest_repetition(token_ids: Sequence[int], tokenizer=None, min_length: int = 2) -> Repetition | None:
    """The longest n-gram that occurs at least twice, non-overlapping, in ``token_ids``.

    Greedy decoding of a base model often falls into a loop: once a phrase has been produced, the
    context makes the same continuation the most likely again, and argmax takes it every time.
    This finds the loop's unit, so a lesson can *measure* it rather than point at it. Ties between
    n-grams of the same length go to the one that occurs first.

    Args:
        token_ids: a generated sequence (e.g. ``trace.token_ids``).
        tokenizer: used to decode the n-gram into :attr:`Repetition.text` (optional).
        min_length: the shortest n-gram worth reporting, >= 1 (default 2: a single repeated token
            such as ``" the"`` is no loop).

    Returns:
        A :class:`Repetition`, or ``None`` when no n-gram of at least ``min_length`` tokens repeats.

    Examples:
        >>> longest_repetition([5, 1, 2, 3, 1, 2, 3, 1, 2]).ngram
        (1, 2, 3)
    """
    _check_positive_int("min_length", min_length)
    ids = [int(i) for i in token_ids]
    for length in range(len(ids) // 2, min_length - 1, -1):
        first_seen: dict[tuple[int, ...], list[int]] = {}
        for start in range(len(ids) - length + 1):
            gram = tuple(ids[start : start + length])
            starts = first_seen.setdefault(gram, [])
            if not starts or start >= starts[-1] + length:
                starts.append(start)
        repeated = [(starts[0], gram, starts) for gram, starts in first_seen.items() if len(starts) >= 2]
        if repeated:
            _, gram, starts = min(repeated)
            text = decode_visible(tokenizer, gram) if tokenizer is not None else ""
            return Repetition(ngram=gram, positions=tuple(starts), text=text)
    return None


_METRICS = {"entropy": ("entropy (nats)", lambda s: s.entropy), "kept": ("kept-set size (tokens)", lambda s: s.kept),
            "prob": ("probability of the chosen token", lambda s: s.prob)}


def trace_chart(traces: dict[str, GenerationTrace], metric: str = "entropy", title: str | None = None) -> go.Figure:
    """One line per strategy: the entropy, kept-set size or chosen token's probability at every step.

    Hover a point to see the token chosen at that step. A greedy run that falls into a loop shows
    as a flat, low entropy line; a high temperature as a high, noisy one; truncation (top-k,
    top-p, min-p) as a kept-set size that moves with the model's confidence (top-p, min-p) or
    stays put (top-k).

    Args:
        traces: ``{label: GenerationTrace}``, e.g. ``{"greedy": ..., "top-p 0.9": ...}``.
        metric: ``"entropy"`` (nats of softmax(scores)), ``"kept"`` (tokens with a finite score;
            log scale) or ``"prob"`` (probability of the chosen token).
        title: the chart title (default: derived from the metric).

    Examples:
        >>> trace_chart({"greedy": generate_with_trace(lm, "Once", DecodingConfig(), 30)}).show()  # doctest: +SKIP
    """
    if metric not in _METRICS:
        raise ValueError(f"`metric` has to be one of {', '.join(repr(m) for m in _METRICS)}, but is {metric!r}")
    if not isinstance(traces, dict) or not traces:
        raise ValueError(f"`traces` has to be a non-empty dict of label → GenerationTrace, but is {traces!r}")
    axis_title, get = _METRICS[metric]
    fig = go.Figure()
    for i, (name, trace) in enumerate(traces.items()):
        tok = trace.lm.tokenizer
        fig.add_trace(
            go.Scatter(
                name=escape(str(name)),
                x=list(range(1, len(trace.steps) + 1)),
                y=[get(s) for s in trace.steps],
                mode="lines+markers",
                line=dict(color=QUALITATIVE[i % len(QUALITATIVE)], width=2),
                marker=dict(size=5),
                hovertext=[f"{escape(str(name))}<br>step {j + 1}: <b>{html_label(tok, s.token_id)}</b>"
                           f"<br>entropy {s.entropy:.3f} nats · kept {s.kept:,} · p {s.prob:.3f}"
                           for j, s in enumerate(trace.steps)],
                hoverinfo="text",
            )
        )
    style(fig, title if title is not None else f"{axis_title.capitalize()} at each generated step")
    fig.update_layout(margin_t=80, legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"),
                      xaxis=dict(title="generated step"), yaxis=dict(title=axis_title))
    if metric == "kept":
        fig.update_yaxes(type="log")
    if metric == "prob":
        fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    return fig


# --------------------------------------------------------------------------------------------------
# The order of the processors
# --------------------------------------------------------------------------------------------------

# generate()'s order and llama.cpp's default chain: columns of the processor table (processors.py).


def _active_fields(config: DecodingConfig, generation_config) -> tuple[dict, list[str]]:
    resolved = config.resolved(generation_config)
    names = PENALTY_ORDER + (WARPER_ORDER if resolved["do_sample"] else ())
    return resolved, [n for n in names if build_processor(n, resolved) is not None]


def _check_order(order) -> list[str]:
    known = PENALTY_ORDER + WARPER_ORDER
    if isinstance(order, str):
        raise ValueError(f"`order` has to be a sequence of field names ({', '.join(known)}), but is the string {order!r}")
    order = list(order)
    unknown = [n for n in order if n not in known]
    if unknown:
        raise ValueError(f"`order` has to hold only the fields {', '.join(known)}, but holds {unknown!r}")
    dupes = sorted({n for n in order if order.count(n) > 1})
    if dupes:
        raise ValueError(f"`order` has to name each field at most once, but repeats {dupes!r}")
    return order


def apply_in_order(step: NextToken, config: DecodingConfig | None, order: Sequence[str]) -> torch.Tensor:
    """The scores after applying ``config``'s active processors in the order ``order``.

    Each processor is built exactly as ``generate()`` builds it
    (:func:`~decoding_lessons.strategies.build_processor`); only the order changes. With
    :data:`HF_ORDER` the result equals ``step.scores(config)``. With :data:`LLAMA_CPP_ORDER`
    temperature comes last: top-k/top-p/min-p then cut the *untempered* distribution, so a high
    temperature can no longer let more tokens in, it only flattens the survivors.

    Args:
        step: a captured next-token distribution (no forward pass is made).
        config: the configuration; as in ``generate()``, the sampling warpers act only with
            ``do_sample=True``.
        order: field names of :class:`DecodingConfig`, e.g. :data:`HF_ORDER` or
            :data:`LLAMA_CPP_ORDER`. Every active field of ``config`` must appear in it; inactive
            names are skipped.

    Returns:
        float32 scores, ``(vocab,)``; filtered tokens hold ``-inf``.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, temperature=1.5, top_k=0, min_p=0.1)
        >>> hf = apply_in_order(step, cfg, HF_ORDER)                    # doctest: +SKIP
        >>> cpp = apply_in_order(step, cfg, LLAMA_CPP_ORDER)            # doctest: +SKIP
        >>> int(torch.isfinite(hf).sum()) >= int(torch.isfinite(cpp).sum())   # doctest: +SKIP
        True
    """
    order = _check_order(order)
    config = config or DecodingConfig()
    resolved, active = _active_fields(config, step.lm.model.generation_config)
    missing = [n for n in active if n not in order]
    if missing:
        raise ValueError(
            f"`order` has to name every active field of the configuration ({', '.join(active)}), but lacks {missing!r}"
        )
    scores = step.logits.detach().to(torch.float32).clone().reshape(1, -1)
    ids = step.input_ids
    for name in order:
        if name in active:
            scores = build_processor(name, resolved)(ids, scores)
    return scores[0]


def order_chart(step: NextToken, config: DecodingConfig, orders: dict[str, Sequence[str]], k: int = 20,
                title: str | None = None) -> go.Figure:
    """``softmax`` of :func:`apply_in_order`'s scores for each order, side by side.

    Grouped bars for the ``k`` highest-logit tokens, one colour per order; filtered tokens are at
    zero and marked ✕. Each legend entry says how many tokens that order keeps.

    Args:
        step: a captured next-token distribution.
        config: the configuration whose processors are reordered.
        orders: ``{label: order}``, e.g. ``{"transformers": HF_ORDER, "llama.cpp": LLAMA_CPP_ORDER}``.
        k: number of tokens shown, >= 1.
        title: chart title (default: derived from the config).

    Examples:
        >>> order_chart(step, DecodingConfig(do_sample=True, temperature=2.0, min_p=0.1, top_k=0),
        ...             {"transformers": HF_ORDER, "llama.cpp": LLAMA_CPP_ORDER}).show()   # doctest: +SKIP
    """
    _check_positive_int("k", k)
    if not isinstance(orders, dict) or not orders:
        raise ValueError(f"`orders` has to be a non-empty dict of label → order, but is {orders!r}")
    config = config or DecodingConfig()
    k = min(k, step.logits.shape[-1])
    ids = step.logits.topk(k).indices.tolist()
    tok = step.lm.tokenizer
    labels = [html_label(tok, i) for i in ids]
    x = list(range(k))
    fig = go.Figure()
    n = len(orders)
    width = 0.8 / n
    for j, (name, order) in enumerate(orders.items()):
        scores = apply_in_order(step, config, order)
        p = probabilities(scores)
        kept = [bool(torch.isfinite(scores[i])) for i in ids]
        n_kept = int(torch.isfinite(scores).sum())
        color = QUALITATIVE[j % len(QUALITATIVE)]
        offset = (j - (n - 1) / 2) * width
        fig.add_trace(
            go.Bar(
                name=f"{escape(str(name))}: {n_kept:,} kept",
                x=[v + offset for v in x],
                y=[float(p[i]) for i in ids],
                width=width,
                marker=dict(color=[color if keep else COLORS["filtered"] for keep in kept],
                            pattern=dict(shape=["" if keep else "/" for keep in kept])),
                hovertext=[f"{hover_text(tok, i)}<br>{escape(str(name))}: p {float(p[i]):.4f}"
                           f"{'' if keep else '<br><b>filtered out</b>'}" for i, keep in zip(ids, kept)],
                hoverinfo="text",
            )
        )
        gone = [v + offset for v, keep in zip(x, kept) if not keep]
        if gone:
            fig.add_trace(
                go.Scatter(x=gone, y=[0] * len(gone), mode="markers", showlegend=False, hoverinfo="skip",
                           marker=dict(symbol="x-thin", size=8, line=dict(width=2, color=color)))
            )
    default = (
        f"The same processors in {n} orders after “{_short(step.text)}”<br><sup>{escape(config.describe())}</sup>"
    )
    style(fig, title if title is not None else default)
    # the legend (one row per order) sits between the title and the plot, so long labels never
    # run into the title on a narrow page
    fig.update_layout(
        margin_t=80 + 22 * n, barmode="overlay",
        legend=dict(orientation="v", y=1.0, yanchor="bottom", x=0, xanchor="left"),
        xaxis=dict(tickmode="array", tickvals=x, ticktext=labels, tickangle=-45, title="token (by logit)"),
        yaxis=dict(title="softmax(scores)", tickformat=".0%"),
    )
    return fig


def _short(text: str, width: int = 40) -> str:
    text = text if len(text) <= width else "…" + text[-width:]
    return escape(text.replace("\n", "↵"))


__all__ = [
    "GenerationTrace",
    "HF_ORDER",
    "LLAMA_CPP_ORDER",
    "Repetition",
    "SampleResult",
    "TV_DELTA",
    "TraceStep",
    "apply_in_order",
    "draw",
    "generate_with_trace",
    "histogram_chart",
    "longest_repetition",
    "order_chart",
    "trace_chart",
    "tv_bound",
]
