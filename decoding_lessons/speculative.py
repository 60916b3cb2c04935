"""Speculative decoding: a cheap draft proposes tokens, the model checks them all in one pass.

Leviathan et al. 2023 (`arXiv:2211.17192 <https://arxiv.org/abs/2211.17192>`_) and Chen et al.
2023 (`arXiv:2302.01318 <https://arxiv.org/abs/2302.01318>`_): a *draft* model that shares the
target's vocabulary proposes ``gamma`` tokens one by one; the *target* scores all of them in a
single forward pass; the proposals are kept up to the first one the target rejects, and the target
adds one token of its own. Each round costs one target forward pass and yields between 1 and
``gamma + 1`` tokens, and the output is distributed exactly as the target's own:

* **greedy:** a proposal is kept when it is the target's argmax; the target's argmax replaces the
  first one that is not. The output is the target's greedy output, token for token.
* **sampling:** a proposal ``x`` drawn from the draft's ``q`` is kept with probability
  ``min(1, p(x) / q(x))``; at the first rejection the target draws from the *residual*
  ``norm(max(0, p − q))``; when all are kept it draws a bonus token from ``p``. Kept or
  resampled, the token is distributed as ``p`` (:func:`emission_probs` computes it exactly).

What is here:

* :func:`early_exit_draft` — a draft made from the target itself: its first ``layers`` decoder
  layers with its own final norm and LM head (shared, not copied). transformers'
  ``generate(assistant_early_exit=layers)`` drafts with the same layers.
* :func:`speculative_generate` — transformers 5's ``_assisted_decoding`` with a draft model,
  written out and recorded round by round (:class:`SpeculativeRound`): what the draft proposed,
  what the target accepted, the residual it resampled from. Token for token
  ``generate(assistant_model=draft)`` under greedy decoding and, with the same seed, when
  sampling: it draws from torch's global generator exactly as ``generate()`` does (the draft's
  ``torch.multinomial`` per proposal, ``torch.rand`` for the acceptance tests, ``torch.multinomial``
  for the residual). :func:`reference_speculative` calls that ``generate()`` with the same settings.
* :func:`prompt_lookup_generate` — the same loop with the proposals copied from the text itself
  (``generate(prompt_lookup_num_tokens=...)``, Saxena 2023).
* :func:`emission_probs`, :func:`speculative_draws` — the first token's distribution exactly, and
  ``n`` batched draws of it by the acceptance rule, to set against ``p`` with :func:`tv_bound`.
* :func:`expected_tokens_per_pass` — the paper's ``(1 − α^(γ+1)) / (1 − α)``.

Settings pinned to make the loop and ``generate()`` the same algorithm: the draft length schedule
is ``"constant"`` (or ``"heuristic"``, +2 after a round with every proposal accepted, −1
otherwise, never below 1), and ``assistant_confidence_threshold`` is 0: transformers' default 0.4
stops a draft early when its own probability of a proposal falls below the threshold, and moves
the threshold between rounds when scikit-learn is installed, which would tie the result to an
optional package.

Examples:
    >>> draft = early_exit_draft(lm, layers=8)
    >>> run = speculative_generate(lm, draft, "The capital of France is", max_new_tokens=12, gamma=4)
    >>> run.token_ids == reference_speculative(lm, draft, "The capital of France is", max_new_tokens=12, gamma=4)[0, -12:].tolist()
    True
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch
from transformers import LogitsProcessorList

from .checks import check_float, check_int
from .decoder import ModelDecoder
from .decoder import prompt_ids as to_prompt_ids
from .loading import LanguageModel, ModelChoice, as_language_model
from .measures import tv_bound
from .sampling import SampleResult
from .scoring import DecodingConfig, check_config, eos_token_ids, logits_processors
from .tokens import decode_visible

SCHEDULES = ("constant", "heuristic")

# --------------------------------------------------------------------------------------------------
# The draft
# --------------------------------------------------------------------------------------------------


def _shallow(module: torch.nn.Module) -> torch.nn.Module:
    """A new module object whose submodules, parameters and buffers are the original's (shared)."""
    new = copy.copy(module)
    new._modules = dict(module._modules)
    new._parameters = dict(module._parameters)
    new._buffers = dict(module._buffers)
    return new


def early_exit_draft(lm, layers: int) -> LanguageModel:
    """A draft model made of the target's first ``layers`` decoder layers, its final norm and LM head.

    Nothing is copied: the draft shares the target's embeddings, layers, norm and LM head (no extra
    memory), so it shares the tokenizer and the vocabulary by construction, and its forward pass
    costs about ``layers / num_hidden_layers`` of the target's. It is *early exit*: the hidden
    state after layer ``layers`` goes straight to the final norm and the LM head. A model trained
    for it (LayerSkip, Elhoushi et al. 2024, `arXiv:2404.16710
    <https://arxiv.org/abs/2404.16710>`_) predicts well from early layers; an ordinary model
    predicts worse the earlier it exits, and the acceptance rate shows it.

    transformers' ``generate(assistant_early_exit=layers)`` drafts the same way: it runs the target
    with ``config.num_hidden_layers`` set to ``layers`` (for architectures whose forward stops
    there, such as Llama, Gemma, Qwen2). This draft is a separate model object so that the draft
    and the target each keep their own KV cache and ``generation_config``, and so that the same
    draft goes to ``generate(assistant_model=draft)``.

    Args:
        lm: the target, a :class:`~decoding_lessons.LanguageModel` (or a model and tokenizer
            through :func:`~decoding_lessons.as_language_model`).
        layers: how many decoder layers the draft keeps, in ``[1, num_hidden_layers]``.

    Returns:
        A :class:`~decoding_lessons.LanguageModel` with the target's tokenizer.

    Examples:
        >>> draft = early_exit_draft(lm, 4)
        >>> draft.model.config.num_hidden_layers, draft.vocab_size == lm.vocab_size
        (4, True)
    """
    lm = _as_lm(lm)
    model = lm.model
    base = getattr(model, model.base_model_prefix, None)
    layer_list = getattr(base, "layers", None)
    if not isinstance(layer_list, torch.nn.ModuleList):
        raise ValueError(
            f"`lm` has to be a decoder whose base model holds its layers in `.layers`, but {type(model).__name__} does not"
        )
    check_int("layers", layers, 1, len(layer_list))
    config = copy.deepcopy(base.config)
    config.num_hidden_layers = layers
    if isinstance(getattr(config, "layer_types", None), list):  # per-layer attention types (Gemma's sliding window)
        config.layer_types = config.layer_types[:layers]
    draft_base = _shallow(base)
    draft_base.layers = torch.nn.ModuleList(list(layer_list[:layers]))
    draft_base.config = config
    draft = _shallow(model)
    setattr(draft, model.base_model_prefix, draft_base)
    draft.config = config if model.config is base.config else _with_text_config(model.config, config)
    draft.generation_config = copy.deepcopy(model.generation_config)
    choice = dataclasses.replace(lm.choice, name=f"{lm.choice.label}, first {layers} of {len(layer_list)} layers")
    return LanguageModel(model=draft.eval(), tokenizer=lm.tokenizer, choice=choice, load_seconds=0.0)


def _as_lm(model) -> LanguageModel:
    """A :class:`LanguageModel`; a bare transformers model (no tokenizer: prompts are ids) too."""
    if isinstance(model, torch.nn.Module) and hasattr(model, "generation_config"):
        param = next(model.parameters())
        choice = ModelChoice(name=type(model).__name__, device=str(param.device), dtype=param.dtype)
        return LanguageModel(model=model.eval(), tokenizer=None, choice=choice, load_seconds=0.0)
    return as_language_model(model)


def _with_text_config(outer, text_config):
    outer = copy.deepcopy(outer)
    for name in ("text_config",):
        if hasattr(outer, name):
            setattr(outer, name, text_config)
    return outer


def check_draft(lm: LanguageModel, draft: LanguageModel) -> None:
    """Refuse a draft whose vocabulary (the width of its logits) is not the target's."""
    if draft.vocab_size != lm.vocab_size:
        raise ValueError(
            f"`draft` has to have the target's vocabulary, logits of width [{lm.vocab_size}, {lm.vocab_size}], "
            f"but its logits are {draft.vocab_size} wide"
        )


# --------------------------------------------------------------------------------------------------
# What a run records
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """One token the draft proposed, and what the target made of it.

    Attributes:
        token_id: the proposed token.
        position: its position in the generated text (0 = the first new token).
        accepted: the target kept it.
        target_token: the target's own choice at this position: its argmax (greedy), or its draw
            from ``p`` (prompt lookup when sampling); ``None`` under the acceptance rule.
        draft_prob: ``q(x)``, the draft's probability of the token (``None`` for prompt lookup).
        target_prob: ``p(x)``, the target's probability of it under the configuration's scores.
        uniform: the ``torch.rand`` value ``r`` the acceptance test drew: kept iff
            ``r <= p(x) / q(x)`` (sampling with a draft model only).
        reached: the target judged it (every proposal up to and including the first rejection).
    """

    token_id: int
    position: int
    accepted: bool
    target_token: int | None
    draft_prob: float | None
    target_prob: float
    uniform: float | None
    reached: bool

    @property
    def ratio(self) -> float | None:
        """``p(x) / q(x)``: the acceptance probability is ``min(1, ratio)``."""
        if self.draft_prob is None:
            return None
        return math.inf if self.draft_prob == 0 else self.target_prob / self.draft_prob


@dataclass
class SpeculativeRound:
    """One round: the draft's proposals, one target forward pass, the tokens it added.

    Attributes:
        gamma: the draft length asked for in this round (the schedule's value; the draft
            proposes fewer near the length limit or after an end-of-sequence token).
        proposals: what the draft proposed, in order.
        accepted: how many proposals were kept (after the end-of-sequence / length cut).
        tokens: the tokens this round added: the kept proposals and the target's own token.
        resampled: the target's token was drawn from the residual ``norm(max(0, p − q))``
            (a proposal was rejected while sampling).
        residual: that residual distribution, full vocabulary, on the CPU (``None`` otherwise).
        target_probs: ``p`` at the position of the target's own token, full vocabulary (the
            distribution of the bonus token when nothing was rejected), only with ``keep=True``.
        draft_probs: ``q`` at that position (draft-model sampling with a rejection), only with
            ``keep=True``.
    """

    gamma: int
    proposals: list[Proposal]
    accepted: int
    tokens: list[int]
    resampled: bool = False
    residual: torch.Tensor | None = field(default=None, repr=False)
    target_probs: torch.Tensor | None = field(default=None, repr=False)
    draft_probs: torch.Tensor | None = field(default=None, repr=False)

    @property
    def rejected(self) -> bool:
        """A proposal was judged and refused in this round."""
        return any(p.reached and not p.accepted for p in self.proposals)


@dataclass
class SpeculativeRun:
    """A speculative generation and what happened in every round.

    Attributes:
        prompt_ids: the prompt, ``(1, length)``.
        rounds: one :class:`SpeculativeRound` per target forward pass.
        config: the decoding configuration.
        gamma: the draft length asked for at the start.
        schedule: ``"constant"`` or ``"heuristic"``.
        seed: the seed set with ``torch.manual_seed`` before the first round.
        target_forward_passes: target model calls (one per round).
        draft_forward_passes: draft model calls (one per proposal; prompt lookup makes none).
        seconds: wall time of the run.
        proposer: ``"draft"`` or ``"prompt lookup"``.
        lm: the target (for its tokenizer).
    """

    prompt_ids: torch.Tensor
    rounds: list[SpeculativeRound]
    config: DecodingConfig
    gamma: int
    schedule: str
    seed: int
    target_forward_passes: int
    draft_forward_passes: int
    seconds: float
    proposer: str
    lm: LanguageModel = field(repr=False)

    @property
    def token_ids(self) -> list[int]:
        """The generated ids (without the prompt)."""
        return [t for r in self.rounds for t in r.tokens]

    @property
    def sequence(self) -> torch.Tensor:
        """Prompt and generated ids, ``(1, length)``: what ``generate()`` returns."""
        return torch.cat([self.prompt_ids.cpu(), torch.tensor([self.token_ids], dtype=torch.long)], dim=-1)

    @property
    def text(self) -> str:
        return self.lm.tokenizer.decode(self.token_ids, skip_special_tokens=True)

    @property
    def visible_text(self) -> str:
        return decode_visible(self.lm.tokenizer, self.token_ids)

    @property
    def proposed(self) -> int:
        """Proposals made, judged or not."""
        return sum(len(r.proposals) for r in self.rounds)

    @property
    def accepted(self) -> int:
        """Proposals kept."""
        return sum(r.accepted for r in self.rounds)

    @property
    def judged(self) -> int:
        """Proposals the target judged: the kept ones and each round's first rejected one."""
        return sum(r.accepted + (1 if r.rejected else 0) for r in self.rounds)

    @property
    def acceptance_rate(self) -> float:
        """Kept proposals / judged proposals: the estimate of the paper's α (0 when none was judged)."""
        return self.accepted / self.judged if self.judged else 0.0

    @property
    def tokens_per_pass(self) -> float:
        """Generated tokens per target forward pass (1.0 for ordinary decoding)."""
        return len(self.token_ids) / self.target_forward_passes

    def rounds_table(self, rounds: int | None = None) -> str:
        """The first ``rounds`` rounds (default: all) as a Markdown table: per proposal its token,
        ``q(x)``, ``p(x)``, the uniform ``r`` of the acceptance test and the outcome, then the token
        the target added itself. A proposal after the first rejection was never judged: its ``r``
        (drawn with the others) decided nothing, and shows as ``—``.

        Examples:
            >>> print(run.rounds_table(1))                     # doctest: +SKIP
            | round | token | q(x) | p(x) | r | outcome |
            ...
        """
        from .lesson import markdown_table

        if rounds is not None:
            check_int("rounds", rounds, 1)
        code = self.lm.code if getattr(self.lm, "tokenizer", None) is not None else str
        three = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
        rows = []
        for number, r in enumerate(self.rounds[:rounds], start=1):
            for p in r.proposals:
                verdict = "kept" if p.accepted else ("rejected" if p.reached else "not judged")
                rows.append([number, code(p.token_id), three(p.draft_prob), three(p.target_prob), three(p.uniform) if p.reached else "—", verdict])
            how = "from the residual" if r.resampled else ("bonus, from p" if r.accepted == len(r.proposals) else "the target's choice")
            rows.append([number, code(r.tokens[-1]), "", "", "", f"target's token ({how})"])
        return markdown_table(["round", "token", "q(x)", "p(x)", "r", "outcome"], rows, align="rlrrrl")


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


class _Runner:
    """A causal LM with its own KV cache, called as ``generate()`` calls it in assisted decoding."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.cache = None
        self.forward_passes = 0
        self.device = next(model.parameters()).device

    @property
    def length(self) -> int:
        return 0 if self.cache is None else self.cache.get_seq_length()

    def crop(self, length: int) -> None:
        """Forget every cached position from ``length`` on (a no-op when the cache is shorter)."""
        if self.cache is not None and self.length >= length:
            self.cache.crop(-(self.length - length))

    def __call__(self, sequence: torch.Tensor, keep: int, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Feed the positions of ``sequence`` the cache lacks; the last ``keep`` positions' logits, float32.
        ``mask``: an attention mask over the whole sequence (``None``: every position is seen)."""
        from transformers import DynamicCache

        if self.cache is None:
            self.cache = DynamicCache(config=self.model.config.get_text_config(decoder=True))
            self.cache.activate_past_recording()  # as generate(): a sliding-window layer can then be cropped
        start = self.length
        new = sequence[:, start:].to(self.device)
        positions = torch.arange(start, sequence.shape[1], device=self.device)[None]
        extra = {} if mask is None else {"attention_mask": mask.to(self.device)}
        out = self.model(
            input_ids=new, position_ids=positions, cache=self.cache, use_cache=True, logits_to_keep=keep, return_dict=True,
            **extra,
        )
        self.cache = out.cache
        self.forward_passes += 1
        return out.logits[:, -keep:].to(dtype=torch.float32)


def _draft_proposals(draft: _Runner, processors, sequence, count, do_sample, eos, pad):
    """The draft's own ``generate()`` call (``AssistedCandidateGenerator``): ``count`` tokens, one
    forward pass each, stopping after an end-of-sequence token. Returns the proposals and their
    scores ``(1, proposals, vocab)``.

    That call passes the draft no attention mask, so ``generate()`` infers one from the text: where
    the pad id differs from every EOS id and occurs in the text, those positions are masked for the
    draft (never for the target). With pad = EOS, as in most causal LMs, nothing is masked."""
    draft.crop(sequence.shape[1] - 2)  # generate() re-feeds the last two tokens of the text
    mask = None
    if pad is not None and pad not in eos and bool((sequence == pad).any()):
        mask = sequence.ne(pad).long()
    tokens, scores = [], []
    for j in range(count):
        if mask is not None and mask.shape[1] < sequence.shape[1]:  # tokens drafted in this call are seen
            mask = torch.cat([mask, mask.new_ones((1, sequence.shape[1] - mask.shape[1]))], dim=-1)
        logits = draft(sequence, keep=1, mask=mask)[:, -1].clone()
        step_scores = processors(sequence, logits)
        scores.append(step_scores)
        if do_sample:
            token = torch.multinomial(torch.softmax(step_scores, dim=-1), num_samples=1).squeeze(1)
        else:
            token = torch.argmax(step_scores, dim=-1)
        sequence = torch.cat([sequence, token[:, None].to(sequence.device)], dim=-1)
        tokens.append(int(token[0]))
        if tokens[-1] in eos:
            break
    return tokens, torch.stack(scores, dim=1)


def _lookup_proposals(sequence, count, max_ngram, max_length, processors, vocab_size, eos):
    """``PromptLookupCandidateGenerator.get_candidates``: the tokens that followed the first
    (leftmost) earlier occurrence of the text's last n-gram (n from ``max_ngram`` down to 1), up
    to ``count`` of them, cut before a token the processors forbid and before an end-of-sequence
    token."""
    length = sequence.shape[1]
    if max_length == length + 1:
        return []
    for n in range(min(max_ngram, length - 1), 0, -1):
        windows = sequence.unfold(dimension=1, size=n, step=1)
        matches = (windows == sequence[0, -n:]).all(dim=2).nonzero(as_tuple=True)[1]
        for index in matches.tolist():
            start = index + n
            end = min(start + count, length, max_length)
            if start >= end:
                continue
            chosen = sequence[0, start:end]
            if len(processors) > 0:  # drop a candidate the processors would forbid (fake all-ones logits)
                with_candidate = sequence
                ones = torch.ones((1, vocab_size), device=sequence.device, dtype=torch.float32)
                for i, token in enumerate(chosen):
                    value = processors(with_candidate, ones)[0, token]
                    if value in (-float("inf"), torch.finfo(value.dtype).min):
                        chosen = chosen[:i]
                        break
                    with_candidate = torch.cat((sequence, chosen[: i + 1].unsqueeze(0)), dim=1)
                if chosen.shape[0] == 0:
                    continue
            tokens = chosen.tolist()
            cut = next((i for i, t in enumerate(tokens) if t in eos), None)
            return tokens if cut is None else tokens[:cut]
    return []


def _pad_id(lm: LanguageModel) -> int | None:
    """The pad id :func:`~decoding_lessons.reference_generate` gives ``generate()`` (the tokenizer's,
    or for a bare model its ``generation_config``'s), or, as ``generate()`` does without one, the
    first EOS id."""
    pad = lm.tokenizer.pad_token_id if lm.tokenizer is not None else lm.model.generation_config.pad_token_id
    if pad is None:
        eos = eos_token_ids(lm.model.generation_config)
        pad = eos[0] if eos else None
    return None if pad is None else int(pad)


def _sampling_warpers(config: DecodingConfig, lm: LanguageModel, prompt_length: int, max_length: int) -> list:
    """The sampling-only processors of ``config`` (temperature, top-k, top-p, ...), in order.

    ``generate()`` applies them twice to the draft's logits: the draft's own ``generate()`` call
    receives the target's whole processor list, and its ``_get_logits_processor`` appends the
    warpers of its generation config (a copy of the target's) after that list. The draft then
    samples from, and the acceptance rule divides by, that twice-warped ``q``: temperature ``T``
    acts as ``T²``, top-p cuts twice. Top-k is the same twice; the output is ``p``'s either way."""
    generation_config = lm.model.generation_config
    if not config.resolved(generation_config)["do_sample"]:
        return []
    where = dict(prompt_length=prompt_length, max_length=max_length, vocab_size=lm.vocab_size)
    every = logits_processors(config, generation_config, **where)
    kept_when_greedy = {type(p) for p in logits_processors(config.replace(do_sample=False), generation_config, **where)}
    return [p for p in every if type(p) not in kept_when_greedy]


def _check_run_args(config, max_new_tokens, seed, **counts):
    check_config(config)
    check_int("max_new_tokens", max_new_tokens, 1)
    for name, value in counts.items():
        check_int(name, value, 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` has to be an integer, but is {seed!r}")


@torch.inference_mode()
def _speculative_loop(lm, prompt, config, max_new_tokens, gamma, seed, schedule, keep, propose, proposer):
    config = config or DecodingConfig()
    target = _Runner(lm.model)
    generation_config = lm.model.generation_config
    ids = to_prompt_ids(ModelDecoder(lm.model, lm.tokenizer), prompt, max_new_tokens)
    prompt_length = ids.shape[1]
    max_length = prompt_length + max_new_tokens
    processors = logits_processors(
        config, generation_config, prompt_length=prompt_length, max_length=max_length, vocab_size=lm.vocab_size
    )
    do_sample = bool(config.resolved(generation_config)["do_sample"])
    draft_processors = LogitsProcessorList([*processors, *_sampling_warpers(config, lm, prompt_length, max_length)])
    eos = set(eos_token_ids(generation_config))  # generate() reads them there (the draft's are set to the same)

    torch.manual_seed(seed)
    started = time.perf_counter()
    rounds: list[SpeculativeRound] = []
    sequence = ids
    length_now = gamma
    while True:
        length = sequence.shape[1]
        # 1. the proposals
        proposals, draft_scores = propose(sequence, length_now, max_length, processors, draft_processors, do_sample, eos)
        count = len(proposals)
        candidate = torch.cat([sequence, torch.tensor([proposals], dtype=torch.long, device=sequence.device)], dim=-1)
        # 2. one target pass over the text's uncached positions: the logits of every proposal and one more
        logits = target(candidate, keep=count + 1).to(sequence.device)
        for i in range(count + 1):
            logits[:, i, :] = processors(candidate[:, : length + i], logits[:, i, :])
        p = logits.softmax(dim=-1)
        # 3. which proposals are kept, and the target's own token
        residual = q_next = None
        resampled = False
        records = []
        if do_sample and draft_scores is not None:  # the acceptance rule (Leviathan et al., algorithm 1)
            q = draft_scores.softmax(dim=-1)
            index = torch.arange(count)
            prop = torch.tensor([proposals], dtype=torch.long, device=sequence.device)
            q_i = q[:, index, prop].squeeze(0, 1)
            p_i = p[:, index, prop].squeeze(0, 1)
            ratio = p_i / q_i
            uniforms = torch.rand_like(ratio)
            is_accepted = uniforms <= ratio
            n = int(((~is_accepted).cumsum(dim=-1) < 1).sum())
            if n < count:
                residual = torch.clamp(p[:, n, :] - q[:, n, :], min=0)
                residual.div_(residual.sum())
                choice_dist, resampled, q_next = residual, True, q[0, n]
            else:
                choice_dist = p[:, n, :]
            own = int(torch.multinomial(choice_dist, num_samples=1).squeeze(1)[0])
            records = [
                Proposal(
                    token_id=proposals[i], position=length - prompt_length + i, accepted=i < n, target_token=None,
                    draft_prob=float(q_i[i]), target_prob=float(p_i[i]), uniform=float(uniforms[i]), reached=i <= n,
                )
                for i in range(count)
            ]
            valid = proposals[:n] + [own]
        else:  # the target's own choice at every position; proposals kept while they agree
            if do_sample:
                selected = torch.multinomial(p[0, :, :], num_samples=1).squeeze(1)
            else:
                selected = logits.argmax(dim=-1)[0]
            chosen = selected.tolist()
            n = 0
            while n < count and proposals[n] == chosen[n]:
                n += 1
            q_dist = None if draft_scores is None else draft_scores.softmax(dim=-1)
            records = [
                Proposal(
                    token_id=proposals[i], position=length - prompt_length + i, accepted=i < n, target_token=chosen[i],
                    draft_prob=None if q_dist is None else float(q_dist[0, i, proposals[i]]),
                    target_prob=float(p[0, i, proposals[i]]), uniform=None, reached=i <= n,
                )
                for i in range(count)
            ]
            valid = chosen[: n + 1]
        # the length limit and the first end-of-sequence token end the text
        valid = valid[: max_length - length]
        cut = next((i for i, t in enumerate(valid) if t in eos), None)
        if cut is not None:
            valid = valid[: cut + 1]
        n = len(valid) - 1
        # 4. keep the text, forget the cached positions of the refused proposals
        sequence = torch.cat([sequence, torch.tensor([valid], dtype=torch.long, device=sequence.device)], dim=-1)
        target.crop(sequence.shape[1] - 1)
        rounds.append(
            SpeculativeRound(
                gamma=length_now, proposals=records, accepted=n, tokens=valid, resampled=resampled,
                residual=residual[0].cpu() if residual is not None else None,
                target_probs=p[0, min(n, count)].cpu().clone() if keep else None,
                draft_probs=q_next.cpu().clone() if keep and q_next is not None else None,
            )
        )
        # 5. the schedule (generate()'s "heuristic": +2 after a round with every proposal kept, else -1)
        if schedule == "heuristic":
            length_now = length_now + 2 if n == count else max(1, length_now - 1)
        if sequence.shape[1] >= max_length or valid[-1] in eos:
            break
    seconds = time.perf_counter() - started
    return SpeculativeRun(
        prompt_ids=ids.cpu(), rounds=rounds, config=config, gamma=gamma, schedule=schedule, seed=seed,
        target_forward_passes=target.forward_passes, draft_forward_passes=getattr(propose, "forward_passes", lambda: 0)(),
        seconds=seconds, proposer=proposer, lm=lm,
    )


def speculative_generate(
    lm,
    draft,
    prompt,
    config: DecodingConfig | None = None,
    *,
    max_new_tokens: int,
    gamma: int = 4,
    schedule: str = "constant",
    seed: int = 0,
    keep: bool = False,
) -> SpeculativeRun:
    """Speculative decoding with a draft model, recorded round by round.

    The loop is transformers 5's ``GenerationMixin._assisted_decoding`` with an
    ``AssistedCandidateGenerator``:

    1. the draft proposes up to ``gamma`` tokens, one forward pass each (with the configuration's
       processors; it samples from its own scores when ``do_sample``, else takes their argmax),
       never more than ``max_length - length - 1`` and stopping after an end-of-sequence token;
    2. the target runs once over the text's uncached positions and the proposals, giving the
       scores ``p`` of every proposal's position and of one position more;
    3. greedy: the proposals are kept while each equals the target's argmax, and the target's
       argmax follows. Sampling: proposal ``x`` is kept while ``r <= p(x) / q(x)`` (``r`` from
       ``torch.rand``), and the target draws its token from ``norm(max(0, p − q))`` at the first
       rejection, or from ``p`` after the last proposal when all are kept;
    4. the text is cut after an end-of-sequence token and at the length limit; the target's and
       the draft's KV caches forget the refused positions;
    5. with ``schedule="heuristic"`` the next draft length is ``gamma + 2`` after a round that kept
       every proposal, else ``max(1, gamma - 1)``.

    ``torch.manual_seed(seed)`` is called first, and the loop draws from torch's global generator
    in ``generate()``'s order, so :func:`reference_speculative` with the same seed returns the same
    tokens.

    Args:
        lm: the target model.
        draft: a model with the target's vocabulary, e.g. :func:`early_exit_draft`.
        prompt: text or token ids ``(1, length)``.
        config: the decoding configuration (its processors act on the draft's scores and on the
            target's, as in ``generate()``).
        max_new_tokens: the length limit, >= 1.
        gamma: the draft length γ, >= 1 (``generate()``'s ``num_assistant_tokens``).
        schedule: ``"constant"`` or ``"heuristic"`` (``num_assistant_tokens_schedule``).
        seed: passed to ``torch.manual_seed`` first (this reseeds torch's global generator).
        keep: also keep, per round, ``p`` and ``q`` at the position of the target's own token.

    Returns:
        A :class:`SpeculativeRun`: ``.token_ids``, ``.rounds``, ``.acceptance_rate``,
        ``.tokens_per_pass``, ``.target_forward_passes``, ``.draft_forward_passes``, ``.seconds``.

    Raises:
        ValueError: ``gamma < 1``, a draft whose vocabulary differs from the target's, an unknown
            schedule.

    Examples:
        >>> run = speculative_generate(lm, early_exit_draft(lm, 8), "2 + 2 = ", max_new_tokens=8, gamma=3)
        >>> run.target_forward_passes <= len(run.token_ids)
        True
    """
    _check_run_args(config, max_new_tokens, seed, gamma=gamma)
    if schedule not in SCHEDULES:
        raise ValueError(f"`schedule` has to be one of {', '.join(map(repr, SCHEDULES))}, but is {schedule!r}")
    lm, draft = _as_lm(lm), _as_lm(draft)
    check_draft(lm, draft)
    runner = _Runner(draft.model)
    pad = _pad_id(lm)

    def propose(sequence, count, max_length, processors, draft_processors, do_sample, eos):
        count = min(count, max_length - sequence.shape[1] - 1)
        if count <= 0:
            return [], None
        return _draft_proposals(runner, draft_processors, sequence, count, do_sample, eos, pad)

    propose.forward_passes = lambda: runner.forward_passes
    return _speculative_loop(lm, prompt, config, max_new_tokens, gamma, seed, schedule, keep, propose, "draft")


def prompt_lookup_generate(
    lm,
    prompt,
    config: DecodingConfig | None = None,
    *,
    max_new_tokens: int,
    num_tokens: int = 10,
    max_ngram: int = 2,
    seed: int = 0,
) -> SpeculativeRun:
    """Prompt lookup decoding: the proposals are copied from the text itself.

    ``generate(prompt_lookup_num_tokens=num_tokens)`` (Saxena 2023,
    `prompt-lookup-decoding <https://github.com/apoorvumang/prompt-lookup-decoding>`_): the text's
    last ``n`` tokens (``n`` from ``max_ngram`` down to 1) are looked up in the text; the first
    place they occur, its next ``num_tokens`` tokens are the proposals. No draft model, no draft
    forward pass: text that repeats itself (code being edited, a document being quoted, a list)
    is accepted in long runs; anywhere else there is often nothing to propose and the round is an
    ordinary step. The target checks the proposals as it checks a draft model's (greedy: its
    argmax; sampling: its own draw at each position, kept while equal to the proposal), so the
    output is again the target's own.

    Args:
        lm: the model.
        prompt: text or token ids.
        config: the decoding configuration.
        max_new_tokens: the length limit, >= 1.
        num_tokens: proposals per round, >= 1 (``prompt_lookup_num_tokens``).
        max_ngram: the longest n-gram looked up, >= 1 (``max_matching_ngram_size``).
        seed: passed to ``torch.manual_seed`` first.

    Examples:
        >>> run = prompt_lookup_generate(lm, "a b c d a b c d a b", max_new_tokens=6)
        >>> run.draft_forward_passes
        0
    """
    _check_run_args(config, max_new_tokens, seed, num_tokens=num_tokens, max_ngram=max_ngram)
    lm = _as_lm(lm)

    def propose(sequence, count, max_length, processors, draft_processors, do_sample, eos):
        return _lookup_proposals(sequence, count, max_ngram, max_length, processors, lm.vocab_size, eos), None

    return _speculative_loop(lm, prompt, config, max_new_tokens, num_tokens, seed, "constant", False, propose, "prompt lookup")


# --------------------------------------------------------------------------------------------------
# The oracle and the theory
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _assistant_settings(model, gamma: int, schedule: str):
    """The draft's ``generation_config`` set as the loop assumes it, and put back afterwards
    (``generate()`` writes the heuristic's last draft length into it)."""
    config = model.generation_config
    names = ("num_assistant_tokens", "num_assistant_tokens_schedule", "assistant_confidence_threshold")
    saved = {name: getattr(config, name, None) for name in names}
    config.num_assistant_tokens, config.num_assistant_tokens_schedule, config.assistant_confidence_threshold = gamma, schedule, 0.0
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(config, name, value)


def reference_speculative(
    lm,
    draft,
    prompt,
    config: DecodingConfig | None = None,
    *,
    max_new_tokens: int,
    gamma: int = 4,
    schedule: str = "constant",
    seed: int = 0,
    early_exit: int | None = None,
    prompt_lookup: int | None = None,
    max_ngram: int = 2,
) -> torch.Tensor:
    """transformers' own assisted ``generate()``, with the settings :func:`speculative_generate` uses.

    ``generate(assistant_model=draft, ...)`` with the draft's ``num_assistant_tokens=gamma``,
    ``num_assistant_tokens_schedule=schedule`` and ``assistant_confidence_threshold=0`` (set on its
    ``generation_config`` for the call and put back afterwards); ``early_exit=k`` calls
    ``generate(assistant_early_exit=k)`` instead (no draft model: the target's first ``k``
    layers, the settings on the target's ``generation_config``), and ``prompt_lookup=n`` calls
    ``generate(prompt_lookup_num_tokens=n, max_matching_ngram_size=max_ngram)``. The global torch
    generator is seeded right before the call.

    Returns:
        The sequences, ``(1, prompt + new)``.
    """
    from .reference import reference_generate

    _check_run_args(config, max_new_tokens, seed, gamma=gamma)
    lm = _as_lm(lm)
    target = lm if lm.tokenizer is not None else lm.model  # a bare model: reference_generate takes ids
    if prompt_lookup is not None:
        check_int("prompt_lookup", prompt_lookup, 1)
        return reference_generate(
            target, prompt, config, max_new_tokens=max_new_tokens, seed=seed,
            prompt_lookup_num_tokens=prompt_lookup, max_matching_ngram_size=max_ngram,
        )
    if early_exit is not None:
        with _assistant_settings(lm.model, gamma, schedule):
            return reference_generate(target, prompt, config, max_new_tokens=max_new_tokens, seed=seed, assistant_early_exit=early_exit)
    draft = _as_lm(draft)
    check_draft(lm, draft)
    with _assistant_settings(draft.model, gamma, schedule):
        return reference_generate(target, prompt, config, max_new_tokens=max_new_tokens, seed=seed, assistant_model=draft.model)


def emission_probs(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The distribution of the token one speculative step emits, worked out exactly.

    A proposal ``x ~ q`` is kept with probability ``min(1, p(x)/q(x))``, so token ``x`` comes out
    as a kept proposal with probability ``min(p(x), q(x))``; a rejection happens with probability
    ``β̄ = 1 − Σ min(p, q)``, and then the token is drawn from ``norm(max(0, p − q))``. The sum,
    ``min(p, q) + β̄ · norm(max(0, p − q))``, is ``p`` itself (Leviathan et al., theorem 3.5):
    ``Σ max(0, p − q) = 1 − Σ min(p, q) = β̄``. This computes it, in float64, from the two vectors.

    Examples:
        >>> p, q = torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.2, 0.2, 0.6])
        >>> torch.allclose(emission_probs(p, q), p.double())
        True
    """
    p, q = p.double(), q.double()
    kept = torch.minimum(p, q)
    rest = torch.clamp(p - q, min=0)
    total = float(rest.sum())
    if total == 0.0:
        return kept
    return kept + (1.0 - float(kept.sum())) * rest / total


def acceptance_probability(p: torch.Tensor, q: torch.Tensor) -> float:
    """``β = Σ min(p, q)``: the probability that a proposal drawn from ``q`` is kept (the paper's
    α is its expectation over positions)."""
    return float(torch.minimum(p.double(), q.double()).sum())


def speculative_draws(
    p: torch.Tensor, q: torch.Tensor, n: int, seed: int = 0, config: DecodingConfig | None = None
) -> SampleResult:
    """``n`` independent speculative steps from one position, batched: the emitted tokens' counts.

    Each step draws a proposal from ``q``, a uniform ``r``, keeps the proposal when
    ``r <= p(x) / q(x)``, and otherwise draws from ``norm(max(0, p − q))``: the rule of
    :func:`speculative_generate`, ``n`` times at once with a seeded ``torch.Generator`` (the global
    one is left alone). The result's ``probs`` is ``p``, the target's distribution, and
    ``tv_distance`` / ``tv_bound`` say whether the draws follow it (:func:`tv_bound`).

    Args:
        p: the target's probabilities (e.g. ``softmax(scores)`` of the first new token).
        q: the draft's probabilities at the same position.
        n: number of draws, >= 1.
        seed: the generator's seed.
        config: the configuration ``p`` and ``q`` were computed under (recorded in the result, for
            :func:`~decoding_lessons.histogram_chart`).

    Examples:
        >>> p, q = torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.2, 0.2, 0.6])
        >>> r = speculative_draws(p, q, 20_000)
        >>> r.tv_distance < r.tv_bound
        True
    """
    check_int("n", n, 1)
    if p.shape != q.shape or p.dim() != 1:
        raise ValueError(f"`p` and `q` have to be vectors of the same length, but have shapes {tuple(p.shape)} and {tuple(q.shape)}")
    generator = torch.Generator().manual_seed(seed)
    p32, q32 = p.float().cpu(), q.float().cpu()
    proposals = torch.multinomial(q32, n, replacement=True, generator=generator)
    uniforms = torch.rand(n, generator=generator)
    kept = uniforms <= p32[proposals] / q32[proposals]
    residual = torch.clamp(p32 - q32, min=0)
    tokens = proposals.clone()
    rejected = int((~kept).sum())
    if rejected:
        tokens[~kept] = torch.multinomial(residual / residual.sum(), rejected, replacement=True, generator=generator)
    counts = torch.bincount(tokens, minlength=p.shape[-1])
    tv = 0.5 * float((counts.double() / n - p.double().cpu()).abs().sum())
    return SampleResult(
        counts=counts, n=n, probs=p.cpu(), config=config or DecodingConfig(do_sample=True), seed=seed, tv_distance=tv,
        tv_bound=tv_bound(p.cpu(), n),
    )


def expected_tokens_per_pass(alpha: float, gamma: int) -> float:
    """``(1 − α^(γ+1)) / (1 − α)``: the expected tokens per target forward pass when each proposal
    is kept with probability ``α``, independently (Leviathan et al., equation 1); ``γ + 1`` at
    ``α = 1``.

    Examples:
        >>> expected_tokens_per_pass(0.0, 4), expected_tokens_per_pass(1.0, 4), round(expected_tokens_per_pass(0.5, 4), 4)
        (1.0, 5.0, 1.9375)
    """
    check_float("alpha", alpha, 0, 1)
    check_int("gamma", gamma, 1)
    if alpha == 1.0:
        return float(gamma + 1)
    return (1 - alpha ** (gamma + 1)) / (1 - alpha)


__all__ = [
    "Proposal",
    "SCHEDULES",
    "SpeculativeRound",
    "SpeculativeRun",
    "acceptance_probability",
    "check_draft",
    "early_exit_draft",
    "emission_probs",
    "expected_tokens_per_pass",
    "prompt_lookup_generate",
    "reference_speculative",
    "speculative_draws",
    "speculative_generate",
]
