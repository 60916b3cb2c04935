# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Cheat-sheet: the knobs in every library
#
# The same knob has a different name, default and place in the order in each library, and
# some knobs exist in only one of them. This page lists them side by side for transformers'
# `generate()`, llama.cpp (its command line and its server), Ollama, vLLM and the OpenAI API.
# Every value comes from the library's own source or reference, at the version named in
# [Sources](#sources). The values of the installed transformers are read from the library when
# this page is built, and hidden cells check the others that can be checked here. A dash (—)
# means that the library has no such knob.
#
# The words are defined in the [glossary](../glossary.md).

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% tags=["hide-input"]
import inspect
import re

import transformers
from transformers import GenerationConfig
from transformers.generation import logits_process as lp
from transformers.generation.utils import GenerationMixin

LLAMA_CPP_COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"
VERSIONS = {
    "transformers": f"transformers {transformers.__version__} (installed)",
    "llama.cpp": f"llama.cpp {LLAMA_CPP_COMMIT[:7]} (vendored by llama-cpp-python 0.3.36)",
    "Ollama": "Ollama v0.33.0-rc2 (fb30760)",
    "vLLM": "vLLM 00388f6 (sampling_params.py), 3e34265 (v1/sample/sampler.py)",
    "OpenAI": "the OpenAI API reference (Chat Completions)",
}
NA = "—"


def c(text):
    """Code spans for the names in ``text`` ("a, b (note)"), or the dash for a knob the library lacks."""
    if text is None:
        return NA
    spans = []
    for part in text.split(", "):
        name, _, note = part.partition(" (")
        spans.append(f"`{name}`" + (f" ({note}" if note else ""))
    return ", ".join(spans)


# One row per knob: its names in each library. transformers' names are GenerationConfig's fields, which
# are also the keys of a model's generation_config.json.
NAMES = [
    # knob, transformers, llama.cpp CLI, llama.cpp server, Ollama, vLLM, OpenAI
    ("temperature", "temperature", "--temp", "temperature", "temperature", "temperature", "temperature"),
    ("top-k", "top_k", "--top-k", "top_k", "top_k", "top_k", None),
    ("top-p", "top_p", "--top-p", "top_p", "top_p", "top_p", "top_p"),
    ("min-p", "min_p", "--min-p", "min_p", "min_p", "min_p", None),
    ("typical-p", "typical_p", "--typical-p", "typical_p", "typical_p", None, None),
    ("ε / η", "epsilon_cutoff / eta_cutoff", None, None, None, None, None),
    ("repetition penalty", "repetition_penalty", "--repeat-penalty", "repeat_penalty", "repeat_penalty", "repetition_penalty", None),
    ("frequency penalty", None, "--frequency-penalty", "frequency_penalty", "frequency_penalty", "frequency_penalty", "frequency_penalty"),
    ("presence penalty", None, "--presence-penalty", "presence_penalty", "presence_penalty", "presence_penalty", "presence_penalty"),
    ("penalty window", None, "--repeat-last-n", "repeat_last_n", "repeat_last_n", None, None),
    ("no-repeat n-gram", "no_repeat_ngram_size", None, None, None, None, None),
    ("top-nσ", None, "--top-nsigma", "top_n_sigma", None, None, None),
    ("XTC", None, "--xtc-probability, --xtc-threshold", "xtc_probability, xtc_threshold", None, None, None),
    ("DRY", None, "--dry-multiplier, --dry-base, --dry-allowed-length, --dry-penalty-last-n, --dry-sequence-breaker",
     "dry_multiplier, dry_base, dry_allowed_length, dry_penalty_last_n, dry_sequence_breakers", None, None, None),
    ("mirostat", None, "--mirostat, --mirostat-ent (τ), --mirostat-lr (η)", "mirostat, mirostat_tau, mirostat_eta", None, None, None),
    ("dynamic temperature", None, "--dynatemp-range, --dynatemp-exp", "dynatemp_range, dynatemp_exponent", None, None, None),
    ("seed", None, "-s, --seed", "seed", "seed", "seed", "seed"),
    ("max new tokens", "max_new_tokens", "-n, --predict", "n_predict", "num_predict", "max_tokens", "max_completion_tokens"),
]


# The defaults, as each source states them (llama.cpp's CLI and server share common_params_sampling).
TRANSFORMERS_DEFAULTS = {  # GenerationConfig._get_default_generation_params(), checked below
    "do_sample": False, "temperature": 1.0, "top_k": 50, "top_p": 1.0, "min_p": None, "typical_p": 1.0,
    "epsilon_cutoff": 0.0, "eta_cutoff": 0.0, "repetition_penalty": 1.0, "no_repeat_ngram_size": 0, "max_length": 20,
}
# llama.cpp's defaults as common/common.h's common_params_sampling writes them (checked below against the
# package's own copy, decoding_lessons.llama_cpp.LLAMA_CPP_DEFAULTS).
LLAMA_CPP_VALUES = {
    "temp": 0.8, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "typ_p": 1.0, "penalty_repeat": 1.0, "penalty_freq": 0.0,
    "penalty_present": 0.0, "penalty_last_n": 64, "top_n_sigma": -1.0, "xtc_probability": 0.0, "xtc_threshold": 0.1,
    "dry_multiplier": 0.0, "dry_base": 1.75, "dry_allowed_length": 2, "dry_penalty_last_n": 64,
    "dry_sequence_breakers": ("\n", ":", '"', "*"), "mirostat": 0, "mirostat_tau": 5.0, "mirostat_eta": 0.1,
    "dynatemp_range": 0.0, "dynatemp_exponent": 1.0, "seed": 0xFFFFFFFF,
}
L = LLAMA_CPP_VALUES
breakers = ", ".join("`" + b.replace("\n", "\\n") + "`" for b in L["dry_sequence_breakers"])
DEFAULTS = [
    # knob, transformers (sampling), llama.cpp, Ollama, vLLM, OpenAI
    ("temperature", "1.0", f"{L['temp']}", "0.8", "1.0", "1"),
    ("top-k", "50", f"{L['top_k']}", "40", "0 (off)", NA),
    ("top-p", "1.0 (off)", f"{L['top_p']}", "0.9", "1.0 (off)", "1"),
    ("min-p", "None (off)", f"{L['min_p']}", "0.0 (off)", "0.0 (off)", NA),
    ("typical-p", "1.0 (off)", f"{L['typ_p']} (off)", "1.0 (off)", NA, NA),
    ("ε / η", "0.0 / 0.0 (off)", NA, NA, NA, NA),
    ("repetition penalty", "1.0 (off)", f"{L['penalty_repeat']} (off)", "1.0 (off)", "1.0 (off)", NA),
    ("frequency / presence", NA, f"{L['penalty_freq']} / {L['penalty_present']}", "0.0 / 0.0", "0.0 / 0.0", "0 / 0"),
    ("penalty window", "whole context", f"{L['penalty_last_n']}", "64", "see below", "see below"),
    ("no-repeat n-gram", "0 (off)", NA, NA, NA, NA),
    ("top-nσ", NA, f"{L['top_n_sigma']} (off)", NA, NA, NA),
    ("XTC probability / threshold", NA, f"{L['xtc_probability']} (off) / {L['xtc_threshold']}", NA, NA, NA),
    ("DRY multiplier / base / allowed / last n", NA,
     f"{L['dry_multiplier']} (off) / {L['dry_base']} / {L['dry_allowed_length']} / {L['dry_penalty_last_n']}", NA, NA, NA),
    ("DRY breakers", NA, breakers, NA, NA, NA),
    ("mirostat / τ / η", NA, f"{L['mirostat']} (off) / {L['mirostat_tau']} / {L['mirostat_eta']}", NA, NA, NA),
    ("dynatemp range / exponent", NA, f"{L['dynatemp_range']} (off) / {L['dynatemp_exponent']}", NA, NA, NA),
    ("seed", "none (torch's RNG)", f"-1 = {L['seed']:#x} (random)", "-1 (random)", "None (random)", "none"),
    ("max new tokens", "max_length=20, prompt included", "-1 (no limit)", "-1 (no limit)", "16", "unset"),
]

# llama.cpp's default chain (common/common.h, common_params_sampling::samplers), then the sampler
# that draws (common/sampling.cpp adds llama_sampler_init_dist last).
LLAMA_CPP_CHAIN = ["penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"]
# llama.cpp's samplers as rows of the package's table: its exact ports (penalties, DRY, top-nσ, XTC,
# temperature) and transformers' warpers where transformers has the sampler too
LLAMA_CPP_AS_FIELDS = {"penalties": "penalties", "dry": "dry", "top_n_sigma": "top_n_sigma", "top_k": "top_k",
                       "typ_p": "typical_p", "top_p": "top_p", "min_p": "min_p", "xtc": "xtc", "temperature": "temp_ext"}
# generate()'s knobs in GenerationMixin._get_logits_processor's order (checked below against its source).
TRANSFORMERS_ORDER = ["repetition_penalty", "no_repeat_ngram_size", "temperature", "top_h", "top_k", "top_p",
                      "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff"]
TRANSFORMERS_CLASSES = ["RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor", "TemperatureLogitsWarper",
                        "TopHLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper", "MinPLogitsWarper",
                        "TypicalLogitsWarper", "EpsilonLogitsWarper", "EtaLogitsWarper"]

# %% [markdown]
# ## transformers' defaults, read from the library
#
# In transformers 5, a fresh `GenerationConfig()` leaves these fields `None`. `generate()` fills
# each `None` from the model's own `generation_config` (its `generation_config.json`), and
# where that is unset too, from transformers' defaults. `DecodingConfig.resolved` does the same
# thing, so the cell below prints what `generate(do_sample=True)` uses with this page's model,
# then the package's two orders over its whole processor table: `generate()`'s (which places the
# other libraries' samplers, `penalties` to `openai_penalties`, where `generate()` runs a custom
# `logits_processor`) and llama.cpp's default chain.

# %%
resolved = dl.DecodingConfig(do_sample=True).resolved(lm.model.generation_config)
print({k: resolved[k] for k in ("temperature", "top_k", "top_p", "min_p", "typical_p", "repetition_penalty")})
print("dl.HF_ORDER:       ", " → ".join(dl.HF_ORDER))
print("dl.LLAMA_CPP_ORDER:", " → ".join(dl.LLAMA_CPP_ORDER))

# %% tags=["hide-input"]
own = lm.model.generation_config
knob_fields = [f for f in TRANSFORMERS_ORDER if f in resolved]
set_by_model = {f: getattr(own, f) for f in knob_fields if getattr(own, f, None) is not None}
display(Markdown(
    "This build's model sets " + (", ".join(f"`{k}={v!r}`" for k, v in set_by_model.items()) if set_by_model else "none of these knobs")
    + " in its own `generation_config`"
    + (", so those values replace transformers' defaults in `generate()`." if set_by_model else ", so `generate()` uses transformers' defaults.")
    + " Another model's `generation_config.json` can set any of them: read `model.generation_config` before you trust a default."
))

# %% tags=["hide-input"]
# transformers' defaults, checked against the installed library: a fresh GenerationConfig() leaves them
# unset, _get_default_generation_params() holds the values generate() falls back to, and the package's
# own table agrees.
fresh = GenerationConfig()
assert all(getattr(fresh, k) is None for k in TRANSFORMERS_DEFAULTS), {k: getattr(fresh, k) for k in TRANSFORMERS_DEFAULTS}
library_defaults = GenerationConfig._get_default_generation_params()
for key, value in TRANSFORMERS_DEFAULTS.items():
    assert library_defaults.get(key) == value, (key, library_defaults.get(key), value)
assert "top_h" not in library_defaults or library_defaults["top_h"] is None
for key in ("temperature", "top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "repetition_penalty", "no_repeat_ngram_size"):
    assert dl.processors.GENERATE_DEFAULTS[key] == TRANSFORMERS_DEFAULTS[key], key
    if key not in set_by_model:
        assert resolved[key] == TRANSFORMERS_DEFAULTS[key], key

# %% [markdown]
# ## Names
#
# transformers' names are the fields of `GenerationConfig`, the arguments of `generate()` and the
# keys of a model's `generation_config.json`. vLLM follows the OpenAI names and adds its own. The
# knobs only llama.cpp has are in the second table.

# %% tags=["hide-input"]
display(Markdown(dl.markdown_table(
    ["knob", "transformers", "vLLM `SamplingParams`", "OpenAI API"],
    [[knob, c(hf), c(vllm), c(oai)] for knob, hf, _, _, _, vllm, oai in NAMES if (hf, vllm, oai) != (None, None, None)],
)))

# %% [markdown]
# llama.cpp's command-line flags (`llama-cli`, `llama-server`), the fields of a request to
# `llama-server`'s `/completion`, and Ollama's options, which a Modelfile sets with
# `PARAMETER name value` and a request with `"options": {"name": value}`:

# %% tags=["hide-input"]
display(Markdown(dl.markdown_table(
    ["knob", "llama.cpp flag", "llama.cpp server field", "Ollama option"],
    [[knob, c(cli), c(server), c(ollama)] for knob, _, cli, server, ollama, _, _ in NAMES if (cli, server, ollama) != (None, None, None)],
)))

# %% [markdown]
# ## Defaults
#
# The value each library uses when the request does not set the knob. transformers' column is
# `generate(do_sample=True)`: without `do_sample=True` it decodes greedily and every sampling knob is
# ignored. "Off" is the value that leaves the distribution as it is.

# %% tags=["hide-input"]
display(Markdown(dl.markdown_table(["knob", "transformers", "llama.cpp", "Ollama", "vLLM", "OpenAI"], DEFAULTS)))

# %% [markdown]
# Three defaults come from somewhere other than the table:
#
# - **A model's own file.** transformers takes a model's `generation_config.json` over its
#   defaults. vLLM does too: its `--generation-config` defaults to `auto`, which loads that file
#   (`vllm` gives vLLM's own defaults). llama.cpp reads recommended values from a GGUF's
#   `general.sampling.*` metadata (top-k, top-p, min-p, XTC, temperature, the penalty window and
#   penalty, mirostat, the sampler sequence) for each knob the command line left unset
#   (`common_init_from_params`).
# - **Ollama overrides llama.cpp.** Ollama runs `llama-server` and sends its own values with every
#   request: top-p 0.9 instead of 0.95, and min-p 0 instead of 0.05, so min-p is off.
# - **Some sources disagree with their own code.** llama.cpp's server README says the default
#   `repeat_penalty` is 1.1; `common.h` and the README's own `/props` example say 1.0. Ollama's
#   Modelfile page says the seed defaults to 0; `api.DefaultOptions()` sets -1 (random). The
#   table gives the code's values.

# %% [markdown]
# ## Ranges, and the value that switches a knob off

# %% tags=["hide-input"]
RANGES = [
    # knob, transformers (what its class accepts; the off value generate() skips), llama.cpp (off), vLLM / OpenAI
    ("temperature", "> 0; 1.0 leaves it off; 0 is refused", "≤ 0: greedy (keeps the argmax)", "vLLM [0, 2], < 1e-5 greedy; OpenAI 0–2"),
    ("top-k", "int > 0; 0 = off", "≤ 0 = off", "vLLM 0 or -1 = off, ≥ 1"),
    ("top-p", "[0, 1]; 1.0 = off", "≥ 1.0 = off", "vLLM (0, 1]; OpenAI 0–1"),
    ("min-p", "[0, 1]; None = off", "≤ 0 = off", "vLLM [0, 1], 0 = off"),
    ("typical-p", "(0, 1); 1.0 = off", "≥ 1.0 = off", NA),
    ("ε / η", "(0, 1); 0 = off", NA, NA),
    ("repetition penalty", "> 0; 1.0 = off", "> 0 (flag); 1.0 = off", "vLLM > 0, finite"),
    ("frequency / presence", NA, "finite; 0 = off", "[-2, 2] (both)"),
    ("penalty window", NA, "≥ 0 (flag); 0 = off", NA),
    ("no-repeat n-gram", "int > 0; 0 = off", NA, NA),
    ("top-nσ", NA, "≤ 0 = off", NA),
    ("XTC", NA, "probability ≤ 0 or threshold > 0.5 = off", NA),
    ("DRY", NA, "multiplier 0, base < 1 or last n 0 = off", NA),
    ("dynamic temperature", NA, "range ≤ 0 = off; T in [max(0, T − range), T + range]", NA),
]
display(Markdown(dl.markdown_table(["knob", "transformers", "llama.cpp", "vLLM / OpenAI"], RANGES)))

# %% tags=["hide-input"]
# transformers' ranges, checked against the installed classes: each refuses the value just outside
# what the table states and accepts the boundary it states as included.


def refuses(make):
    try:
        make()
    except ValueError:
        return True
    return False


assert refuses(lambda: lp.TemperatureLogitsWarper(0.0)) and not refuses(lambda: lp.TemperatureLogitsWarper(1e-3))
assert refuses(lambda: lp.TopKLogitsWarper(0)) and not refuses(lambda: lp.TopKLogitsWarper(1))
assert refuses(lambda: lp.TopPLogitsWarper(1.01)) and refuses(lambda: lp.TopPLogitsWarper(-0.01))
assert not refuses(lambda: lp.TopPLogitsWarper(0.0)) and not refuses(lambda: lp.TopPLogitsWarper(1.0))
assert refuses(lambda: lp.MinPLogitsWarper(1.01)) and not refuses(lambda: lp.MinPLogitsWarper(0.0)) and not refuses(lambda: lp.MinPLogitsWarper(1.0))
assert refuses(lambda: lp.TypicalLogitsWarper(0.0)) and refuses(lambda: lp.TypicalLogitsWarper(1.0))
for warper in (lp.EpsilonLogitsWarper, lp.EtaLogitsWarper):
    assert refuses(lambda: warper(0.0)) and refuses(lambda: warper(1.0)) and not refuses(lambda: warper(0.5))
assert refuses(lambda: lp.RepetitionPenaltyLogitsProcessor(0.0)) and not refuses(lambda: lp.RepetitionPenaltyLogitsProcessor(0.5))
assert refuses(lambda: lp.NoRepeatNGramLogitsProcessor(0)) and not refuses(lambda: lp.NoRepeatNGramLogitsProcessor(1))
# generate() skips the off values: with them, the scores are the raw logits
probe = cap("My name is")
off = dl.DecodingConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, typical_p=1.0, epsilon_cutoff=0.0,
                        eta_cutoff=0.0, repetition_penalty=1.0, no_repeat_ngram_size=0)
assert torch.equal(probe.scores(off), probe.logits.to(probe.scores(off).dtype))

# %% [markdown]
# ## Order
#
# Each library applies its processors one after another, and a processor that reads probabilities
# sees what the earlier ones left (the [order lesson](11_processor_order.py) shows why that
# matters). Ollama sends no sampler list to `llama-server`, so its order is llama.cpp's default
# chain.

# %% tags=["hide-input"]
VLLM_ORDER = ["allowed token ids, bad words", "min tokens, logit bias", "penalties: repetition, frequency, presence",
              "greedy if temperature < 1e-5", "temperature", "min-p", "top-k, then top-p", "draw"]
hf_column = [f"`{n}`" for n in TRANSFORMERS_ORDER] + ["draw (`torch.multinomial`)"]
cpp_column = [f"`{n}`" for n in LLAMA_CPP_CHAIN] + ["draw (`dist`)"]
depth = max(len(hf_column), len(cpp_column), len(VLLM_ORDER))
pad = lambda column: column + [""] * (depth - len(column))
display(Markdown(dl.markdown_table(
    ["#", "transformers `generate()`", "llama.cpp and Ollama", "vLLM"],
    [[str(i + 1), a, b, v] for i, (a, b, v) in enumerate(zip(pad(hf_column), pad(cpp_column), pad(VLLM_ORDER)))],
    align="rlll",
)))

# %% [markdown]
# - **transformers:** the penalties always run; from temperature on, only with `do_sample=True`.
#   Processors passed as `logits_processor=[...]` join after the built-in penalties and
#   controls, before temperature.
# - **llama.cpp:** `--samplers "penalties;top_k;temperature"` (or the request's `samplers`)
#   sets another order; a sampler named twice runs twice. With `--mirostat 1` or `2`, the chain
#   is temperature, then mirostat, and every other sampler is skipped, the penalties and DRY
#   included. Temperature ≤ 0 keeps only the most likely token.
# - **vLLM:** min-p runs after temperature and before top-k and top-p; a temperature below
#   1e-5 makes vLLM reset top-p, top-k and min-p to off and decode greedily.

# %% tags=["hide-input"]
# transformers' order, checked against the installed library: the order in which
# GenerationMixin._get_logits_processor builds the classes ...
source = inspect.getsource(GenerationMixin._get_logits_processor)
positions = [re.search(rf"\b{name}\(", source).start() for name in TRANSFORMERS_CLASSES]
assert positions == sorted(positions), list(zip(TRANSFORMERS_CLASSES, positions))
# ... and the package's order (it may hold rows transformers lacks, placed where generate() runs them)
assert [n for n in dl.HF_ORDER if n in TRANSFORMERS_ORDER] == TRANSFORMERS_ORDER
assert [n for n in dl.GENERATE_ORDER if n in TRANSFORMERS_ORDER] == TRANSFORMERS_ORDER
# ... and generate() itself: every knob on, the same scores as this order applied by hand
everything = dl.DecodingConfig(do_sample=True, temperature=0.8, top_h=0.9, top_k=40, top_p=0.95, min_p=0.05, typical_p=0.9,
                               epsilon_cutoff=1e-4, eta_cutoff=1e-3, repetition_penalty=1.2, no_repeat_ngram_size=3)
by_generate = dl.reference_generate(lm, "My name is", everything, max_new_tokens=1, scores=True).scores[0][0].cpu()
assert torch.equal(by_generate, dl.apply_in_order(probe, everything, TRANSFORMERS_ORDER))
# llama.cpp's default chain against the package's LLAMA_CPP_ORDER, for the samplers both have
cpp_fields = [LLAMA_CPP_AS_FIELDS[s] for s in LLAMA_CPP_CHAIN]  # every sampler of the chain has a row
assert [f for f in dl.LLAMA_CPP_ORDER if f in cpp_fields] == cpp_fields, (cpp_fields, dl.LLAMA_CPP_ORDER)
assert LLAMA_CPP_COMMIT in dl.LLAMA_CPP_VERSION  # the package's ports follow the same llama.cpp
# ... and its copy of llama.cpp's defaults (decoding_lessons.llama_cpp, from the same common.h)
package_defaults = dl.llama_cpp.LLAMA_CPP_DEFAULTS
for key, value in LLAMA_CPP_VALUES.items():
    got = package_defaults[key]
    assert (tuple(got) if isinstance(value, tuple) else got) == value, (key, got, value)
assert list(package_defaults["samplers"]) == LLAMA_CPP_CHAIN

# %% [markdown]
# ## What each knob is for
#
# Typical values are the ones a source recommends; where none does, the column gives the
# libraries' defaults.

# %% tags=["hide-input"]
PURPOSE = [
    ("temperature", "divides the logits by T: T < 1 sharpens, T > 1 flattens", "0.8 (llama.cpp, Ollama); 1.0 (transformers, vLLM, OpenAI)", "[temperature](03_temperature.py)"),
    ("top-k", "keeps the k most likely tokens", "40 (llama.cpp, Ollama), 50 (transformers)", "[top-k](04_top_k.py)"),
    ("top-p", "keeps the smallest set whose probability reaches p (the nucleus)", "0.95 (llama.cpp), 0.9 (Ollama)", "[top-p](05_top_p.py)"),
    ("min-p", "keeps tokens with p ≥ min_p · p_max", "0.01–0.2 (transformers' docstring); 0.05 (llama.cpp)", "[min-p](06_min_p.py)"),
    ("typical-p", "keeps the tokens whose surprisal is closest to the entropy, up to mass p", "off (1.0) everywhere by default", "[typical-p](07_typical_p.py)"),
    ("ε / η", "a fixed probability floor ε; a floor η that drops when the entropy is high", "ε 3e-4–9e-4, η 3e-4–4e-3 (the paper, via transformers)", "[ε and η](08_epsilon_eta.py)"),
    ("repetition penalty", "divides a positive logit of a seen token by the penalty, multiplies a negative one", "about 1.2 (CTRL's paper, via transformers' docstring)", "[repetition](10_repetition.py)"),
    ("frequency penalty", "subtracts α · count from a seen token's logit", "0.1–1 (OpenAI); up to 2", NA),
    ("presence penalty", "subtracts α once from every seen token's logit", "0.1–1 (OpenAI); up to 2", NA),
    ("no-repeat n-gram", "forbids any token that would repeat an n-gram", "off (0) by default", "[no-repeat n-gram](10_repetition.py)"),
    ("top-nσ", "keeps logits ≥ max − n·σ; its kept set does not change with temperature", "off (-1) in llama.cpp by default", NA),
    ("XTC", "with probability p, removes every token above the threshold but the least likely of them", "threshold 0.1 (llama.cpp); probability 0 (off) by default", NA),
    ("DRY", "penalises the token that would extend a repeated sequence, by multiplier · base^(length − allowed)", "base 1.75, allowed length 2, last 64 tokens (llama.cpp); multiplier 0 (off) by default", NA),
    ("mirostat", "steers each token's surprise toward τ with learning rate η", "τ 5.0, η 0.1 (llama.cpp)", NA),
    ("dynamic temperature", "sets T from the normalised entropy within T ± range", "exponent 1.0 (llama.cpp); range 0 (off) by default", NA),
    ("seed", "fixes the random draws, so a run repeats", "any integer", "[sampling in practice](12_sampling_in_practice.py)"),
]
display(Markdown(dl.markdown_table(["knob", "what it does", "typical values", "lesson"], PURPOSE)))

# %% [markdown]
# Papers: nucleus (Holtzman et al., [arXiv:1904.09751](https://arxiv.org/abs/1904.09751)),
# locally typical (Meister et al., [arXiv:2202.00666](https://arxiv.org/abs/2202.00666)),
# ε and η (Hewitt et al., [arXiv:2210.15191](https://arxiv.org/abs/2210.15191)), min-p (Nguyen et
# al., [arXiv:2407.01082](https://arxiv.org/abs/2407.01082)), CTRL's repetition penalty (Keskar et
# al., [arXiv:1909.05858](https://arxiv.org/abs/1909.05858)), top-nσ (Tang et al.,
# [arXiv:2411.07641](https://arxiv.org/abs/2411.07641)), mirostat (Basu et al.,
# [arXiv:2007.14966](https://arxiv.org/abs/2007.14966)). XTC, DRY and dynamic temperature have no
# paper; they came from the community and are defined by their code.

# %% [markdown]
# ## Which tokens the penalties count
#
# The same name can count different tokens. "Prompt" here means every token before the first
# generated one: system text, chat template and user text.

# %% tags=["hide-input"]
SCOPE = [
    ("transformers", "`repetition_penalty`", "every distinct token of the prompt and the output so far, once each"),
    ("transformers", "`no_repeat_ngram_size`", "the n-grams of the prompt and the output so far"),
    ("llama.cpp, Ollama", "`repeat_penalty`, `frequency_penalty`, `presence_penalty`",
     "the last `repeat_last_n` (64) tokens the sampler has seen; `llama-server` feeds it the prompt, so these include prompt tokens"),
    ("llama.cpp", "DRY", "the last `dry_penalty_last_n` (64) tokens"),
    ("vLLM", "`repetition_penalty`", "every distinct token of the prompt and the output"),
    ("vLLM, OpenAI", "`frequency_penalty`, `presence_penalty`", "the generated tokens only"),
]
display(Markdown(dl.markdown_table(["library", "penalty", "counts"], SCOPE)))

# %% tags=["hide-input"]
# transformers' repetition penalty covers the prompt: on the captured step (no token generated yet) it
# changes exactly the scores of the prompt's distinct tokens.
prompt_ids = set(probe.input_ids[0].tolist())
changed = (probe.scores(dl.DecodingConfig(repetition_penalty=1.3)) != probe.scores(dl.DecodingConfig())).nonzero().flatten().tolist()
assert set(changed) == {i for i in prompt_ids if float(probe.logits[i]) != 0.0}, (sorted(changed), sorted(prompt_ids))
# no_repeat_ngram_size covers the prompt too: after "... the cat and the", a 2-gram ban forbids what
# followed the earlier occurrence of the last token.
repeat = cap("I saw the cat and the")
ids = repeat.input_ids[0].tolist()
followers = {ids[i + 1] for i in range(len(ids) - 1) if ids[i] == ids[-1]}
assert followers, "the probe prompt has to repeat its last token"
banned = torch.isinf(repeat.scores(dl.DecodingConfig(no_repeat_ngram_size=2)))
assert {int(i) for i in banned.nonzero().flatten()} == followers

# %% [markdown]
# ## The traps

# %% tags=["hide-input"]
prompt = "My name is"
step = probe
temp_only = dl.DecodingConfig(do_sample=True, temperature=0.7)
hidden_k = temp_only.resolved(lm.model.generation_config)["top_k"]
kept_hidden, kept_all = step.kept(temp_only), step.kept(temp_only.replace(top_k=0))
cpp_values = dict(temperature=0.8, top_k=40, top_p=0.95, min_p=0.05)
kept_order = {}
for t in (0.8, 1.5):
    cfg = dl.DecodingConfig(do_sample=True, **{**cpp_values, "temperature": t})
    kept_order[t] = tuple(int(torch.isfinite(dl.apply_in_order(step, cfg, order)).sum()) for order in (dl.HF_ORDER, dl.LLAMA_CPP_ORDER))
min_p, hot = 0.05, 1.5
after_t = torch.isfinite(dl.apply_in_order(step, dl.DecodingConfig(do_sample=True, top_k=0, temperature=hot, min_p=min_p), dl.HF_ORDER))
as_power = torch.isfinite(step.scores(dl.DecodingConfig(do_sample=True, top_k=0, min_p=min_p ** hot)))
plain = torch.isfinite(step.scores(dl.DecodingConfig(do_sample=True, top_k=0, min_p=min_p)))
display(Markdown("\n".join([
    f"- **The hidden `top_k={hidden_k}`.** `generate(do_sample=True, temperature=0.7)` also applies top-k with k = {hidden_k} "
    f"unless you pass `top_k=0`: after “{prompt}” it keeps {kept_hidden:,} tokens instead of {kept_all:,}. llama.cpp and Ollama "
    "truncate by default too (top-k 40 and top-p; llama.cpp also min-p); vLLM and OpenAI do not.",
    f"- **Temperature first or last.** transformers and vLLM divide by T before truncating, llama.cpp's default chain after. With "
    f"llama.cpp's default values after “{prompt}”, transformers' order keeps {kept_order[0.8][0]} tokens at T = 0.8 and "
    f"{kept_order[1.5][0]} at T = 1.5; llama.cpp's order keeps {kept_order[0.8][1]} and {kept_order[1.5][1]}: its kept set "
    "does not depend on T.",
    f"- **min-p after temperature is min-p<sup>T</sup>.** Where temperature runs first (transformers, vLLM), min-p keeps "
    f"p<sub>i</sub> / p<sub>max</sub> ≥ min_p<sup>T</sup> of the *untempered* distribution. At T = {hot:g}, `min_p={min_p}` "
    f"keeps {int(after_t.sum()):,} tokens after “{prompt}”, as `min_p={min_p ** hot:.4f}` ({min_p}<sup>{hot:g}</sup>) does "
    f"without temperature, against {int(plain.sum()):,} "
    "for min-p alone. In llama.cpp's order min-p sees the untempered distribution, and `min_p` means what it says.",
    "- **Penalties over the prompt or not** (the table above): a long prompt makes transformers' and vLLM's repetition "
    "penalty push down every token it contains, and llama.cpp's window of 64 covers prompt tokens too; OpenAI's and "
    "vLLM's frequency and presence penalties see only the output.",
    "- **vLLM's `top_k`:** 0 and -1 both mean off (vLLM accepts -1 quietly and prefers 0), and it has no `typical_p`. transformers' "
    "`top_k=0` means off as well, but its default is 50.",
    "- **`temperature=0`:** greedy in llama.cpp and vLLM, accepted by OpenAI; refused by transformers' "
    "`TemperatureLogitsWarper` (use `do_sample=False`).",
    "- **The length limit:** transformers' fallback is `max_length=20`, which counts the prompt; pass `max_new_tokens`. "
    "vLLM's `max_tokens` defaults to 16; llama.cpp's and Ollama's to no limit.",
    "- **Ollama is not llama.cpp's defaults:** top-p 0.9 and min-p off, sent with every request.",
])))

# %% tags=["hide-input"]
assert TRANSFORMERS_DEFAULTS["top_k"] == 50 and (hidden_k == 50 or "top_k" in set_by_model)
assert kept_all == lm.vocab_size and kept_hidden < kept_all
assert kept_order[0.8][1] == kept_order[1.5][1]  # llama.cpp's order: the kept set does not depend on T
assert int((after_t ^ as_power).sum()) <= 1  # the closed form, up to one boundary token from float rounding
assert int(after_t.sum()) >= int(plain.sum())  # a hot temperature widens min-p's kept set

# %% [markdown]
# ## Each library's defaults on the same logits
#
# The same next-token logits after the same prompt, under each library's defaults:
# transformers' with `do_sample=True`, llama.cpp's and Ollama's (transformers' processors, in
# llama.cpp's order, with their default values), and vLLM's and OpenAI's (temperature 1, nothing
# cut). The curves are the probabilities of the 20 most likely tokens, by rank.

# %%
llama_cpp = dl.DecodingConfig(do_sample=True, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05)
ollama = dl.DecodingConfig(do_sample=True, temperature=0.8, top_k=40, top_p=0.9)
plain_t1 = dl.DecodingConfig(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
defaults = {
    "transformers": dl.apply_in_order(step, dl.DecodingConfig(do_sample=True), dl.HF_ORDER),
    "llama.cpp": dl.apply_in_order(step, llama_cpp, dl.LLAMA_CPP_ORDER),
    "Ollama": dl.apply_in_order(step, ollama, dl.LLAMA_CPP_ORDER),
    "vLLM, OpenAI": dl.apply_in_order(step, plain_t1, dl.HF_ORDER),
}
top = step.logits.topk(20).indices
curves = {name: dl.probabilities(scores)[top].tolist() for name, scores in defaults.items()}
title = f"After “{prompt}”: each library's defaults"
dl.measures_chart(list(range(1, 21)), curves, "rank", "probability", title, percent=True).show()

# %% tags=["hide-input"]
display(Markdown(dl.markdown_table(
    ["defaults of", "tokens kept", "entropy (nats)", "top token's probability"],
    [[name, f"{int(torch.isfinite(s).sum()):,}", f"{float(dl.entropy(s)):.2f}", f"{float(dl.probabilities(s).max()):.1%}"]
     for name, s in defaults.items()],
    align="lrrr",
)))

# %% tags=["hide-input"]
assert torch.equal(defaults["transformers"], step.scores(dl.DecodingConfig(do_sample=True)))
assert int(torch.isfinite(defaults["vLLM, OpenAI"]).sum()) == lm.vocab_size
assert int(torch.isfinite(defaults["llama.cpp"]).sum()) <= 40 and int(torch.isfinite(defaults["Ollama"]).sum()) <= 40

# %% [markdown]
# ## Sources
#
# - **transformers 5.24** (installed): `generation/configuration_utils.py`
#   (`GenerationConfig._get_default_generation_params`), `generation/utils.py`
#   (`_get_logits_processor`), `generation/logits_process.py`; read by the hidden cells of this
#   page when it is built.
# - **llama.cpp** at commit `0c1e57098bba43ac29e6e3b677cdceebdd22334f`, the one llama-cpp-python
#   0.3.36 vendors: `common/common.h` (`common_params_sampling`: defaults and chain),
#   `common/arg.cpp` (flags), `common/sampling.cpp` (the chain as built, mirostat's),
#   `common/common.cpp` (the GGUF's `general.sampling.*` metadata), `src/llama-sampler.cpp` (the
#   off values). The server's fields are from `tools/server/README.md` and the prompt
#   going through the sampler from `tools/server/server-context.cpp`, in a later version of the
#   repository (llama-cpp-python does not vendor `tools/`).
# - **Ollama** v0.33.0-rc2 (commit `fb30760`): `api/types.go` (`Options`, `DefaultOptions`),
#   `docs/modelfile.mdx`, `llm/llama_server.go` (what it sends to `llama-server`).
# - **vLLM**: `vllm/sampling_params.py` at commit `00388f6` (fields, defaults, ranges),
#   `vllm/v1/sample/sampler.py` at `3e34265` (the order),
#   `vllm/model_executor/layers/utils.py` (`apply_penalties`: which tokens each penalty counts),
#   and the engine-argument reference (`--generation-config`, default `auto`).
# - **OpenAI**: the API reference for Chat Completions (`temperature` 0–2, default 1; `top_p`
#   default 1; `frequency_penalty` and `presence_penalty` −2.0 to 2.0, default 0; `seed`, best
#   effort; `max_completion_tokens`, which replaces `max_tokens`) and its parameter details for
#   the penalties: $\mu_j \leftarrow \mu_j - c_j\,\alpha_{\text{frequency}} - [c_j > 0]\,\alpha_{\text{presence}}$,
#   where $c_j$ counts how often token $j$ was sampled before.

# %% tags=["hide-input"]
assert cap.forward_passes == cap.distinct_contexts
