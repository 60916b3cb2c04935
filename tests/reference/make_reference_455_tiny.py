"""Record transformers 4.55.4's group (diverse) beam search on the tiny random Llama of
``tests/test_search.py``, as the fixture ``tests/reference/transformers_4_55_4_tiny.json`` that
``test_search.py``'s zero- and positive-penalty grids compare :func:`decoding_lessons.diverse_beam_search`
with, exactly.

Why a recording: transformers 5 no longer runs group beam search, and its plain
``generate(num_beams=group size)`` is not the oracle for ``diversity_penalty=0`` either: 4.55's
per-group ``BeamSearchScorer`` judges "done" by the best candidate of a step (an EOS included),
the vectorised beam search by the best live beam, so after an EOS the two can stop at different
steps and return different hypotheses (two cases of this grid do).

4.55 refuses ``diversity_penalty=0.0`` with ``num_beam_groups > 1`` in ``GenerationConfig.validate``
only ("otherwise your groups will be identical"); nothing else in its group beam search looks at the
value except ``_get_logits_processor``, which adds the Hamming processor only for a penalty > 0. The
script therefore lets that one check see a positive penalty and restores 0.0 right after it, so
4.55's own ``_group_beam_search`` runs with no diversity processor, as ours does at 0.

The tiny model is built here as the test builds it (``torch.manual_seed(0)``, the same
``LlamaConfig``): 4.55.4 and 5.x initialise it to the same weights (the SHA-256 of the state dict is
recorded, and the test checks it). As a second guard the script records 4.55's plain beam search of
each group size, which the test compares with transformers 5's ``generate()``.

Run it with the 4.55.4 venv described in ``make_reference_455.py`` (15 s on 2 busy cores; no model
directory needed)::

    /tmp/venv455/bin/python tests/reference/make_reference_455_tiny.py
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "transformers_4_55_4_tiny.json"

EOS, PAD = 3, 2
CONFIG = dict(
    vocab_size=24, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, bos_token_id=1, eos_token_id=EOS, pad_token_id=PAD, initializer_range=0.5,
    max_position_embeddings=128,
)
PROMPTS = [[1, 5, 9], [1, 7], [1, 12, 4, 20, 8], [1, 2, 2, 2]]
# one group's size and the other settings: test_search.py's TINY_SETTINGS[:3]
SETTINGS = [
    dict(num_beams=4, max_new_tokens=12),
    dict(num_beams=2, max_new_tokens=15, length_penalty=0.0),
    dict(num_beams=5, max_new_tokens=12, early_stopping="never", length_penalty=2.0),
]
GROUPS = (2, 3)
PENALTIES = (0.0, 1.0)


def state_dict_sha256(model) -> str:
    """SHA-256 over the state dict's names and float32 bytes, in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def allow_zero_penalty() -> None:
    """Let 4.55's validate() pass diversity_penalty=0.0 with groups (its only refusal of it)."""
    original = GenerationConfig.validate

    def validate(self, *args, **kwargs):
        if (self.num_beam_groups or 1) > 1 and self.diversity_penalty == 0.0:
            self.diversity_penalty = 1.0
            try:
                return original(self, *args, **kwargs)
            finally:
                self.diversity_penalty = 0.0
        return original(self, *args, **kwargs)

    GenerationConfig.validate = validate


def main() -> None:
    if transformers.__version__ != "4.55.4":
        raise SystemExit(f"run this with transformers 4.55.4, not {transformers.__version__} (see the docstring)")
    started = time.perf_counter()
    allow_zero_penalty()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**CONFIG)).eval()  # as the test's `tiny` fixture: parameters require grad
    model.generation_config.eos_token_id = EOS
    model.generation_config.pad_token_id = PAD

    def generate(prompt, **kw):
        ids = torch.tensor([prompt])
        out = model.generate(
            ids, attention_mask=torch.ones_like(ids), pad_token_id=PAD, eos_token_id=EOS, do_sample=False,
            output_scores=True, return_dict_in_generate=True, **kw,
        )
        return dict(sequences=out.sequences.tolist(), sequences_scores=out.sequences_scores.tolist())

    plain, diverse = [], []
    for prompt in PROMPTS:
        for setting in SETTINGS:
            kw = dict(setting)
            size = kw.pop("num_beams")
            plain.append(dict(prompt=prompt, num_beams=size, **kw, **generate(prompt, num_beams=size, num_return_sequences=size, **kw)))
            for groups in GROUPS:
                for penalty in PENALTIES:
                    n = size * groups
                    out = generate(prompt, num_beams=n, num_beam_groups=groups, diversity_penalty=penalty, num_return_sequences=n, **kw)
                    if penalty == 0.0:  # it ran unpenalised: every hypothesis comes back once per group
                        rows = out["sequences"]
                        if rows != [row for row in rows[::groups] for _ in range(groups)]:
                            raise SystemExit(f"diversity_penalty=0.0 did not give identical groups: {prompt} {setting} {groups}")
                    diverse.append(dict(prompt=prompt, group_size=size, num_beam_groups=groups, diversity_penalty=penalty, **kw, **out))
    record = dict(
        about="transformers 4.55.4's group beam search (and plain beam search) on test_search.py's tiny random Llama; "
              "made by tests/reference/make_reference_455_tiny.py, checked by tests/test_search.py",
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
        python=platform.python_version(),
        model=dict(config=CONFIG, seed=0, state_dict_sha256=state_dict_sha256(model), dtype="float32", device="cpu",
                   requires_grad=True),
        generate_kwargs="input_ids (1, n), attention_mask=ones, pad_token_id, eos_token_id, do_sample=False, "
                        "num_return_sequences=num_beams, output_scores, return_dict_in_generate, ...",
        zero_penalty_check="GenerationConfig.validate saw diversity_penalty=1.0 for its check only; generate ran 0.0",
        plain=plain,
        diverse=diverse,
        seconds=round(time.perf_counter() - started, 1),
    )
    text = json.dumps(record, indent=1)
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: "[" + ", ".join(m.group(0)[1:-1].split()).replace(",,", ",") + "]", text)  # number lists on one line
    OUTPUT.write_text(text + "\n")
    print(f"wrote {OUTPUT} ({len(diverse)} group, {len(plain)} plain searches, {record['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
