"""Constraints built from the tokenizer: a small grammar for ``prefix_allowed_tokens_fn``, and what
a control does to one distribution.

``generate(prefix_allowed_tokens_fn=fn)`` calls ``fn(batch_id, input_ids)`` before every step and
gives every token the function does not list a score of ``-inf``. A finite grammar (a list of
valid answers: choices, or every JSON object of a small schema) is a trie of the answers' token
ids: after the tokens generated so far, the allowed tokens are the trie node's children, and EOS
once an answer is complete. :class:`ChoiceGrammar` is that function, built from the model's own
tokenizer, so no token id is ever written by hand.

:func:`shift` measures what one configuration changes against another on the full distribution:
the probability mass it removes, the mass it moves, and which tokens gain and lose.

Examples:
    >>> grammar = choice_grammar(lm, ["yes", "no"], "Is the sky blue? Answer:")
    >>> cfg = DecodingConfig(prefix_allowed_tokens_fn=grammar)
    >>> trace = generate_with_trace(lm, "Is the sky blue? Answer:", cfg, max_new_tokens=4)
    >>> grammar.text(trace.token_ids) in ("yes", "no")
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .checks import check_int
from .loading import as_language_model


class ChoiceGrammar:
    """``prefix_allowed_tokens_fn`` for a finite grammar: the output is one of ``choices``, then EOS.

    Each choice is tokenized on its own (no special tokens), and the choices' token sequences form a
    trie. At every step the allowed tokens are the children of the node the generated tokens lead
    to, and EOS where a choice ends. The model still picks among the allowed tokens by its own
    scores, so the grammar decides *what* may be said and the model *which* of it.

    Args:
        tokenizer: the model's tokenizer.
        choices: the valid outputs (non-empty strings, at least one).
        prompt_length: the prompt's length in tokens: the tokens after it are the generated ones.
        eos_token_id: the token that ends an answer (the model's EOS).

    Examples:
        >>> g = ChoiceGrammar(lm.tokenizer, ["red", "green"], prompt_length=3, eos_token_id=2)
        >>> sorted(g.allowed([])) == sorted({g.sequences[0][0], g.sequences[1][0]})
        True
        >>> g.allowed(list(g.sequences[0]))
        [2]
    """

    def __init__(self, tokenizer, choices, prompt_length: int, eos_token_id: int):
        if isinstance(choices, str) or not isinstance(choices, (list, tuple)) or not choices:
            raise ValueError(f"`choices` has to be a non-empty list of non-empty strings, but is {choices!r}")
        if not all(isinstance(c, str) and c for c in choices):
            raise ValueError(f"`choices` has to be a non-empty list of non-empty strings, but holds {choices!r}")
        check_int("prompt_length", prompt_length, 1)
        check_int("eos_token_id", eos_token_id, 0)
        self.tokenizer = tokenizer
        self.choices = tuple(choices)
        self.prompt_length = prompt_length
        self.eos_token_id = eos_token_id
        self.sequences = tuple(tuple(tokenizer(c, add_special_tokens=False).input_ids) for c in self.choices)
        self._trie: dict = {}
        for seq in self.sequences:
            node = self._trie
            for token in seq:
                node = node.setdefault(token, {})
            node[None] = True  # an answer ends here

    def allowed(self, generated) -> list[int]:
        """The tokens allowed after ``generated`` (the ids generated so far): ``[]`` off the grammar."""
        node = self._trie
        for token in generated:
            node = node.get(int(token))
            if node is None:
                return []
        return [t for t in node if t is not None] + ([self.eos_token_id] if None in node else [])

    def __call__(self, batch_id: int, input_ids: torch.Tensor) -> list[int]:
        """What ``generate()`` calls: the allowed tokens after ``input_ids`` (prompt + generated)."""
        return self.allowed(input_ids[self.prompt_length:].tolist())

    def text(self, token_ids) -> str:
        """The generated ids as text, without the EOS."""
        ids = [int(t) for t in token_ids if int(t) != self.eos_token_id]
        return self.tokenizer.decode(ids)

    @property
    def __name__(self) -> str:  # how DecodingConfig.describe() names it
        return f"grammar({len(self.choices)} answers)"


def choice_grammar(lm, choices, prompt) -> ChoiceGrammar:
    """:class:`ChoiceGrammar` for ``lm`` after ``prompt``: its tokenizer, its first EOS id, the
    prompt's length as ``generate()`` will see it.

    Args:
        lm: a :class:`~decoding_lessons.LanguageModel`.
        choices: the valid outputs.
        prompt: the prompt text (or ids) the generation starts from.
    """
    lm = as_language_model(lm)
    eos = lm.model.generation_config.eos_token_id
    if eos is None:
        raise ValueError("`lm` has to have an EOS id for a grammar to end its answers, but its generation_config has none")
    eos = eos if isinstance(eos, int) else list(eos)[0]
    length = lm.encode(prompt).shape[1] if isinstance(prompt, str) else torch.as_tensor(prompt).reshape(1, -1).shape[1]
    return ChoiceGrammar(lm.tokenizer, choices, length, int(eos))


@dataclass(frozen=True)
class Shift:
    """What ``config`` changes against ``base`` on one full distribution.

    Attributes:
        before, after: ``softmax`` of the scores under ``base`` and under ``config``.
        removed: the mass ``before`` put on tokens that ``config`` gives ``-inf``.
        moved: total variation ``½ Σ |after − before|``: how much probability changed hands.
        kept_before, kept_after: tokens with a finite score under each.
        gained, lost: the token ids whose probability rose most / fell most, most first (10 each).
    """

    before: torch.Tensor
    after: torch.Tensor
    removed: float
    moved: float
    kept_before: int
    kept_after: int
    gained: tuple[int, ...]
    lost: tuple[int, ...]


def shift(step, config, base=None, **position) -> Shift:
    """What ``config``'s processors remove or shift against ``base`` (default: no processor at all,
    ``softmax(logits)``), on the whole vocabulary. ``position``: ``prompt_length`` /
    ``max_new_tokens`` as for :meth:`~decoding_lessons.NextToken.scores`.

    Examples:
        >>> step = cap("The sky is")
        >>> s = shift(step, DecodingConfig(suppress_tokens=[int(step.logits.argmax())]))
        >>> abs(s.removed - float(step.probs().max())) < 1e-6 and s.kept_after == s.kept_before - 1
        True
    """
    from .scoring import DecodingConfig, probabilities

    base_scores = step.scores(base or DecodingConfig(), **position)
    scores = step.scores(config, **position)
    before, after = probabilities(base_scores), probabilities(scores)
    diff = after.double() - before.double()
    n = min(10, diff.numel())
    return Shift(
        before=before,
        after=after,
        removed=float(before.double()[scores.isneginf() & ~base_scores.isneginf()].sum()),
        moved=0.5 * float(diff.abs().sum()),
        kept_before=int(torch.isfinite(base_scores).sum()),
        kept_after=int(torch.isfinite(scores).sum()),
        gained=tuple(int(i) for i, d in zip(diff.topk(n).indices, diff.topk(n).values) if d > 0),
        lost=tuple(int(i) for i, d in zip((-diff).topk(n).indices, (-diff).topk(n).values) if d > 0),
    )


__all__ = ["ChoiceGrammar", "Shift", "choice_grammar", "shift"]
