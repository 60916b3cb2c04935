"""Record transformers 4.55.4's DoLa outputs (``generate(dola_layers=...)``) on the embedded model, as
the fixture ``tests/reference/dola_4_55_4.json`` that ``tests/test_dola.py`` compares
:func:`decoding_lessons.dola_decoding` with.

transformers 5 dropped DoLa from core; 4.55.4 is the last line that ran it in ``generate()``. This
script runs in the separate 4.55.4 virtual environment that ``make_reference_455.py``'s docstring
describes (the same recipe, the same ``rope_theta`` patch of the model directory, the same prompts)::

    /tmp/venv455/bin/python tests/reference/make_dola_455.py --model-dir <ensure_embedded_model()'s directory>
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_reference_455 import PROMPTS, load_455, new_tokens_until_eos, parse_455, sha256  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "dola_4_55_4.json"

# (name, prompt, dola_layers, generate() keyword arguments besides dola_layers, max_new_tokens, seed)
CASES = [
    ("capital_high_rp12", "capital", "high", dict(repetition_penalty=1.2), 24, 0),
    ("capital_low", "capital", "low", dict(), 16, 0),
    ("sky_high", "sky", "high", dict(), 16, 0),
    ("sky_low_rp12", "sky", "low", dict(repetition_penalty=1.2), 24, 0),
    ("story_list_2_8_14", "story", [2, 8, 14], dict(repetition_penalty=1.2), 20, 0),
    ("story_single_20", "story", [20], dict(), 16, 0),
    ("code_single_0", "code", [0], dict(repetition_penalty=1.2), 16, 0),
    ("code_high_ngram3", "code", "high", dict(no_repeat_ngram_size=3), 20, 0),
    ("chat_capital_high_rp12", "chat_capital", "high", dict(repetition_penalty=1.2), 32, 0),
    ("chat_yes_no_low_rp12", "chat_yes_no", "low", dict(repetition_penalty=1.2), 24, 0),
    ("chat_hello_high", "chat_hello", "high", dict(), 24, 0),
    ("chat_hello_list_29", "chat_hello", [29], dict(), 24, 0),
    # sampling: generate()'s warpers act on the contrast; the seed is set right before generate()
    ("sky_high_sample_s0", "sky", "high", dict(do_sample=True, repetition_penalty=1.2), 16, 0),
    ("sky_high_sample_s1", "sky", "high", dict(do_sample=True, repetition_penalty=1.2), 16, 1),
    ("story_low_sample_t07_s2", "story", "low", dict(do_sample=True, temperature=0.7, top_p=0.9), 20, 2),
    ("capital_high_sample_k0_s3", "capital", "high", dict(do_sample=True, top_k=0), 16, 3),
    ("chat_capital_low_sample_s4", "chat_capital", "low", dict(do_sample=True, repetition_penalty=1.2), 32, 4),
]


def main() -> None:
    args, model_dir = parse_455(__doc__, OUTPUT)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, eos, pad, patch = load_455(model_dir, Path(tmp))
        prompt_ids = {name: tokenizer(text).input_ids for name, text in PROMPTS.items()}
        cases = []
        for name, prompt, layers, kwargs, max_new, seed in CASES:
            ids = torch.tensor([prompt_ids[prompt]])
            torch.manual_seed(seed)
            kw = {"do_sample": False, **kwargs}
            with torch.no_grad():
                out = model.generate(
                    ids, attention_mask=torch.ones_like(ids), pad_token_id=pad, eos_token_id=eos, dola_layers=layers,
                    max_new_tokens=max_new, output_scores=True, return_dict_in_generate=True, **kw,
                )
            sequence = out.sequences[0].tolist()
            chosen = [int(s[0].argmax()) for s in out.scores]
            new = new_tokens_until_eos(sequence, len(prompt_ids[prompt]), eos)
            cases.append(dict(
                name=name, prompt=prompt, dola_layers=layers, generate_kwargs=kw, max_new_tokens=max_new, seed=seed,
                sequences=[sequence], new_tokens=new, ended_early=new < max_new,
                # per step: how many tokens the scores kept (finite), the top score and its token
                kept=[int(torch.isfinite(s[0]).sum()) for s in out.scores],
                top_scores=[float(s[0].max()) for s in out.scores], top_tokens=chosen,
            ))
            print(f"dola {name}: {new} new tokens", flush=True)

    record = dict(
        about="transformers 4.55.4's generate(dola_layers=...) outputs on the embedded model; made by "
              "tests/reference/make_dola_455.py, checked by tests/test_dola.py",
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
        python=platform.python_version(),
        model=dict(dir_name=model_dir.name, safetensors_sha256=sha256(model_dir / "model.safetensors"), dtype="float32",
                   device="cpu", config_patch_for_4_55=patch, requires_grad=False, eos_token_id=eos, pad_token_id=pad,
                   num_hidden_layers=model.config.num_hidden_layers, tie_word_embeddings=model.config.tie_word_embeddings),
        generate_kwargs="input_ids (1, n), attention_mask=ones, pad_token_id, eos_token_id, dola_layers, max_new_tokens, "
                        "output_scores=True, return_dict_in_generate=True, do_sample=False unless given; "
                        "torch.manual_seed(seed) right before",
        prompts={name: dict(text=PROMPTS[name], ids=prompt_ids[name]) for name in PROMPTS},
        cases=cases,
        seconds=round(time.perf_counter() - started, 1),
    )
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output} ({len(cases)} cases, {record['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
