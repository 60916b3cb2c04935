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
# # DoLa: decoding by contrasting layers
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** decode from $\log p_N - \log p_M$, the final layer's [log-probabilities](../glossary.md#log-probability) minus those of a
#   [premature layer](../glossary.md#premature-layer) chosen at each step, among the tokens the final layer gives at least a tenth
#   of its favourite's probability.
# - **When:** short factual answers from a large model; the paper's gains are on 7B–65B models.
# - **In transformers:** `generate(dola_layers="high", repetition_penalty=1.2)`, which since
#   transformers 4.56 also needs `custom_generate="transformers-community/dola"` and
#   `trust_remote_code=True` (below).
# - **Typical value:** `dola_layers="high"` for short answers, `"low"` for long-answer reasoning
#   (transformers' documentation), with `repetition_penalty=1.2`.
#
# </div>
#
# A transformer refines its next-token guess layer by layer. Read an *early* layer's hidden state
# through the LM head and you get a "premature" distribution; the last layer gives the "mature" one.
# DoLa bets that what the late layers *add* is where factual knowledge shows, and decodes from the
# difference of the two log-distributions instead of from the last layer alone:
#
# $$\text{score}(v) = \log p_{N}(v) - \log p_{M}(v) \quad\text{for } v \text{ with } p_N(v) \ge 0.1 \cdot \max_w p_N(w),$$
#
# where $N$ is the final layer and $M$ the *premature layer*: among a set of candidate layers, the
# one whose distribution is furthest from the final layer's at this step, by the Jensen–Shannon
# divergence. Tokens the final layer finds unlikely (below a tenth of its favourite, the
# *relative-top* filter) are cut, so the contrast cannot promote nonsense that an early layer merely
# disliked.
#
# - **In transformers:** `generate(dola_layers="low" | "high" | [layers])`, [greedy](../glossary.md#greedy) or sampled,
#   with the usual processors applied to the contrast; no longer in its core (the status is below
#   the set-up). `decoding_lessons.dola_decoding` follows the last in-core implementation
#   (`_dola_decoding`, `_dola_select_contrast`, `_relative_top_filter`) and records every step; the
#   package's tests compare it with transformers 4.55.4's own outputs, token for token.
# - **Paper:** Chuang et al., *DoLa: Decoding by Contrasting Layers Improves Factuality in Large
#   Language Models* (ICLR 2024, [arXiv:2309.03883](https://arxiv.org/abs/2309.03883)).
# - **Typical use:** short factual answers from a large model, with `repetition_penalty=1.2` (the
#   paper's advice; transformers warned below it). The paper's gains are on 7B–65B models; a small
#   model has few layers to contrast.

# %%
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer


# %% tags=["hide-input"]
display(Markdown("**Today in transformers.** " + dl.retired_note("dola_decoding")))

# %% [markdown]
# ## Which layers are candidates
#
# `dola_layers="low"` takes every second layer of the lower half, `"high"` every second layer of the
# upper half (for models of more than 40 layers, the first or last 20). Layer 0 is the embeddings;
# when the LM head is the embedding matrix itself (*tied* embeddings), the head would map each
# embedding back to its own token, so transformers skips it and starts at layer 2. A list picks
# layers by hand; the final layer is never a candidate.

# %%
config = lm.model.config.get_text_config()
N = config.num_hidden_layers
for choice in ("low", "high"):
    print(f"{choice:>4}: {dl.dola_candidate_layers(choice, N, config.tie_word_embeddings)}")

# %% tags=["hide-input"]
display(Markdown(
    f"This model has **{N}** layers, and its embeddings are "
    + ("tied to the LM head, so layers 0 and 1 are skipped." if config.tie_word_embeddings and N > 2
       else ("tied to the LM head." if config.tie_word_embeddings else "not tied to the LM head, so layer 0 is a candidate."))
))

# %% [markdown]
# ## One answer, step by step
#
# A factual prompt, `dola_layers="high"`, with the [repetition penalty](../glossary.md#repetition-penalty) the paper recommends. First
# the final layer's own greedy answer, with the same penalty, then DoLa's:

# %%
prompt = "The capital of France is"
NEW = 16
penalty = dl.DecodingConfig(repetition_penalty=1.2)
greedy = dl.generate_with_trace(lm, prompt, penalty, max_new_tokens=NEW)
high = dl.dola_decoding(lm, prompt, dola_layers="high", config=penalty, max_new_tokens=NEW, keep_layers=True)
print("greedy:", prompt + tokenizer.decode(greedy.token_ids, skip_special_tokens=True))
print("DoLa:  ", prompt + tokenizer.decode(high.tokens, skip_special_tokens=True))

# %% [markdown]
# Move the slider through the steps. Left, for the tokens the final layer finds most likely, its
# probability (blue) and the premature layer's (orange); right, DoLa's score, the difference of
# their logarithms, for the tokens that passed the relative-top filter. ✓ marks DoLa's choice,
# ★ the final layer's.

# %%
dl.dola_chart(high, lm).show()

# %% tags=["hide-input"]
flips = [s for s in high.steps if s.flipped]
single = [s for s in high.steps if int(s.kept.sum()) == 1]
text = (
    f"At **{len(flips)}** of {len(high.steps)} steps DoLa took another token than the final layer's most likely one. "
    + (f"At {len(single)} steps only one token passed the relative-top filter, so there was nothing to contrast: "
       if single else "At every step more than one token passed the relative-top filter; ")
    + "DoLa only re-ranks the tokens the final layer itself finds plausible."
)
if flips:
    s = flips[0]
    top, pick = s.final_choice, s.token_id
    p_final, p_early = s.final_logprobs.exp(), s.premature_logprobs.exp()
    text += (
        f" The first time, at step {s.step + 1}, the final layer preferred {lm.code(top)} (p = {p_final[top]:.3f}; "
        f"layer {s.premature_layer} gave it {p_early[top]:.3g}), and DoLa took {lm.code(pick)} (p = {p_final[pick]:.3f}; "
        f"layer {s.premature_layer}: {p_early[pick]:.3g})"
        + (": its probability grew more between the two layers." if s.contrast[pick] > s.contrast[top]
           else ", because the repetition penalty lowered the other's score.")
    )
display(Markdown(text))

# %% tags=["hide-input"]
# Hidden checks of what the prose and the chart say: the contrast is the log-ratio on the kept set,
# the kept set is the relative-top rule, and DoLa took the best processed score.
import math

import torch

for s in high.steps:
    kept = s.kept
    assert torch.equal(kept, s.final_logprobs >= s.final_logprobs.max() + math.log(0.1))
    assert torch.allclose(s.contrast[kept], s.final_logprobs[kept] - s.premature_logprobs[kept], atol=1e-4)
    assert torch.isneginf(s.contrast[~kept]).all()
    assert s.token_id == int(s.scores.argmax())
    assert bool(kept[s.token_id])  # DoLa never leaves the relative-top set
assert high.forward_passes == len(high.steps)

# %% [markdown]
# ### Which layer it contrasts with
#
# At each step DoLa computes the Jensen–Shannon divergence of every candidate layer from the final
# one and contrasts with the largest. The heat map shows the divergences, steps across; ✕ marks the
# chosen layer.

# %%
dl.dola_layers_chart(high, lm).show()

# %% tags=["hide-input"]
from collections import Counter

chosen = Counter(s.premature_layer for s in high.steps)
layer, times = chosen.most_common(1)[0]
if len(chosen) > 1:
    text = (
        f"Layer **{layer}** was chosen at {times} of {len(high.steps)} steps, and {len(chosen) - 1} other candidate "
        "layer(s) at the rest: the layer that differs most from the final one changes with what is being predicted."
    )
else:
    text = (
        f"Layer **{layer}** was chosen at every one of the {len(high.steps)} steps: on this model and prompt, the same "
        "candidate is always the furthest from the final layer."
    )
display(Markdown(text))

# %% tags=["hide-input"]
for s in high.steps:
    best = max(range(len(s.js_divergences)), key=lambda i: (s.js_divergences[i], -i))
    assert s.premature_layer == s.candidate_layers[best]
assert sum(chosen.values()) == len(high.steps)

# %% [markdown]
# ## Low against high, on a few prompts
#
# The same settings on four prompts: the final layer's greedy answer (with the repetition penalty),
# and DoLa with the low and the high candidate layers. A cell in bold differs from the greedy answer.

# %%
prompts = ["The capital of France is", "Water boils at a temperature of", "The author of Hamlet is", "The largest planet in the solar system is"]
SHORT = 10
rows, differs = [], {"low": 0, "high": 0}
for p in prompts:
    base = lm.text(dl.generate_with_trace(lm, p, penalty, max_new_tokens=SHORT).token_ids)
    row = [p, base]
    for choice in ("low", "high"):
        out = lm.text(dl.dola_decoding(lm, p, dola_layers=choice, config=penalty, max_new_tokens=SHORT).tokens)
        differs[choice] += out != base
        row.append(f"**{out}**" if out != base else out)
    rows.append(row)
display(Markdown(dl.markdown_table(["prompt", "greedy (final layer)", "DoLa, low", "DoLa, high"], rows)))
display(Markdown(
    f"DoLa changed the answer on {differs['low']} of {len(prompts)} prompts with the low layers and on "
    f"{differs['high']} with the high ones. Whether the change is a *better* answer is the paper's question, "
    "measured on factuality benchmarks with large models; a small model has fewer layers to contrast."
))

# %% [markdown]
# ## What to watch for
#
# - **The head reads an unnormalised state.** transformers applies the LM head to a candidate
#   layer's hidden state as it is, without the model's final norm, which only the last layer's
#   output has been through. The premature distributions are therefore rougher than a "logit lens"
#   with the norm would give; this page follows transformers.
# - **The Jensen–Shannon divergence is averaged, not summed, over the vocabulary.** That scales
#   every candidate alike, so it never changes which layer is chosen, but the numbers in the heat
#   map are the [vocabulary](../glossary.md#vocabulary) size times smaller than the textbook divergence.
# - **One layer for the whole batch.** transformers averaged the divergences over the batch and
#   chose one layer for all prompts; `dola_decoding` takes one prompt at a time.
# - **Out-of-range layers.** transformers 4.55 silently dropped listed layers at or above the
#   final layer, and failed on an empty list; `dola_decoding` refuses them with the allowed range.
#
# ## Takeaways
#
# - DoLa decodes from $\log p_N - \log p_M$: what the final layer believes *more* than an early
#   layer did, among the tokens the final layer finds plausible.
# - The premature layer is chosen per step, by the largest Jensen–Shannon divergence among the
#   candidates (`"low"`, `"high"` or a list).
# - It costs no extra forward pass: every layer's state comes from the same pass, and the head runs
#   once per candidate layer.

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the run above.

# %% tags=["hide-input"]
share_of_top = [float((s.final_logprobs[s.token_id] - s.final_logprobs.max()).exp()) for s in high.steps]
try:
    dl.dola_decoding(lm, prompt, dola_layers=[N], config=penalty, max_new_tokens=1)
    refusal = None
except ValueError as error:
    refusal = str(error)
display(Markdown(dl.exercises([
    ("Can DoLa pick a token to which the final layer gives less than a tenth of its favourite's probability?",
     f"**No**: the relative-top filter cuts it before the contrast. Over the {len(high.steps)} steps above, DoLa's pick "
     f"had at least {min(share_of_top):.2f} of the favourite's probability (1 where it took the favourite)."),
    (f"This model has {N} layers. What does `dola_layers=[{N}]`, the final layer as its own premature layer, give?",
     f"**A `ValueError`**, before any forward pass: “{refusal}”"),
    (f"How many forward passes did DoLa's {len(high.steps)} steps cost, against greedy decoding's?",
     f"**{high.forward_passes}**, one per step, as greedy decoding ({greedy.forward_passes} for its {len(greedy.steps)} "
     "steps): every layer's hidden state comes out of the same pass, and only the LM head runs again, once per candidate layer."),
])))
assert min(share_of_top) >= 0.1 - 1e-5 and refusal is not None
assert high.forward_passes == len(high.steps) and greedy.forward_passes == len(greedy.steps)
