"""DoLa, decoding by contrasting layers: Chuang et al. 2024, as transformers ran it in core up to 4.55.

A transformer refines its guess layer by layer. Reading an *early* layer's hidden state through the
LM head gives a "premature" next-token distribution; the last layer gives the "mature" one. DoLa
(`arXiv:2309.03883 <https://arxiv.org/abs/2309.03883>`_) bets that what the late layers *add* is
where factual knowledge shows, and decodes from the difference of the two log-distributions
instead of the last layer alone. At each step (transformers 4.55's ``_dola_decoding`` and
``_dola_select_contrast``):

1. one forward pass with every layer's hidden state; the LM head turns each *candidate premature
   layer*'s last-position hidden state into logits (as transformers does, without the final norm:
   the head sees the layer's output as it is);
2. the premature layer is the candidate whose distribution is furthest from the final layer's, by
   the Jensen–Shannon divergence ``JS = ½ (KL(m ‖ a) + KL(q ‖ a))``, ``a = ½ (m + q)`` — each KL
   *averaged* over the vocabulary rather than summed, which scales all candidates alike;
3. the *relative top* filter keeps the tokens whose final-layer probability is at least 0.1 × the
   most likely one's (at least one token); the others get score −inf;
4. the contrast: ``log p_final − log p_premature`` over the kept tokens; ``generate()``'s processors
   (repetition penalty, and when sampling the warpers) act on it; then argmax, or a draw.

``dola_layers``: ``"low"`` or ``"high"`` (the lower or upper half of the layers, every second one;
with tied embeddings layer 0, the embeddings, is skipped, since the head would only map tokens back
to themselves), or a list of layer indices (0 = the embeddings, ``N`` = the number of layers is the
final layer itself and is not a candidate).

The paper recommends ``repetition_penalty=1.2`` with DoLa (transformers warns below it).

Differences from 4.55, on purpose: a ``dola_layers`` list with an index outside ``[0, N - 1]`` is
refused (4.55 dropped indices >= N silently, and failed on an empty list); a batch of one prompt
only (4.55 chose one premature layer for the whole batch by averaging the divergences).

Examples:
    >>> r = dola_decoding(lm, "The capital of France is", dola_layers="high", max_new_tokens=8)
    >>> r.forward_passes == len(r.steps)               # one pass per token, all layers read from it
    True
    >>> s = r.steps[0]
    >>> s.premature_layer in s.candidate_layers
    True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..checks import check_int
from ..decoder import as_decoder, prompt_ids
from ..scoring import DecodingConfig, logits_processors

RELATIVE_TOP = 0.1  # transformers' _relative_top_filter: keep p >= 0.1 * p_max (final layer)
BASE_FILTER_VALUE = -1e-3  # what the filter writes into the premature log-probs of the cut tokens


@dataclass
class DolaStep:
    """One step of DoLa.

    Attributes:
        step: generation step (0 = first new token).
        candidate_layers: the candidate premature layers.
        js_divergences: each candidate's Jensen–Shannon divergence from the final layer (vocabulary-
            averaged KLs, as transformers computes it), in the order of ``candidate_layers``.
        premature_layer: the candidate with the largest divergence (the first, on a tie).
        final_logprobs: ``log_softmax`` of the final layer's logits ``(vocab,)``.
        premature_logprobs: ``log_softmax`` of the premature layer's logits ``(vocab,)``.
        kept: the relative-top filter's mask ``(vocab,)``: final-layer p >= 0.1 × p_max.
        contrast: ``final_logprobs − premature_logprobs`` on ``kept``, −inf elsewhere: DoLa's logits.
        scores: ``contrast`` after ``generate()``'s processors: what was argmaxed or sampled.
        token_id: the chosen token.
        layer_logprobs: every candidate layer's ``log_softmax`` (``{layer: (vocab,)}``), when asked
            for with ``keep_layers=True``.
    """

    step: int
    candidate_layers: list[int]
    js_divergences: list[float]
    premature_layer: int
    final_logprobs: torch.Tensor
    premature_logprobs: torch.Tensor
    kept: torch.Tensor
    contrast: torch.Tensor
    scores: torch.Tensor
    token_id: int
    layer_logprobs: dict[int, torch.Tensor] = field(default_factory=dict)

    @property
    def final_choice(self) -> int:
        """The token the final layer alone would pick (greedy on its logits)."""
        return int(self.final_logprobs.argmax())

    @property
    def flipped(self) -> bool:
        """Did the contrast pick another token than the final layer's argmax? (Under greedy decoding.)"""
        return self.token_id != self.final_choice


@dataclass
class DolaResult:
    """Everything a DoLa run did. ``sequences`` is transformers 4.55's ``generate(dola_layers=...)``
    output for one prompt (prompt included)."""

    prompt_ids: list[int]
    sequences: torch.Tensor
    steps: list[DolaStep]
    forward_passes: int
    seconds: float
    settings: dict
    num_layers: int
    text: str = ""
    prompt_text: str = ""

    @property
    def tokens(self) -> list[int]:
        return [s.token_id for s in self.steps]


def dola_candidate_layers(dola_layers, num_layers: int, tie_word_embeddings: bool) -> list[int]:
    """The candidate premature layers for ``dola_layers``, as transformers 4.55 chose them.

    Args:
        dola_layers: ``"low"``, ``"high"``, or a list of layer indices in ``[0, num_layers - 1]``.
        num_layers: the model's number of decoder layers ``N``.
        tie_word_embeddings: whether the LM head is the embedding matrix (then the embeddings,
            layer 0, are skipped: through a tied head they would predict the input token itself).

    Examples:
        >>> dola_candidate_layers("low", 30, True), dola_candidate_layers("high", 30, True)[:3]
        ([2, 4, 6, 8, 10, 12, 14], [15, 17, 19])
        >>> dola_candidate_layers("high", 48, False)                   # > 40 layers: the last 20, every second
        [28, 30, 32, 34, 36, 38, 40, 42, 44, 46]
        >>> dola_candidate_layers([30], 30, True)
        Traceback (most recent call last):
        ...
        ValueError: `dola_layers` has to be "low", "high" or a non-empty list of layer indices in [0, 29] (the model has 30 layers; 30 is the final layer), but is [30]
    """
    check_int("num_layers", num_layers, 1)
    if isinstance(dola_layers, str) and dola_layers in ("low", "high"):
        if not tie_word_embeddings:
            start = 0
        elif num_layers > 2:
            start = 2
        elif num_layers == 2:
            start = 1
        else:
            start = 0
        if dola_layers == "low":
            if start == num_layers // 2:
                return [start]
            return list(range(start, num_layers // 2, 2)) if num_layers <= 40 else list(range(start, 20, 2))
        return list(range(num_layers // 2, num_layers, 2)) if num_layers <= 40 else list(range(num_layers - 20, num_layers, 2))
    valid = (
        isinstance(dola_layers, (list, tuple))
        and len(dola_layers) > 0
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_layers for i in dola_layers)
    )
    if not valid:
        raise ValueError(
            f'`dola_layers` has to be "low", "high" or a non-empty list of layer indices in [0, {num_layers - 1}] '
            f"(the model has {num_layers} layers; {num_layers} is the final layer), but is {dola_layers!r}"
        )
    return list(dola_layers)


def js_divergences(final_logits: torch.Tensor, layer_logits: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon divergence of each premature layer from the final layer, as transformers 4.55
    computed it (``_dola_select_contrast``): each KL averaged over the vocabulary.

    Args:
        final_logits: ``(1, vocab)``.
        layer_logits: ``(layers, 1, vocab)``.

    Returns:
        ``(layers,)``.

    Examples:
        >>> same = torch.tensor([[1.0, 2.0, 3.0]])
        >>> abs(float(js_divergences(same, same[None])[0])) < 1e-7    # a layer that agrees with the final one
        True
    """
    softmax_mature = F.softmax(final_logits, dim=-1)
    softmax_premature = F.softmax(layer_logits, dim=-1)
    average = 0.5 * (softmax_mature[None, :, :] + softmax_premature)
    log_mature = F.log_softmax(final_logits, dim=-1)
    log_premature = F.log_softmax(layer_logits, dim=-1)
    kl1 = F.kl_div(log_mature[None, :, :], average, reduction="none").mean(-1)
    kl2 = F.kl_div(log_premature, average, reduction="none").mean(-1)
    return (0.5 * (kl1 + kl2)).mean(-1)


def relative_top_contrast(final_logits: torch.Tensor, base_logits: torch.Tensor, min_tokens_to_keep: int = 1):
    """transformers' ``_relative_top_filter`` and the difference: ``(contrast, kept)``.

    ``kept``: the tokens with final-layer log-probability >= log p_max + log 0.1 (and at least
    ``min_tokens_to_keep``); ``contrast = log_softmax(final) − log_softmax(base)`` on them, −inf
    elsewhere.

    Examples:
        >>> final = torch.log(torch.tensor([[0.6, 0.35, 0.05]]))
        >>> base = torch.log(torch.tensor([[0.8, 0.1, 0.1]]))
        >>> contrast, kept = relative_top_contrast(final, base)
        >>> kept.tolist(), int(contrast.argmax())                  # the second token wins
        ([[True, True, False]], 1)
    """
    final_norm = final_logits.log_softmax(dim=-1)
    base_norm = base_logits.log_softmax(dim=-1)
    sorted_logits, _ = torch.sort(final_norm, descending=True)
    min_thresh = sorted_logits[..., min_tokens_to_keep - 1]
    probs_max = torch.max(final_norm, dim=-1).values
    probs_thresh = probs_max + math.log(RELATIVE_TOP)
    probs_thresh = torch.min(min_thresh, probs_thresh).unsqueeze(-1)
    cut = final_norm < probs_thresh
    base_norm[cut] = BASE_FILTER_VALUE
    final_norm[cut] = -float("inf")
    return final_norm - base_norm, ~cut


def dola_decoding(
    lm,
    prompt,
    dola_layers="high",
    config: DecodingConfig | None = None,
    max_new_tokens: int = 32,
    seed: int = 0,
    keep_layers: bool = False,
) -> DolaResult:
    """DoLa on one prompt, recording every step: the candidates' divergences, the chosen layer, the
    relative-top set, the contrast and the processed scores.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel` or a transformers causal LM with an LM head.
        prompt: text, or token ids.
        dola_layers: ``"low"``, ``"high"`` or a list of layer indices in ``[0, N - 1]`` (see
            :func:`candidate_layers`).
        config: the :class:`~decoding_lessons.DecodingConfig` of the rest of ``generate()``: greedy by
            default; ``repetition_penalty`` (1.2 is the paper's advice), ``no_repeat_ngram_size``, and
            with ``do_sample=True`` the sampling warpers, applied to the contrast as ``generate()``
            applies them.
        max_new_tokens: the length limit, >= 1.
        seed: ``torch.manual_seed(seed)`` first, as before a ``generate()`` call (matters only when sampling).
        keep_layers: also keep every candidate layer's log-probabilities (``DolaStep.layer_logprobs``).

    Returns:
        A :class:`DolaResult`; ``result.sequences`` equals transformers 4.55's
        ``generate(dola_layers=..., ...)`` (the tests check it against recorded outputs).
    """
    check_int("max_new_tokens", max_new_tokens, 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")
    decoder = as_decoder(lm, hidden_states="all")
    model = getattr(decoder, "model", None)
    if model is None:
        raise TypeError("DoLa needs a transformers causal LM (it reads every layer through the LM head)")
    head = model.get_output_embeddings()
    if head is None:
        raise ValueError("DoLa needs a model with output embeddings (an LM head), but this one has none")
    text_config = model.config.get_text_config()
    num_layers = int(text_config.num_hidden_layers)
    layers = dola_candidate_layers(dola_layers, num_layers, bool(getattr(text_config, "tie_word_embeddings", False)))
    started = time.perf_counter()
    ids = prompt_ids(decoder, prompt, max_new_tokens)
    config = config or DecodingConfig()
    procs = logits_processors(config, decoder.generation_config)
    do_sample = bool(config.resolved(decoder.generation_config)["do_sample"])
    eos = set(decoder.eos_token_ids)
    prompt_len = ids.shape[1]

    torch.manual_seed(seed)
    sequence = ids
    steps: list[DolaStep] = []
    out = decoder.start(ids)
    for step in range(max_new_tokens):
        final_logits = out.logits  # (1, vocab) float32, as 4.55's outputs.logits[:, -1, :].float()
        with torch.inference_mode():
            premature = {layer: head(out.layers[layer][:, -1, :]).to(final_logits.device) for layer in layers}
        if len(layers) == 1:
            chosen, divergences = layers[0], [float("nan")]
        else:
            js = js_divergences(final_logits, torch.stack([premature[layer] for layer in layers], dim=0))
            chosen = layers[int(js.argmax().item())]
            divergences = js.tolist()
        contrast, kept = relative_top_contrast(final_logits, premature[chosen])
        scores = procs(sequence, contrast)
        if do_sample:
            next_token = torch.multinomial(F.softmax(scores, dim=-1), num_samples=1).squeeze(1)
        else:
            next_token = torch.argmax(scores, dim=-1)
        token = int(next_token[0])
        steps.append(
            DolaStep(
                step=step, candidate_layers=list(layers), js_divergences=divergences, premature_layer=chosen,
                # the log-probabilities as the contrast used them: the premature layer's in the model's
                # dtype (bfloat16 stays bfloat16 there), stored as float32
                final_logprobs=final_logits[0].log_softmax(-1).cpu(), premature_logprobs=premature[chosen][0].log_softmax(-1).float().cpu(),
                kept=kept[0].cpu(), contrast=contrast[0].cpu(), scores=scores[0].cpu(), token_id=token,
                layer_logprobs={layer: premature[layer][0].log_softmax(-1).float().cpu() for layer in layers} if keep_layers else {},
            )
        )
        sequence = torch.cat([sequence, next_token[:, None].to(sequence.device)], dim=-1)
        if token in eos or step == max_new_tokens - 1:
            break
        out = decoder.advance(torch.zeros(1, dtype=torch.long), next_token)

    return DolaResult(
        prompt_ids=ids[0].tolist(),
        sequences=sequence.cpu(),
        steps=steps,
        forward_passes=decoder.forward_passes,
        seconds=time.perf_counter() - started,
        settings=dict(dola_layers=dola_layers, config=config.explicit(), max_new_tokens=max_new_tokens, seed=seed),
        num_layers=num_layers,
        text=decoder.decode(sequence[0, prompt_len:].tolist()),
        prompt_text=decoder.decode(ids[0].tolist()),
    )


__all__ = ["DolaResult", "DolaStep", "dola_candidate_layers", "dola_decoding", "js_divergences", "relative_top_contrast"]
