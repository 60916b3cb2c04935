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
# # Order and combination
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** `generate()` applies the penalties first, then [temperature](../glossary.md#temperature), then every truncation
#   warper in a fixed order, each on the previous one's output; sampling also brings `top_k=50`.
# - **When:** whenever a configuration sets more than one knob, or moves settings between libraries.
# - **In transformers:** `generate(do_sample=True, temperature=0.8, top_k=0, top_p=0.95, min_p=0.05)`.
# - **Typical value:** `top_k=0`, to switch off the hidden default.
#
# </div>
#
# A real configuration sets several knobs at once, for example `temperature=0.8, top_k=40,
# top_p=0.95, min_p=0.05`. `generate()` turns each knob into a [logits processor](../glossary.md#logits-processor) and applies them
# **one after another**, and each sees the previous one's output. The order therefore matters
# whenever a processor depends on the *shape* of the distribution:
#
# - [Top-k](../glossary.md#top-k) depends only on the ranking of the tokens. Temperature does not change the ranking, so
#   the two commute.
# - [Top-p](../glossary.md#nucleus), [min-p](../glossary.md#min-p), typical-p, ε, η and Top-H all read *probabilities*. Temperature changes those
#   probabilities, so applying it before or after them gives different [kept sets](../glossary.md#kept-set).
#
# This lesson prints the order `generate()` uses, uncovers a default that silently joins every
# sampling configuration, and compares transformers' order with llama.cpp's.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% [markdown]
# ## The order of `generate()`
#
# A configuration that switches on every processor this site covers, and the processors
# `decoding_lessons.logits_processors` builds for it. They are transformers' own classes, in the
# order of `GenerationMixin._get_logits_processor`:

# %%
everything = dl.DecodingConfig(
    do_sample=True, temperature=0.8, top_h=0.9, top_k=40, top_p=0.95, min_p=0.05, typical_p=0.9,
    epsilon_cutoff=1e-4, eta_cutoff=1e-3, repetition_penalty=1.2, no_repeat_ngram_size=3,
)
processors = dl.logits_processors(everything, lm.model.generation_config)
for i, proc in enumerate(processors, 1):
    print(f"{i:2d}. {type(proc).__name__}")

# %% [markdown]
# The two penalties come first and act on the raw logits. They run whether or not you sample. Then,
# only with `do_sample=True`: temperature, Top-H, top-k, top-p, min-p, typical, ε and η. The hidden
# cell below checks that these processors give bit for bit the scores `generate()` reports for this
# configuration.

# %% tags=["hide-input"]
prompt = "My name is"
step = cap(prompt)


def generate_scores(cfg):
    return dl.reference_generate(lm, prompt, cfg, max_new_tokens=1, scores=True).scores[0][0].cpu()


assert torch.equal(generate_scores(everything), step.scores(everything))
assert torch.equal(dl.apply_in_order(step, everything, dl.HF_ORDER), step.scores(everything))
assert [type(p).__name__ for p in processors][:3] == ["RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor", "TemperatureLogitsWarper"]

# %% [markdown]
# ## The hidden `top_k=50`
#
# Ask `generate()` for "temperature only", `do_sample=True, temperature=0.7`, and you also get
# top-k. Unless the model's `generation_config` says otherwise, transformers fills in `top_k=50`
# whenever it samples. Many a tutorial's "temperature", "top-p", "min-p" and "typical" charts made
# with `generate()` carry it without saying so. Here are the same captured logits with and without it:

# %%
temp_only = dl.DecodingConfig(do_sample=True, temperature=0.7)
really_temp_only = temp_only.replace(top_k=0)
resolved_k = temp_only.resolved(lm.model.generation_config)["top_k"]
source = "the model's generation_config" if getattr(lm.model.generation_config, "top_k", None) is not None else "transformers' default"
kept_hidden = step.kept(temp_only)
cut = dl.top_k_rule(dl.scores_entering(step, temp_only, "top_k"), resolved_k) if resolved_k else None
kept_all = step.kept(really_temp_only)
lost = float(step.probs(really_temp_only)[~torch.isfinite(step.scores(temp_only))].sum())
display(
    Markdown(
        f"- `DecodingConfig(do_sample=True, temperature=0.7)` resolves to `top_k={resolved_k}` ({source}).\n"
        f"- After “{prompt}” it keeps **{kept_hidden}** tokens; with `top_k=0` added, **{kept_all:,}**, the whole vocabulary.\n"
        f"- The tokens the hidden top-k removes held **{lost:.1%}** of the probability at temperature 0.7. "
        f"That mass is given to the first {kept_hidden} tokens instead."
    )
)

# %%
display(Markdown(f"The 60 most likely tokens under the “temperature only” configuration, by rank, with their probability at "
                 f"temperature 0.7 before any cut (hover a point for its token). Past rank {kept_hidden} every token is marked ✕"
                 + ("." if cut is None or cut.extra == 0 else f" ({cut.extra} of the {kept_hidden} tie with the {resolved_k}th score, and top-k keeps ties).")))
dl.rank_chart(step, temp_only, k=60).show()

# %% tags=["hide-input"]
assert source == "the model's generation_config" or (resolved_k == 50 and kept_hidden == cut.kept >= 50)
assert kept_all == lm.vocab_size
assert torch.equal(generate_scores(temp_only), step.scores(temp_only))

# %% [markdown]
# Every slider on this site therefore starts from `DecodingConfig(do_sample=True, top_k=0)`, so
# that only the knob being moved shapes the distribution.
#
# ## Min-p before or after temperature
#
# Min-p keeps the tokens with $p \ge \texttt{min\_p} \cdot p_{\max}$ (see the min-p lesson). `generate()` applies
# temperature *first*, so min-p compares the tempered probabilities. Since
# $p_i^{1/T} / p_{\max}^{1/T} = (p_i/p_{\max})^{1/T}$, min-p after temperature $T$ keeps
#
# $$\frac{p_i}{p_{\max}} \ge \texttt{min\_p}^{\,T},$$
#
# which is min-p with an effective threshold $\texttt{min\_p}^T$ on the *untempered*
# distribution. A hot temperature ($T > 1$) lowers that threshold and lets more tokens through;
# a cold one raises it. If min-p came first, its kept set would not depend on $T$ at all.
# `dl.apply_in_order` applies the same transformers processors in any order, so both can be
# computed on one captured step:

# %%
min_p = 0.1
temperatures = [0.5, 0.8, 1.0, 1.5, 2.0, 3.0]
after, before = {}, {}
for t in temperatures:
    cfg = dl.DecodingConfig(do_sample=True, top_k=0, temperature=t, min_p=min_p)
    after[t] = torch.isfinite(dl.apply_in_order(step, cfg, dl.HF_ORDER))
    before[t] = torch.isfinite(dl.apply_in_order(step, cfg, ["min_p", "temperature"]))
display(Markdown(dl.markdown_table(
    ["T", "kept: T, then min-p (generate)", "kept: min-p, then T", "min_p^T"],
    [[f"{t:g}", f"{int(after[t].sum()):,}", f"{int(before[t].sum()):,}", f"{min_p ** t:.3g}"] for t in temperatures],
    align="rrrr",
)))

# %% tags=["hide-input"]
hot, cold = temperatures[-1], temperatures[0]
display(
    Markdown(
        f"With min-p first, the kept set is the same {int(before[1.0].sum()):,} token{'s' if int(before[1.0].sum()) != 1 else ''} at every T. "
        f"In `generate()`'s order it grows from {int(after[cold].sum()):,} at T = {cold:g} to {int(after[hot].sum()):,} at T = {hot:g}: "
        f"a high temperature widens min-p's kept set, so it adds randomness twice, once through the kept set and once "
        f"by flattening the kept tokens' probabilities."
    )
)

# %% tags=["hide-input"]
assert all(torch.equal(before[t], before[1.0]) for t in temperatures)
for t in temperatures:
    # the closed form: same set as min-p = min_p**T on the raw distribution (allow one boundary token for float rounding)
    raw = torch.isfinite(step.scores(dl.DecodingConfig(do_sample=True, top_k=0, min_p=min_p**t)))
    assert int((raw ^ after[t]).sum()) <= 1
assert int(after[hot].sum()) > int(after[cold].sum())

# %% [markdown]
# The slider moves the temperature in `generate()`'s order with `min_p=0.1` fixed. Watch the kept
# count in the title:

# %%
dl.slider_chart(step, "temperature", [0.5, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0], base=dl.DecodingConfig(do_sample=True, top_k=0, min_p=min_p), k=20).show()

# %% [markdown]
# ## transformers' order versus llama.cpp's
#
# llama.cpp, the engine behind many local LLM apps, has a different default chain:
# penalties → DRY → top-n-σ → top-k → typical → top-p → min-p → XTC → **temperature last**. DRY,
# top-n-σ and XTC are off by default. Its default values are `top_k=40, top_p=0.95, min_p=0.05,
# temp=0.8`. With temperature last, the truncations see the untempered distribution, and
# temperature only reshapes what survived.
#
# `dl.LLAMA_CPP_ORDER` is that chain over the package's processor table. Where transformers has the
# same sampler (top-k, typical, top-p, min-p, temperature), `dl.apply_in_order` applies
# **transformers'** processor in llama.cpp's place: that isolates the effect of the order. llama.cpp's
# own samplers differ in details (for example, its penalties look only at the last 64 tokens by
# default); the package's exact ports of them (`penalties`, `dry`, `top_n_sigma`, `xtc`,
# `temp_ext`, `mirostat`) are rows of the same table, off unless you hand them to
# `dl.apply_in_order` by keyword, as [lesson 22](22_llama_cpp_samplers.py) does.

# %%
print("transformers:", " → ".join(f for f in dl.HF_ORDER if f in dl.GENERATE_ORDER))  # generate()'s own knobs
print("llama.cpp:   ", " → ".join(f for f in dl.LLAMA_CPP_ORDER if f in dl.GENERATE_ORDER))  # the same ones, llama.cpp's order

# %% [markdown]
# llama.cpp's default values, at its default temperature 0.8 and at a hot 1.5, on the same captured
# logits:

# %%
orders = {"transformers order": dl.HF_ORDER, "llama.cpp order": dl.LLAMA_CPP_ORDER}
order_results, order_rows = {}, []
for t in (0.8, 1.5):
    cfg = dl.DecodingConfig(do_sample=True, temperature=t, top_k=40, top_p=0.95, min_p=0.05)
    hf, cpp = dl.apply_in_order(step, cfg, dl.HF_ORDER), dl.apply_in_order(step, cfg, dl.LLAMA_CPP_ORDER)
    order_results[t] = (int(torch.isfinite(hf).sum()), int(torch.isfinite(cpp).sum()))
    order_rows.append([f"{t:g}", f"{order_results[t][0]} / {order_results[t][1]}", f"{float(dl.entropy(hf)):.2f} / {float(dl.entropy(cpp)):.2f}"])
display(Markdown(dl.markdown_table(
    ["T", "kept: transformers / llama.cpp order", "entropy (nats): transformers / llama.cpp"], order_rows, align="rrr",
)))

# %%
dl.order_chart(step, dl.DecodingConfig(do_sample=True, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05), orders, k=20).show()
dl.order_chart(step, dl.DecodingConfig(do_sample=True, temperature=1.5, top_k=40, top_p=0.95, min_p=0.05), orders, k=20).show()


# %% tags=["hide-input"]
def compare(t):
    a, b = order_results[t]
    if a == b:
        return f"at T = {t:g} both orders keep {a} tokens"
    return f"at T = {t:g} the transformers order keeps **{a}** tokens and the llama.cpp order **{b}**"


display(
    Markdown(
        f"After “{prompt}”, {compare(0.8)}; {compare(1.5)}. Below 1, temperature sharpens the distribution, so when it comes "
        "first the top-p and min-p cuts fall earlier. Above 1 it flattens the distribution and the same cuts fall later. With "
        "temperature last (llama.cpp), the kept set does not depend on the temperature at all."
    )
)

# %% tags=["hide-input"]
for t in (0.8, 1.5):
    cfg = dl.DecodingConfig(do_sample=True, temperature=t, top_k=40, top_p=0.95, min_p=0.05)
    assert torch.equal(dl.apply_in_order(step, cfg, dl.HF_ORDER), step.scores(cfg))
assert order_results[0.8][1] == order_results[1.5][1]  # llama.cpp order: kept set independent of T
# sharpening first can only shrink the top-p and min-p sets, flattening first only grow them
assert order_results[0.8][0] <= order_results[0.8][1] and order_results[1.5][0] >= order_results[1.5][1]

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=name&temperature=1.5&top_k=0&min_p=0.1&order=llama_cpp)**, which opens in llama.cpp's order with T = 1.5 and `min_p=0.1`: switch the order to transformers' and compare the kept sets, or drag the rows into an order of your own.

# %% [markdown]
# ## What to notice
#
# - **Read the order.** In `generate()`, the penalties run first and temperature runs before every
#   truncation warper. A temperature change therefore also changes what top-p, min-p, typical-p, ε,
#   η and Top-H keep.
# - **Mind the defaults.** `do_sample=True` brings `top_k=50` unless you pass `top_k=0` (or the
#   model's `generation_config` sets another value).
# - **Settings do not transfer between libraries.** The same numbers in llama.cpp, with temperature
#   last, produce a different distribution.

# %% tags=["hide-input"]
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
k_sets = {t: torch.isfinite(step.scores(dl.DecodingConfig(do_sample=True, temperature=t, top_k=40))) for t in (0.5, 2.0)}
hot_min_p = int(after[2.0].sum())
raw_min_p = step.kept(dl.DecodingConfig(do_sample=True, top_k=0, min_p=min_p**2))
cpp_top_p = {t: int(torch.isfinite(dl.apply_in_order(step, dl.DecodingConfig(do_sample=True, temperature=t, top_k=0, top_p=0.95), dl.LLAMA_CPP_ORDER)).sum()) for t in (0.5, 1.5)}
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"`top_k=40` at temperature 0.5 and at temperature 2, after “{prompt}”: do the kept sets differ?",
                    f"**No**, both keep the same {int(k_sets[0.5].sum())} tokens. Temperature divides every logit by the same "
                    "$T$, which keeps their order, and top-k reads only the order.",
                ),
                (
                    f"In `generate()`'s order, `min_p=0.1` at $T = 2$ keeps the same tokens as which `min_p` at $T = 1$?",
                    f"**`min_p` = 0.1² = 0.01**: after temperature $T$, min-p keeps $p_i / p_{{\\max}} \\ge \\texttt{{min\\_p}}^T$. "
                    f"Here that is {hot_min_p:,} tokens at $T = 2$ and {raw_min_p:,} with `min_p=0.01` at $T = 1$"
                    + (" (one token sits on the boundary, where float rounding decides)." if hot_min_p != raw_min_p else "."),
                ),
                (
                    "In llama.cpp's order (temperature last), how many tokens does `top_p=0.95` keep at $T = 0.5$, and "
                    "how many at $T = 1.5$?",
                    f"**{cpp_top_p[0.5]:,} at both**"
                    f"{'' if cpp_top_p[0.5] == cpp_top_p[1.5] else ' (no: ' + str(cpp_top_p[1.5]) + ' at 1.5)'}: top-p cuts the "
                    "untempered distribution, and temperature only reshapes what survived. In `generate()`'s order the "
                    f"counts are {step.kept(dl.DecodingConfig(do_sample=True, temperature=0.5, top_k=0, top_p=0.95)):,} and "
                    f"{step.kept(dl.DecodingConfig(do_sample=True, temperature=1.5, top_k=0, top_p=0.95)):,}.",
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert torch.equal(k_sets[0.5], k_sets[2.0])
assert abs(hot_min_p - raw_min_p) <= 1
assert cpp_top_p[0.5] == cpp_top_p[1.5]
assert cap.forward_passes == cap.distinct_contexts
