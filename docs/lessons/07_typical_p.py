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
# # Typical-p
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** keep the tokens whose surprisal $-\log p$ is closest to the step's [entropy](../glossary.md#entropy), until
#   their probability reaches `typical_p`; this can cut the most likely token.
# - **When:** sampling where the text should stay "as informative as expected": stories, summaries.
# - **In transformers:** `generate(do_sample=True, typical_p=0.95)`.
# - **Typical value:** 0.2 (stories) to 0.95 (summaries), in the paper's experiments.
#
# </div>
#
# Top-k, [top-p](../glossary.md#nucleus) and [min-p](../glossary.md#min-p) all keep the *most likely* tokens and differ only in where they stop.
# **Locally typical sampling** keeps a different set: the tokens whose surprise is close to the
# surprise the model *expects*. That can exclude the single most likely token.
#
# - **Paper:** Meister, Pimentel, Wiher and Cotterell, *Locally Typical Sampling* (TACL 2023,
#   [arXiv:2202.00666](https://arxiv.org/abs/2202.00666)).
# - **In transformers:** `generate(do_sample=True, typical_p=...)`, implemented by
#   `TypicalLogitsWarper`. It runs after temperature, top-H, top-k, top-p and min-p, and before ε
#   and η.
# - **Typical values:** `typical_p=1.0` (the default) switches it off. The paper's experiments
#   used low values, around 0.2, for story generation and high values, around 0.95, for
#   summarisation.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% [markdown]
# ## The rule
#
# Every token $x$ has a **surprisal** $-\log p(x)$, its information content in nats. A token with
# $p = 1$ is no surprise at all. The average surprisal under the model's own distribution is the
# **entropy**
#
# $$H = -\sum_x p(x) \log p(x).$$
#
# The paper starts from how people write: they tend to choose words that carry about as much
# information as expected, neither the most predictable word nor a wild one. So it scores each
# token by its distance from that average, the **local typicality**
#
# $$\varepsilon(x) = \bigl|\, -\log p(x) - H \,\bigr|.$$
#
# Typical-p sorts the tokens from most to least typical (smallest $\varepsilon$ first). It keeps
# the shortest prefix of that order whose probability adds up to at least $\tau$ = `typical_p`,
# then renormalises. Because $\varepsilon$ is a distance, the kept tokens are exactly those whose
# surprisal falls inside a band $[H - c,\, H + c]$ around the entropy. A token can fall outside
# the band on either side: too surprising (the long tail, as in top-p), or **too obvious** (a
# surprisal far *below* $H$).
#
# ## One step, token by token
#
# Here is the next-token distribution after `"The sky is"`, with sampling on and `top_k=0` (so that
# `generate()`'s hidden `top_k=50` does not interfere; lesson 11 explains that default).

# %%
prompt = "The sky is"
step = cap(prompt)
base = dl.DecodingConfig(do_sample=True, top_k=0)
cfg = base.replace(typical_p=0.5)

rule = dl.typical_rule(dl.scores_entering(step, cfg, "typical_p"), 0.5)
probs = step.probs(base)
rows = [
    [
        f"{lm.code(token_id)} {'✓' if rule.keep[token_id] else '✕ **cut**'}",
        f"{p:.4f}",
        f"{float(rule.surprisal[token_id]):.2f}",
        f"{float(rule.typicality[token_id]):.2f}",
    ]
    for token_id, _, p in step.top(8, base)
]
table = dl.markdown_table(["token (kept at 0.5?)", "p", "−log p", "|−log p − H|"], rows, align="lrrr")
display(Markdown(f"Entropy of this step: **H = {rule.entropy:.2f} nats**.\n\n" + table))

# %% [markdown]
# The chart below shows the same thing for the 25 most likely tokens. Each bar is a token's
# surprisal. The solid line is $H$ and the shaded band is what typical-p = 0.5 keeps: green bars
# end inside the band and are kept, grey hatched bars are cut. Hover a bar for its numbers.

# %%
dl.typicality_chart(step, cfg, k=25).show()

# %% tags=["hide-input"]
order = torch.argsort(step.logits, descending=True)
top_id = int(order[0])
top_code = lm.code(top_id)
top_surprisal = float(rule.surprisal[top_id])
n_kept = int(rule.keep.sum())
if not rule.keep[top_id]:
    verdict = (
        f"The most likely token, {top_code} (p = {float(probs[top_id]):.2f}), has surprisal {top_surprisal:.2f} nats. "
        f"That is {rule.entropy - top_surprisal:.2f} below H and outside the band of ± {rule.cutoff:.2f}, so "
        f"**typical-p = 0.5 cuts the most likely token**. Top-p, top-k or min-p would never do that."
    )
else:
    verdict = (
        f"Here the most likely token, {top_code}, has surprisal {top_surprisal:.2f} nats. It lies within "
        f"{rule.cutoff:.2f} of H, so it is kept. On a step where the top token is much less surprising than average, it is cut."
    )
display(
    Markdown(
        f"{verdict} In the whole vocabulary, **{n_kept:,} tokens** have a surprisal inside "
        f"[{max(rule.entropy - rule.cutoff, 0):.2f}, {rule.entropy + rule.cutoff:.2f}] and are kept."
    )
)

# %% tags=["hide-input"]
# Our step-by-step reading keeps exactly the tokens generate()'s TypicalLogitsWarper keeps.
assert torch.equal(rule.keep, torch.isfinite(step.scores(cfg)))
check = dl.reference_generate(lm, prompt, cfg, max_new_tokens=1, scores=True)
assert torch.equal(check.scores[0][0].cpu(), step.scores(cfg))

# %% [markdown]
# ## Before and after
#
# The same captured logits, first with plain sampling (`do_sample=True, top_k=0`), then with
# `typical_p=0.5`. The surviving tokens are renormalised: their probabilities grow to fill the
# mass of the cut ones.

# %%
dl.token_chart(step, base, k=15).show()
dl.token_chart(step, cfg, k=15).show()

# %% [markdown]
# ## Move the knob
#
# The first slider shows the rule: as `typical_p` grows, the band around $H$ widens until it
# takes in the obvious tokens below it and more of the tail above it. The second shows the
# distribution the sampler then draws from. Each position reuses the captured logits, so no
# position runs the model again.

# %%
grid = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95, 0.99]
dl.rule_slider(step, "typical_p", grid, k=25, active=4).show()

# %%
dl.slider_chart(step, "typical_p", grid + [1.0], k=20).show()

# %%
kept_counts = {v: step.kept(base.replace(typical_p=v)) for v in grid}
top_kept_from = next((v for v in grid if torch.isfinite(step.scores(base.replace(typical_p=v)))[top_id]), None)
display(
    Markdown(
        "Kept tokens by `typical_p`: "
        + ", ".join(f"{v:g} → {n:,}" for v, n in kept_counts.items())
        + ". "
        + (
            f"The most likely token {top_code} enters the kept set only from typical_p = {top_kept_from:g} on."
            if top_kept_from is not None and top_kept_from != grid[0]
            else f"The most likely token {top_code} is kept at every value of this grid."
            if top_kept_from == grid[0]
            else f"The most likely token {top_code} is cut at every value of this grid."
        )
    )
)

# %% [markdown]
# ## Typical-p is not top-p
#
# Both keep a set of tokens whose mass reaches a target, but in a different order. Top-p adds
# tokens from the most likely down. Typical-p adds them from the most typical outwards. With
# the same target, 0.5, on the same step:

# %%
top_p_keep = torch.isfinite(step.scores(base.replace(top_p=0.5)))
both = int((top_p_keep & rule.keep).sum())
display(
    Markdown(
        f"- top-p = 0.5 keeps **{int(top_p_keep.sum()):,}** tokens, typical-p = 0.5 keeps **{n_kept:,}**. "
        f"**{both:,}** tokens are in both sets.\n"
        f"- The kept mass before renormalising: top-p {float(probs[top_p_keep].sum()):.3f}, "
        f"typical-p {float(probs[rule.keep].sum()):.3f}. Both reach 0.5, and each stops at the token that "
        f"crosses the target."
    )
)

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=sky&top_k=0&typical_p=0.9)**, which opens on this lesson's prompt with `typical_p=0.9`: the stage table names the most likely tokens that typical-p removed.

# %% [markdown]
# ## What to notice
#
# - Typical-p compares each token's surprisal with the **entropy of the step**. On a confident step
#   ($H$ small) the band sits low and keeps the few likely tokens. On an uncertain step it sits
#   high and can skip the most likely token in favour of many mid-probability ones.
# - A small `typical_p` means a narrow band, not "only the top tokens".
# - `typical_p=1.0` keeps everything (transformers does not even add the warper). Values just
#   below 1, such as 0.95 or 0.99, already cut the far tail.
#
# Another step, with another entropy, after `"Once upon a time"`:

# %%
confident = cap("Once upon a time")
conf_rule = dl.typical_rule(dl.scores_entering(confident, cfg, "typical_p"), 0.5)
conf_top = int(confident.logits.argmax())


def band(r) -> tuple[float, float]:
    return max(r.entropy - r.cutoff, 0.0), r.entropy + r.cutoff


(lo, hi), (lo0, hi0) = band(conf_rule), band(rule)
more_confident = conf_rule.entropy < rule.entropy
display(
    Markdown(
        f"H = **{conf_rule.entropy:.2f} nats**, {'lower' if more_confident else 'higher'} than the {rule.entropy:.2f} after "
        f"“{prompt}”: a {'more' if more_confident else 'less'} confident step. The band is [{lo:.2f}, {hi:.2f}] "
        + (
            f"and sits {'lower' if hi < hi0 else 'higher'} than there ([{lo0:.2f}, {hi0:.2f}]). "
            if (lo < lo0 and hi < hi0) or (lo > lo0 and hi > hi0)
            else f"(against [{lo0:.2f}, {hi0:.2f}] there). "
        )
        + "typical-p = 0.5 keeps "
        f"**{int(conf_rule.keep.sum()):,}** token{'s' if int(conf_rule.keep.sum()) != 1 else ''}, and the most likely token "
        f"({lm.code(conf_top)}, p = {float(confident.probs(base)[conf_top]):.2f}) is "
        f"{'kept' if conf_rule.keep[conf_top] else '**cut**'}."
    )
)
dl.typicality_chart(confident, cfg, k=20).show()

# %% tags=["hide-input"]
assert float(probs[top_p_keep].sum()) >= 0.5 and float(probs[rule.keep].sum()) >= 0.5
assert kept_counts[0.99] < lm.vocab_size and kept_counts[0.95] < lm.vocab_size  # "already cut the far tail"
assert torch.equal(conf_rule.keep, torch.isfinite(confident.scores(cfg)))
# the band is what is kept: every kept token's surprisal lies inside it (both steps)
for r in (rule, conf_rule):
    s_kept = r.surprisal[r.keep]
    assert float(s_kept.min()) >= max(r.entropy - r.cutoff, 0.0) - 1e-4 and float(s_kept.max()) <= r.entropy + r.cutoff + 1e-4
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
most_typical = int(rule.typicality.argmin())
typ95, top95 = (torch.isfinite(step.scores(base.replace(**{knob: 0.95}))) for knob in ("typical_p", "top_p"))
kept_typ95, kept_top95, both95 = int(typ95.sum()), int(top95.sum()), int((typ95 & top95).sum())
same95 = torch.equal(typ95, top95)
cold_cfg = base.replace(temperature=0.5, typical_p=0.5)
cold_rule = dl.typical_rule(dl.scores_entering(step, cold_cfg, "typical_p"), 0.5)
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"After “{prompt}” (H = {rule.entropy:.2f} nats), which token of the whole vocabulary is the most "
                    "typical, the first one typical-p keeps? Is it the most likely token?",
                    f"**{lm.code(most_typical)}**, with p = {float(probs[most_typical]):.4f} and surprisal "
                    f"{float(rule.surprisal[most_typical]):.2f}, only {float(rule.typicality[most_typical]):.3f} from H. "
                    + ("It is also the most likely token here." if most_typical == top_id
                       else f"It is not the most likely token ({top_code}): typical-p starts from the surprisal nearest H, not from the top."),
                ),
                (
                    "At 0.5 the two rules kept very different sets. At 0.95, how many tokens do `typical_p=0.95` and "
                    "`top_p=0.95` keep, and how many of them are in both sets?",
                    f"`typical_p=0.95` keeps **{kept_typ95:,}**, `top_p=0.95` keeps **{kept_top95:,}**, and **{both95:,}** are in both. "
                    + (
                        "The very same set: at 0.95 the band around H is wide enough to take in the top tokens, so both "
                        "rules end up collecting the mass from the top down."
                        if same95
                        else "The band is wider at 0.95 and takes in most of the top tokens, but the two orders still stop at "
                        "different tokens."
                    ),
                ),
                (
                    "At temperature 0.5 (which runs before typical-p), does the entropy of that step go up or down, and "
                    "how many tokens does `typical_p=0.5` keep?",
                    f"**Down**, from {rule.entropy:.2f} to {cold_rule.entropy:.2f} nats: a low temperature sharpens the "
                    f"distribution. `typical_p=0.5` then keeps **{int(cold_rule.keep.sum()):,}** token"
                    f"{'s' if int(cold_rule.keep.sum()) != 1 else ''} (against {n_kept:,} at T = 1), and the most likely one is "
                    f"{'kept' if cold_rule.keep[top_id] else '**cut**'}.",
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert bool(rule.keep[most_typical]) and float(rule.typicality[most_typical]) == float(rule.typicality.min())
assert torch.equal(cold_rule.keep, torch.isfinite(step.scores(cold_cfg)))
assert cold_rule.entropy < rule.entropy
typ95_rule = dl.typical_rule(dl.scores_entering(step, base.replace(typical_p=0.95), "typical_p"), 0.95)
assert torch.equal(typ95_rule.keep, typ95)
if not same95:  # "takes in most of the top tokens"
    assert both95 > 0.5 * min(kept_typ95, kept_top95)
assert cap.forward_passes == cap.distinct_contexts
