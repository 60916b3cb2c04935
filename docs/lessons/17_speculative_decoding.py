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
# # Speculative decoding
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** a cheap [draft model](../glossary.md#draft-model) proposes γ tokens, the target scores them all in one
#   [forward pass](../glossary.md#forward-pass) and keeps them up to the first it rejects, then adds one token of its own; the
#   output is the target's own ([greedy](../glossary.md#greedy)) or follows the target's distribution ([sampling](../glossary.md#sampling)).
# - **When:** the target's forward passes are the cost, and a draft with the same [tokenizer](../glossary.md#tokenizer) agrees
#   with it often (a small model of the same family, early exit, or text that repeats itself).
# - **In transformers:** `generate(assistant_model=draft)` (γ is `num_assistant_tokens` on the draft's
#   `generation_config`), `generate(assistant_early_exit=k)`, or `generate(prompt_lookup_num_tokens=10)`.
# - **Typical value:** γ of a few tokens (4 on this page); transformers' default `num_assistant_tokens`
#   is 20, with the `"constant"` schedule.
#
# </div>
#
# A [forward pass](../glossary.md#forward-pass) of a large model over one new token costs nearly as much as one over a few: the
# weights are read once either way. Speculative decoding uses that. A cheap **draft** model proposes
# γ tokens one by one; the **target** model scores all of them in one forward pass; the proposals
# are kept up to the first one the target disagrees with, and the target adds one token of its own.
# Every round costs one target pass and yields between 1 and γ + 1 tokens, and the output is
# exactly what the target alone would have produced ([greedy](../glossary.md#greedy)), or distributed exactly as it
# ([sampling](../glossary.md#sampling)).
#
# - **In transformers:** `generate(assistant_model=draft)` with `num_assistant_tokens` (γ) on the
#   draft's `generation_config`; `generate(assistant_early_exit=k)` drafts with the target's own
#   first `k` layers; `generate(prompt_lookup_num_tokens=n)` copies proposals from the text.
#   `dl.speculative_generate` is the same loop written out (transformers 5's `_assisted_decoding`)
#   and records every round; its tests check it against `generate()` token for token, greedy and
#   sampled with the same seed.
# - **Papers:** Leviathan et al., *Fast Inference from Transformers via Speculative Decoding*
#   (2023, [arXiv:2211.17192](https://arxiv.org/abs/2211.17192)); Chen et al., *Accelerating Large
#   Language Model Decoding with Speculative Sampling* (2023,
#   [arXiv:2302.01318](https://arxiv.org/abs/2302.01318)).

# %%
import time

import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% [markdown]
# ## The draft: the target's own first layers
#
# The draft must share the target's tokenizer and [vocabulary](../glossary.md#vocabulary): it proposes token ids that the target
# scores. We make it from the target itself: its first three quarters of decoder layers, then its
# final norm and LM head (*early exit*). Nothing is copied, the draft's modules are the target's, so
# it costs no memory and about that share of a target pass. transformers'
# `generate(assistant_early_exit=k)` drafts with the same layers; a model trained for early exit
# (LayerSkip, [arXiv:2404.16710](https://arxiv.org/abs/2404.16710)) predicts much better from them
# than an ordinary one.

# %%
layers = lm.model.config.get_text_config().num_hidden_layers
depth = round(0.75 * layers)
draft = dl.early_exit_draft(lm, depth)
display(Markdown(f"The target has {layers} decoder layers; the draft keeps the first **{depth}**."))

# %% [markdown]
# ## Greedy: the target's own tokens
#
# Under greedy decoding a proposal is kept when it is the target's argmax at its position, and the
# target's argmax replaces the first one that is not. So the text is the target's greedy text.

# %%
prompt = "The capital of France is Paris. The capital of Germany is"
NEW, GAMMA = 12, 4
t0 = time.perf_counter()
plain = dl.generate_with_trace(lm, prompt, dl.DecodingConfig(), max_new_tokens=NEW)
plain_seconds = time.perf_counter() - t0
spec = dl.speculative_generate(lm, draft, prompt, max_new_tokens=NEW, gamma=GAMMA)
dl.rounds_chart(spec).show()

# %%
same = spec.token_ids == plain.token_ids
display(
    Markdown(
        f"Continuation: “{lm.text(spec.token_ids)}”. It is {'**identical** to' if same else '**not** identical to'} the "
        f"target's greedy output. The target ran **{spec.target_forward_passes}** times for {len(spec.token_ids)} tokens "
        f"({spec.tokens_per_pass:.2f} tokens per pass; plain greedy decoding: {plain.forward_passes} passes); "
        f"the draft ran {spec.draft_forward_passes} times. Of the {spec.judged} proposals the target judged, "
        f"{spec.accepted} were kept: an acceptance rate of {spec.acceptance_rate:.0%}. The other "
        f"{spec.proposed - spec.judged} came after a rejection in their round and were never judged."
    )
)

# %% tags=["hide-input"]
assert same  # (the tests compare with generate(assistant_model=...) and generate(assistant_early_exit=...) too)

# %% [markdown]
# ## Sampling: accept, or resample from the residual
#
# When sampling, the draft draws proposal $x$ from its distribution $q$. The target keeps it with
# probability $\min\bigl(1, p(x)/q(x)\bigr)$: it draws $r$ uniform in $[0, 1)$ and keeps $x$ when
# $r \le p(x)/q(x)$. At the first rejection it draws its own token from the **residual**
#
# $$p'(x) = \frac{\max\bigl(0,\; p(x) - q(x)\bigr)}{\sum_y \max\bigl(0,\; p(y) - q(y)\bigr)},$$
#
# and when all γ are kept it draws a bonus token from $p$ at the next position. A token comes out
# as a kept proposal with probability $\min(p(x), q(x))$, and through the residual with the rest,
# $p(x) - \min(p(x), q(x))$: together, exactly $p(x)$. The first rounds of a seeded run:

# %%
cfg = dl.DecodingConfig(do_sample=True, top_k=0)
run = dl.speculative_generate(lm, draft, prompt, cfg, max_new_tokens=NEW, gamma=GAMMA, seed=0, keep=True)
display(Markdown(run.rounds_table(4)))

# %% tags=["hide-input"]
# the loop draws from torch's generator as generate() does: the same seed gives the same tokens
assert torch.equal(run.sequence, dl.reference_speculative(lm, draft, prompt, cfg, max_new_tokens=NEW, gamma=GAMMA, seed=0).cpu())

# %% [markdown]
# ### The output follows the target's distribution
#
# The first new token, worked out from the rule (`dl.emission_probs`), and drawn 20,000 times by
# the rule (`dl.speculative_draws`: a proposal from $q$, a uniform, a residual draw on rejection),
# against the target's own probabilities $p$, with the total-variation bound of the sampling lesson.

# %%
step = cap(prompt)
p0 = step.probs(cfg)
q0 = dl.LogitCapture(draft)(prompt).probs(cfg)
exact_gap = float((dl.emission_probs(p0, q0) - p0.double()).abs().max())
draws = dl.speculative_draws(p0, q0, n=20_000, seed=0, config=cfg)
dl.histogram_chart(step, cfg, draws, k=12).show()

# %%
draft_tv = 0.5 * float((p0.double() - q0.double()).abs().sum())
display(
    Markdown(
        f"Worked out exactly, the emitted token's distribution differs from $p$ by at most {exact_gap:.1e} (the rounding "
        f"of float32 probabilities, which sum to 1 only to about that precision). The 20,000 draws lie at TV distance **{draws.tv_distance:.4f}** from $p$, "
        f"{'below' if draws.tv_distance < draws.tv_bound else '**above**'} the bound {draws.tv_bound:.4f}, although the "
        f"draft's own $q$ is {draft_tv:.3f} away from $p$. A proposal is kept with probability "
        f"$\\sum_x \\min(p, q)$ = {dl.acceptance_probability(p0, q0):.3f} here."
    )
)

# %% tags=["hide-input"]
assert exact_gap < 1e-5 and draws.tv_distance < draws.tv_bound

# %% [markdown]
# ## How many tokens per target pass
#
# If each proposal is kept with the same probability α, independently, a round yields on average
# $(1 - \alpha^{\gamma+1}) / (1 - \alpha)$ tokens (Leviathan et al., equation 1). The same sampled
# generation for several draft lengths γ, with the acceptance rate α measured in each run (kept
# proposals over judged ones):

# %%
gammas = [1, 2, 4]
sweep = {g: run if g == GAMMA else dl.speculative_generate(lm, draft, prompt, cfg, max_new_tokens=NEW, gamma=g, seed=0) for g in gammas}
dl.gamma_chart(sweep).show()
display(Markdown(dl.markdown_table(
    ["γ", "α", "tokens per target pass", "(1 − α^(γ+1)) / (1 − α)", "target passes", "draft passes", "seconds"],
    [[g, f"{r.acceptance_rate:.2f}", f"{r.tokens_per_pass:.2f}", f"{dl.expected_tokens_per_pass(r.acceptance_rate, g):.2f}",
      r.target_forward_passes, r.draft_forward_passes, f"{r.seconds:.2f}"] for g, r in sweep.items()],
    align="rrrrrrr",
)))

# %% [markdown]
# ## The speed-up
#
# The count that matters on a large model is target passes. The draft is not free, though: each of
# its passes costs about `depth / layers` of a target pass here, since it is the target's first
# layers. The greedy run above, counted both ways and timed:

# %%
cost = spec.target_forward_passes + spec.draft_forward_passes * depth / layers
speedup_passes = plain.forward_passes / spec.target_forward_passes
speedup_cost = plain.forward_passes / cost
speedup_wall = plain_seconds / spec.seconds
display(
    Markdown(
        f"- In target passes: {plain.forward_passes} against {spec.target_forward_passes}, a speed-up of "
        f"**{speedup_passes:.2f}×**.\n"
        f"- Counting the draft's passes at {depth}/{layers} of a target pass: {cost:.1f} target passes' worth, "
        f"a speed-up of **{speedup_cost:.2f}×**.\n"
        f"- In wall time on this machine ({lm.build_info()['device']}): {plain_seconds:.2f} s against {spec.seconds:.2f} s, "
        f"**{speedup_wall:.2f}×**.\n\n"
        + (
            "Speculative decoding pays off here."
            if speedup_wall > 1
            else "Speculative decoding does not pay off here: a draft that costs this large a share of the target must be "
            "kept far more often. It pays off with a draft that is much cheaper and still agrees with the target often "
            "(a small model of the same family, or a model trained for early exit), on hardware where a pass over a few "
            "tokens costs about as much as one over one token."
        )
    )
)

# %% [markdown]
# ## Prompt lookup: proposals copied from the text
#
# Without any draft model, the proposals can come from the text itself: find the text's last two
# tokens earlier in the text and propose what followed them there
# ([prompt-lookup-decoding](https://github.com/apoorvumang/prompt-lookup-decoding),
# `generate(prompt_lookup_num_tokens=n)`). A text that repeats itself, such as a list being copied,
# is accepted in long runs, at no draft cost.

# %%
repeat = "Copy the list.\nList: apple, banana, cherry, grape, lemon, mango, peach, plum.\nCopy: apple, banana,"
lookup = dl.prompt_lookup_generate(lm, repeat, max_new_tokens=NEW, num_tokens=10)
dl.rounds_chart(lookup).show()

# %%
display(
    Markdown(
        f"Continuation: “{lm.text(lookup.token_ids)}”: {len(lookup.token_ids)} tokens in **{lookup.target_forward_passes}** "
        f"target passes ({lookup.tokens_per_pass:.2f} tokens per pass), no draft pass. "
        f"{sum(1 for r in lookup.rounds if not r.proposals)} of its {len(lookup.rounds)} rounds found nothing to propose."
    )
)

# %% tags=["hide-input"]
assert torch.equal(lookup.sequence, dl.reference_speculative(lm, None, repeat, max_new_tokens=NEW, prompt_lookup=10).cpu())

# %% [markdown]
# ## What to notice

# %%
display(
    Markdown(
        "- Greedy speculative decoding gives the target's greedy text, token for token; sampled, it gives the target's "
        "distribution. The draft decides only how fast, never what.\n"
        f"- A round always yields at least one token (the target's own), so a draft that is never right costs its own "
        f"passes and nothing else. Here the γ = {GAMMA} greedy run kept {spec.accepted} of its {spec.proposed} proposals "
        f"({spec.judged} of them judged).\n"
        "- The speed-up is counted in target passes; whether it shows in wall time depends on the draft's cost and the "
        "hardware, and is measured above rather than assumed.\n"
        f"- Prompt lookup made {lookup.tokens_per_pass:.2f} tokens per target pass on a text that repeats itself, with no "
        "draft model at all."
    )
)

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the runs above.

# %% tags=["hide-input"]
judged = [(n, p) for n, r in enumerate(run.rounds, start=1) for p in r.proposals if p.reached]
below = [(n, p) for n, p in judged if p.target_prob < p.draft_prob]  # proposals the target keeps only by chance
n_round, shown = max(below, key=lambda item: item[1].target_prob / item[1].draft_prob) if below else judged[0]
keep_chance = min(1.0, shown.target_prob / shown.draft_prob)
round_sizes = [len(r.tokens) for r in spec.rounds + run.rounds]
overlap = dl.acceptance_probability(p0, q0)
display(Markdown(dl.exercises([
    (f"In round {n_round} of the sampled run the draft proposed {lm.code(shown.token_id)} with $q(x) = {shown.draft_prob:.3g}$, "
     f"and the target gives it $p(x) = {shown.target_prob:.3g}$. With what probability does the target keep it?",
     f"**{keep_chance:.3f}**, $\\min(1, p/q)$. The uniform drawn was $r = {shown.uniform:.3f}$, so it was "
     + ("**kept**." if shown.accepted else "**rejected**, and the round's last token was drawn from the residual.")),
    (f"With γ = {GAMMA}, what are the fewest and the most tokens one round can add?",
     f"**1 and {GAMMA + 1}**: at least the target's own token, at most all {GAMMA} proposals and a bonus token. The "
     f"{len(round_sizes)} rounds of the two γ = {GAMMA} runs above added between {min(round_sizes)} and {max(round_sizes)}."),
    ("For the first new token, is the chance that the draft's proposal is kept, $\\sum_x \\min(p, q)$, larger or smaller "
     "than $1 - \\text{TV}(p, q)$?",
     f"**Neither: they are equal**, both {overlap:.2g} here (up to the rounding of float32 probabilities). $\\sum_x \\min(p, q) = 1 - \\sum_x "
     "\\max(0, q - p)$, and that last sum is the total-variation distance: a proposal is rejected with probability "
     "exactly TV$(p, q)$, and the residual then supplies the mass that $p$ has above $q$."),
])))
assert all(p.accepted == (p.uniform <= p.target_prob / p.draft_prob)
           for _, p in judged if abs(p.uniform - p.target_prob / p.draft_prob) > 1e-6)
assert all(1 <= k <= GAMMA + 1 for k in round_sizes)
assert abs(overlap - (1 - draft_tv)) < 1e-4
