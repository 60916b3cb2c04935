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
# # ε and η sampling
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** cut every token whose probability is below a floor: a fixed ε, or for η a floor
#   $\min(\eta, \sqrt{\eta}\,e^{-H})$ that drops on high-entropy steps.
# - **When:** sampling that should drop only the implausible tail, keeping every reasonable token
#   however many there are.
# - **In transformers:** `generate(do_sample=True, epsilon_cutoff=3e-4)` or `generate(do_sample=True, eta_cutoff=1e-3)`.
# - **Typical value:** `epsilon_cutoff` 3e-4 to 9e-4, `eta_cutoff` 3e-4 to 2e-3.
#
# </div>
#
# [Top-p](../glossary.md#nucleus) keeps a *mass*, and top-k keeps a *count*. ε- and η-sampling keep every token whose
# probability is above a **floor**. ε's floor is a fixed number. η's floor moves with the [entropy](../glossary.md#entropy)
# of the step.
#
# - **Paper:** Hewitt, Manning and Liang, *Truncation Sampling as Language Model Desmoothing*
#   (Findings of EMNLP 2022, [arXiv:2210.15191](https://arxiv.org/abs/2210.15191)).
# - **In transformers:** `generate(do_sample=True, epsilon_cutoff=...)` (`EpsilonLogitsWarper`)
#   and `generate(do_sample=True, eta_cutoff=...)` (`EtaLogitsWarper`). They are the last two
#   warpers in `generate()`'s chain, after [typical-p](../glossary.md#typical-p). `0.0` (the default) switches them off.
# - **Typical values**, as transformers' docstrings quote the paper: `epsilon_cutoff` 3e-4 to 9e-4,
#   and `eta_cutoff` 3e-4 to 4e-3 (`EtaLogitsWarper`) or 3e-4 to 2e-3 (`GenerationConfig`), "depending
#   on the size of the model".
#
# The paper's argument: a trained model *smooths* its distribution. It gives every token of the
# vocabulary some probability, including tokens the true distribution would never produce.
# Truncation undoes that smoothing by cutting the tokens whose probability is too small to be
# more than smoothing.

# %%
import math

import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
base = dl.DecodingConfig(do_sample=True, top_k=0)

# %% [markdown]
# ## ε-sampling: a fixed floor
#
# $$\text{keep } x \iff p(x) \ge \varepsilon$$
#
# transformers removes the tokens with $p < \varepsilon$, so a token exactly at the floor stays.
# If no token reaches the floor, the most likely one is kept. The entropy plays no part.
#
# The chart sorts the whole vocabulary from most to least likely, with rank and probability both
# on log scales. The floor is a horizontal line: tokens above it (green) are kept, the tail below
# (grey) is cut. Hover the curve to see which token sits where.

# %%
prompt = "My name is"
step = cap(prompt)
eps_cfg = base.replace(epsilon_cutoff=1e-3)
dl.threshold_chart(step, eps_cfg).show()

# %% [markdown]
# Before and after, on the 15 most likely tokens:

# %%
dl.token_chart(step, base, k=15).show()
dl.token_chart(step, eps_cfg, k=15).show()

# %%
eps = dl.epsilon_rule(dl.scores_entering(step, eps_cfg, "epsilon_cutoff"), 1e-3)
display(
    Markdown(
        f"With ε = 0.001, **{int(eps.keep.sum()):,}** of {lm.vocab_size:,} tokens are kept. Together they hold "
        f"{float(eps.probs[eps.keep].sum()):.1%} of the probability; the cut tail held the other "
        f"{float(eps.probs[~eps.keep].sum()):.1%}, spread over {int((~eps.keep).sum()):,} tokens."
    )
)

# %% [markdown]
# Move the floor:

# %%
eps_grid = [1e-4, 3e-4, 6e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]
dl.rule_slider(step, "epsilon_cutoff", eps_grid, active=3).show()

# %% [markdown]
# ## η-sampling: a floor that follows the entropy
#
# A fixed floor treats every step alike. On a step where the model is unsure and spreads its
# mass over thousands of reasonable tokens, each of them can sit below ε and be cut, even though
# together they are most of the distribution. η-sampling lowers the floor when the entropy $H$ is
# high:
#
# $$\eta^\ast = \min\!\bigl(\eta,\ \sqrt{\eta}\, e^{-H}\bigr), \qquad \text{keep } x \iff p(x) \ge \eta^\ast .$$
#
# - When $H$ is low, $\sqrt{\eta}\,e^{-H}$ is large and the floor is $\eta$ itself, the same as
#   ε-sampling with $\varepsilon = \eta$.
# - When $H$ is high, the second term wins and the floor drops exponentially with $H$.
# - The switch is where $\sqrt{\eta}\,e^{-H} = \eta$, that is at $H = -\tfrac12 \ln \eta$.
#
# (The warper's docstring writes `sqrt(epsilon * e^-entropy)`. Its code, and the paper, compute
# `sqrt(epsilon) * e^-entropy`, which is the formula above. A hidden cell below checks it against
# the warper's output.)

# %%
eta = 2e-3
eta_cfg = base.replace(eta_cutoff=eta)
switch = -0.5 * math.log(eta)
display(Markdown(f"For η = {eta:g} the floor starts to drop once the entropy exceeds **{switch:.2f} nats**."))
dl.threshold_chart(step, eta_cfg).show()

# %%
dl.token_chart(step, eta_cfg, k=15).show()

# %%
eta_slider_grid = [3e-4, 6e-4, 1e-3, 2e-3, 4e-3, 1e-2, 3e-2, 0.1]
dl.rule_slider(step, "eta_cutoff", eta_slider_grid, active=3).show()

# %% [markdown]
# ## A confident step and an uncertain step
#
# η's point shows when two steps are compared. We capture two prompts, measure their entropies,
# and let the code decide which step is the confident one (lower entropy) and which the
# uncertain one.

# %%
steps = {p: cap(p) for p in ("Once upon a time", "My name is")}
by_entropy = sorted(steps, key=lambda p: steps[p].entropy(base))
confident_prompt, uncertain_prompt = by_entropy[0], by_entropy[-1]

numbers = {}
for p in (confident_prompt, uncertain_prompt):
    s = steps[p]
    r_eta = dl.eta_rule(dl.scores_entering(s, eta_cfg, "eta_cutoff"), eta)
    r_eps = dl.epsilon_rule(dl.scores_entering(s, base.replace(epsilon_cutoff=eta), "epsilon_cutoff"), eta)
    numbers[p] = (r_eta, r_eps)
columns = (confident_prompt, uncertain_prompt)
table = {
    "entropy H (nats)": [f"{numbers[p][0].entropy:.2f}" for p in columns],
    "η floor, η = 2e-3": [f"{numbers[p][0].threshold:.2e}" for p in columns],
    "the min is": ["η" if numbers[p][0].threshold >= eta * (1 - 1e-6) else "√η·e^(−H)" for p in columns],
    "kept by η = 2e-3": [f"{int(numbers[p][0].keep.sum()):,}" for p in columns],
    "kept by ε = 2e-3": [f"{int(numbers[p][1].keep.sum()):,}" for p in columns],
}
header = ["", f"confident: “{columns[0]}”", f"uncertain: “{columns[1]}”"]
display(Markdown(dl.markdown_table(header, [[name, a, b] for name, (a, b) in table.items()], align="lrr")))

# %% tags=["hide-input"]
(c_eta, c_eps), (u_eta, u_eps) = numbers[confident_prompt], numbers[uncertain_prompt]
display(
    Markdown(
        f"The confident step is **“{confident_prompt}”** (H = {c_eta.entropy:.2f} nats"
        f"{' < ' if c_eta.entropy < switch else ' ≥ '}{switch:.2f}). "
        + (
            f"There η's floor is η itself, {c_eta.threshold:.2g}, and η keeps the same {int(c_eta.keep.sum()):,} tokens as ε = {eta:g}. "
            if c_eta.entropy < switch
            else f"Even there the entropy exceeds {switch:.2f} nats, so η's floor is already below η: {c_eta.threshold:.2g}. "
        )
        + f"The uncertain step is **“{uncertain_prompt}”** (H = {u_eta.entropy:.2f} nats). There the floor drops to "
        f"{u_eta.threshold:.2g}, {eta / u_eta.threshold:.0f}× lower than η, and η keeps **{int(u_eta.keep.sum()):,}** tokens where "
        f"ε = {eta:g} would keep only {int(u_eps.keep.sum()):,}, holding {float(u_eta.probs[u_eta.keep].sum()):.0%} of the "
        f"probability instead of {float(u_eps.probs[u_eps.keep].sum()):.0%}."
    )
)

# %%
dl.threshold_chart(steps[confident_prompt], eta_cfg).show()
dl.threshold_chart(steps[uncertain_prompt], eta_cfg).show()

# %% tags=["hide-input"]
# The floors and kept sets are the warpers' own: compare with generate()'s scores.
for p, (r_eta, r_eps) in numbers.items():
    assert torch.equal(r_eta.keep, torch.isfinite(steps[p].scores(eta_cfg)))
    assert torch.equal(r_eps.keep, torch.isfinite(steps[p].scores(base.replace(epsilon_cutoff=eta))))
    assert abs(r_eta.threshold - dl.eta_threshold(r_eta.entropy, eta)) < 1e-6 * eta
assert c_eta.entropy < u_eta.entropy
if c_eta.entropy < switch:  # "η keeps the same N tokens as ε": the very same set, not just as many
    assert torch.equal(c_eta.keep, c_eps.keep)
assert u_eta.threshold < eta and int(u_eta.keep.sum()) > int(u_eps.keep.sum())
assert torch.equal(eps.keep, torch.isfinite(step.scores(eps_cfg)))
for cfg in (eps_cfg, eta_cfg):
    out = dl.reference_generate(lm, prompt, cfg, max_new_tokens=1, scores=True)
    assert torch.equal(out.scores[0][0].cpu(), step.scores(cfg))

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=name&top_k=0&epsilon_cutoff=0.0003)**, which opens with `epsilon_cutoff=3e-4`: switch ε off and η on (`eta_cutoff`), and compare the kept sets on a confident and an uncertain context.

# %% [markdown]
# ## What to notice
#
# - ε is an **absolute floor** on probability: unlike top-p it does not depend on how the rest of
#   the mass is spread, and unlike top-k it keeps as many tokens as clear the bar. η's floor is
#   absolute only on confident steps: it is $\min(\eta, \sqrt{\eta}\,e^{-H})$, so the entropy $H$
#   of the whole distribution, how its mass is spread, lowers it.
# - On a confident step, η behaves exactly like ε with the same value. Only high-entropy steps
#   lower its floor, and that keeps the many moderately likely continuations that a fixed ε would
#   throw away.
# - Both always keep at least the most likely token (`min_tokens_to_keep=1`), so even an absurd
#   value such as 0.5 never leaves the sampler with nothing.

# %% tags=["hide-input"]
absurd = base.replace(epsilon_cutoff=0.5)
n_absurd = step.kept(absurd)
display(
    Markdown(
        f"Check: with ε = 0.5 after “{prompt}”, {n_absurd} token{'s' if n_absurd != 1 else ''} "
        f"remain{'s' if n_absurd == 1 else ''}, the most likely one: the sampler then has no choice left."
    )
)

# %% tags=["hide-input"]
assert n_absurd == 1 and bool(torch.isfinite(step.scores(absurd))[step.logits.argmax()])
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
eps_small = dl.epsilon_rule(dl.scores_entering(step, base.replace(epsilon_cutoff=3e-4), "epsilon_cutoff"), 3e-4)
eta_big = 4e-3
switch_big = -0.5 * math.log(eta_big)
h_step = step.entropy(base)
floor_big = dl.eta_threshold(h_step, eta_big)
half_eps, half_eta = step.kept(base.replace(epsilon_cutoff=0.5)), step.kept(base.replace(eta_cutoff=0.5))
half_floor = dl.eta_threshold(h_step, 0.5)
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"After “{prompt}”, how many tokens does `epsilon_cutoff=3e-4` keep, and how much of the probability "
                    "do they hold?",
                    f"**{int(eps_small.keep.sum()):,}** tokens, holding {float(eps_small.probs[eps_small.keep].sum()):.1%}; "
                    f"the other {lm.vocab_size - int(eps_small.keep.sum()):,} tokens share the remaining "
                    f"{float(eps_small.probs[~eps_small.keep].sum()):.1%}.",
                ),
                (
                    f"Above which entropy does the floor of `eta_cutoff={eta_big:g}` drop below η itself? Where is the floor "
                    f"after “{prompt}” (H = {h_step:.2f} nats)?",
                    f"**Above {switch_big:.2f} nats**, where $\\sqrt{{\\eta}}\\,e^{{-H}} = \\eta$, that is $H = -\\tfrac12 \\ln \\eta$. "
                    + (f"This step is above it, so the floor is $\\sqrt{{\\eta}}\\,e^{{-H}}$ = {floor_big:.2e}, "
                       f"{eta_big / floor_big:.1f}× lower than η."
                       if h_step > switch_big else f"This step is below it, so the floor is η = {floor_big:.2e}."),
                ),
                (
                    f"`epsilon_cutoff=0.5` leaves {half_eps} token{'s' if half_eps != 1 else ''} after “{prompt}”. How many "
                    "does `eta_cutoff=0.5` leave?",
                    f"**{half_eta:,}.** η's floor is $\\min(0.5,\\ \\sqrt{{0.5}}\\,e^{{-{h_step:.2f}}})$ = {half_floor:.3g}"
                    + (", far below 0.5: on a step this uncertain even an absurd η keeps more than the top token."
                       if half_eta > half_eps else ", and no more tokens clear it than clear ε = 0.5."),
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert torch.equal(eps_small.keep, torch.isfinite(step.scores(base.replace(epsilon_cutoff=3e-4))))
assert (h_step > switch_big) == (floor_big < eta_big * (1 - 1e-6))
r_big = dl.eta_rule(dl.scores_entering(step, base.replace(eta_cutoff=eta_big), "eta_cutoff"), eta_big)
assert abs(r_big.threshold - floor_big) < 1e-6 * eta_big
half_rule = dl.eta_rule(dl.scores_entering(step, base.replace(eta_cutoff=0.5), "eta_cutoff"), 0.5)
assert int(half_rule.keep.sum()) == half_eta and abs(half_rule.threshold - half_floor) < 1e-6
assert half_eta >= half_eps
assert cap.forward_passes == cap.distinct_contexts
