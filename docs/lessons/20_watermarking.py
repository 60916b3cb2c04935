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
# # Watermarking
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** at each step a secret key and the previous token pick a [green list](../glossary.md#watermark), a share γ of the
#   [vocabulary](../glossary.md#vocabulary), whose [scores](../glossary.md#score) get $+\delta$; a detector with the key counts the green tokens and turns
#   the count into a [z-score](../glossary.md#z-score).
# - **When:** text that whoever holds the key should be able to recognise later as the model's.
# - **In transformers:** `generate(watermarking_config=WatermarkingConfig(greenlist_ratio=0.25, bias=2.0))`,
#   detected with `WatermarkDetector(model.config, device, watermarking_config)(ids, return_dict=True)`.
# - **Typical value:** $\delta$ from 0.5 to 2 (transformers' recommended range; 2.0 is its default),
#   γ = 0.25, and a detection threshold of $z > 3$.
#
# </div>
#
# Every processor so far shapes the distribution to make the text *better*: likelier, more
# varied, or inside a grammar. A watermark shapes it to make the text *recognisable*. At every
# step, a secret key and the previous token pick a random **green list** of tokens, and the green
# tokens' scores get a small bonus. The text still reads like the model's, but it holds more green
# tokens than chance would give, and anyone with the key can count them.
#
# This is the scheme of Kirchenbauer et al., *A Watermark for Large Language Models* (2023,
# [arXiv:2301.10226](https://arxiv.org/abs/2301.10226)), with the seeding schemes of their
# follow-up, *On the Reliability of Watermarks for Large Language Models* (2023,
# [arXiv:2306.04634](https://arxiv.org/abs/2306.04634)). transformers implements it as
# `generate(watermarking_config=WatermarkingConfig(...))` and detects it with `WatermarkDetector`.
#
# | field of `WatermarkingConfig` | what it sets |
# |---|---|
# | `greenlist_ratio` | $\gamma$: the share of the vocabulary that is green at each step (0.25) |
# | `bias` | $\delta$: what is added to every green token's score (2.0) |
# | `hashing_key` | the secret key that, with the context, seeds the green list |
# | `seeding_scheme` | `"lefthash"`: the seed is the key times the previous token; `"selfhash"`: the candidate token is part of its own seed |
# | `context_width` | how many previous tokens the seed may use |

# %%
import math

import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% [markdown]
# ## The green list
#
# With `"lefthash"`, the processor seeds a random generator with `hashing_key × previous token`,
# draws a permutation of the whole [vocabulary](../glossary.md#vocabulary), and calls its first $\lfloor\gamma V\rfloor$ tokens
# green. Nothing else about the context matters: two contexts that end in the same token have the
# same green list. `dl.green_list` reads the list off transformers' own `WatermarkLogitsProcessor`
# (the ids whose score it changes).

# %%
watermark = dl.Watermark(greenlist_ratio=0.25, bias=2.0)
prompt = "The weather today is"
step = cap(prompt)
green = dl.green_list(lm, step.input_ids, watermark)
same_end = lm.encode("Tomorrow I hope the weather is")  # another context, same last token
other_end = lm.encode("The weather today was")

# %% tags=["hide-input"]
display(Markdown(
    f"After “{prompt}” the green list holds {len(green):,} of the model's {lm.vocab_size:,} tokens "
    f"(γ = {watermark.greenlist_ratio}). After “Tomorrow I hope the weather is”, which also ends in "
    f"{lm.code(int(step.input_ids[0, -1]))}, it is the same list; after “The weather today was” only "
    f"{len(set(green.tolist()) & set(dl.green_list(lm, other_end, watermark).tolist())):,} of them are green again, "
    f"about γ of them, as for any two independent draws."
))

# %% tags=["hide-input"]
assert len(green) == int(watermark.greenlist_ratio * lm.vocab_size)
assert int(same_end[0, -1]) == int(step.input_ids[0, -1]) != int(other_end[0, -1])
assert torch.equal(dl.green_list(lm, same_end, watermark), green)
_overlap = len(set(green.tolist()) & set(dl.green_list(lm, other_end, watermark).tolist())) / len(green)
assert abs(_overlap - watermark.greenlist_ratio) < 0.02

# %% [markdown]
# ## What the bias does to one distribution
#
# The processor adds $\delta$ to every green token's score. If the green list held probability
# $p_G$ before, every green token's weight $e^{\text{score}}$ grows by the same factor $e^\delta$, so
# after the softmax
#
# $$p_G' = \frac{p_G\,e^\delta}{p_G\,e^\delta + 1 - p_G}.$$
#
# Green bars below are green tokens, grey bars red ones; the pale bars are before the bias, the
# solid ones after. ([Sampling](../glossary.md#sampling) here is plain, `top_k=0`, so the chart shows the whole distribution.)

# %%
marked = dl.DecodingConfig(do_sample=True, top_k=0, watermarking_config=watermark)
dl.green_step_chart(step, marked, k=12).show()

# %%
m = dl.green_mass(step, marked)
display(Markdown(
    f"The green list holds {m.mass_before:.1%} of the probability before the bias and {m.mass_after:.1%} after: "
    f"{m.moved:.1%} of the mass moved from red tokens to green ones. The formula gives {m.predicted_after:.1%}. "
    f"Over many contexts the green share before the bias is γ = {watermark.greenlist_ratio} on average; at one step "
    f"it is whatever the draw put on the green side."
))

# %% tags=["hide-input"]
assert abs(m.mass_after - m.predicted_after) < 1e-5 and m.mass_after > m.mass_before
assert torch.equal(step.scores(marked)[green], step.logits[green] + watermark.bias)

# %% [markdown]
# ## A whole generation
#
# `dl.watermark_generation` runs `generate(watermarking_config=...)` and records every step: the
# green list's probability before and after the bias, and whether the token drawn was green. The
# dashed line is γ. Hover over a point for the token and the entropy of the distribution before the
# bias.

# %%
run = dl.watermark_generation(lm, prompt, marked, max_new_tokens=16, seed=0)
dl.green_trace_chart(run).show()

# %% tags=["hide-input"]
low = [s for s in run.steps if s.entropy_before < 1.0]
high = [s for s in run.steps if s.entropy_before >= 1.0]


def mean_moved(steps):
    return sum(s.mass_after - s.mass_before for s in steps) / len(steps) if steps else float("nan")


def moved(group, what):
    steps = f"{len(group)} {what}step{'s' if len(group) != 1 else ''}"
    return f"on the {steps} the bias moved {mean_moved(group):.1%} of the probability on average"


parts = [moved(g, w) for g, w in ((high, "uncertain "), (low, "more confident ")) if g]
display(Markdown(
    f"“{run.text}”: {sum(s.green for s in run.steps)} of its {len(run.steps)} tokens are green "
    f"({run.green_fraction:.0%}, against γ = {watermark.greenlist_ratio:.0%} by chance). "
    f"Steps with an entropy of 1 nat or more count as uncertain: {'; '.join(parts)}."
))

# %% [markdown]
# The watermark acts after every other processor, whether sampling or [greedy](../glossary.md#greedy): `GenerationMixin`
# appends it last, after temperature and truncation.

# %%
print(" → ".join(dl.GENERATE_ORDER[-4:]))

# %% tags=["hide-input"]
# the recorded generation is generate()'s; our own decoding loop gives the same tokens and scores at every step,
# and so it does with selfhash over two tokens, top-p and a repetition penalty in front
_trace = dl.generate_with_trace(lm, prompt, marked, max_new_tokens=16, seed=0, keep_scores=True)
assert _trace.token_ids == run.token_ids
assert all(torch.equal(s.scores, g) for s, g in zip(_trace.steps, run.scores, strict=True))
assert run.green_fraction > watermark.greenlist_ratio
assert dl.GENERATE_ORDER[-1] == "watermarking_config"
_self = dl.DecodingConfig(do_sample=True, top_p=0.9, repetition_penalty=1.2,
                          watermarking_config=watermark.replace(seeding_scheme="selfhash", context_width=2))
_out = dl.reference_generate(lm, prompt, _self, max_new_tokens=4, seed=1, scores=True)
_tr = dl.generate_with_trace(lm, prompt, _self, max_new_tokens=4, seed=1, keep_scores=True)
assert torch.equal(_tr.sequence, _out.sequences)
assert all(torch.equal(s.scores, g[0]) for s, g in zip(_tr.steps, _out.scores, strict=True))

# %% [markdown]
# ## Detecting it
#
# The detector needs the key, not the model. It walks through the text, recomputes each token's
# green list from the tokens before it, and counts the green tokens $g$ among the $T$ it can score.
# Without a watermark each token is green with probability $\gamma$, so $g$ is binomial, and
#
# $$z = \frac{g - \gamma T}{\sqrt{T\,\gamma\,(1-\gamma)}}$$
#
# is about standard normal. `WatermarkDetector` calls a text watermarked when $z$ exceeds a
# threshold, 3 by default: a plain text gets there with probability about 0.13 %.

# %%
plain_run = dl.reference_generate(lm, prompt, marked.replace(watermarking_config=None), max_new_tokens=16, seed=0)
plain_ids = plain_run[0, run.prompt_ids.shape[1]:].tolist()
found, not_found = dl.detect(lm, run.token_ids, watermark), dl.detect(lm, plain_ids, watermark)
display(Markdown(
    f"The watermarked text above: {int(found.num_green_tokens[0])} green of {int(found.num_tokens_scored[0])} scored "
    f"(the first token has no generated token before it), z = {found.z_score[0]:.2f}. The same prompt and seed "
    f"without the watermark: {int(not_found.num_green_tokens[0])} of {int(not_found.num_tokens_scored[0])}, "
    f"z = {not_found.z_score[0]:.2f}."
))

# %% tags=["hide-input"]
assert int(found.num_green_tokens[0]) == sum(s.green for s in run.steps[1:])
_n = int(found.num_tokens_scored[0])
assert abs(found.z_score[0] - (found.num_green_tokens[0] - 0.25 * _n) / math.sqrt(_n * 0.25 * 0.75)) < 1e-9

# %% [markdown]
# One text proves little. `dl.detection_study` writes many: for several prompts, two samples each,
# with no watermark and with $\delta$ = 1, 2 and 4 (the same [seed](../glossary.md#seed) for every setting), and runs the
# detector over each text. EOS is banned (`min_new_tokens`) so every text has the same length.

# %%
prompts = [
    "The weather today is", "My favourite animal is", "Once upon a time", "The best way to learn a language is",
    "Yesterday I went to the", "Scientists have discovered",
]
tokens = 16
study_config = dl.DecodingConfig(do_sample=True, top_p=0.95, min_new_tokens=tokens, watermarking_config=watermark)
study = dl.detection_study(lm, prompts, study_config, biases=(1.0, 2.0, 4.0), samples=2, max_new_tokens=tokens, seed=0)
dl.z_histogram(study).show()

# %% tags=["hide-input"]
at2 = study.run(2.0)
display(Markdown(
    f"Of the {study.texts} plain texts, {study.plain.detected:.0%} cross the threshold; of the {study.texts} watermarked "
    f"with δ = 2, {at2.detected:.0%}. The plain texts' z-scores average {study.plain.z_scores.mean():.2f}, the "
    f"watermarked ones' {at2.z_scores.mean():.2f}."
))

# %% tags=["hide-input"]
assert at2.z_scores.mean() > study.plain.z_scores.mean() + 1
assert study.plain.detected <= 0.2 and list(study.plain.tokens) == [tokens] * study.texts

# %% [markdown]
# ## What δ costs
#
# A larger $\delta$ moves more mass to the green list, so the text holds more green tokens and is
# easier to detect. But it also pushes the sampler away from what the model would have written. The
# price is measured under the **unwatermarked** model, from its own [logits](../glossary.md#logit): the perplexity of the
# texts, $\exp$ of minus their mean log-probability per token.
#
# A dozen texts are a noisy sample of that: each δ's texts wander into contexts of their own, some
# easier to predict than others. So the chart holds the contexts fixed. At every step of the *plain*
# texts it applies each δ's watermark to the scores (as `generate()` would, last) and scores the
# whole resulting distribution, $\sum_t p_\delta(t)\,\log p_\text{model}(t)$, instead of one token drawn
# from it.

# %%
dl.tradeoff_chart(study).show()

# %% tags=["hide-input"]
runs = [study.plain] + study.runs
display(Markdown(dl.markdown_table(
    ["δ", "mean z", "detected (z > 3)", "perplexity of its texts", "perplexity at the plain contexts"],
    [[f"{r.bias:g}", f"{r.z_scores.mean():.2f}", f"{r.detected:.0%}", f"{r.perplexity:.2f}", f"{r.price_perplexity:.2f}"]
     for r in runs],
    align="rrrrr",
)))
display(Markdown(
    f"From δ = 0 to δ = 4 the mean z rises from {study.plain.z_scores.mean():.2f} to {study.run(4.0).z_scores.mean():.2f}, "
    f"and the perplexity at the same contexts from {study.plain.price_perplexity:.2f} to {study.run(4.0).price_perplexity:.2f}; "
    f"δ = 1 changes it by {study.run(1.0).price_perplexity - study.plain.price_perplexity:+.2f}. A small δ costs "
    f"little; transformers recommends δ between 0.5 and 2."
))

# %% tags=["hide-input"]
_z = [r.z_scores.mean() for r in runs]
assert _z == sorted(_z), _z
_ppl = [r.price_perplexity for r in runs]
assert _ppl[-1] == max(_ppl) and study.run(2.0).price_perplexity > study.plain.price_perplexity, _ppl

# %% [markdown]
# ## Where it fails
#
# **Confident steps.** The bias moves mass only where there is a choice. When one token holds
# nearly all the probability, it wins whatever its colour, and that token's colour is chance. A
# greedy generation shows it best: the bias can change the argmax only where a green token comes
# within $\delta$ of the top score.

# %%
greedy = dl.DecodingConfig(watermarking_config=watermark)
greedy_run = dl.watermark_generation(lm, prompt, greedy, max_new_tokens=12)
kept = [s for s in greedy_run.steps if not s.changed]  # the top token won whatever the bias
display(Markdown(
    f"Greedy, watermarked: on {len(greedy_run.steps) - len(kept)} of its {len(greedy_run.steps)} steps the bias put a "
    f"green token on top. On the other {len(kept)} the model's own favourite won, and its colour was chance: "
    f"{sum(s.green for s in kept)} of them green"
    + (f" ({sum(s.green for s in kept) / len(kept):.0%}, against γ = {watermark.greenlist_ratio:.0%})." if kept else ".")
    + f" The detector gives the text z = {dl.detect(lm, greedy_run.token_ids, watermark).z_score[0]:.2f}. A more confident "
    f"model, or a more predictable prompt, keeps its favourite more often and leaves less of a mark."
))

# %% tags=["hide-input"]
assert all(s.green for s in greedy_run.steps if s.changed)  # only a green token can overtake the top one

# %% [markdown]
# **Short texts.** At a fixed green fraction $f > \gamma$, $z = (f - \gamma)\sqrt{T} / \sqrt{\gamma(1-\gamma)}$
# grows like $\sqrt{T}$: a short text cannot reach the threshold, however strongly it was marked.
# The same δ = 2 texts, cut after their first tokens:

# %%
rows = []
for length in (4, 8, tokens):
    z = dl.detect(lm, [ids[:length] for ids in at2.token_ids], watermark).z_score  # one row per text
    rows.append([length, f"{z.mean():.2f}", f"{(z > study.threshold).mean():.0%}"])
display(Markdown(dl.markdown_table(["tokens", "mean z", "detected"], rows, align="rrr")))

# %% tags=["hide-input"]
f = float(at2.green_fraction.mean())
display(Markdown(
    f"These texts are {f:.0%} green on average. At that rate a text needs about "
    f"{9 * 0.25 * 0.75 / (f - 0.25) ** 2:.0f} scored tokens for its expected z to reach 3."
    if f > 0.25 else f"These texts are only {f:.0%} green on average: too little to reach z = 3 at any length."
))

# %% tags=["hide-input"]
assert float(rows[0][1]) < float(rows[-1][1])

# %% [markdown]
# **Edits.** Each token's colour depends on the token before it (with `"lefthash"`), so replacing
# one token changes the colour of two. Paraphrasing a text, or asking another model to rewrite it,
# washes the watermark out in proportion to how much is changed. Kirchenbauer et al. (2023,
# [arXiv:2306.04634](https://arxiv.org/abs/2306.04634)) measure how many tokens it takes to detect
# the watermark after such attacks, and propose `"selfhash"`: the seed also uses the candidate token
# itself (and, with `context_width`, several tokens before it), which makes the green lists harder to
# learn from watermarked text and more robust to edits.
#
# ## Summary
#
# - A watermark adds $\delta$ to a green list of $\gamma V$ tokens, chosen at each step by a key and
#   the previous token(s). The green mass grows from $p_G$ to $p_G e^\delta / (p_G e^\delta + 1 - p_G)$.
# - transformers applies it last, after every other processor, greedy or sampled.
# - Detection needs only the key and the tokenizer: count green tokens, compute $z$, compare with
#   a threshold (3).
# - δ trades detectability for likelihood. Confident steps carry no signal, and short texts carry
#   too little.

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same key and the same
# captured logits as the charts above.

# %% tags=["hide-input"]
warm = dl.DecodingConfig(do_sample=True, top_k=0, temperature=2.0)
boost = step.scores(warm.replace(watermarking_config=watermark))[green] - step.scores(warm)[green]
context, all_green = step.input_ids, []
for _ in range(tokens):  # a text that is green throughout: each token the first green one after the one before
    all_green.append(int(dl.green_list(lm, context, watermark)[0]))
    context = torch.cat([context, torch.tensor([[all_green[-1]]], device=context.device)], dim=1)
best = dl.detect(lm, all_green, watermark)
scored = int(best.num_tokens_scored[0])
g = watermark.greenlist_ratio
display(Markdown(dl.exercises([
    (f"Sampling at $T = 2$ with the watermark: what is added to a green token's score: δ = {watermark.bias:g}, or "
     f"δ / T = {watermark.bias / 2:g}?",
     f"**{float(boost.mean()):g}**, the full δ: the watermark comes after temperature in `generate()`'s order, so it "
     "is not divided by $T$, unlike a `sequence_bias`."),
    (f"What is the highest z-score a {tokens}-token text can reach with γ = {g}?",
     f"**{best.z_score[0]:.2f}**, for a text whose every token is green. The detector scores {scored} of its {tokens} "
     f"tokens, all green, and $z = (T - \\gamma T) / \\sqrt{{T \\gamma (1 - \\gamma)}} = \\sqrt{{T (1 - \\gamma) / \\gamma}}$ "
     f"with $T = {scored}$."),
])))
assert torch.allclose(boost, torch.full_like(boost, watermark.bias), atol=1e-5)
assert int(best.num_green_tokens[0]) == scored and abs(best.z_score[0] - math.sqrt(scored * (1 - g) / g)) < 1e-9
