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
# # Beyond transformers: llama.cpp's samplers
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** the samplers that llama.cpp, Ollama, LM Studio and vLLM offer and `generate()` lacks:
#   top-nσ, XTC, mirostat, dynamic temperature, the presence and frequency penalties, DRY, and
#   llama.cpp's default chain.
# - **When:** when you run a model in one of those programs, or move settings between them and
#   transformers.
# - **In transformers:** `generate(logits_processor=LogitsProcessorList([dl.TopNSigmaLogitsProcessor(1.0)]))`,
#   with this package's exact ports of llama.cpp's code.
# - **Typical value:** `top_n_sigma=1.0`; XTC `xtc_probability=0.5, xtc_threshold=0.1`; mirostat 2 with τ = 5, η = 0.1.
#
# </div>
#
# Many readers never call `generate()`: they run llama.cpp or a program built on it, and set
# knobs that transformers does not have. This lesson runs each of them on the same
# full-vocabulary logits as the other lessons. Each sampler here is a transformers
# `LogitsProcessor` from `decoding_lessons.llama_cpp`, a port of llama.cpp's own
# `src/llama-sampler.cpp`. It is checked against llama.cpp itself (llama-cpp-python 0.3.36) on
# recorded cases: the same kept tokens, probabilities within 1e-6, and the same random decisions
# from the same seed, because llama.cpp's `std::mt19937` generator is reproduced too.

# %%
import torch
from IPython.display import Markdown, display
from transformers import LogitsProcessorList

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
prompt = "Once upon a time, there was a little"
step = cap(prompt)


def kept(scores):
    return int(torch.isfinite(scores).sum())


# %% [markdown]
# ## Top-nσ: a cut in logit space
#
# Top-nσ (Tang et al. 2024, [arXiv 2411.07641](https://arxiv.org/abs/2411.07641)) looks at the raw
# logits, not at probabilities. It computes their mean and standard deviation σ and keeps every token
# whose logit is at least $\max - n\sigma$:
#
# $$\text{keep } i \iff \ell_i \ge \max_j \ell_j - n\,\sigma(\ell).$$
#
# Dividing every logit by a temperature $T$ divides the maximum and σ by the same $T$, so the
# same tokens pass. **The kept set does not depend on the temperature**, wherever temperature runs.
# Top-p and min-p read probabilities, and a higher temperature lets more tokens through them. Below,
# temperature runs *first* for all three (the order `["temperature", ...]`), the hardest case for
# top-nσ:

# %%
temperatures = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
sweep = {"top-nσ, n = 1": [], "top-p 0.9": [], "min-p 0.1": []}
for t in temperatures:
    hot = dl.DecodingConfig(do_sample=True, temperature=t, top_k=0)
    sweep["top-nσ, n = 1"].append(kept(dl.apply_in_order(step, hot, ["temperature", "top_n_sigma"], top_n_sigma=1.0)))
    sweep["top-p 0.9"].append(step.kept(hot.replace(top_p=0.9)))
    sweep["min-p 0.1"].append(step.kept(hot.replace(min_p=0.1)))
dl.line_chart(temperatures, sweep, f"Tokens kept, temperature first<br><sup>after “{prompt}”</sup>", "temperature T",
              "tokens kept (log scale)", log_y=True).show()

# %% tags=["hide-input"]
sigma_kept = sweep["top-nσ, n = 1"]
same = len(set(sigma_kept)) == 1
display(Markdown(
    (f"Top-nσ with $n = 1$ keeps **{sigma_kept[0]:,} tokens at every temperature** from {temperatures[0]} to {temperatures[-1]}. "
     if same else
     f"Top-nσ with $n = 1$ keeps between {min(sigma_kept):,} and {max(sigma_kept):,} tokens from $T$ = {temperatures[0]} to "
     f"{temperatures[-1]}: the threshold moves with $T$ only by float32 rounding. ")
    + f"Over the same range top-p 0.9 goes from {sweep['top-p 0.9'][0]:,} to {sweep['top-p 0.9'][-1]:,} tokens and "
    f"min-p 0.1 from {sweep['min-p 0.1'][0]:,} to {sweep['min-p 0.1'][-1]:,}."
))
assert max(sigma_kept) - min(sigma_kept) <= 1
assert sweep["top-p 0.9"][-1] > sweep["top-p 0.9"][0] and sweep["min-p 0.1"][-1] > sweep["min-p 0.1"][0]

# %% [markdown]
# How wide is the cut? σ is taken over the *whole* vocabulary, most of which is noise far below
# the top. So $n$ counts in units of that spread. At $n = 1$ the set above is small, while $n = 3$
# already reaches into the bulk of the distribution:

# %%
widths = {n: kept(dl.apply_in_order(step, None, dl.HF_ORDER, top_n_sigma=n)) for n in (0.5, 1.0, 2.0, 3.0)}
display(Markdown(dl.markdown_table(["n", "tokens kept", "share of the vocabulary"],
                                   [[n, f"{k:,}", f"{k / lm.vocab_size:.2%}"] for n, k in widths.items()], align="rrr")))

# %% tags=["hide-input"]
assert list(widths.values()) == sorted(widths.values())  # a wider n never keeps fewer

# %% [markdown]
# `top_n_sigma` is a row of this site's processor table (with `library="llama.cpp"`), so the
# [playground](../playground.md#ctx=once&temperature=3&top_k=0&top_n_sigma=1) has it as a knob,
# validated like the others. **Try it there:** the link opens at $T = 3$. Switch to llama.cpp's
# order, or move temperature below top-nσ: the kept count does not move.
#
# ## XTC: exclude the top choices
#
# XTC works the other way round from every truncation so far. With probability
# `xtc_probability` it **removes the most likely tokens**: every token whose probability is at
# least `xtc_threshold`, except the least likely of them. The model is pushed off its first
# choice, but only when there are two or more good choices, and only on some steps. The rest of
# the time it leaves the distribution alone.
#
# One call draws one uniform number from llama.cpp's generator. First, a step where XTC always
# fires (`xtc_probability=1`):

# %%
xtc_prompt = "My favourite colour is"
xtc_step = cap(xtc_prompt)
raw = xtc_step.logits.float()
fired = dl.XTCLogitsProcessor(xtc_probability=1.0, xtc_threshold=0.05, seed=0)(xtc_step.input_ids, raw[None])[0]

# %% tags=["hide-input"]
p = torch.softmax(raw, -1)
above = int((p >= 0.05).sum())
removed = kept(raw) - kept(fired)
# XTC removes every token with p >= threshold except the last of them, when at least two pass
assert removed == (above - 1 if above >= 2 else 0)

# %% [markdown]
# With `xtc_probability=0.5` the sampler fires on about half the steps. What a sampler then draws
# from is the mixture: the model's distribution half the time, the fired one the other half. The
# seeded draws below run the processor 1,000 times, drawing one uniform number each time, exactly
# as llama.cpp would with seed 0. The chart shows the three distributions side by side:

# %%
xtc = dl.XTCLogitsProcessor(xtc_probability=0.5, xtc_threshold=0.05, seed=0)
runs = [xtc(xtc_step.input_ids, raw[None])[0] for _ in range(1000)]
fire_rate = sum(xtc.fired) / len(xtc.fired)
mixture = 0.5 * torch.softmax(raw, -1) + 0.5 * torch.softmax(fired, -1)
dl.distributions_chart(
    xtc_step, {"the model": raw, "XTC fired": fired, "XTC at probability 0.5 (the mixture)": mixture.log()}, k=12,
    title=f"XTC at threshold 0.05<br><sup>after “{xtc_prompt}”</sup>",
).show()

# %% tags=["hide-input"]
runs_fired = sum(kept(r) < kept(raw) for r in runs)
assert runs_fired == sum(xtc.fired) or removed == 0
display(Markdown(
    f"On this step {above} token{'s' if above != 1 else ''} reach the threshold of 0.05, so a firing XTC removes "
    f"{removed} of them" + (f" and keeps the least likely one, “{dl.token_label(lm.tokenizer, int(fired.argmax())).display}”"
                             if removed else "") +
    f". Over the 1,000 seeded calls it fired {sum(xtc.fired)} times ({fire_rate:.1%}, for a probability of 50%)."
))
assert 0.4 < fire_rate < 0.6

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=once&top_k=0&xtc=xtc_probability:1,xtc_threshold:0.1&order=llama_cpp):**
# XTC fires there on every draw; raise `xtc_threshold` until fewer than two tokens reach it, and it
# stops removing anything.
#
# ## Mirostat: steering the surprise
#
# Mirostat (Basu et al. 2020, [arXiv 2007.14966](https://arxiv.org/abs/2007.14966)) aims at a
# *target surprise* τ, in bits: the average of $-\log_2 p$ of the chosen tokens. Version 2
# keeps the most likely tokens whose surprise is at most μ, draws one of them, and then corrects μ
# by the error: $\mu \leftarrow \mu - \eta\,(\text{surprise} - \tau)$. μ starts at $2\tau$. It is
# a feedback loop over a whole generation, so the trace is the thing to look at:

# %%
miro = dl.MirostatV2LogitsProcessor(tau=4.0, eta=0.1, seed=42)
out = dl.reference_generate(lm, prompt, dl.DecodingConfig(do_sample=False), max_new_tokens=48,
                            logits_processor=LogitsProcessorList([miro]))
mu, surprise, size, chosen = (list(column) for column in zip(*miro.trace))
running = [sum(surprise[: i + 1]) / (i + 1) for i in range(len(surprise))]
labels = [dl.token_label(lm.tokenizer, t).display for t in chosen]
steps = list(range(1, len(mu) + 1))
dl.line_chart(steps, {"μ (the cut, bits)": mu, "surprise of the chosen token": surprise,
                      "running mean surprise": running, "target τ": [4.0] * len(steps)},
              "Mirostat 2 over one generation<br><sup>τ = 4, η = 0.1</sup>", "step", "bits",
              hover={"surprise of the chosen token": labels}).show()
dl.line_chart(steps, {"tokens kept": size}, "Mirostat 2: the tokens μ lets through", "step",
              "tokens kept (log scale)", log_y=True, hover={"tokens kept": labels}).show()
print(lm.tokenizer.decode(out[0, step.input_ids.shape[-1]:]))

# %% tags=["hide-input"]
assert torch.equal(out[0, step.input_ids.shape[-1]:], torch.tensor(chosen))  # generate() picked mirostat's draws
gap = running[-1] - 4.0
display(Markdown(
    f"Over {len(surprise)} tokens the mean surprise was **{running[-1]:.2f} bits** for a target of 4"
    + (", close to it. " if abs(gap) < 0.5 else
       f": the model's choices were {'less' if gap < 0 else 'more'} surprising than the target, so μ kept "
       f"{'rising' if gap < 0 else 'falling'} to {'let more unlikely tokens in' if gap < 0 else 'shut unlikely tokens out'}. ")
    + f"μ ranged from {min(mu):.2f} to {max(mu):.2f} bits, and the kept set from {min(size):,} to {max(size):,} tokens. "
    "Each step the cut widens after a predictable token and narrows after a surprising one, by η times the error."
))
for i in range(len(mu) - 1):  # the update rule, step by step (float32 in llama.cpp)
    assert abs(mu[i + 1] - (mu[i] - 0.1 * (surprise[i] - 4.0))) < 1e-4
if abs(gap) >= 0.5:
    assert (mu[-1] > mu[0]) == (gap < 0)

# %% [markdown]
# `generate()` ran with `do_sample=False` and mirostat as a custom processor. Mirostat makes the
# draw itself and leaves only the drawn token with a finite score, so the argmax picks it. That is
# how any of llama.cpp's selecting samplers can run inside `generate()` with llama.cpp's own random
# numbers.
#
# The [playground](../playground.md#ctx=story_16&top_k=0&mirostat=mirostat:2,seed:1&order=llama_cpp)
# runs one mirostat step from μ = 2τ: it shows how many tokens that μ keeps, the token it draws for
# the seed, and where μ would move next. Change `mirostat_tau` and the seed.
#
# ## Dynamic temperature: hotter when the model is unsure
#
# llama.cpp's `temp_ext` sampler (`--dynatemp-range δ`, `--dynatemp-exp`) picks the temperature per
# step from the entropy $H$ of the distribution, as a share of the largest possible entropy
# $\ln |V|$:
#
# $$T = T_{\min} + (T_{\max} - T_{\min}) \left(\frac{H}{\ln |V|}\right)^{\text{exponent}}, \qquad
# [T_{\min}, T_{\max}] = [\max(0, T - \delta),\ T + \delta].$$
#
# So a confident step gets a low temperature and an unsure one a high temperature. Here it is on
# several of the site's prompts, with $T = 1$ and $\delta = 0.5$:

# %%
prompts = ["The capital of France is", "2 + 2 =", "My name is", "Once upon a time, there was a little",
           "I like to eat", "The weather today is"]
dyn, entropy32 = {}, {}
for text in prompts:
    s = cap(text)
    proc = dl.TempExtLogitsProcessor(temperature=1.0, delta=0.5, exponent=1.0)
    proc(s.input_ids, s.logits.float()[None])
    dyn[text] = (s.entropy(), proc.last_temperature)
    entropy32[text] = (proc.last_entropy, proc.last_max_entropy)  # llama.cpp's float32 sums
hmax = torch.log(torch.tensor(float(lm.vocab_size))).item()
display(Markdown(dl.markdown_table(
    ["context", "entropy H (nats)", "H / ln|V|", "temperature used"],
    [[f"“{t}”", f"{h:.2f}", f"{h / hmax:.3f}", f"{temp:.3f}"] for t, (h, temp) in dyn.items()], align="lrrr")))

# %% tags=["hide-input"]
for text, (h, temp) in dyn.items():
    h32, hmax32 = entropy32[text]
    assert abs(temp - (0.5 + 1.0 * h32 / hmax32)) < 1e-5  # the formula, on llama.cpp's float32 entropy
    # which is the entropy in the table up to float32 sums over the whole vocabulary (1.3e-3 nats
    # over 262,144 tokens)
    assert abs(h32 - h) < 2e-3 * max(1.0, h) and abs(hmax32 - hmax) < 1e-5
order = sorted(dyn.values())
assert [t for _, t in order] == sorted(t for _, t in order)  # more entropy, more heat
temps = [t for _, t in dyn.values()]
coolest, hottest = min(dyn, key=lambda k: dyn[k][1]), max(dyn, key=lambda k: dyn[k][1])
display(Markdown(
    f"The temperature ran from {min(temps):.2f} (after “{coolest}”) to {max(temps):.2f} (after “{hottest}”), inside "
    f"[0.5, 1.5]. The most uncertain step reached {max(h for h, _ in dyn.values()) / hmax:.0%} of the uniform "
    f"distribution's $\\ln |V|$ = {hmax:.2f} nats, so with exponent 1 the top of the range stays out of reach; an "
    "exponent below 1 spreads the values upward."
))
assert max(temps) < 1.5 and min(temps) >= 0.5

# %% [markdown]
# ## Penalties, as each API defines them
#
# Three libraries, three definitions of a "repetition penalty":
#
# - **transformers' `repetition_penalty`** (CTRL's rule): divides a positive logit by the penalty
#   and multiplies a negative one, for every token anywhere in the context, prompt included.
# - **llama.cpp's `penalties`** sampler: the same multiplicative `repeat_penalty`, but only over
#   the last `penalty_last_n` tokens (64 by default). It then *subtracts*
#   `count × frequency_penalty + presence_penalty` from every token in that window.
# - **The OpenAI API's and vLLM's `presence_penalty` and `frequency_penalty`**: the same
#   subtraction, but over the *generated* tokens only. The prompt does not count.
#
# On a prompt that repeats itself, as the first new token is chosen:

# %%
rep_prompt = "The cat sat on the mat. The cat sat on the mat. The cat"
rep = cap(rep_prompt)
logits, ids = rep.logits.float()[None], rep.input_ids
variants = {
    "the model": logits[0],
    "transformers repetition_penalty=1.3": dl.apply_processors(rep.logits, ids, dl.DecodingConfig(repetition_penalty=1.3)),
    "llama.cpp repeat 1.3, frequency 0.5, presence 0.5": dl.LlamaCppPenaltiesLogitsProcessor(
        penalty_last_n=64, repeat_penalty=1.3, frequency_penalty=0.5, presence_penalty=0.5)(ids, logits)[0],
    "OpenAI frequency 0.5, presence 0.5": dl.OpenAIPenaltiesLogitsProcessor(
        frequency_penalty=0.5, presence_penalty=0.5)(ids, logits)[0],
}
dl.distributions_chart(rep, variants, k=10, title=f"Four penalties<br><sup>after “{rep_prompt}”</sup>").show()

# %% tags=["hide-input"]
seen = sorted(set(ids[0].tolist()))
top_seen = max(seen, key=lambda i: float(logits[0, i]))
count = ids[0].tolist().count(top_seen)
moved = {name: float(v[top_seen]) for name, v in variants.items()}
display(Markdown(
    f"The most likely token already in the context, “{dl.token_label(lm.tokenizer, top_seen).display}” (seen {count} "
    f"time{'s' if count != 1 else ''}), has the logit {moved['the model']:.2f}. transformers' penalty moves it to "
    f"{moved['transformers repetition_penalty=1.3']:.2f}; llama.cpp's, which also subtracts "
    f"{count} × 0.5 + 0.5, to {moved['llama.cpp repeat 1.3, frequency 0.5, presence 0.5']:.2f}. The OpenAI penalties leave "
    f"it at {moved['OpenAI frequency 0.5, presence 0.5']:.2f}: nothing has been generated yet, and the prompt does not count."
))
assert torch.equal(variants["OpenAI frequency 0.5, presence 0.5"], logits[0])
assert moved["llama.cpp repeat 1.3, frequency 0.5, presence 0.5"] < moved["transformers repetition_penalty=1.3"] < moved["the model"]

# %% [markdown]
# ## DRY: a penalty that grows with the repeat
#
# DRY ("don't repeat yourself", from koboldcpp, in llama.cpp since 2024) penalises a token only if
# it would **extend a sequence that already occurred** in the last `dry_penalty_last_n` tokens. The
# penalty grows exponentially with the length $n$ of that repeat:
#
# $$\text{logit} \mathrel{-}= \texttt{dry\_multiplier} \cdot \texttt{dry\_base}^{\,n - \texttt{dry\_allowed\_length}}
# \quad\text{for } n \ge \texttt{dry\_allowed\_length}.$$
#
# A repeat is cut at a *sequence breaker* (by default a newline, `:`, `"` and `*`), so a list or a
# dialogue can reuse its markup. The breakers are texts, matched against the vocabulary's own
# tokens, which is why the processor takes the tokenizer. On a sequence that loops:

# %%
loop_prompt = "one two three four five one two three four five one two three"
loop = cap(loop_prompt)
loop_logits = loop.logits.float()[None]
dry = dl.DRYLogitsProcessor(dry_multiplier=0.8, dry_base=1.75, dry_allowed_length=2, tokenizer=lm.tokenizer)
loops = {
    "the model": loop_logits[0],
    "DRY 0.8 × 1.75^(n − 2)": dry(loop.input_ids, loop_logits)[0],
    "transformers repetition_penalty=1.3": dl.apply_processors(loop.logits, loop.input_ids, dl.DecodingConfig(repetition_penalty=1.3)),
    "no_repeat_ngram_size=3": dl.apply_processors(loop.logits, loop.input_ids, dl.DecodingConfig(no_repeat_ngram_size=3)),
}
dl.distributions_chart(loop, loops, k=10, title=f"DRY and the other repetition rules<br><sup>after “{loop_prompt}”</sup>").show()

# %% tags=["hide-input"]
drop = loop_logits[0] - loops["DRY 0.8 × 1.75^(n − 2)"]
hit = [int(i) for i in torch.nonzero(drop != 0).flatten()]
rows = []
for i in hit:
    n = 2 + torch.log(drop[i] / 0.8).item() / torch.log(torch.tensor(1.75)).item()
    rows.append([f"“{dl.token_label(lm.tokenizer, i).display}”", round(n), f"{float(drop[i]):.3f}"])
    assert abs(n - round(n)) < 1e-3  # every penalty is multiplier · base^(integer)
display(Markdown(dl.markdown_table(["token DRY penalises", "repeat it would extend (n tokens)", "logit − score"], rows, align="lrr")))
rp_hit = int((loops["transformers repetition_penalty=1.3"] != loop_logits[0]).sum())
ng_banned = int(torch.isneginf(loops["no_repeat_ngram_size=3"]).sum())
display(Markdown(
    (f"DRY moves {len(hit)} tokens, each by an amount set by the length of the repeat it would continue."
     if len(hit) != 1 else "DRY moves 1 token, by an amount set by the length of the repeat it would continue.")
    + f" transformers' repetition penalty moves all {rp_hit} distinct tokens of the context alike, whatever "
    f"comes next, and `no_repeat_ngram_size=3` bans {ng_banned} token{'s' if ng_banned != 1 else ''} outright."
))
assert 1 <= len(hit) < rp_hit

# %% [markdown]
# DRY is in the [playground](../playground.md#ctx=name_trap&top_k=0&dry=dry_multiplier:0.8&order=llama_cpp)
# too, on a repetition trap, with llama.cpp's sequence breakers matched against this model's vocabulary.
#
# ## llama.cpp's default chain
#
# `llama-cli` and `llama-server` run their samplers in a fixed chain (`common/common.h`): penalties →
# DRY → top-nσ → top-k → typical → top-p → min-p → XTC → temperature → a seeded draw (`dist`).
# Their defaults are `top_k=40, top_p=0.95, min_p=0.05, temp=0.8`, with the penalties, DRY, XTC,
# top-nσ and typical off. `dl.llama_cpp_chain()` builds that chain from `dl.LLAMA_CPP_DEFAULTS`,
# each value overridable by its llama.cpp name. Run inside `generate(do_sample=False)`, its last
# processor leaves only llama.cpp's draw, so the output is the one llama.cpp gives for that seed:

# %%
chain = dl.llama_cpp_chain(seed=7)
print(" → ".join(type(p).__name__ for p in chain))
out = dl.reference_generate(lm, prompt, dl.DecodingConfig(do_sample=False), max_new_tokens=24, logits_processor=chain)
print(lm.tokenizer.decode(out[0, step.input_ids.shape[-1]:]))

# %% [markdown]
# Temperature runs last in that chain. So llama.cpp's top-p and min-p cut the *untempered*
# distribution, while `generate()` given the same four numbers cuts after dividing by 0.8. The
# kept sets on one step:

# %%
same_numbers = dl.DecodingConfig(do_sample=True, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05)
before_draw = LogitsProcessorList(list(dl.llama_cpp_chain(seed=7))[:-1])  # everything but the draw
llama_scores = before_draw(step.input_ids, step.logits.float()[None])[0]
hf_scores = step.scores(same_numbers)
dl.distributions_chart(step, {"llama.cpp's chain (temperature last)": llama_scores,
                              "generate() with the same numbers": hf_scores}, k=15,
                       title=f"llama.cpp's defaults against generate()'s order<br><sup>after “{prompt}”</sup>").show()

# %% tags=["hide-input"]
k_llama, k_hf = kept(llama_scores), kept(hf_scores)
display(Markdown(
    f"llama.cpp keeps **{k_llama:,}** token{'s' if k_llama != 1 else ''}, `generate()` **{k_hf:,}**"
    + ("." if k_llama == k_hf else
       ": temperature 0.8 sharpens the distribution before `generate()`'s top-p and min-p, so they cut deeper there."
       if k_hf < k_llama else
       ": transformers' top-k keeps every token tied with the 40th, llama.cpp's exactly 40.")
))
# T < 1 first only sharpens, so top-p's and min-p's sets can only shrink; only top-k's ties can add tokens
assert k_hf <= k_llama or step.kept(dl.DecodingConfig(do_sample=True, top_k=40)) > 40
assert torch.equal(out[0, : step.input_ids.shape[-1]], step.input_ids[0])

# %% [markdown]
# ### One table for both libraries
#
# Each of these samplers is also a row of the package's processor table, next to transformers' own.
# `dl.apply_in_order` takes them by keyword: a number for top-nσ, and for the others a dict of their
# llama.cpp settings, the unset ones at llama.cpp's defaults. Each runs where the order puts it, and
# each setting is refused outside its range by name. In `dl.LLAMA_CPP_ORDER`, with llama.cpp's own
# temperature (`temp_ext`), the rows are llama.cpp's chain up to its draw, bit for bit:

# %%
no_truncation = dl.DecodingConfig(do_sample=True, top_k=0)
rows = dl.apply_in_order(step, no_truncation, dl.LLAMA_CPP_ORDER,
                         xtc={"xtc_probability": 1.0, "xtc_threshold": 0.05, "seed": 7}, temp_ext={"temp": 0.8})
print(f"XTC (firing) and temperature 0.8 in llama.cpp's order keep {kept(rows):,} tokens")

# %% tags=["hide-input"]
same_chain = dl.llama_cpp_chain(top_k=0, top_p=1.0, min_p=0.0, xtc_probability=1.0, xtc_threshold=0.05, seed=7)
by_chain = LogitsProcessorList(list(same_chain)[:-1])(step.input_ids, step.logits.float()[None])[0]
assert torch.equal(rows, by_chain)

# %% [markdown]
# The [knobs cheat-sheet](23_knobs_cheat_sheet.py) gives every library's names, defaults, ranges
# and order, with the version each value comes from.

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
notes = [
    "- Top-nσ cuts in logit space, so temperature cannot widen it: "
    + (f"{sigma_kept[0]:,} tokens at every temperature here, " if same else f"{min(sigma_kept):,}–{max(sigma_kept):,} tokens here, ")
    + f"against {sweep['top-p 0.9'][0]:,}–{sweep['top-p 0.9'][-1]:,} for top-p 0.9.",
    f"- XTC removes the likely tokens, not the unlikely ones, and only on some steps: it fired on {fire_rate:.0%} of 1,000 "
    "seeded calls at probability 0.5.",
    f"- Mirostat is a feedback loop, and a slow one at η = 0.1: its mean surprise came to {running[-1]:.2f} bits for a "
    f"target of 4 over {len(surprise)} tokens, with a kept set between {min(size):,} and {max(size):,} tokens.",
    "- The same word, \"penalty\", means three different rules: over the whole context (transformers), over a window of "
    "the last 64 tokens (llama.cpp), or over the generated tokens only (OpenAI, vLLM). DRY penalises only the token that "
    f"would continue a repeat: {len(hit)} token{'s' if len(hit) != 1 else ''} on the looping prompt, against {rp_hit} for "
    "the repetition penalty.",
    f"- llama.cpp's defaults run temperature last: {k_llama:,} tokens kept against {k_hf:,} for `generate()` with the "
    "same four numbers.",
]
display(Markdown("\n".join(notes)))

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same logits as the charts above.

# %% tags=["hide-input"]
hot_sigma = kept(dl.apply_in_order(step, dl.DecodingConfig(do_sample=True, temperature=10.0, top_k=0),
                                   ["temperature", "top_n_sigma"], top_n_sigma=1.0))
never = dl.XTCLogitsProcessor(xtc_probability=1.0, xtc_threshold=0.6, seed=0)
untouched = torch.equal(never(xtc_step.input_ids, raw[None])[0], raw)
display(Markdown(dl.exercises([
    (f"After “{prompt}”, top-nσ with $n = 1$ keeps {sigma_kept[3]:,} tokens at $T = 1$. How many does it keep at $T = 10$?",
     f"**{hot_sigma:,}**. Dividing the logits by $T$ divides the maximum and σ alike, so the cut passes the same tokens."),
    ("XTC with `xtc_threshold=0.6` and `xtc_probability=1`: what does it remove?",
     "**Nothing**, on any step: llama.cpp switches XTC off for a threshold above 0.5, since at most one token can have "
     "p ≥ 0.6 and XTC always keeps the least likely of the tokens above the threshold."),
    ("A chat API call sets `presence_penalty=2` on a prompt that repeats one word ten times. Is that word penalised "
     "when the first new token is chosen?",
     "**No**, not under the OpenAI API or vLLM: their penalties count generated tokens only. llama.cpp's penalties "
     "count the prompt too (within the last `penalty_last_n` tokens), as does transformers' `repetition_penalty`."),
])))
assert hot_sigma == sigma_kept[3] or abs(hot_sigma - sigma_kept[3]) <= 1
assert untouched
