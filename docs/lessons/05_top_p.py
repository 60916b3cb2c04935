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
# # Top-p (nucleus sampling)
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** keep the most likely tokens until their probabilities add up to $p$ (the nucleus),
#   renormalise.
# - **When:** open-ended sampling where the cut should follow the distribution: few tokens when the
#   model is sure, many when it is not.
# - **In transformers:** `generate(do_sample=True, top_p=0.9, top_k=0)`; without `top_k=0`, the default
#   top-k of 50 cuts first.
# - **Typical value:** 0.9–0.95.
#
# </div>
#
# [Top-k](../glossary.md#top-k) keeps a fixed *number* of tokens. **Top-p** keeps a fixed share of the *probability*:
# sort the tokens from most to least likely, and keep the shortest prefix whose probabilities add
# up to at least $p$, the **nucleus**. Then renormalise, as top-k does.
#
# $$p_{(1)} \ge p_{(2)} \ge \dots, \qquad
# m = \min\Bigl\{ n : \sum_{i=1}^{n} p_{(i)} \ge p \Bigr\}, \qquad
# \mathcal{V}_p = \{(1), \dots, (m)\}$$
#
# When the model is confident, a few tokens reach $p$ and the nucleus is small. When it is
# uncertain, the nucleus can grow to hundreds or thousands of tokens. The cut follows the shape of
# the distribution.
#
# - **Paper:** Holtzman, Buys, Du, Forbes and Choi, *The Curious Case of Neural Text
#   Degeneration* (ICLR 2020, [arXiv:1904.09751](https://arxiv.org/abs/1904.09751)). It argues
#   that the tail of the distribution is unreliable and should be cut, but by mass, not by count.
# - **In transformers:** `generate(do_sample=True, top_p=p)`, implemented by `TopPLogitsWarper`.
#   It runs after [temperature](../glossary.md#temperature) and top-k, before min-p. `top_p=1.0` (the default) switches it off.
#   At least one token is always kept.
# - **Typical values:** 0.9–0.95 (the paper used 0.95); lower, such as 0.5–0.8, for more focused
#   text.
#
# As everywhere in these lessons, `top_k=0` is set explicitly, so that `generate()`'s default
# `top_k=50` does not cut first (measured below).

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
base = dl.DecodingConfig(do_sample=True, top_k=0)

# %% [markdown]
# ## The cumulative curve
#
# The rule is easiest to see on the sorted cumulative probability. After `"My name is"`, with
# `top_p=0.9`: the curve adds up the probabilities from the most likely token (rank 1, left) to
# the least likely (right; the rank axis is logarithmic). Top-p keeps every token up to the rank
# where the curve crosses the dashed line.

# %%
prompt = "My name is"
step = cap(prompt)
dl.cumulative_chart(step, 0.9).show()

# %% tags=["hide-input"]
n90 = step.kept(base.replace(top_p=0.9))
display(
    Markdown(
        f"After “{prompt}” the nucleus for `top_p=0.9` holds **{n90:,} tokens**: this step's distribution is flat "
        f"enough that {n90:,} tokens are needed to cover 90% of the probability."
    )
)

# %% [markdown]
# Move the line: the slider runs `top_p` from 0.5 to 0.99. The [kept set](../glossary.md#kept-set) (green) grows slowly at
# first and then very fast as $p$ approaches 1.

# %%
dl.cutoff_slider(step, "top_p", [0.5, 0.7, 0.8, 0.9, 0.95, 0.99], active=3).show()

# %%
grid_counts = [step.kept(base.replace(top_p=v)) for v in [0.5, 0.7, 0.8, 0.9, 0.95, 0.99]]
k95, k99 = grid_counts[4], grid_counts[5]
rest99 = 1 - float(step.probs(base)[torch.isfinite(step.scores(base.replace(top_p=0.99)))].sum())
display(
    Markdown(
        f"The last few percent of the probability are spread over many tokens: from `top_p=0.95` to `0.99` the nucleus "
        f"grows from {k95:,} to {k99:,} tokens, and the other {lm.vocab_size - k99:,} tokens of the vocabulary share the "
        f"last {rest99:.1%}."
    )
)

# %% tags=["hide-input"]
assert grid_counts == sorted(grid_counts) and grid_counts[-1] > 2 * grid_counts[3]  # "very fast as p approaches 1"
assert -1e-6 <= rest99 <= 0.01 + 1e-6  # the tokens outside the 0.99 nucleus hold at most 1%

# %% [markdown]
# ## Before and after
#
# `top_p=0.7` after `"My name is"`, against plain sampling.

# %%
nucleus = base.replace(top_p=0.7)
dl.token_chart(step, base, k=15).show()
dl.token_chart(step, nucleus, k=15).show()

# %%
n70 = step.kept(nucleus)
mass70 = float(step.probs(base)[torch.isfinite(step.scores(nucleus))].sum())
display(
    Markdown(
        f"`top_p=0.7` keeps **{n70:,}** tokens, which held {mass70:.1%} of the probability before "
        f"renormalising (just over 70%: the token that crosses the line is kept). "
        + ("All 15 tokens in the chart survive: the cut happens further right, in the tail." if n70 >= 15 else "")
    )
)

# %% tags=["hide-input"]
assert mass70 >= 0.7 - 1e-6

# %% [markdown]
# ## The distribution as the knob moves

# %%
dl.slider_chart(step, "top_p", [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0], k=20, active=5).show()

# %% [markdown]
# ## Adaptive: a more and a less confident step
#
# The same `top_p` on two steps, `"My name is"` and `"The capital of France is"`, ordered by
# [entropy](../glossary.md#entropy):

# %%
candidates = {p: cap(p) for p in ["My name is", "The capital of France is"]}
confident, uncertain = sorted(candidates, key=lambda p: candidates[p].entropy(base))
ps = [0.5, 0.8, 0.9, 0.95, 0.99]
rows = [["entropy (nats)", f"{candidates[confident].entropy(base):.2f}", f"{candidates[uncertain].entropy(base):.2f}"]]
for v in ps:
    rows.append([f"top_p = {v:g}", f"{candidates[confident].kept(base.replace(top_p=v)):,}", f"{candidates[uncertain].kept(base.replace(top_p=v)):,}"])
display(Markdown(dl.markdown_table(["tokens kept", f"“{confident}”", f"“{uncertain}”"], rows, align="lrr")))

# %%
dl.sweep_chart(
    {f"“{confident}”": candidates[confident], f"“{uncertain}”": candidates[uncertain]},
    "top_p",
    [round(0.02 * i, 2) for i in range(1, 50)] + [0.99],
    metric="kept",
    title="Tokens kept by top-p (log scale)",
).show()

# %%
sure = candidates[confident]
display(Markdown(f"The more confident step (lower entropy), “{confident}”, at `top_p=0.9`:"))
dl.cumulative_chart(sure, 0.9).show()

# %% tags=["hide-input"]
k_sure, k_unsure = sure.kept(base.replace(top_p=0.9)), candidates[uncertain].kept(base.replace(top_p=0.9))
display(
    Markdown(
        f"At `top_p=0.9` the nucleus holds {k_sure:,} token{'s' if k_sure != 1 else ''} after “{confident}” and "
        f"{k_unsure:,} after “{uncertain}”: a factor of {k_unsure / k_sure:,.0f}, from one knob setting. Top-k would "
        "keep the same number on both."
    )
)

# %% tags=["hide-input"]
assert candidates[confident].entropy(base) < candidates[uncertain].entropy(base)
assert k_sure < k_unsure

# %% [markdown]
# ## The hidden `top_k=50` again
#
# `generate()` runs top-k *before* top-p, with `k = 50` unless you say otherwise. Top-p then
# measures its 90% on the 50 survivors, renormalised, so the nucleus can never exceed 50 tokens:

# %%
with_default = dl.DecodingConfig(do_sample=True, top_p=0.9)
display(
    Markdown(
        f"- `{with_default.describe()}` after “{uncertain}”: **{candidates[uncertain].kept(with_default):,}** tokens kept.\n"
        f"- `{base.replace(top_p=0.9).describe()}`: **{k_unsure:,}** tokens kept."
    )
)

# %% tags=["hide-input"]
assert candidates[uncertain].kept(with_default) <= 50

# %% [markdown]
# ## Top-p and temperature
#
# Temperature runs first. Unlike top-k, top-p's cut depends on it: a lower temperature
# concentrates the mass, so fewer tokens reach $p$; a higher one spreads it, so more are needed.

# %%
counts = {}
for t in [0.5, 0.7, 1.0, 1.3]:
    cfg = base.replace(top_p=0.9, temperature=t)
    counts[t] = [candidates[p].kept(cfg) for p in (confident, uncertain)]
header = ["T"] + [f"kept after “{p}”" for p in (confident, uncertain)]
table = dl.markdown_table(header, [[f"{t:g}"] + [f"{c:,}" for c in counts[t]] for t in counts], align="rrr")
display(Markdown("Kept at `top_p=0.9`:\n\n" + table))

# %% tags=["hide-input"]
for i in range(2):
    col = [counts[t][i] for t in sorted(counts)]
    assert col == sorted(col), "a higher temperature should never shrink the nucleus"

# %% [markdown]
# ## Over a generation
#
# Top-p's kept set changes at every step of a generation, following the model's confidence.
# Two sampled runs from `"Once upon a time"`, `top_k=10` and `top_p=0.9`, same seed:

# %%
runs = {
    "top_k=10": dl.generate_with_trace(lm, "Once upon a time", base.replace(top_k=10), max_new_tokens=40, seed=0),
    "top_p=0.9": dl.generate_with_trace(lm, "Once upon a time", base.replace(top_p=0.9), max_new_tokens=40, seed=0),
}
for name, tr in runs.items():
    print(f"{name}: Once upon a time{tr.text}\n")
dl.trace_chart(runs, metric="kept").show()

# %% tags=["hide-input"]
kc = runs["top_p=0.9"].kept_counts
display(
    Markdown(
        f"With `top_p=0.9` the sampler chose among {min(kc):,} to {max(kc):,} tokens depending on the step "
        f"(median {sorted(kc)[len(kc) // 2]:,}); with `top_k=10`, always among 10."
    )
)

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=name&top_k=0&top_p=0.9)**, which opens on this lesson's prompt with `top_p=0.9`: the stage table shows how many tokens the nucleus needs; change the context and the count changes with the model's confidence.

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
notes = [
    f"- Top-p cuts by mass: {k_sure:,} vs {k_unsure:,} tokens at `top_p=0.9` on the two steps above. "
    "It keeps many tokens where many are plausible and few where few are.",
    "- The kept set grows fastest as `top_p` nears 1: the last percent of the probability is spread over the "
    f"long tail ({step.kept(base.replace(top_p=0.99)):,} tokens at 0.99 vs {n90:,} at 0.9 after “{prompt}”).",
    "- It is applied after temperature, so the two interact: raising $T$ widens the nucleus.",
    "- Without `top_k=0`, `generate()`'s default `top_k=50` caps the nucleus at 50 tokens.",
    f"- Every chart on this page came from {cap.forward_passes} forward passes, plus the two generations.",
]
display(Markdown("\n".join(notes)))

# %% tags=["hide-input"]
assert step.kept(base.replace(top_p=0.99)) > n90
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
head = step.probs(base).sort(descending=True).values[:4].tolist()
two, three = head[0] + head[1], head[0] + head[1] + head[2]
half = {t: step.kept(base.replace(top_p=0.5, temperature=t)) for t in (1.0, 1.5)}
default_sure, alone_sure = sure.kept(with_default), sure.kept(base.replace(top_p=0.9))
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"Which values of `top_p` keep exactly 3 tokens after “{prompt}”?",
                    f"Any `top_p` **above {two:.4f} and up to {three:.4f}** (to four decimals): the two most likely tokens hold {two:.4f} "
                    f"of the probability and the three most likely {three:.4f}. The nucleus is the shortest prefix "
                    "that reaches `top_p`, so it takes the third token exactly when the first two fall short of "
                    "`top_p`, and needs no fourth once the three reach it.",
                ),
                (
                    f"How many tokens does `top_p=0.5` keep after “{prompt}” at $T = 1$, and how many at $T = 1.5$?",
                    f"**{half[1.0]:,}** at $T = 1$ and **{half[1.5]:,}** at $T = 1.5$. "
                    + (
                        "The hotter distribution is flatter, so more tokens are needed to reach half of it."
                        if half[1.5] > half[1.0]
                        else "Here the flatter distribution still reaches half of the mass with as many tokens."
                    ),
                ),
                (
                    f"`{with_default.describe()}`, `generate()`'s own way to ask for nucleus sampling: how many tokens "
                    f"can be drawn after “{confident}”?",
                    f"**{default_sure:,}**, against {alone_sure:,} with `top_k=0`. The default `top_k=50` runs first, and "
                    "top-p then collects 90% of what the 50 survivors hold, renormalised: a smaller share of the step, "
                    "so the nucleus can only stay the same or shrink"
                    + (", and here it stays the same." if default_sure == alone_sure else ", and here it shrinks."),
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
def nucleus_size(probs, top_p, tol=1e-5):
    """The shortest prefix of the sorted probabilities reaching top_p, counted without the warper."""
    cum = probs.sort(descending=True).values.cumsum(0)
    return int((cum < top_p - tol).sum()) + 1, int((cum < top_p + tol).sum()) + 1  # (lowest, highest) within tol


assert step.kept(base.replace(top_p=(two + three) / 2)) == 3
assert step.kept(base.replace(top_p=two - head[2] / 2)) == 2 and step.kept(base.replace(top_p=min(1.0, three + head[3] / 2))) >= 4
for t, n in half.items():
    low, high = nucleus_size(torch.softmax(step.logits / t, dim=-1), 0.5)
    assert low <= n <= high
assert half[1.5] >= half[1.0]
survivors = torch.where(dl.top_k_rule(sure.logits, 50).keep, sure.logits, torch.tensor(float("-inf")))
low, high = nucleus_size(torch.softmax(survivors, dim=-1), 0.9)
assert low <= default_sure <= high and default_sure <= alone_sure
assert cap.forward_passes == cap.distinct_contexts
