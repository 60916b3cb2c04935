"""Watermarking (Kirchenbauer et al. 2023): a green list per step, the mass it moves, and detection.

``generate(watermarking_config=WatermarkingConfig(...))`` appends transformers'
``WatermarkLogitsProcessor`` after every other processor. At each step it seeds a generator with
the previous token ("lefthash") or with the last ``context_width`` tokens and the candidate itself
("selfhash"), draws a permutation of the vocabulary, calls its first ``γ · vocab`` tokens *green*
(``γ = greenlist_ratio``) and adds ``δ = bias`` to their scores. A text written that way holds more
green tokens than chance; ``WatermarkDetector`` recomputes every token's green list from the text
alone and counts them: with ``T`` tokens scored and ``g`` green, ``z = (g − γT) / sqrt(T γ (1 − γ))``.

Everything here is computed by transformers' own processor and detector, never re-implemented:

* :func:`green_list`: the green ids after a context, as the processor marks them;
* :func:`green_mass`: on one captured step, the green mass before and after ``+ δ``;
* :func:`watermark_generation`: a whole watermarked generation step by step (green or not, the
  green mass, the entropy before the watermark);
* :func:`detect`: ``WatermarkDetector`` on generated ids;
* :func:`detection_study`: many prompts × samples, plain and watermarked for several δ: z-scores
  and the price in log-likelihood under the unwatermarked model.

Figures: :mod:`decoding_lessons.plotting.watermark`.

Examples:
    >>> cfg = DecodingConfig(watermarking_config={"bias": 2.0})
    >>> m = green_mass(cap("The sky is"), cfg)
    >>> m.mass_after > m.mass_before
    True
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from .checks import check_int
from .loading import LanguageModel, as_language_model
from .processors import PROCESSORS, BuildContext, Watermark
from .scoring import DecodingConfig, check_config, entropy, eos_token_ids, probabilities

ROW = PROCESSORS["watermarking_config"]


def _detector_class():
    from transformers import WatermarkDetector

    return WatermarkDetector


# WatermarkDetector's own default threshold (``z_threshold`` of its ``__call__``), read, not copied
Z_THRESHOLD: float = float(inspect.signature(_detector_class().__call__).parameters["z_threshold"].default)


def as_watermark(config) -> Watermark:
    """The :class:`~decoding_lessons.processors.Watermark` in ``config``: a ``DecodingConfig`` with
    ``watermarking_config`` set, a ``Watermark``, a ``transformers.WatermarkingConfig`` or a dict of
    its fields (checked by name).

    Examples:
        >>> as_watermark({"bias": 1.0}).bias
        1.0
    """
    if isinstance(config, DecodingConfig):
        if config.watermarking_config is None:
            raise ValueError("`config` has to set `watermarking_config`, but it is None")
        return config.watermarking_config
    return ROW.check(config)


def watermark_processor(vocab_size: int, config, device="cpu"):
    """transformers' ``WatermarkLogitsProcessor`` for ``config``, built through the processor table
    exactly as ``generate()`` builds it (``WatermarkingConfig.construct_processor(vocab, device)``).

    Examples:
        >>> type(watermark_processor(100, {"bias": 1.0})).__name__
        'WatermarkLogitsProcessor'
    """
    check_int("vocab_size", vocab_size, 1)
    return ROW.build(as_watermark(config), context=BuildContext(vocab_size=vocab_size, device=device))


def _context(context_ids, device) -> torch.Tensor:
    ids = torch.as_tensor(context_ids, dtype=torch.long)
    if ids.dim() == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.dim() != 1 or ids.numel() == 0 or bool((ids < 0).any()):
        raise ValueError(f"`context_ids` has to be a non-empty list of token ids (integers >= 0), but is {context_ids!r}")
    return ids.to(device)


def green_list(lm_or_vocab, context_ids, config, scores: torch.Tensor | None = None) -> torch.Tensor:
    """The green token ids after ``context_ids``: the tokens ``WatermarkLogitsProcessor`` adds ``δ`` to.

    They are read off the processor itself (the ids whose score it changes), never drawn again
    here. With ``"lefthash"`` the list depends on the context only (its last token); with
    ``"selfhash"`` each of the 40 highest-scoring candidates is green when it is in the list its
    own seed draws, so ``scores`` (the scores the processor sees) are needed, and only candidates
    with a finite score are reported.

    Args:
        lm_or_vocab: a :class:`~decoding_lessons.LanguageModel` (its logits' width and device) or a
            vocabulary size (on the CPU).
        context_ids: the context so far (prompt + generated), a list or ``(length,)`` / ``(1, length)``.
        config: a ``DecodingConfig`` with ``watermarking_config``, or a watermark (see :func:`as_watermark`).
        scores: the scores before the watermark, ``(vocab,)``; required for ``"selfhash"``.

    Returns:
        The green ids, sorted, a ``LongTensor`` on the CPU (``int(γ · vocab)`` of them for lefthash).

    Examples:
        >>> ids = green_list(lm, lm.encode("The sky is"), {"greenlist_ratio": 0.25})
        >>> len(ids) == int(0.25 * lm.vocab_size)
        True
    """
    if isinstance(lm_or_vocab, int) and not isinstance(lm_or_vocab, bool):
        vocab, device = lm_or_vocab, torch.device("cpu")
    else:
        lm = as_language_model(lm_or_vocab)
        vocab, device = lm.vocab_size, lm.device
    w = as_watermark(config)
    ids = _context(context_ids, device)
    if w.seeding_scheme == "selfhash":
        if scores is None:
            raise ValueError("`scores` has to be given for seeding_scheme 'selfhash' (its green list depends on the candidates), but is None")
        base = torch.as_tensor(scores, dtype=torch.float32).reshape(1, -1).to(device)
    else:
        base = torch.zeros(1, vocab, device=device)  # the lefthash list ignores the scores
    if base.shape[-1] != vocab:
        raise ValueError(f"`scores` has to hold {vocab} scores (the vocabulary), but holds {base.shape[-1]}")
    if ids.numel() < w.context_width:
        raise ValueError(
            f"`context_ids` has to hold at least context_width={w.context_width} tokens to seed the green list, but holds {ids.numel()}"
        )
    return _marked(watermark_processor(vocab, w.replace(bias=1.0), device), ids, base)


def _marked(proc, ids: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """The ids a watermark processor built with bias 1.0 (the list does not depend on δ) changes."""
    return (proc(ids[None], base)[0] != base[0]).nonzero().flatten().cpu()


@dataclass(frozen=True)
class GreenMass:
    """What the watermark does to one distribution.

    Attributes:
        green: the green ids (:func:`green_list`), sorted.
        before, after: ``softmax`` of the scores without and with the watermark.
        mass_before, mass_after: the probability of the green list before and after ``+ δ``.
        entropy_before: entropy (nats) of ``before``: a confident step (low entropy) leaves δ
            little to move.
        gamma, bias: the watermark's γ and δ.
    """

    green: torch.Tensor
    before: torch.Tensor
    after: torch.Tensor
    mass_before: float
    mass_after: float
    entropy_before: float
    gamma: float
    bias: float

    @property
    def moved(self) -> float:
        """The mass that moved onto the green list, ``mass_after − mass_before``."""
        return self.mass_after - self.mass_before

    @property
    def predicted_after(self) -> float:
        """The green mass after ``+ δ`` from the mass before alone: ``p e^δ / (p e^δ + 1 − p)``
        (every green score grows by δ, so their total weight grows by ``e^δ``)."""
        p = self.mass_before
        return p * math.exp(self.bias) / (p * math.exp(self.bias) + 1 - p)


def green_mass(step, config: DecodingConfig, **position) -> GreenMass:
    """The green list's probability before and after the watermark on one captured step.

    "Before" is ``step.scores(config)`` without the watermark (every other processor of ``config``
    applied, as ``generate()`` applies them before the watermark); "after" is with it. No forward
    pass. ``position``: ``prompt_length`` / ``max_new_tokens``, as for
    :meth:`~decoding_lessons.NextToken.scores`.

    Examples:
        >>> m = green_mass(cap("The sky is"), DecodingConfig(watermarking_config={"bias": 2.0}))
        >>> abs(m.mass_after - m.predicted_after) < 1e-5
        True
    """
    check_config(config)
    w = as_watermark(config)
    base_scores = step.scores(config.replace(watermarking_config=None), **position)
    scores = step.scores(config, **position)
    green = green_list(step.lm, step.input_ids, w, scores=base_scores)  # on the model's device, as generate() draws it
    return _mass(green, base_scores, scores, w)


def _mass(green, base_scores, scores, w: Watermark) -> GreenMass:
    before, after = probabilities(base_scores), probabilities(scores)
    return GreenMass(
        green=green, before=before, after=after,
        mass_before=float(before.double()[green].sum()), mass_after=float(after.double()[green].sum()),
        entropy_before=float(entropy(base_scores)), gamma=w.greenlist_ratio, bias=w.bias,
    )


@dataclass(frozen=True)
class WatermarkStep:
    """One step of :func:`watermark_generation`.

    Attributes:
        token_id: the token ``generate()`` chose.
        green: whether it was on the step's green list.
        mass_before, mass_after: the green list's probability before and after ``+ δ``.
        entropy_before: entropy (nats) of the distribution before the watermark.
        top_before: the highest-scoring token before the watermark (greedy's pick without it; the
            lowest id on a tie, as ``argmax``).
    """

    token_id: int
    green: bool
    mass_before: float
    mass_after: float
    entropy_before: float
    top_before: int = -1

    @property
    def changed(self) -> bool:
        """Whether the token chosen is not the top one before the watermark (with greedy decoding:
        the watermark changed the pick)."""
        return self.token_id != self.top_before


@dataclass
class WatermarkRun:
    """A watermarked generation, step by step (from ``generate()`` itself).

    Attributes:
        prompt_ids: the prompt, ``(1, length)``.
        steps: one :class:`WatermarkStep` per generated token.
        config: the decoding configuration (with ``watermarking_config``).
        scores: ``generate()``'s scores at each step (after the watermark), ``(vocab,)`` each.
        lm: the model.
    """

    prompt_ids: torch.Tensor
    steps: list[WatermarkStep]
    config: DecodingConfig
    scores: list[torch.Tensor] = field(repr=False)
    lm: LanguageModel = field(repr=False)

    @property
    def token_ids(self) -> list[int]:
        return [s.token_id for s in self.steps]

    @property
    def green_fraction(self) -> float:
        """The share of generated tokens that were green (γ by chance)."""
        return sum(s.green for s in self.steps) / len(self.steps)

    @property
    def text(self) -> str:
        return self.lm.tokenizer.decode(self.token_ids, skip_special_tokens=True)


@torch.inference_mode()
def watermark_generation(lm, prompt, config: DecodingConfig, max_new_tokens: int, seed: int = 0) -> WatermarkRun:
    """``generate(watermarking_config=...)`` once, and at every step the green list, whether the
    chosen token was on it and the green mass before and after ``+ δ``.

    The generation is ``generate()``'s own (:func:`~decoding_lessons.reference_generate`, seeded with
    ``seed``), with its raw logits; each step's scores before the watermark are ``config``'s other
    processors applied to those logits at that step's position (which equals ``generate()``'s
    scores bit for bit), and the green list is the processor's for that context.

    Args:
        lm: the model.
        prompt: text or token ids.
        config: a ``DecodingConfig`` with ``watermarking_config`` set.
        max_new_tokens: the number of tokens to generate, >= 1.
        seed: ``torch.manual_seed(seed)`` right before (sampling draws from the global generator).

    Examples:
        >>> run = watermark_generation(lm, "The sky is", DecodingConfig(watermarking_config={}), max_new_tokens=5)
        >>> len(run.steps) <= 5 and 0 <= run.green_fraction <= 1
        True
    """
    from .reference import reference_generate
    from .scoring import apply_processors

    check_config(config)
    w = as_watermark(config)
    check_int("max_new_tokens", max_new_tokens, 1)
    lm = as_language_model(lm)
    out = reference_generate(lm, prompt, config, max_new_tokens=max_new_tokens, seed=seed, scores=True, logits=True)
    length = out.sequences.shape[1] - len(out.scores)
    base = config.replace(watermarking_config=None)
    gc = lm.model.generation_config
    steps = []
    marker = watermark_processor(lm.vocab_size, w.replace(bias=1.0), lm.device)  # green_list's processor, built once
    for n, (logits, scores) in enumerate(zip(out.logits, out.scores)):
        context = out.sequences[:, : length + n]
        before = apply_processors(logits[0], context, base, gc, prompt_length=length, max_new_tokens=max_new_tokens)
        zeros = torch.zeros_like(before)[None]
        green = _marked(marker, context[0], before[None] if w.seeding_scheme == "selfhash" else zeros)
        m = _mass(green, before, scores[0], w)
        token = int(out.sequences[0, length + n])
        steps.append(WatermarkStep(token_id=token, green=bool((green == token).any()), mass_before=m.mass_before,
                                   mass_after=m.mass_after, entropy_before=m.entropy_before, top_before=int(before.argmax())))
    return WatermarkRun(prompt_ids=out.sequences[:, :length].cpu(), steps=steps, config=config,
                        scores=[s[0].cpu() for s in out.scores], lm=lm)


def watermark_detector(lm, config):
    """transformers' ``WatermarkDetector`` for ``lm`` and ``config``'s watermark (its model config,
    its device: the detector must draw the green lists where the generation drew them)."""
    lm = as_language_model(lm)
    return _detector_class()(model_config=lm.model.config, device=lm.device, watermarking_config=as_watermark(config).to_config())


def detect(lm, ids, config, z_threshold: float = Z_THRESHOLD):
    """``WatermarkDetector(...)(ids, z_threshold, return_dict=True)``: the green count and z-score of
    generated token ids (without the prompt, as transformers advises).

    Args:
        lm: the model that generated them.
        ids: generated ids, ``(length,)`` or ``(rows, length)``; longer than ``context_width``.
        config: the watermark (see :func:`as_watermark`); δ plays no part in detection.
        z_threshold: the detector's decision threshold (its default, :data:`Z_THRESHOLD`).

    Returns:
        transformers' ``WatermarkDetectorOutput`` (``z_score``, ``num_green_tokens``,
        ``num_tokens_scored``, ``p_value``, ``prediction`` arrays).

    Examples:
        >>> run = watermark_generation(lm, "The sky is", DecodingConfig(watermarking_config={}), max_new_tokens=8)
        >>> float(detect(lm, run.token_ids, run.config).num_tokens_scored[0])
        7.0
    """
    lm = as_language_model(lm)
    w = as_watermark(config)
    ids = torch.as_tensor(ids, dtype=torch.long)
    ids = ids.reshape(1, -1) if ids.dim() == 1 else ids
    if ids.dim() != 2 or ids.shape[-1] <= w.context_width:
        raise ValueError(
            f"`ids` has to hold more than context_width={w.context_width} tokens per row, but has shape {tuple(ids.shape)}"
        )
    return watermark_detector(lm, w)(ids.to(lm.device), z_threshold=z_threshold, return_dict=True)


@dataclass(frozen=True)
class DetectionRun:
    """One setting of :func:`detection_study`: every text generated with it.

    Attributes:
        bias: δ (0.0: no watermark at all).
        z_scores: the detector's z of each text, ``(texts,)``.
        green_fraction: the share of green tokens in each text.
        loglik: each text's mean per-token log-probability under the unwatermarked model
            (``log softmax(logits)`` of the token chosen).
        expected_loglik: the same price without the draw's noise: at each step the expected
            ``log softmax(logits)`` under the distribution the sampler drew from
            (``Σ softmax(scores) · log softmax(logits)``), averaged over the text's steps.
        price_loglik: the expected log-likelihood of this δ's sampling distribution at the *plain*
            texts' contexts (their scores with this watermark applied, as ``generate()`` applies it
            last), one value per plain text: the price of δ with the contexts held fixed, so that
            the texts' drift into other contexts does not blur it.
        tokens: each text's length in tokens (up to the first EOS).
        token_ids: each text's generated ids (up to the first EOS), as the detector saw them.
    """

    bias: float
    z_scores: np.ndarray
    green_fraction: np.ndarray
    loglik: np.ndarray
    tokens: np.ndarray
    token_ids: tuple = field(repr=False, default=())
    expected_loglik: np.ndarray | None = None
    price_loglik: np.ndarray | None = None

    @property
    def detected(self) -> float:
        """The share of texts with ``z > Z_THRESHOLD``."""
        return float((self.z_scores > Z_THRESHOLD).mean())

    @property
    def perplexity(self) -> float:
        """``exp(−mean log-likelihood)`` over the texts' tokens."""
        return float(math.exp(-(self.loglik * self.tokens).sum() / self.tokens.sum()))

    @property
    def expected_perplexity(self) -> float:
        """``exp(−mean expected log-likelihood)``: :attr:`perplexity` without the draw's noise."""
        return float(math.exp(-(self.expected_loglik * self.tokens).sum() / self.tokens.sum()))

    @property
    def price_perplexity(self) -> float:
        """``exp(−mean price_loglik)``: this δ's perplexity at the plain texts' contexts."""
        return float(math.exp(-float(np.nanmean(self.price_loglik))))


@dataclass
class DetectionStudy:
    """:func:`detection_study`'s result.

    Attributes:
        plain: the texts generated without a watermark.
        runs: one :class:`DetectionRun` per δ, in the order given.
        watermark: the watermark (its δ replaced in each run).
        threshold: the detector's threshold, :data:`Z_THRESHOLD`.
        texts: how many texts each setting generated (prompts × samples).
        max_new_tokens: their length limit.
    """

    plain: DetectionRun
    runs: list[DetectionRun]
    watermark: Watermark
    threshold: float
    texts: int
    max_new_tokens: int

    def run(self, bias: float) -> DetectionRun:
        """The run with δ = ``bias``."""
        for r in self.runs:
            if r.bias == float(bias):
                return r
        raise ValueError(f"`bias` has to be one of {[r.bias for r in self.runs]}, but is {bias!r}")


def _left_padded(lm: LanguageModel, prompts) -> tuple[torch.Tensor, torch.Tensor]:
    encoded = [lm.encode(p)[0].cpu() for p in prompts]
    width = max(len(e) for e in encoded)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, e in enumerate(encoded):
        ids[i, width - len(e):], mask[i, width - len(e):] = e, 1
    return ids.to(lm.device), mask.to(lm.device)


@torch.inference_mode()
def _expected(logp, probs_steps, ends) -> np.ndarray:
    """Per row: the mean over its steps (up to ``ends``) of Σ p · log p_model."""
    e = torch.stack([torch.where(p > 0, p * l, torch.zeros_like(p)).sum(-1) for l, p in zip(logp.unbind(1), probs_steps)], 1)
    return np.array([float(e[row, :end].mean()) if end else math.nan for row, end in enumerate(ends)])


def _study_run(lm, ids, mask, config: DecodingConfig, w: Watermark, samples, max_new_tokens, seed, bias, prices=()):
    torch.manual_seed(seed)
    out = lm.model.generate(
        ids, attention_mask=mask, max_new_tokens=max_new_tokens, num_return_sequences=samples,
        pad_token_id=lm.tokenizer.pad_token_id, return_dict_in_generate=True, output_logits=True, output_scores=True,
        **config.explicit(),
    )
    new = out.sequences[:, ids.shape[1]:]
    logp = torch.stack([torch.log_softmax(l.float(), dim=-1) for l in out.logits], dim=1)  # (rows, steps, vocab)
    chosen = logp.gather(-1, new[:, : logp.shape[1], None])[..., 0]
    eos = set(eos_token_ids(lm.model.generation_config))
    det = watermark_detector(lm, w)
    z, frac, ll, n, texts = [], [], [], [], []
    for row in range(new.shape[0]):
        tokens = new[row].tolist()
        end = next((i for i, t in enumerate(tokens) if t in eos), len(tokens))  # up to the first EOS
        n.append(end)
        texts.append(tuple(tokens[:end]))
        ll.append(float(chosen[row, :end].mean()) if end else math.nan)
        if end > w.context_width:
            d = det(new[row: row + 1, :end], return_dict=True)
            z.append(float(d.z_score[0]))
            frac.append(float(d.green_fraction[0]))
        else:  # too short to score
            z.append(math.nan)
            frac.append(math.nan)
    expected = _expected(logp, [torch.softmax(sc.float(), dim=-1) for sc in out.scores], n)
    # each watermark of `prices` at these contexts: generate() applies it last, to these very scores
    price = {}
    for wp in prices:
        proc = watermark_processor(logp.shape[-1], wp, out.scores[0].device)
        probs = [torch.softmax(proc(out.sequences[:, : ids.shape[1] + k], sc.float()), dim=-1) for k, sc in enumerate(out.scores)]
        price[wp.bias] = _expected(logp, probs, n)
    run = DetectionRun(bias=float(bias), z_scores=np.array(z), green_fraction=np.array(frac), loglik=np.array(ll),
                       tokens=np.array(n), token_ids=tuple(texts), expected_loglik=expected, price_loglik=expected)
    return run, price


def detection_study(
    lm, prompts, config: DecodingConfig, biases=(0.5, 1.0, 2.0, 4.0), samples: int = 4, max_new_tokens: int = 32, seed: int = 0
) -> DetectionStudy:
    """Generate from many prompts with and without the watermark and detect it in every text.

    For the plain setting (``config`` without its watermark) and for each δ in ``biases``
    (``config``'s watermark with that bias), ``generate()`` writes ``samples`` texts per prompt (one
    batched call, left-padded, seeded with ``seed`` each time, so every setting draws the same random
    numbers); each text, cut at its first EOS, goes through ``WatermarkDetector`` (z-score, green
    fraction) and is scored under the unwatermarked model (mean ``log softmax(logits)`` of its
    tokens, from the same call's raw logits: no extra forward pass). The price of each δ is also
    measured with the contexts held fixed: its watermark applied to the plain texts' scores, step by
    step (``DetectionRun.price_loglik``).

    Args:
        lm: the model.
        prompts: non-empty list of prompt strings.
        config: a ``DecodingConfig`` with ``watermarking_config`` (its other fields: the sampling
            settings every setting shares; use ``do_sample=True`` for more than one text per prompt).
        biases: the δ values to sweep (finite floats), e.g. ``(0.5, 1, 2, 4)``.
        samples: texts per prompt (``num_return_sequences``), >= 1.
        max_new_tokens: each text's length limit, >= 2.
        seed: ``torch.manual_seed`` before each setting's call.

    Returns:
        A :class:`DetectionStudy`: ``.plain`` and ``.runs`` (one per δ) of :class:`DetectionRun`.

    Examples:
        >>> cfg = DecodingConfig(do_sample=True, watermarking_config={})
        >>> study = detection_study(lm, ["The sky is", "Once upon a time"], cfg, biases=(4.0,), samples=1, max_new_tokens=8)
        >>> len(study.plain.z_scores), study.run(4.0).bias
        (2, 4.0)
    """
    check_config(config)
    w = as_watermark(config)
    if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)) or not prompts or not all(isinstance(p, str) and p for p in prompts):
        raise ValueError(f"`prompts` has to be a non-empty list of non-empty strings, but is {prompts!r}")
    if isinstance(biases, (str, bytes)) or not isinstance(biases, (list, tuple)) or not biases:
        raise ValueError(f"`biases` has to be a non-empty list of finite floats, but is {biases!r}")
    ws = [w.replace(bias=b) for b in biases]  # each checked by name (watermarking_config.bias)
    if len({x.bias for x in ws}) != len(ws):
        raise ValueError(f"`biases` has to name each δ once, but is {biases!r}")
    check_int("samples", samples, 1)
    check_int("max_new_tokens", max_new_tokens, 2)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    lm = as_language_model(lm)
    ids, mask = _left_padded(lm, prompts)
    plain, prices = _study_run(lm, ids, mask, config.replace(watermarking_config=None), w, samples, max_new_tokens, seed, 0.0, ws)
    runs = [replace(_study_run(lm, ids, mask, config.replace(watermarking_config=wb), wb, samples, max_new_tokens, seed, wb.bias)[0],
                    price_loglik=prices[wb.bias]) for wb in ws]
    return DetectionStudy(plain=plain, runs=runs, watermark=w, threshold=Z_THRESHOLD, texts=len(prompts) * samples,
                          max_new_tokens=max_new_tokens)


__all__ = [
    "DetectionRun", "DetectionStudy", "GreenMass", "WatermarkRun", "WatermarkStep", "Z_THRESHOLD", "as_watermark",
    "detect", "detection_study", "green_list", "green_mass", "watermark_detector", "watermark_generation", "watermark_processor",
]
