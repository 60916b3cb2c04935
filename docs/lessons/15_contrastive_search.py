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
# # Contrastive search
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** deterministic decoding that picks, among the `top_k` most likely tokens, the best
#   trade-off of probability against similarity to what was already written.
# - **When:** open-ended text that should be reproducible and not loop like [greedy](../glossary.md#greedy) decoding.
# - **In transformers:** `generate(penalty_alpha=0.6, top_k=4)`, which since transformers 4.56 also
#   needs `custom_generate="transformers-community/contrastive-search"` and `trust_remote_code=True`
#   (below).
# - **Typical value:** `penalty_alpha=0.6` with `top_k` 4 (Hugging Face's blog) to 8 (the paper).
#
# </div>
#
# Greedy decoding and beam search maximise probability, and on open-ended text that leads them into
# loops. Sampling avoids the loops but can wander off. *Contrastive search* stays deterministic and
# adds a look-ahead. Among the `top_k` most likely next tokens $V^{(k)}$ it picks
#
# $$x_t = \arg\max_{v \in V^{(k)}} \Big[ (1-\alpha)\, p(v \mid x_{<t}) \;-\; \alpha \max_{j < t} \cos\!\big(h_v, h_{x_j}\big) \Big]$$
#
# The first term is the **model confidence**. The second, the **degeneration penalty**, compares
# $h_v$ — the hidden state the model computes for $v$ at the new position (its last layer) — with
# the hidden states of every token so far: a candidate that would put the model back into a state
# it has been in, the signature of repetition, is penalised. $\alpha$ = `penalty_alpha`; 0 is
# greedy decoding.
#
# - **In transformers:** `generate(penalty_alpha=α, top_k=k)`, no longer in its core (the status
#   is below the set-up). `decoding_lessons.contrastive_search` follows the last in-core
#   implementation (`_contrastive_search` and `_ranking_fast`) and records both terms of every
#   candidate.
# - **Paper:** Su et al., *A Contrastive Framework for Neural Text Generation* (NeurIPS 2022,
#   [arXiv:2202.06417](https://arxiv.org/abs/2202.06417)).
# - **Typical use:** open-ended generation with a deterministic result. The paper's document
#   generation on Wikitext-103 used α = 0.6 with k = 8 (its code's `inference.sh`); Hugging Face's
#   blog post on contrastive search, and this lesson, use α = 0.6 with k = 4.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer


# %% tags=["hide-input"]
display(Markdown("**Today in transformers.** " + dl.retired_note("contrastive_search")))

# %% [markdown]
# ## One search, both terms
#
# `penalty_alpha = 0.6`, `top_k = 4`, 32 new tokens. Move the slider to go through the steps: for
# each of the four candidates (most likely first), the green bar is its confidence
# $(1-\alpha)\,p$, the red bar its penalty $\alpha \max\cos$, and the diamond their difference. ✓
# marks the chosen candidate.

# %%
prompt = "The sky is"
NEW, ALPHA, K = 32, 0.6, 4
cs = dl.contrastive_search(lm, prompt, penalty_alpha=ALPHA, top_k=K, max_new_tokens=NEW)
print(prompt + tokenizer.decode(cs.tokens, skip_special_tokens=True))
dl.contrastive_chart(cs, lm).show()

# %% tags=["hide-input"]
flips = [s for s in cs.steps if s.flipped]
sims = [c.max_similarity for s in cs.steps for c in s.candidates]
text = (
    f"At **{len(flips)}** of {len(cs.steps)} steps the penalty overruled the most likely token. "
    f"The cosine similarities range from {min(sims):.2f} to {max(sims):.2f}, so with α = {ALPHA} the penalty "
    f"term spans {ALPHA * min(sims):.2f}–{ALPHA * max(sims):.2f}, against confidences of at most "
    f"{max(c.confidence for s in cs.steps for c in s.candidates):.2f}: "
)
spread_penalty = max(max(c.degeneration for c in s.candidates) - min(c.degeneration for c in s.candidates) for s in cs.steps)
spread_conf = max(max(c.confidence for c in s.candidates) - min(c.confidence for c in s.candidates) for s in cs.steps)
text += (
    "what decides is how the terms differ between the candidates of a step, up to "
    f"{spread_penalty:.2f} for the penalty and {spread_conf:.2f} for the confidence."
)
display(Markdown(text))
if flips:
    s = flips[0]
    top, chosen = s.candidates[0], s.chosen
    display(
        Markdown(
            f"The first time, at step {s.step + 1}: greedy would take {lm.code(top.token_id)} (p = {top.prob:.4f}, "
            f"max cos = {top.max_similarity:.3f}, score {top.score:.3f}); contrastive search takes {lm.code(chosen.token_id)} "
            f"(p = {chosen.prob:.4f}, max cos = {chosen.max_similarity:.3f}, score {chosen.score:.3f})."
        )
    )

# %% [markdown]
# The whole search at a glance: steps across (the chosen token below each column), candidates by
# probability down, colour = score. The ring marks the chosen candidate; wherever it is not in the
# top row, contrastive search left greedy's path.

# %%
dl.contrastive_map(cs, lm).show()

# %% [markdown]
# ### The cost
#
# To know $h_v$, the model must run on each candidate. Contrastive search does that for all `top_k`
# candidates in one [forward pass](../glossary.md#forward-pass) (the [KV cache](../glossary.md#kv-cache) copied `top_k` times), then keeps the chosen row:
# its pass also gave the next step's logits.

# %% tags=["hide-input"]
display(
    Markdown(
        f"{len(cs.steps)} tokens took **{cs.forward_passes}** forward passes: the prompt's, of one row, then one per "
        f"token of {K} rows each ({K} candidates, one row each); greedy decoding needs {len(cs.steps)} passes of one row."
    )
)

# %% [markdown]
# ### Ties
#
# With α = 0 the score is the probability alone, and contrastive search is greedy decoding, up to
# ties. Where two candidates have the very same probability, `generate()`'s greedy step takes the
# one with the lower token id (`argmax` returns the first maximum), while contrastive search takes
# the one `topk` listed first, as transformers' own implementation did. In float32 exact ties are
# rare; in bfloat16, whose logits have 8 significant bits, they are common. So is the rounding of
# the penalty term: the hidden states are in the model's dtype, and so is $\alpha \max\cos$.

# %%
greedy_like = dl.contrastive_search(lm, prompt, penalty_alpha=0.0, top_k=K, max_new_tokens=8)
tied = [s for s in greedy_like.steps if s.candidates[0].prob == s.candidates[1].prob]
display(
    Markdown(
        f"With α = 0, the two most likely candidates tied at "
        + (f"**{len(tied)}** of the {len(greedy_like.steps)} steps" if tied else f"none of the {len(greedy_like.steps)} steps")
        + f" (this page ran in {str(lm.dtype).removeprefix('torch.')})."
    )
)

# %% tags=["hide-input"]
# Hidden checks: with α = 0 every step takes a most likely candidate (greedy decoding up to ties; the
# tests compare the tokens with generate()'s), and the recorded terms add up, in the model's precision.
assert all(s.chosen.prob == max(c.prob for c in s.candidates) for s in greedy_like.steps)
eps = torch.finfo(lm.dtype).eps  # α·max cos is computed on hidden states of the model's dtype
for s in cs.steps:
    assert s.chosen.score == max(c.score for c in s.candidates)
    for c in s.candidates:
        assert abs(c.score - (c.confidence - c.degeneration)) < 1e-6
        assert abs(c.confidence - (1 - ALPHA) * c.prob) < 1e-6
        assert abs(c.degeneration - ALPHA * c.max_similarity) <= eps * abs(ALPHA * c.max_similarity) + 1e-9
assert cs.forward_passes == len(cs.steps) + 1

# %% [markdown]
# ## Against greedy decoding and sampling
#
# The same prompt, 64 new tokens, three ways: greedy decoding, sampling (`top_p = 0.95`, seeded),
# and contrastive search (α = 0.6, k = 4). We measure repetition (the longest stretch repeated
# within the output, and distinct-2, the share of different bigrams) and how likely the model finds
# the text (mean [log-probability](../glossary.md#log-probability) per token).

# %%
LONG = 64
outputs = {
    "greedy": dl.generate_with_trace(lm, prompt, dl.DecodingConfig(do_sample=False), max_new_tokens=LONG).token_ids,
    "sampling (top_p=0.95)": dl.generate_with_trace(lm, prompt, dl.DecodingConfig(do_sample=True, top_p=0.95, top_k=0), max_new_tokens=LONG, seed=0).token_ids,
    f"contrastive (α={ALPHA}, k={K})": dl.contrastive_search(lm, prompt, penalty_alpha=ALPHA, top_k=K, max_new_tokens=LONG).tokens,
}
rows, measures = [], {}
for name, toks in outputs.items():
    rep = dl.longest_repetition(toks, tokenizer)
    measures[name] = (rep, dl.distinct_ngrams([toks], 2), dl.sequence_logprob(lm, prompt, toks) / len(toks))
    rep_text = f"{len(rep.ngram)} tokens × {rep.count}" if rep else "none"
    rows.append([name, lm.text(toks), f"{rep_text}; {measures[name][1]:.0%}", f"{measures[name][2]:.2f}"])
display(Markdown(dl.markdown_table(["decoding", "output", "longest repeat; distinct-2", "mean log p"], rows, align="llrr")))

# %% tags=["hide-input"]
names = list(outputs)
d2 = {n: measures[n][1] for n in names}
lp = {n: measures[n][2] for n in names}
g, smp, con = names
display(
    Markdown(
        f"distinct-2: greedy {d2[g]:.0%}, sampling {d2[smp]:.0%}, contrastive {d2[con]:.0%}. "
        + (
            "Contrastive search repeats itself less than greedy decoding"
            if d2[con] > d2[g]
            else "On this prompt contrastive search does not repeat itself less than greedy decoding"
        )
        + (
            f", while the model finds its text more likely than the sampled one (mean log p {lp[con]:.2f} against {lp[smp]:.2f})."
            if lp[con] > lp[smp]
            else f"; the sampled text is the more likely one here (mean log p {lp[smp]:.2f} against {lp[con]:.2f})."
        )
    )
)

# %% [markdown]
# ## Turning α
#
# α = 0 is greedy decoding; α = 1 ignores the model's confidence among the [top-k](../glossary.md#top-k) and picks the
# candidate least like anything before. Four settings, 32 tokens each:

# %%
alphas = [0.0, 0.3, 0.6, 0.9]
runs = {a: (cs if a == ALPHA else dl.contrastive_search(lm, prompt, penalty_alpha=a, top_k=K, max_new_tokens=NEW)) for a in alphas}
series = {
    "distinct-2": [dl.distinct_ngrams([r.tokens], 2) for r in runs.values()],
    "share of steps overruling greedy": [sum(s.flipped for s in r.steps) / len(r.steps) for r in runs.values()],
}
dl.measures_chart(
    alphas, series, "penalty_alpha", "share",
    f"Contrastive search as α grows<br><sup>top_k={K}, {NEW} tokens after “{prompt}”</sup>", percent=True,
).show()

# %%
rows, mean_lp = [], {}
for a, r in runs.items():
    mean_lp[a] = dl.sequence_logprob(lm, prompt, r.tokens) / len(r.tokens)
    rows.append([f"{a:g}", lm.text(r.tokens), f"{mean_lp[a]:.2f}"])
display(Markdown(dl.markdown_table(["penalty_alpha", "output", "mean log p"], rows, align="rlr")))
worst = min(mean_lp, key=mean_lp.get)
if worst == 0.0:
    verdict = f"Greedy's own output is the least likely of the four here (mean log p {mean_lp[0.0]:.2f})."
else:
    verdict = (
        f"The model finds the α = {worst:g} output the least likely (mean log p {mean_lp[worst]:.2f}, against "
        f"{mean_lp[0.0]:.2f} for greedy's)"
        + (": the larger the penalty, the further the choice strays from what the model expects."
           if all(mean_lp[a] > mean_lp[b] for a, b in zip(alphas, alphas[1:])) else ".")
    )
display(Markdown(verdict))

# %% [markdown]
# ## Takeaways
#
# - Contrastive search re-ranks the `top_k` most likely tokens by confidence minus a penalty for
#   hidden-state similarity with the text so far; it is deterministic, and α = 0 is greedy.
# - It costs a forward pass over `top_k` candidates per step.
# - It was designed to avoid greedy decoding's loops while staying among the model's likely tokens
#   (only the top-k can be chosen), where sampling can pick from the tail; the tables above measure
#   how that went on this page's model.

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the searches above.

# %% tags=["hide-input"]
first_step = cs.steps[0]  # the first step's candidates and similarities do not depend on α
top_c = first_step.candidates[0]


def first_pick(alpha):
    return max(first_step.candidates, key=lambda c: (1 - alpha) * c.prob - alpha * c.max_similarity)


thresholds = [
    (top_c.prob - c.prob) / ((top_c.prob - c.prob) + (top_c.max_similarity - c.max_similarity))
    for c in first_step.candidates[1:]
    if c.max_similarity < top_c.max_similarity
]
alpha_star = min(thresholds) if thresholds else None
pick_09 = first_pick(0.9)
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"How many forward passes does contrastive search with `top_k={K}` take for the {len(greedy_like.steps)} "
                    "tokens of the α = 0 run above, and how many rows do they hold in all?",
                    f"**{greedy_like.forward_passes} passes**: the prompt's, of one row, then one of {K} rows per token, "
                    f"{1 + K * len(greedy_like.steps)} rows in all. Greedy decoding takes {len(greedy_like.steps)} passes of one row.",
                ),
                (
                    f"At the first step after “{prompt}”, which of the {K} candidates does α = 0.9 choose?",
                    f"**{lm.code(pick_09.token_id)}**, the candidate with the highest $0.1\\,p - 0.9 \\max\\cos$: "
                    f"p = {pick_09.prob:.4f}, max cos = {pick_09.max_similarity:.3f}. "
                    + ("It is also the most likely one." if pick_09 is top_c else
                       f"The most likely, {lm.code(top_c.token_id)} (p = {top_c.prob:.4f}), is more like the prompt "
                       f"(max cos = {top_c.max_similarity:.3f})."),
                ),
                (
                    f"From which α on does contrastive search leave greedy's path at that first step?",
                    (
                        f"**From α ≈ {alpha_star:.3f}.** A candidate $c$ overtakes the most likely token once "
                        "$(1-\\alpha)(p_1 - p_c) < \\alpha\\,(s_1 - s_c)$, with $s$ the max cos; the smallest such α over "
                        "the candidates is the answer."
                        if alpha_star is not None
                        else f"**Never.** The most likely token {lm.code(top_c.token_id)} is also the least like the prompt "
                        "of all candidates, so no α makes another candidate score higher."
                    ),
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert greedy_like.forward_passes == len(greedy_like.steps) + 1
assert runs[0.9].steps[0].chosen.token_id == pick_09.token_id
for a in (0.0, 0.3, 0.9):  # the first step's candidates are the same in every run
    assert [c.token_id for c in runs[a].steps[0].candidates] == [c.token_id for c in first_step.candidates]
if alpha_star is not None:
    assert first_pick(alpha_star * 0.999) is top_c and first_pick(min(alpha_star * 1.001, 1.0)) is not top_c
    # the search itself, run at α* ± 0.1%: in float32 it flips where the candidates' numbers say; in
    # bfloat16 the search's own scores carry 8 bits, too few for a 0.1% margin
    if alpha_star * 1.001 <= 1.0 and lm.dtype == torch.float32:
        just_above = dl.contrastive_search(lm, prompt, penalty_alpha=alpha_star * 1.001, top_k=K, max_new_tokens=1)
        just_below = dl.contrastive_search(lm, prompt, penalty_alpha=alpha_star * 0.999, top_k=K, max_new_tokens=1)
        assert just_above.steps[0].flipped and not just_below.steps[0].flipped
else:
    assert first_pick(1.0) is top_c
