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
# # Min-p
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** keep every token at least `min_p` times as likely as the most likely one; the floor
#   rises and falls with the model's confidence.
# - **When:** sampling at higher temperatures, where min-p keeps the flattened tail out better than
#   top-p (the paper's argument).
# - **In transformers:** `generate(do_sample=True, min_p=0.1, top_k=0)`.
# - **Typical value:** 0.05–0.1.
#
# </div>
#
# [Top-p](../glossary.md#nucleus) decides by adding up probabilities. **Min-p** compares each token with the favourite:
# keep every token at least $p_{\min}$ times as likely as the most likely token, cut the rest,
# renormalise.
#
# $$p_{\max} = \max_j p_j, \qquad \mathcal{V}_{\min} = \{\, i : p_i \ge p_{\min} \cdot p_{\max} \,\}$$
#
# The floor $p_{\min} \cdot p_{\max}$ moves with the model's confidence. When the top token has
# most of the mass, the floor is high and few tokens pass. When the distribution is flat,
# $p_{\max}$ is small, the floor drops, and many tokens pass. In logits the rule is a fixed
# distance below the top: $z_i \ge z_{\max} + T \ln p_{\min}$.
#
# - **Paper:** Nguyen, Baker, Neo, Roush, Kirsch and Shwartz-Ziv, *Turning Up the Heat: Min-p
#   Sampling for Creative and Coherent LLM Outputs* (ICLR 2025,
#   [arXiv:2407.01082](https://arxiv.org/abs/2407.01082)). Its argument: min-p keeps text
#   coherent at high temperatures, where top-p lets the flattened tail in.
# - **In transformers:** `generate(do_sample=True, min_p=...)`, implemented by
#   `MinPLogitsWarper`. It runs after [temperature](../glossary.md#temperature), [top-k](../glossary.md#top-k) and top-p. The default `None` switches
#   it off.
# - **Typical values:** 0.01–0.2; 0.05–0.1 is common. transformers' documentation calls that
#   range "comparably selective as setting `top_p` in the 0.99–0.8 range"; we measure that below.
#
# `top_k=0` is set everywhere on this page, so `generate()`'s default `top_k=50` does not cut first.

# %%
import math

import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
base = dl.DecodingConfig(do_sample=True, top_k=0)


# %% [markdown]
# ## Two prompts, two confidences
#
# Min-p is about confidence, so we compare two steps: the one where the model is more sure of the
# next token (lower entropy) and the one where it is less.
# We take two prompts and let the entropy of their next-token distributions decide which is
# which:

# %%
candidates = {p: cap(p) for p in ["The capital of France is", "My name is"]}
confident, uncertain = sorted(candidates, key=lambda p: candidates[p].entropy(base))
sure, unsure = candidates[confident], candidates[uncertain]
tops = {p: s.top(1, base)[0] for p, s in ((confident, sure), (uncertain, unsure))}
rows = [
    ["entropy (nats)", f"{sure.entropy(base):.2f}", f"{unsure.entropy(base):.2f}"],
    ["top token", lm.code(tops[confident][0]), lm.code(tops[uncertain][0])],
    ["p_max", f"{tops[confident][2]:.3f}", f"{tops[uncertain][2]:.3f}"],
    ["floor at min_p = 0.1", f"{0.1 * tops[confident][2]:.4f}", f"{0.1 * tops[uncertain][2]:.4f}"],
]
display(Markdown(dl.markdown_table(["", f"“{confident}”", f"“{uncertain}”"], rows, align="lrr")))
display(Markdown(f"The model is more confident after “{confident}” (lower entropy), less after “{uncertain}”."))

# %% tags=["hide-input"]
assert sure.entropy(base) < unsure.entropy(base)
assert float(sure.probs(base).max()) > float(unsure.probs(base).max())

# %% [markdown]
# ## The floor, drawn
#
# The bars are the probabilities of the 20 most likely tokens on a logarithmic axis; the dashed
# line is the floor $0.1 \cdot p_{\max}$. Bars above it are kept, grey hatched bars are cut. On a
# log axis the floor always sits one decade ($\log_{10} \frac{1}{0.1} = 1$) below the top bar,
# wherever that bar is.

# %%
dl.min_p_chart(sure, 0.1).show()
dl.min_p_chart(unsure, 0.1).show()

# %% tags=["hide-input"]
k_sure, k_unsure = sure.kept(base.replace(min_p=0.1)), unsure.kept(base.replace(min_p=0.1))
display(
    Markdown(
        f"`min_p=0.1` keeps **{k_sure:,}** token{'s' if k_sure != 1 else ''} after “{confident}” and **{k_unsure:,}** "
        f"after “{uncertain}”: the floor is {float(sure.probs(base).max()) / float(unsure.probs(base).max()):.0f} times "
        "higher on the confident step."
    )
)

# %% [markdown]
# Move the floor on the uncertain step:

# %%
dl.cutoff_slider(unsure, "min_p", [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5], active=3).show()

# %% [markdown]
# ## Before and after
#
# The distribution the sampler draws from after `"My name is"`, without min-p and with
# `min_p=0.1`:

# %%
step = cap("My name is")
dl.token_chart(step, base, k=15).show()
dl.token_chart(step, base.replace(min_p=0.1), k=15).show()

# %% [markdown]
# And the distribution as `min_p` moves, on the same step:

# %%
dl.slider_chart(step, "min_p", [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5], k=20, active=4).show()

# %% [markdown]
# ## Min-p against top-p
#
# How many tokens each keeps at its typical values, on both steps. The pairs follow
# transformers' rule of thumb: `min_p` 0.01, 0.05, 0.1, 0.2 against `top_p` 0.99, 0.95, 0.9, 0.8.

# %% tags=["hide-input"]
pairs = [(0.01, 0.99), (0.05, 0.95), (0.1, 0.9), (0.2, 0.8)]
rows = []
ratios = []
for mp, tp in pairs:
    cells = []
    for s in (sure, unsure):
        a, b = s.kept(base.replace(min_p=mp)), s.kept(base.replace(top_p=tp))
        ratios.append(a / b)
        cells.append(f"{a:,} / {b:,}")
    rows.append([f"{mp:g}", f"{tp:g}", *cells])
header = ["min_p", "top_p", f"kept after “{confident}” (min-p / top-p)", f"kept after “{uncertain}” (min-p / top-p)"]
display(Markdown(dl.markdown_table(header, rows, align="rrrr")))

# %% tags=["hide-input"]
if all(r <= 1 for r in ratios):
    verdict = (
        "On these two steps min-p is **never less selective** than its top-p counterpart: "
        f"it keeps between {min(ratios):.1%} and {max(ratios):.0%} as many tokens."
    )
elif all(r >= 1 for r in ratios):
    verdict = f"On these two steps min-p keeps at least as many tokens as its top-p counterpart (up to {max(ratios):.1f} times as many)."
else:
    verdict = (
        f"Neither is uniformly more selective: min-p keeps from {min(ratios):.1%} to {max(ratios):.0%} of the tokens "
        "its top-p counterpart keeps."
    )
display(Markdown(verdict + " \"Comparably selective\" is a loose guide, not an equivalence: the two rules measure different things."))

# %%
dl.sweep_chart(
    {f"“{confident}”": sure, f"“{uncertain}”": unsure},
    "min_p",
    [round(10 ** (-3 + 0.05 * i), 5) for i in range(0, 61)],  # 0.001 … 1
    metric="kept",
    title="Tokens kept by min-p (log–log)",
    log_x=True,
).show()

# %% [markdown]
# ## Turning up the heat
#
# The paper's case for min-p is high temperature. `generate()` applies temperature first, so
# min-p sees the flattened distribution; in logits its floor is $z_{\max} + T \ln p_{\min}$, which
# moves down linearly with $T$. Top-p's nucleus must collect 90% of a distribution whose tail
# fills up as $T$ grows. Both kept sets grow; compare their sizes after `"My name is"`:

# %% tags=["hide-input"]
temps = [0.7, 1.0, 1.5, 2.0, 3.0]
heat = {}
for t in temps:
    heat[t] = (step.kept(base.replace(temperature=t, min_p=0.1)), step.kept(base.replace(temperature=t, top_p=0.9)))
rows = [[f"{t:g}", f"{heat[t][0]:,}", f"{heat[t][1]:,}"] for t in temps]
display(Markdown(dl.markdown_table(["T", "min_p = 0.1", "top_p = 0.9"], rows, align="rrr")))

# %% tags=["hide-input"]
for t in temps:
    cut = float(step.logits.max()) + t * math.log(0.1)
    # the logit form of the rule (up to float rounding at the boundary)
    assert abs(heat[t][0] - int((step.logits >= cut).sum())) <= 1
assert [h[0] for h in heat.values()] == sorted(h[0] for h in heat.values())

# %% [markdown]
# ### The order of the warpers
#
# Other libraries order the chain differently. llama.cpp applies temperature **last**: min-p
# (and top-p) cut the *untempered* distribution, and temperature only reshapes what survived. The
# same processors, in `generate()`'s order and in llama.cpp's, at $T = 2$ and `min_p=0.1`:

# %%
hot = base.replace(temperature=2.0, min_p=0.1)
dl.order_chart(step, hot, {"transformers (temperature first)": dl.HF_ORDER, "llama.cpp (temperature last)": dl.LLAMA_CPP_ORDER}, k=20).show()

# %%
hf, cpp = dl.apply_in_order(step, hot, dl.HF_ORDER), dl.apply_in_order(step, hot, dl.LLAMA_CPP_ORDER)
n_hf, n_cpp = int(torch.isfinite(hf).sum()), int(torch.isfinite(cpp).sum())
display(
    Markdown(
        f"Temperature first (transformers) keeps **{n_hf:,}** tokens; temperature last (llama.cpp) keeps **{n_cpp:,}**, "
        f"the same set as `min_p=0.1` at $T = 1$ ({step.kept(base.replace(min_p=0.1)):,}). The same settings give a "
        "different sampler in different libraries."
    )
)

# %% tags=["hide-input"]
assert torch.equal(hf, step.scores(hot))
assert torch.equal(torch.isfinite(cpp), torch.isfinite(step.scores(base.replace(min_p=0.1))))

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=name&temperature=1.5&min_p=0.1)**, which opens with min-p's headline setting, T = 1.5 and `min_p=0.1`: reorder the chain (llama.cpp runs temperature last) and see whether the [kept set](../glossary.md#kept-set) changes.

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
notes = [
    f"- The floor is relative to the top token: `min_p=0.1` keeps {k_sure:,} token{'s' if k_sure != 1 else ''} on the "
    f"confident step and {k_unsure:,} on the uncertain one.",
    f"- At the usual values min-p is much tighter than top-p on flat steps: after “{uncertain}”, `min_p=0.1` keeps "
    f"{unsure.kept(base.replace(min_p=0.1)):,} tokens where `top_p=0.9` keeps {unsure.kept(base.replace(top_p=0.9)):,}.",
    f"- With temperature both sets grow, but min-p's stays far smaller: at $T = 3$, `min_p=0.1` keeps {heat[3.0][0]:,} tokens "
    f"and `top_p=0.9` keeps {heat[3.0][1]:,} ({heat[3.0][1] / lm.vocab_size:.0%} of the vocabulary). That is the paper's "
    "case for pairing min-p with high temperatures.",
    "- Where temperature sits in the chain matters: transformers applies it before min-p, llama.cpp after.",
    f"- Every chart came from {cap.forward_passes} forward passes; no slider runs the model.",
]
display(Markdown("\n".join(notes)))

# %% tags=["hide-input"]
assert all(a < b for a, b in heat.values())
assert heat[3.0][0] < 0.2 * heat[3.0][1]  # "far smaller"
assert unsure.kept(base.replace(min_p=0.1)) < 0.5 * unsure.kept(base.replace(top_p=0.9))  # "much tighter"
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
floor05 = {t: sure.kept(base.replace(min_p=0.05, temperature=t)) for t in (1.0, 2.0)}
p_unsure = unsure.probs(base)
(p_first, p_second), (first_id, second_id) = p_unsure.topk(2)
survives_up_to = float(p_second / p_first)
warm = base.replace(temperature=1.5, min_p=0.05)
in_order = {name: torch.isfinite(dl.apply_in_order(step, warm, order)) for name, order in (("hf", dl.HF_ORDER), ("cpp", dl.LLAMA_CPP_ORDER))}
n_order = {name: int(mask.sum()) for name, mask in in_order.items()}
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"How many tokens does `min_p=0.05` keep after “{confident}”, and how many at $T = 2$ with the "
                    "same `min_p`?",
                    f"**{floor05[1.0]:,}** at $T = 1$ and **{floor05[2.0]:,}** at $T = 2$. In logits the floor sits "
                    "$T \\ln 20$ below the top logit, so doubling $T$ doubles that distance"
                    + (" and lets more tokens through." if floor05[2.0] > floor05[1.0] else "; here no further token is within it."),
                ),
                (
                    f"Up to which `min_p` does the runner-up {lm.code(second_id)} survive after “{uncertain}”?",
                    f"**Up to about {survives_up_to:.3f}**, its probability divided by the top token's "
                    f"({float(p_second):.4f} / {float(p_first):.4f}). A token passes while $p_i \\ge p_{{\\min}} \\cdot p_{{\\max}}$; "
                    "above that value only the top token is left.",
                ),
                (
                    "At $T = 1.5$ and `min_p=0.05`, after “My name is”: how many tokens does transformers' order "
                    "(temperature first) keep, and how many llama.cpp's (temperature last)?",
                    f"**{n_order['hf']:,}** in transformers' order and **{n_order['cpp']:,}** in llama.cpp's, which is "
                    f"what `min_p=0.05` keeps at $T = 1$ ({step.kept(base.replace(min_p=0.05)):,}): there min-p cuts the "
                    "untempered distribution, and temperature only reshapes the survivors.",
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
for t, n in floor05.items():  # the warper's count, against the rule on softmax(logits / T)
    p = torch.softmax(sure.logits / t, dim=-1)
    assert n == int((p >= 0.05 * p.max()).sum())
    assert abs(n - int((sure.logits >= sure.logits.max() + t * math.log(0.05)).sum())) <= 1  # the logit form
assert floor05[2.0] >= floor05[1.0]
if survives_up_to < 0.999:
    assert unsure.kept(base.replace(min_p=survives_up_to * 0.999)) >= 2
    assert unsure.kept(base.replace(min_p=survives_up_to * 1.001)) == 1
    assert bool(torch.isinf(unsure.scores(base.replace(min_p=survives_up_to * 1.001))[second_id]))
assert math.isclose(survives_up_to, math.exp(float(unsure.logits[second_id] - unsure.logits[first_id])), rel_tol=1e-4)
p_hot = torch.softmax(step.logits / 1.5, dim=-1)
assert torch.equal(in_order["hf"], p_hot >= 0.05 * p_hot.max()) and torch.equal(in_order["hf"], torch.isfinite(step.scores(warm)))
assert torch.equal(in_order["cpp"], torch.isfinite(step.scores(base.replace(min_p=0.05))))
assert bool((in_order["hf"] | ~in_order["cpp"]).all())  # temperature first keeps a superset
assert cap.forward_passes == cap.distinct_contexts
