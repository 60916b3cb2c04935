"""Record transformers 4.55.4's outputs for diverse beam search and contrastive search on the
embedded model, as the fixture ``tests/reference/transformers_4_55_4.json`` that
``tests/test_search_reference.py`` compares :func:`decoding_lessons.diverse_beam_search` and
:func:`decoding_lessons.contrastive_search` with.

transformers 5 dropped ``num_beam_groups``/``diversity_penalty`` and ``penalty_alpha`` from core;
4.55.4 is the last line that ran both in ``generate()``. This script therefore runs in a *separate*
virtual environment with transformers 4.55.4, never in the project's own.

Recipe (reuses the project's torch 2.13.0 CPU, numpy, safetensors, ... through a ``.pth`` file that
comes *after* the venv's own site-packages, so its transformers/tokenizers/huggingface_hub win)::

    # 1. the embedded model's directory (dequantized once, cached), with the project's venv
    .venv/bin/python -c "from decoding_lessons.loading import ensure_embedded_model; print(ensure_embedded_model())"
    # 2. a 4.55.4 venv
    .venv/bin/python -m venv /tmp/venv455
    /tmp/venv455/bin/pip install --no-deps transformers==4.55.4 "tokenizers>=0.21,<0.22" "huggingface_hub>=0.34,<1.0"
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/venv455/lib/python3.11/site-packages/zz_main.pth
    /tmp/venv455/bin/python -c "import transformers; print(transformers.__version__)"   # 4.55.4
    # 3. record (about a minute on 2 CPU cores)
    /tmp/venv455/bin/python tests/reference/make_reference_455.py --model-dir <the directory of step 1>

(Or install ``torch==2.13.0`` CPU into the venv instead of the ``.pth`` file.)

The trap (see the guide's FACTS.md): a directory saved by transformers 5 writes the RoPE base as
``rope_parameters: {rope_theta: ...}``; 4.55 ignores that key and silently uses 10000, while
SmolLM2 needs 100000. The script copies the small files of the model directory to a temporary
directory, links the weights, and sets ``"rope_theta"`` there from ``rope_parameters``. It also
records 4.55's greedy output for three prompts, which the test compares with transformers 5's
greedy output on the same weights: if they differ, nothing else here can be trusted.

The tokenizer's ``tokenizer_config.json`` names transformers 5's ``TokenizersBackend`` class, which
4.55 does not know, so prompts are encoded with ``PreTrainedTokenizerFast(tokenizer_file=...)``
(the same ``tokenizer.json``); the prompt ids are recorded, and the test checks that transformers 5
encodes the texts to the same ids.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "transformers_4_55_4.json"


def chat(question: str) -> str:
    """A chat-formatted prompt: the instruct model answers briefly and ends with <|im_end|> (EOS)."""
    return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


PROMPTS = {
    "sky": "The sky is",
    "story": "Once upon a time, there was a little",
    "capital": "The capital of France is",
    "code": "def add(a, b):\n",
    "chat_capital": chat("What is the capital of France?"),
    "chat_yes_no": chat("Answer with one word: is water wet?"),
    "chat_hello": chat("Say hello."),
}

GREEDY = [("sky", 16), ("story", 24), ("chat_capital", 24)]

# (name, prompt, num_beams, num_beam_groups, diversity_penalty, max_new_tokens, length_penalty,
#  early_stopping, num_return_sequences)
DIVERSE = [
    ("sky_6x3", "sky", 6, 3, 1.0, 12, 1.0, False, 6),
    ("sky_4x2_long", "sky", 4, 2, 0.5, 24, 1.0, False, 4),
    ("sky_6x6", "sky", 6, 6, 1.0, 10, 1.0, False, 6),
    ("story_6x2_ret3", "story", 6, 2, 2.0, 16, 1.0, False, 3),
    ("story_4x4_short", "story", 4, 4, 1.0, 8, 1.0, False, 4),
    ("story_2x2", "story", 2, 2, 1.0, 12, 1.0, False, 2),
    ("capital_6x3_es_true", "capital", 6, 3, 1.5, 20, 0.5, True, 6),
    ("capital_8x4_never", "capital", 8, 4, 0.8, 12, 2.0, "never", 8),
    ("code_4x2", "code", 4, 2, 1.0, 16, 1.0, False, 4),
    ("code_6x3_never_ret3", "code", 6, 3, 0.3, 12, 1.0, "never", 3),
    ("chat_capital_4x2", "chat_capital", 4, 2, 1.0, 24, 1.0, False, 4),
    ("chat_capital_6x3_es_true_ret2", "chat_capital", 6, 3, 0.5, 24, 1.0, True, 2),
    ("chat_capital_6x2_lp0_never", "chat_capital", 6, 2, 1.0, 24, 0.0, "never", 6),
    ("chat_yes_no_4x2", "chat_yes_no", 4, 2, 2.0, 16, 1.0, False, 4),
    ("chat_yes_no_6x3_lp_neg", "chat_yes_no", 6, 3, 1.0, 24, -0.5, False, 6),
    ("chat_yes_no_8x2_es_true", "chat_yes_no", 8, 2, 1.0, 20, 1.0, True, 8),
    ("chat_hello_6x3", "chat_hello", 6, 3, 1.0, 16, 1.0, False, 6),
    ("chat_hello_4x2_lp2_never", "chat_hello", 4, 2, 0.7, 20, 2.0, "never", 4),
]

# diversity_penalty = 0 with groups > 1: 4.55 refuses it; recorded with plain beam search of one
# group's size on the same prompt (what every group then is).
ZERO_PENALTY = dict(prompt="sky", num_beams=4, num_beam_groups=2, max_new_tokens=12)

# (name, prompt, penalty_alpha, top_k, max_new_tokens)
CONTRASTIVE = [
    ("sky_a06_k4", "sky", 0.6, 4, 24),
    ("sky_a03_k8", "sky", 0.3, 8, 16),
    ("story_a06_k4", "story", 0.6, 4, 24),
    ("story_a09_k3", "story", 0.9, 3, 12),
    ("capital_a05_k6", "capital", 0.5, 6, 20),
    ("code_a06_k10", "code", 0.6, 10, 16),
    ("chat_capital_a06_k4", "chat_capital", 0.6, 4, 24),
    ("chat_yes_no_a04_k5", "chat_yes_no", 0.4, 5, 16),
    ("chat_hello_a06_k4", "chat_hello", 0.6, 4, 24),
    ("story_a10_k4", "story", 1.0, 4, 12),
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def patched_copy(model_dir: Path, tmp: Path) -> tuple[Path, dict]:
    """The model directory as 4.55 must read it: small files copied, weights linked, rope_theta set."""
    target = tmp / model_dir.name
    target.mkdir()
    for f in model_dir.iterdir():
        if f.name == "model.safetensors":
            os.symlink(f.resolve(), target / f.name)
        elif f.is_file():
            shutil.copy2(f, target / f.name)
    config = json.loads((target / "config.json").read_text())
    rope = config.get("rope_parameters") or {}
    patch = {"rope_theta": float(rope.get("rope_theta", 100000.0))}
    if rope.get("rope_type", "default") != "default":
        raise SystemExit(f"rope_parameters {rope} is not the default RoPE: patch it by hand")
    config.update(patch)
    (target / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return target, patch


def parse_455(doc: str, output: Path):
    """What every ``make_*_455.py`` script starts with: its arguments (``--model-dir``, ``--output``
    defaulting to ``output``), the check that it runs under transformers 4.55.4, at most 2 threads.
    Returns ``(args, the resolved model directory)``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True, help="ensure_embedded_model()'s directory")
    parser.add_argument("--output", type=Path, default=output)
    args = parser.parse_args()
    if transformers.__version__ != "4.55.4":
        raise SystemExit(f"run this with transformers 4.55.4, not {transformers.__version__} (see the docstring)")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    return args, args.model_dir.resolve()


def load_455(model_dir: Path, tmp: Path):
    """The embedded model and its tokenizer in transformers 4.55, as every ``make_*_455.py`` script
    loads them: the patched copy of the directory (:func:`patched_copy`), float32, parameters that do
    not require gradients, the RoPE base checked. Returns ``(model, tokenizer, eos, pad, patch)``."""
    patched, patch = patched_copy(model_dir, tmp)
    model = AutoModelForCausalLM.from_pretrained(patched, torch_dtype=torch.float32).eval()
    # as decoding_lessons.load_model() prepares it: on the CPU, parameters that do not require
    # gradients run (under no_grad) a float32 path that differs from the default one by ~1e-5 in
    # the logits (measured on this model), which would show in sequences_scores
    model.requires_grad_(False)
    if abs(model.config.rope_theta - patch["rope_theta"]) > 0:
        raise SystemExit(f"4.55 reads rope_theta={model.config.rope_theta}, not {patch['rope_theta']}")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(patched / "tokenizer.json"))
    eos = int(model.generation_config.eos_token_id)
    pad = model.generation_config.pad_token_id
    return model, tokenizer, eos, eos if pad is None else int(pad), patch


def new_tokens_until_eos(row: list[int], prompt_len: int, eos: int) -> int:
    """How many tokens a returned sequence generated, its EOS included (padding excluded)."""
    new = row[prompt_len:]
    return new.index(eos) + 1 if eos in new else len(new)


def main() -> None:
    args, model_dir = parse_455(__doc__, OUTPUT)
    started = time.perf_counter()
    weights_sha = sha256(model_dir / "model.safetensors")

    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, eos, pad, patch = load_455(model_dir, Path(tmp))
        prompt_ids = {name: tokenizer(text).input_ids for name, text in PROMPTS.items()}

        def generate(prompt: str, **kw):
            ids = torch.tensor([prompt_ids[prompt]])
            with torch.no_grad():
                return model.generate(
                    ids, attention_mask=torch.ones_like(ids), pad_token_id=pad, eos_token_id=eos, do_sample=False, **kw
                )

        greedy = []
        for prompt, max_new in GREEDY:
            out = generate(prompt, max_new_tokens=max_new)
            greedy.append(dict(prompt=prompt, max_new_tokens=max_new, sequences=out.tolist()))

        diverse = []
        for name, prompt, beams, groups, penalty, max_new, lp, es, ret in DIVERSE:
            out = generate(
                prompt, num_beams=beams, num_beam_groups=groups, diversity_penalty=penalty, max_new_tokens=max_new,
                length_penalty=lp, early_stopping=es, num_return_sequences=ret, output_scores=True,
                return_dict_in_generate=True,
            )
            sequences = out.sequences.tolist()
            lengths = [new_tokens_until_eos(row, len(prompt_ids[prompt]), eos) for row in sequences]
            diverse.append(dict(
                name=name, prompt=prompt, num_beams=beams, num_beam_groups=groups, diversity_penalty=penalty,
                max_new_tokens=max_new, length_penalty=lp, early_stopping=es, num_return_sequences=ret,
                sequences=sequences, sequences_scores=out.sequences_scores.tolist(), new_tokens=lengths,
                ended_early=min(lengths) < max_new,
            ))
            print(f"diverse {name}: new tokens {lengths}", flush=True)

        z = ZERO_PENALTY
        try:
            generate(z["prompt"], num_beams=z["num_beams"], num_beam_groups=z["num_beam_groups"], diversity_penalty=0.0,
                     max_new_tokens=z["max_new_tokens"], num_return_sequences=z["num_beams"])
        except ValueError as error:
            refusal = str(error)
        else:
            raise SystemExit("4.55 accepted diversity_penalty=0.0 with num_beam_groups > 1")
        size = z["num_beams"] // z["num_beam_groups"]
        out = generate(z["prompt"], num_beams=size, max_new_tokens=z["max_new_tokens"], num_return_sequences=size,
                       output_scores=True, return_dict_in_generate=True)
        zero_penalty = dict(z, diversity_penalty=0.0, error=refusal, plain_beam_search=dict(
            num_beams=size, num_return_sequences=size, sequences=out.sequences.tolist(),
            sequences_scores=out.sequences_scores.tolist()))

        contrastive = []
        for name, prompt, alpha, k, max_new in CONTRASTIVE:
            out = generate(prompt, penalty_alpha=alpha, top_k=k, max_new_tokens=max_new)
            sequences = out.tolist()
            contrastive.append(dict(
                name=name, prompt=prompt, penalty_alpha=alpha, top_k=k, max_new_tokens=max_new, sequences=sequences,
                new_tokens=new_tokens_until_eos(sequences[0], len(prompt_ids[prompt]), eos),
            ))
            print(f"contrastive {name}: {contrastive[-1]['new_tokens']} new tokens", flush=True)

    record = dict(
        about="transformers 4.55.4's generate() outputs on the embedded model; made by tests/reference/make_reference_455.py, "
              "checked by tests/test_search_reference.py",
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
        python=platform.python_version(),
        model=dict(dir_name=model_dir.name, safetensors_sha256=weights_sha, dtype="float32", device="cpu",
                   config_patch_for_4_55=patch, requires_grad=False, eos_token_id=eos, pad_token_id=pad),
        generate_kwargs="input_ids (1, n), attention_mask=ones, pad_token_id, eos_token_id, do_sample=False, ...",
        prompts={name: dict(text=PROMPTS[name], ids=prompt_ids[name]) for name in PROMPTS},
        greedy=greedy,
        diverse=diverse,
        zero_diversity_penalty=zero_penalty,
        contrastive=contrastive,
        seconds=round(time.perf_counter() - started, 1),
    )
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output} ({len(diverse)} diverse, {len(contrastive)} contrastive cases, "
          f"{record['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
