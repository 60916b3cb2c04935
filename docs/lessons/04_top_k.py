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
# # Top-k
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** keep the $k$ highest-scoring tokens (and any tied with the $k$-th), give the rest
#   probability zero, renormalise.
# - **When:** a fixed-size guard against the tail; simple, but blind to how sure the model is.
# - **In transformers:** `generate(do_sample=True, top_k=40)`. `top_k=50` is the default whenever
#   `do_sample=True`; `top_k=0` switches it off.
# - **Typical value:** 40–50; 10 or less for conservative output.
#
# </div>
#
# [Temperature](../glossary.md#temperature) reshapes the distribution but keeps every token in play, including thousands of
# tokens that make no sense in context. **Top-k sampling** cuts the tail outright: keep the $k$
# tokens with the highest scores, give every other token probability zero, and renormalise.
#
# $$\mathcal{V}_k = \{k \text{ highest-scoring tokens}\}, \qquad
# p'_i = \begin{cases} \dfrac{p_i}{\sum_{j \in \mathcal{V}_k} p_j} & i \in \mathcal{V}_k \\ 0 & \text{otherwise} \end{cases}$$
#
# - **Paper:** Fan, Lewis and Dauphin, *Hierarchical Neural Story Generation* (ACL 2018,
#   [arXiv:1805.04833](https://arxiv.org/abs/1805.04833)), sampled stories from the top 10
#   tokens. GPT-2's samples (Radford et al., 2019) used $k = 40$.
# - **In transformers:** `generate(do_sample=True, top_k=k)`, implemented by `TopKLogitsWarper`,
#   which sets every score below the $k$-th highest to $-\infty$. It runs after temperature (and
#   top-H), before top-p and min-p. `top_k=0` switches it off. Tokens *tied* with the $k$-th
#   score are kept too, so top-k keeps at least $k$ tokens, and exactly $k$ only when nothing ties
#   at the cut (see [ties](#ties-when-top-k-keeps-more-than-k) below).
# - **Typical values:** 40–50; 10 or less for conservative output. **The default is 50**, and it
#   applies whenever `do_sample=True`, even if you never mention `top_k`.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
base = dl.DecodingConfig(do_sample=True, top_k=0)  # plain sampling, no truncation

# %% [markdown]
# ## Before and after
#
# The step after `"My name is"`, first with plain sampling (`top_k=0`), then with `top_k=10`. The
# cut tokens are open grey dots, marked ✕ at zero probability; the survivors share the freed probability in proportion to
# what they had.

# %%
prompt = "My name is"
step = cap(prompt)
top10 = base.replace(top_k=10)
dl.token_chart(step, base, k=15).show()
dl.token_chart(step, top10, k=15).show()

# %%
p_before, p_after = step.probs(base), step.probs(top10)
kept_mass = float(p_before[torch.isfinite(step.scores(top10))].sum())
top_id = int(step.logits.argmax())
cut10 = dl.top_k_rule(step.scores(base), 10)  # the scores entering top-k: here the logits themselves
survivors = "ten most likely tokens" if cut10.extra == 0 else f"{cut10.kept} tokens (ten, plus {cut10.extra} tied with the tenth)"
display(
    Markdown(
        f"Before the cut the {survivors} hold **{kept_mass:.1%}** of the probability. After it they hold all "
        f"of it: each kept probability is divided by {kept_mass:.3f}, so the top token {lm.code(top_id)} goes from "
        f"{float(p_before[top_id]):.1%} to {float(p_after[top_id]):.1%}."
    )
)

# %% tags=["hide-input"]
assert step.kept(top10) == cut10.kept >= 10
assert torch.equal(torch.isfinite(step.scores(top10)), cut10.keep)
assert torch.allclose(p_after[torch.isfinite(step.scores(top10))], p_before[torch.isfinite(step.scores(top10))] / kept_mass, rtol=1e-4)

# %% [markdown]
# ## Move the knob
#
# From $k = 1$ to $k = 100$, and `0` (off) at the right end. The title gives the number of tokens
# kept; the last bar, the probability of every token not shown.

# %%
grid = [1, 2, 3, 5, 10, 20, 50, 100, 0]
dl.slider_chart(step, "top_k", grid, k=20, active=4).show()

# %% [markdown]
# ## One k for every step
#
# The weakness of top-k is that $k$ is fixed, while the model's confidence is not. Compare the
# step after `"My name is"` with the step after `"The capital of France is"`, ordered below by
# their [entropy](../glossary.md#entropy) (the lower, the more confident the model):

# %%
candidates = {p: cap(p) for p in ["My name is", "The capital of France is"]}
confident, uncertain = sorted(candidates, key=lambda p: candidates[p].entropy(base))
ks = [1, 5, 10, 50, 100]


def mass_kept(s, k):
    return float(s.probs(base)[torch.isfinite(s.scores(base.replace(top_k=k)))].sum())


rows = [["entropy (nats)", f"{candidates[confident].entropy(base):.2f}", f"{candidates[uncertain].entropy(base):.2f}"]]
for k in ks:
    rows.append([f"k = {k}", f"{mass_kept(candidates[confident], k):.1%}", f"{mass_kept(candidates[uncertain], k):.1%}"])
display(Markdown(dl.markdown_table(["share of the probability in the top k", f"“{confident}”", f"“{uncertain}”"], rows, align="lrr")))

# %% tags=["hide-input"]
sure, unsure = candidates[confident], candidates[uncertain]
p_sure = sure.probs(base)
tenth = float(p_sure.topk(10).values[-1])
cut_examples = ", ".join(lm.code(i) for i in unsure.logits.topk(13).indices[10:])
display(
    Markdown(
        f"After “{confident}” the model is more confident (entropy {sure.entropy(base):.2f} nats): `top_k=10` keeps "
        f"{mass_kept(sure, 10):.1%} of the probability, and the 10th token it keeps has only p = {tenth:.4f} "
        f"before renormalising. After “{uncertain}” (entropy {unsure.entropy(base):.2f} nats) the same `top_k=10` "
        f"throws away **{1 - mass_kept(unsure, 10):.0%}** of the probability, starting with {cut_examples} (ranks 11 to 13). "
        "No single $k$ suits both steps. Top-p (next lesson) and min-p adapt the cut to the distribution."
    )
)

# %% tags=["hide-input"]
assert sure.entropy(base) < unsure.entropy(base)
assert mass_kept(sure, 10) > mass_kept(unsure, 10)

# %%
display(Markdown(f"The step after “{confident}” at `top_k=10`, to compare with the step after “{prompt}” above:"))
dl.token_chart(sure if confident != prompt else unsure, top10, k=15).show()

# %% [markdown]
# ## Top-k and temperature
#
# `generate()` applies temperature first, then top-k. Dividing by $T$ does not change which
# tokens are the top $k$, so the [kept set](../glossary.md#kept-set) is the same at every temperature; only the
# probabilities shared among the survivors change.

# %%
sets = {t: torch.isfinite(step.scores(top10.replace(temperature=t))) for t in [0.5, 1.0, 2.0]}
same = all(torch.equal(sets[0.5], m) for m in sets.values())
print("same kept set at T = 0.5, 1 and 2:", same)
for t in sets:
    p = step.probs(top10.replace(temperature=t))
    print(f"T = {t:g}: p({lm.label(top_id)}) = {float(p[top_id]):.3f}")

# %% tags=["hide-input"]
assert same

# %% [markdown]
# ## `top_k=1` is greedy
#
# With one token kept, sampling has nothing to choose from: a sampled generation with `top_k=1`
# is token for token the greedy one, whatever the seed.

# %%
greedy_run = dl.generate_with_trace(lm, prompt, dl.DecodingConfig(), max_new_tokens=30)
sampled_run = dl.generate_with_trace(lm, prompt, base.replace(top_k=1), max_new_tokens=30, seed=123)
print("greedy:         ", prompt + greedy_run.text)
print("top_k=1 sampled:", prompt + sampled_run.text)
print("identical:", greedy_run.token_ids == sampled_run.token_ids)

# %% tags=["hide-input"]
assert greedy_run.token_ids == sampled_run.token_ids

# %% [markdown]
# ## Samples
#
# Three draws with `top_k=10` from the same prompt (seeds 0, 1, 2), and the number of tokens
# the sampler could choose from at every step next to the same runs' entropy:

# %%
samples = {f"top_k=10, seed {seed}": dl.generate_with_trace(lm, prompt, top10, max_new_tokens=30, seed=seed) for seed in range(3)}
for name, tr in samples.items():
    print(f"{name}: {prompt}{tr.text}")
dl.trace_chart(samples, metric="entropy").show()
counts = [k for tr in samples.values() for k in tr.kept_counts]
tied_steps = sum(k > 10 for k in counts)
display(
    Markdown(
        f"The sampler chose among exactly 10 tokens on {len(counts) - tied_steps} of the {len(counts)} steps"
        + ("." if tied_steps == 0 else f", and among more ({', '.join(str(k) for k in sorted(set(counts) - {10}))}) on "
           f"{tied_steps}, where tokens tied with the 10th.")
    )
)

# %% tags=["hide-input"]
assert all(k >= 10 for k in counts)

# %% [markdown]
# ## Ties: when top-k keeps more than k
#
# `TopKLogitsWarper` finds the $k$-th highest score and removes the tokens *below* it. Every
# token whose score equals the $k$-th survives, so the kept set can be larger than $k$. How often
# that happens depends on the precision of the logits:
#
# - in **float32** (24 bits of mantissa) two different tokens almost never get the very same
#   logit;
# - in **bfloat16**, the precision large models usually run in on a GPU, a logit has 8 significant bits
#   (7 stored): between 4 and 8 only multiples of $2^{-5} = 1/32$ exist, so tokens with nearly
#   equal logits land on the same value.
#
# The same logits as computed for this page, and rounded to bfloat16, cut at every $k$ from 1 to
# 100:

# %%
rounded = step.logits.to(torch.bfloat16).float()  # what a bf16 model would output (to rounding)
ks = range(1, 101)
cuts = {name: [dl.top_k_rule(x, k) for k in ks] for name, x in [("computed", step.logits), ("bf16", rounded)]}
example = next((c.k for c in cuts["bf16"] if c.extra), None)
dtype = str(lm.dtype).removeprefix("torch.")
rows = [
    [f"distinct values among the {lm.vocab_size:,} logits", f"{torch.unique(step.logits).numel():,}", f"{torch.unique(rounded).numel():,}"],
    ["values of k (of 100) where top-k keeps more than k", sum(c.extra > 0 for c in cuts["computed"]), sum(c.extra > 0 for c in cuts["bf16"])],
]
if example:
    rows.append([f"tokens kept by `top_k={example}`", cuts["computed"][example - 1].kept, cuts["bf16"][example - 1].kept])
table = dl.markdown_table(["", f"logits as computed ({dtype})", "rounded to bfloat16"], rows, align="lrr")
note = " The page ran in bfloat16, so both columns are the same logits." if lm.dtype == torch.bfloat16 else ""
display(Markdown(table + ("\n\n" + note.strip() if note else "")))

# %% tags=["hide-input"]
for c in cuts["bf16"]:  # the rule is the warper's, tie for tie
    assert c.kept >= c.k
    assert torch.equal(c.keep, torch.isfinite(dl.apply_processors(rounded, step.input_ids, base.replace(top_k=c.k))))
assert torch.unique(rounded).numel() <= torch.unique(step.logits).numel()

# %% [markdown]
# A tie only changes *how many* tokens survive, never the order among the others. But it means
# that "top-k keeps exactly $k$ tokens" is true only when no token ties with the $k$-th: a check
# written as `kept == k` passes in float32 and fails in bfloat16. `rule.kept` from
# `top_k_rule(scores, k)` says how many are kept (`rule.kept`), and how many of them only because
# they tie with the $k$-th (`rule.extra`).

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=name&top_k=10)**, which opens on this lesson's prompt with `top_k=10`: move k and watch how much of the model's mass the kept tokens held, here and on a confident context such as *The capital of France*.

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
notes = [
    f"- Top-k keeps the same number of tokens on every step (more only where tokens tie with the $k$-th): "
    f"{mass_kept(sure, 10):.0%} of the probability after "
    f"“{confident}” but only {mass_kept(unsure, 10):.0%} after “{uncertain}”, at `top_k=10`.",
    "- It does not change the relative odds of the survivors: only who survives. Temperature changes the odds, "
    "not the survivors. The two are independent knobs.",
    "- `top_k=1` is greedy decoding; `top_k=0` is no truncation; and `generate()` uses `top_k=50` when you do not "
    "say otherwise.",
    f"- Every chart here came from {cap.forward_passes} forward passes; the sliders run no model.",
]
display(Markdown("\n".join(notes)))

# %% tags=["hide-input"]
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
top5 = base.replace(top_k=5)
kept5 = {t: step.kept(top5.replace(temperature=t)) for t in (1.0, 2.0)}
cut5 = dl.top_k_rule(step.scores(base), 5)
lost5 = {p: 1 - mass_kept(candidates[p], 5) for p in candidates}
loser, other = sorted(candidates, key=lambda p: lost5[p], reverse=True)
first_tie = cuts["bf16"][example - 1] if example else None
nth = f"{example}{'th' if example is None or 10 <= example % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(example % 10, 'th')}"
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"How many tokens does `top_k=5` keep after “{prompt}” at $T = 1$, and how many at $T = 2$?",
                    f"**{kept5[1.0]}** at both"
                    + ("" if cut5.extra == 0 else f" (5, plus {cut5.extra} tied with the 5th)")
                    + ". Temperature runs first and divides every score by the same $T$, which keeps their order: "
                    "the top 5 stay the top 5.",
                ),
                (
                    f"`top_k=5` after “{confident}” and after “{uncertain}”: on which step does it throw away more of "
                    "the probability?",
                    f"After **“{loser}”**: the cut tokens held {lost5[loser]:.1%} of the probability there, against "
                    f"{lost5[other]:.1%} after “{other}”. "
                    + (
                        "That is the less confident step (higher entropy): the more spread the distribution, the more "
                        "a fixed $k$ cuts."
                        if loser == uncertain
                        else "That is the more confident step by entropy: entropy weighs the whole tail, the top-5 "
                        "share only the head."
                    ),
                ),
                (
                    "On this step's logits rounded to bfloat16 (the table above), what is the smallest $k$ from 1 to "
                    "100 at which top-k keeps more than $k$ tokens?",
                    (
                        f"**$k = {example}$**: `top_k={example}` keeps {first_tie.kept} tokens, because "
                        f"{first_tie.extra} token{'s tie' if first_tie.extra != 1 else ' ties'} with the {nth} score. "
                        f"Every smaller $k$ keeps exactly $k$."
                    )
                    if example
                    else "**None**: no $k$ from 1 to 100 cuts through a tie, even in bfloat16, so every one keeps exactly $k$.",
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
for t in kept5:  # the warper's kept set, against the rule on the tempered logits
    assert torch.equal(torch.isfinite(step.scores(top5.replace(temperature=t))), dl.top_k_rule(step.logits / t, 5).keep)
assert kept5[1.0] == kept5[2.0] == cut5.kept
for p, s in candidates.items():
    assert abs(lost5[p] - (1 - float(torch.softmax(s.logits, dim=-1)[dl.top_k_rule(s.logits, 5).keep].sum()))) < 1e-5
assert lost5[loser] >= lost5[other]
warper_kept = [int(torch.isfinite(dl.apply_processors(rounded, step.input_ids, base.replace(top_k=k))).sum()) for k in range(1, (example or 100) + 1)]
assert example == next((k for k, n in enumerate(warper_kept, start=1) if n > k), None)
assert all(n == k for k, n in enumerate(warper_kept[: (example or 101) - 1], start=1))  # "every smaller k keeps exactly k"
assert not example or warper_kept[example - 1] == first_tie.kept
assert cap.forward_passes == cap.distinct_contexts
