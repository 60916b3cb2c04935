"""Record transformers 4.55.4's constrained beam search (``generate(force_words_ids=...)`` and
``generate(constraints=[PhrasalConstraint(...), DisjunctiveConstraint(...)])``) on the embedded
model, as the fixture ``tests/reference/constrained_4_55_4.json`` that ``tests/test_constrained.py``
compares :func:`decoding_lessons.constrained_beam_search` with.

transformers 5 dropped constrained beam search and its constraint classes from core; 4.55.4 is the
last line that ran it in ``generate()``. This script runs in the separate 4.55.4 virtual environment
that ``make_reference_455.py``'s docstring describes (the same recipe, the same ``rope_theta``
patch of the model directory, the same prompts)::

    /tmp/venv455/bin/python tests/reference/make_constrained_455.py --model-dir <ensure_embedded_model()'s directory>

A constraint is written as words; the script records the token ids 4.55's tokenizer gives them
(``add_special_tokens=False``), and the test checks that transformers 5 encodes them to the same ids.
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
from transformers import DisjunctiveConstraint, PhrasalConstraint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_reference_455 import PROMPTS, load_455, new_tokens_until_eos, parse_455, sha256  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "constrained_4_55_4.json"

# A constraint: a string (a phrase: every token of it, in order) or a list of strings (one of them).
# (name, prompt, constraints, num_beams, max_new_tokens, other generate() arguments, how they are passed)
#   how: "force_words_ids" (nested id lists) or "constraints" (PhrasalConstraint / DisjunctiveConstraint objects)
CASES = [
    ("sky_purple", "sky", [" purple"], 4, 12, {}, "force_words_ids"),
    ("sky_purple_clouds", "sky", [" purple clouds"], 4, 12, {}, "force_words_ids"),
    ("sky_ocean_dragon_6", "sky", [" ocean", " dragon"], 6, 16, {}, "force_words_ids"),
    ("story_wizard", "story", [" wizard"], 4, 20, {}, "force_words_ids"),
    ("story_one_of_w_words", "story", [[" wizard", " wizards", " woof"]], 4, 20, {}, "force_words_ids"),
    ("story_rain_or_unicorn_6", "story", [[" rain", " rainy", " raining"], " unicorn"], 6, 24, {}, "force_words_ids"),
    ("capital_eiffel_tower", "capital", [" Eiffel Tower"], 4, 16, {}, "force_words_ids"),
    ("capital_too_short", "capital", [" Eiffel Tower", " cheese"], 4, 3, {}, "force_words_ids"),
    ("capital_just_fits", "capital", [" Eiffel Tower"], 4, 3, {}, "force_words_ids"),
    ("capital_in_prompt", "capital", [" France"], 4, 12, {}, "force_words_ids"),
    ("chat_capital_lyon_es_true_ret2", "chat_capital", [" Lyon"], 4, 24, dict(early_stopping=True, num_return_sequences=2), "force_words_ids"),
    ("chat_hello_magic_never_lp2", "chat_hello", [" magic"], 4, 24, dict(early_stopping="never", length_penalty=2.0), "force_words_ids"),
    ("chat_yes_no_any_answer_lp0", "chat_yes_no", [[" Yes", " yes", " No", " no"]], 4, 16, dict(length_penalty=0.0), "force_words_ids"),
    ("story_dragon_ngram2_rp12", "story", [" dragon"], 4, 20, dict(no_repeat_ngram_size=2, repetition_penalty=1.2), "force_words_ids"),
    ("sky_rainbow_2_beams", "sky", [" rainbow"], 2, 10, {}, "force_words_ids"),
    ("story_cat_dog_8_ret8", "story", [" cat", " dog"], 8, 16, dict(num_return_sequences=8), "force_words_ids"),
    ("code_return", "code", [" return a + b"], 4, 16, {}, "force_words_ids"),
    ("sky_sunset_lp_neg_ret4", "sky", [" sunset"], 4, 12, dict(length_penalty=-0.5, num_return_sequences=4), "force_words_ids"),
    # constraints the model meets on its own, then ends with EOS (which only counts once they are met)
    ("chat_capital_paris", "chat_capital", [" Paris"], 4, 24, {}, "force_words_ids"),
    ("chat_capital_paris_france_ret4", "chat_capital", [" Paris", " France"], 4, 24, dict(num_return_sequences=4), "force_words_ids"),
    ("chat_hello_hello_es_true", "chat_hello", [["Hello", " Hello", " hello"]], 4, 24, dict(early_stopping=True), "force_words_ids"),
    ("sky_objects_breeze_unicorns", "sky", [" ocean breeze", [" unicorn", " unicorns"]], 6, 20, {}, "constraints"),
    ("story_objects_wizard_ret3", "story", [[" wizard", " wizards"], " mysterious"], 4, 24, dict(num_return_sequences=3), "constraints"),
]


def main() -> None:
    args, model_dir = parse_455(__doc__, OUTPUT)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, eos, pad, patch = load_455(model_dir, Path(tmp))
        prompt_ids = {name: tokenizer(text).input_ids for name, text in PROMPTS.items()}

        def encode(word: str) -> list[int]:
            return tokenizer(word, add_special_tokens=False).input_ids

        cases = []
        for name, prompt, words, beams, max_new, kwargs, how in CASES:
            ids = torch.tensor([prompt_ids[prompt]])
            token_ids = [[encode(w) for w in item] if isinstance(item, list) else encode(item) for item in words]
            if how == "force_words_ids":
                passed = dict(force_words_ids=token_ids)
            else:
                passed = dict(constraints=[
                    DisjunctiveConstraint(t) if isinstance(item, list) else PhrasalConstraint(t)
                    for item, t in zip(words, token_ids)
                ])
            t0 = time.perf_counter()
            with torch.no_grad():
                out = model.generate(
                    ids, attention_mask=torch.ones_like(ids), pad_token_id=pad, eos_token_id=eos, do_sample=False,
                    num_beams=beams, max_new_tokens=max_new, output_scores=True, return_dict_in_generate=True,
                    **passed, **kwargs,
                )
            seconds = time.perf_counter() - t0
            sequences = out.sequences.tolist()
            lengths = [new_tokens_until_eos(row, len(prompt_ids[prompt]), eos) for row in sequences]
            cases.append(dict(
                name=name, prompt=prompt, words=words, token_ids=token_ids, passed_as=how, num_beams=beams,
                max_new_tokens=max_new, generate_kwargs=kwargs, sequences=sequences,
                sequences_scores=out.sequences_scores.tolist(), new_tokens=lengths, steps=len(out.scores),
                seconds=round(seconds, 2),
            ))
            print(f"constrained {name}: new tokens {lengths}, {len(out.scores)} steps, {seconds:.1f} s", flush=True)

    record = dict(
        about="transformers 4.55.4's constrained beam search outputs on the embedded model; made by "
              "tests/reference/make_constrained_455.py, checked by tests/test_constrained.py",
        transformers_version=transformers.__version__,
        torch_version=torch.__version__,
        python=platform.python_version(),
        model=dict(dir_name=model_dir.name, safetensors_sha256=sha256(model_dir / "model.safetensors"), dtype="float32",
                   device="cpu", config_patch_for_4_55=patch, requires_grad=False, eos_token_id=eos, pad_token_id=pad),
        generate_kwargs="input_ids (1, n), attention_mask=ones, pad_token_id, eos_token_id, do_sample=False, num_beams, "
                        "max_new_tokens, output_scores=True, return_dict_in_generate=True, force_words_ids or constraints, ...",
        prompts={name: dict(text=PROMPTS[name], ids=prompt_ids[name]) for name in PROMPTS},
        cases=cases,
        seconds=round(time.perf_counter() - started, 1),
    )
    args.output.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.output} ({len(cases)} cases, {record['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
