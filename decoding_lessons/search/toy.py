"""A hand-built "language model" whose searches can be worked out with pencil and paper.

The next token's probabilities depend only on the last token, and you write them down:

Examples:
    >>> toy = BigramModel(
    ...     ["<s>", "A", "B", "<eos>"],
    ...     {"<s>": {"A": 0.5, "B": 0.3, "<eos>": 0.2}, "A": {"B": 0.6, "<eos>": 0.4}, "B": {"<eos>": 1.0}},
    ...     eos="<eos>",
    ... )
    >>> len(beam_search(toy, toy.ids("<s>"), num_beams=2, max_new_tokens=3).sequences)
    2

Optionally each token also gets a fixed "hidden state" vector (the state the model would be in
after reading that token), so that contrastive search's degeneration penalty, the cosine
similarity between hidden states, can be computed by hand as well.

It speaks the decoder interface of :mod:`decoding_lessons.decoder` (``start`` /
``advance``), so every search runs on it unchanged.
"""

from __future__ import annotations


import torch

from ..decoder import DecoderOutput


class BigramModel:
    """A table of next-token probabilities over a tiny vocabulary.

    Args:
        vocab: token names; a token's id is its position.
        table: ``{previous token: {next token: probability}}``. Tokens missing from a row get
            probability 0 (log-probability ``-inf``); a row should sum to 1. A token without a
            row is followed by the uniform distribution.
        eos: the name of the end-of-sequence token, if any.
        hidden: ``{token: vector}``, the hidden state after each token (for contrastive search);
            every token needs one when given.
    """

    def __init__(self, vocab: list[str], table: dict[str, dict[str, float]], eos: str | None = None, hidden: dict[str, list[float]] | None = None):
        self.vocab = list(vocab)
        self.index = {name: i for i, name in enumerate(self.vocab)}
        v = len(self.vocab)
        probs = torch.full((v, v), 1.0 / v, dtype=torch.float64)
        for prev, row in table.items():
            probs[self.index[prev]] = 0.0
            for nxt, p in row.items():
                probs[self.index[prev], self.index[nxt]] = p
        self.log_table = probs.log().to(torch.float32)  # row: previous token; column: next token
        self.vectors = None
        if hidden is not None:
            self.vectors = torch.tensor([hidden[name] for name in self.vocab], dtype=torch.float32)
        self.eos_token_ids = [self.index[eos]] if eos is not None else []
        self.pad_token_id = self.eos_token_ids[0] if self.eos_token_ids else None
        self.generation_config = None
        self.tokenizer = None
        self.device = torch.device("cpu")
        self.forward_passes = 0

    def ids(self, *names: str) -> list[int]:
        """Token ids of ``names`` (e.g. a prompt)."""
        return [self.index[n] for n in names]

    def names(self, ids) -> list[str]:
        return [self.vocab[int(i)] for i in ids]

    def _output(self, last: torch.Tensor, fed: torch.Tensor) -> DecoderOutput:
        self.forward_passes += 1
        hidden = self.vectors[fed] if self.vectors is not None else None
        return DecoderOutput(logits=self.log_table[last].clone(), hidden=hidden)

    def start(self, input_ids: torch.Tensor) -> DecoderOutput:
        return self._output(input_ids[:, -1], input_ids)

    def advance(self, rows: torch.Tensor, tokens: torch.Tensor) -> DecoderOutput:
        tokens = tokens.reshape(-1)
        return self._output(tokens, tokens[:, None])

    def decode(self, ids) -> str:
        return " ".join(self.names(ids))
