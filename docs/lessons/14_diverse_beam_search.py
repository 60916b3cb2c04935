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
# # Diverse beam search
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** [beam search](../glossary.md#beam) in groups that take turns; a group pays `diversity_penalty` for every
#   token an earlier group chose at the same step, so the groups' outputs differ.
# - **When:** several different outputs of one input (captions, paraphrases, candidates to rerank).
# - **In transformers:** `generate(num_beams=6, num_beam_groups=3, diversity_penalty=1.0)`, which
#   since transformers 4.57 also needs `custom_generate="transformers-community/group-beam-search"`
#   and `trust_remote_code=True` (below).
# - **Typical value:** 2–4 groups, `diversity_penalty` 0.5–2.
#
# </div>
#
# Beam search returns its `num_beams` best [hypotheses](../glossary.md#hypothesis), and they are usually one sentence in a few
# variations: the beams share a prefix because the best continuations of a good prefix outscore
# everything else. *Diverse beam search* splits the beams into `num_beam_groups` groups. At every
# step the groups take turns; each group runs an ordinary beam search, except that a token loses
# `diversity_penalty` for every time an **earlier group already chose it at this step**:
#
# $$\text{score}_g(v) = \log p(v \mid \text{beam}) - \lambda \cdot \#\{\text{beams of groups } < g \text{ that chose } v \text{ at this step}\}$$
#
# (a *Hamming diversity* term). The first group is plain beam search; the later ones are pushed
# away from the tokens already taken. The penalty stays in the beams' scores.
#
# - **In transformers:** `generate(num_beams=N, num_beam_groups=G, diversity_penalty=λ)`, no
#   longer in its core (the status is below the set-up). `decoding_lessons.diverse_beam_search`
#   follows the last in-core implementation (`_group_beam_search`, one `BeamSearchScorer` per group,
#   `HammingDiversityLogitsProcessor`) and records every step.
# - **Paper:** Vijayakumar et al., *Diverse Beam Search: Decoding Diverse Solutions from Neural
#   Sequence Models* (2016, [arXiv:1610.02424](https://arxiv.org/abs/1610.02424)).
# - **Typical use:** when several different outputs are wanted (captions, paraphrases, candidate
#   answers to rerank): 2–4 groups, λ around 0.5–2 ([log-probability](../glossary.md#log-probability) units: λ = 1 costs as much as a
#   token *e* ≈ 2.7 times less likely).

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer

# %% tags=["hide-input"]
def table(result) -> str:
    text = dl.markdown_table(
        ["#", "group", "output", "score"],
        [[h.rank + 1, h.group + 1, lm.text(h.tokens), f"{h.score:.3f}"] for h in result.returned],
        align="rrlr",
    )
    special = sorted({tokenizer.convert_ids_to_tokens(int(t)) for h in result.returned for t in h.tokens
                      if int(t) in set(tokenizer.all_special_ids)} - {tokenizer.eos_token, tokenizer.pad_token})
    if special:  # a model given a raw prompt can emit its control tokens; the search does not filter them
        text += (f"\n\nSome outputs contain the model's special tokens ({', '.join(f'`{t}`' for t in special)}): "
                 "given a raw prompt, a model can produce them, and the search keeps whatever scores best.")
    return text



# %% tags=["hide-input"]
display(Markdown("**Today in transformers.** " + dl.retired_note("diverse_beam_search")))

# %% [markdown]
# ## Plain beam search returns near-copies
#
# Six beams, 12 new tokens, all six hypotheses returned:

# %%
prompt = "The sky is"
NEW, BEAMS, GROUPS = 12, 6, 3
plain = dl.beam_search(lm, prompt, num_beams=BEAMS, max_new_tokens=NEW)
display(Markdown(table(plain)))

# %% [markdown]
# The score is the search's: the sum of the new tokens' log-probabilities divided by their number
# $|Y|$ to the power `length_penalty` (1 by default), so here the mean log-probability per new token.
# That is transformers' length normalisation, $|Y|^\alpha$, not GNMT's $\bigl((5+|Y|)/6\bigr)^\alpha$
# (see lesson 13). For the groups below, the diversity penalties they paid are in the sum.

# %% [markdown]
# ## Three groups of two beams
#
# The same search split into 3 groups with `diversity_penalty = 1.0`. In the tree each group has
# its own colour; hover a node to see its log-probability, the diversity penalty it paid and the
# score the search added.

# %%
diverse = dl.diverse_beam_search(lm, prompt, num_beams=BEAMS, num_beam_groups=GROUPS, diversity_penalty=1.0, max_new_tokens=NEW)
dl.beam_tree(diverse, lm).show()

# %%
display(Markdown(table(diverse)))

# %%
d_plain = dl.distinct_ngrams([h.tokens for h in plain.returned], 2)
d_div = dl.distinct_ngrams([h.tokens for h in diverse.returned], 2)
firsts_plain = len({h.tokens[0] for h in plain.returned})
firsts_div = len({h.tokens[0] for h in diverse.returned})
display(
    Markdown(
        f"Across the six returned outputs, **{d_div:.0%}** of the bigrams are distinct with {GROUPS} groups at λ = 1, "
        f"against {d_plain:.0%} for plain beam search with {BEAMS} beams; they start with {firsts_div} different first "
        f"tokens against {firsts_plain}. (The sweep below has another baseline: the same {GROUPS} groups at λ = 0.) "
        f"Both searches ran one forward pass per step for all six beams ({diverse.forward_passes} and "
        f"{plain.forward_passes} passes)."
    )
)

# %% tags=["hide-input"]
assert d_div > d_plain  # "plain beam search returns near-copies": the groups' outputs are more diverse

# %% [markdown]
# ### The penalty at one step
#
# The first step, group by group. Group 1 sees the model's log-probabilities unchanged. Group 2
# pays λ for each token group 1 chose; group 3 pays for the tokens of groups 1 and 2. (All groups
# start from the same prompt, so without the penalty they would choose the same tokens.)

# %% tags=["hide-input"]
first = [c for c in diverse.candidates if c.step == 0]
rows = [
    [c.group + 1, lm.code(c.token_id), f"{c.logprob:.2f} − {c.diversity_penalty:.1f} = **{c.score:.2f}**", c.status]
    for c in sorted(first, key=lambda c: (c.group, c.rank))
]
display(Markdown(dl.markdown_table(["group", "candidate", "log p − penalty = score", "fate"], rows, align="rlrl")))

# %%
kept_first = {g: [c.token_id for c in first if c.group == g and c.status == "kept"] for g in range(GROUPS)}


def tokens(ids) -> str:
    return ", ".join(lm.code(t) for t in ids) or "none"


shared = [t for t in kept_first[1] if t in kept_first[0]]
dropped = [t for t in kept_first[0] if t not in kept_first[1]]
display(
    Markdown(
        f"Group 1 kept {tokens(kept_first[0])}. Group 2 kept {tokens(kept_first[1])}: "
        + (f"it paid the penalty and still kept {tokens(shared)}, whose lead was larger than λ, " if shared else "")
        + (f"and gave up {tokens(dropped)}." if dropped else "and gave up none of group 1's tokens.")
        + f" Group 3 kept {tokens(kept_first[2])}."
    )
)

# %% tags=["hide-input"]
# Hidden checks: the record adds up, and one group is plain beam search (generate()).
for c in first:
    assert abs(c.step_score - (c.logprob - c.diversity_penalty)) < 1e-4
    # "group 2 pays λ for each token group 1 chose; group 3 for the tokens of groups 1 and 2"
    chosen_before = [o.token_id for o in first if o.group < c.group and o.status == "kept"]
    assert c.diversity_penalty == diverse.settings["diversity_penalty"] * chosen_before.count(c.token_id), (c.group, c.token_id)
one = dl.diverse_beam_search(lm, prompt, num_beams=4, num_beam_groups=1, diversity_penalty=1.0, max_new_tokens=NEW)
ref = dl.reference_generate(lm, prompt, max_new_tokens=NEW, scores=True, num_beams=4, num_return_sequences=4, do_sample=False)
assert torch.equal(ref.sequences.cpu(), one.sequences)
assert torch.allclose(ref.sequences_scores.cpu(), one.sequences_scores, atol=1e-4)

# %% [markdown]
# ## How much the outputs differ as the penalty grows
#
# distinct-n counts the different n-grams among all n-grams of the six returned outputs (1 = no
# n-gram appears twice). The price is likelihood: we also measure, under the model alone (no
# penalty), the mean log-probability per token of the outputs. The sweep starts at λ = 0, which
# transformers 4.55 refused with several groups (a `ValueError`); here it means that each group
# runs its own beam search, unaware of the others.

# %%
penalties = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]
sweep = {
    lam: dl.diverse_beam_search(lm, prompt, num_beams=BEAMS, num_beam_groups=GROUPS, diversity_penalty=lam, max_new_tokens=NEW)
    for lam in penalties
}
series = {f"distinct-{n}": [dl.distinct_ngrams([h.tokens for h in r.returned], n) for r in sweep.values()] for n in (1, 2, 3)}
dl.measures_chart(
    penalties, series, "diversity_penalty", "distinct n-grams",
    f"Distinct n-grams of the {BEAMS} outputs<br><sup>diverse beam search, {BEAMS} beams in {GROUPS} groups, after “{prompt}”</sup>",
    percent=True,
).show()

# %%
rows, fluency = [], {}
for lam, r in sweep.items():
    per_token = [dl.sequence_logprob(lm, prompt, h.tokens) / len(h.tokens) for h in r.returned]
    fluency[lam] = sum(per_token) / len(per_token)
    rows.append([f"{lam:g}", f"{series['distinct-2'][penalties.index(lam)]:.0%}", f"{fluency[lam]:.2f}", lm.text(r.returned[0].tokens)])
display(Markdown(dl.markdown_table(["diversity_penalty", "distinct-2", "mean log p per token (all outputs)", "best output"], rows, align="rrrl")))

# %%
d2 = series["distinct-2"]
trend = "rises" if d2[-1] > d2[0] else "does not rise"
lowest = min(fluency, key=fluency.get)
steady = all(fluency[a] >= fluency[b] - 0.01 for a, b in zip(penalties, penalties[1:]))  # the claim covers the table
size = BEAMS // GROUPS
own = dl.beam_search(lm, prompt, num_beams=size, num_return_sequences=size, max_new_tokens=NEW)
as_plain = [h.tokens for h in sweep[0.0].returned[::GROUPS]] == [h.tokens for h in own.returned]
display(
    Markdown(
        f"From λ = 0 to λ = {penalties[-1]:g}, distinct-2 {trend}: {d2[0]:.0%} → {d2[-1]:.0%}"
        + (f" (highest, {max(d2):.0%}, at λ = {penalties[d2.index(max(d2))]:g})" if max(d2) > d2[-1] else "")
        + ". At λ = 0 every group runs the same search, so the six outputs are three copies of two hypotheses"
        + (f", the two that plain beam search with {size} beams returns. " if as_plain else ". ")
        + (
            (
                f"The price is paid in likelihood: the model's mean log-probability per token over the six outputs falls "
                f"as the penalty grows, from {fluency[0.0]:.2f} at λ = 0 to {fluency[penalties[-1]]:.2f} at λ = {penalties[-1]:g}."
                if steady
                else f"Diversity can cost likelihood, but not in proportion to λ: the model's mean log-probability per token "
                f"over the six outputs is {fluency[0.0]:.2f} at λ = 0, lowest ({fluency[lowest]:.2f}) at λ = {lowest:g}"
                + ("" if lowest == penalties[-1] else f", and {fluency[penalties[-1]]:.2f} at λ = {penalties[-1]:g}")
                + ". Each λ gives different sentences, and a larger penalty can land on likelier ones."
            )
            if fluency[lowest] < fluency[0.0] - 0.01
            else f"Here the diversity costs no likelihood: the model's mean log-probability per token over the six "
            f"outputs stays at {fluency[0.0]:.2f} or above."
        )
    )
)

# %% tags=["hide-input"]
# λ = 0: every group is the same beam search, so each hypothesis comes back once per group.
zero = sweep[0.0]
assert [h.tokens for h in zero.returned] == [h.tokens for h in zero.returned[::GROUPS] for _ in range(GROUPS)]
assert all(c.diversity_penalty == 0.0 for c in zero.candidates)  # no group sees the others
assert d2[0] < max(d2)
# the likelihood sentence holds across the whole table, not at one point
if fluency[lowest] < fluency[0.0] - 0.01:
    if not steady:  # "not in proportion to λ": some larger λ is likelier than a smaller one (`steady` covers the table)
        assert any(fluency[b] > fluency[a] + 0.01 for i, a in enumerate(penalties) for b in penalties[i + 1:])
else:
    assert all(v >= fluency[0.0] - 0.01 for v in fluency.values())

# %% [markdown]
# ## A case small enough to check by hand
#
# A toy "model" whose next-token probabilities depend only on the last token, written down as a
# table (`dl.search.BigramModel`). Two groups of one beam, two steps, `length_penalty = 0` so that
# scores are plain sums:
#
# | after | A | B | C | ⟨eos⟩ |
# |---|---:|---:|---:|---:|
# | ⟨s⟩ | 0.5 | 0.3 | 0.2 | 0 |
# | A | 0.1 | 0.6 | 0.3 | 0 |
# | B | 0.1 | 0.7 | 0.2 | 0 |
#
# Step 1: group 1 takes A (log 0.5). Group 2 pays λ for A, so it takes B once
# log 0.5 − λ < log 0.3, i.e. λ > log(0.5/0.3) ≈ 0.51. Step 2: group 1 goes on with B (log 0.6);
# group 2, on B, pays λ for B: it stays with B while log 0.7 − λ > log 0.2, i.e. λ < log 3.5 ≈ 1.25,
# and switches to C above.

# %%
toy = dl.search.BigramModel(
    ["<s>", "A", "B", "C", "<eos>"],
    {"<s>": {"A": 0.5, "B": 0.3, "C": 0.2}, "A": {"A": 0.1, "B": 0.6, "C": 0.3}, "B": {"A": 0.1, "B": 0.7, "C": 0.2}},
    eos="<eos>",
)
rows, toy_runs = [], {}
for lam in (0.0, 0.4, 1.0, 2.0):
    r = dl.diverse_beam_search(toy, toy.ids("<s>"), num_beams=2, num_beam_groups=2, diversity_penalty=lam, max_new_tokens=2, length_penalty=0.0)
    by_group = {h.group: h for h in r.returned}
    toy_runs[lam] = [" ".join(toy.names(by_group[g].tokens)) for g in (0, 1)]
    rows.append([f"{lam:g}", f"`{toy_runs[lam][0]}`", f"`{toy_runs[lam][1]}`", f"{by_group[1].score:.3f}"])
display(Markdown(dl.markdown_table(["λ", "group 1", "group 2", "group 2's score"], rows, align="rllr")))

# %% tags=["hide-input"]
# Hidden check: the table is the hand-worked answer (group 2 switches to B above λ ≈ 0.51, then to C above λ ≈ 1.25).
assert toy_runs == {0.0: ["A B", "A B"], 0.4: ["A B", "A B"], 1.0: ["A B", "B B"], 2.0: ["A B", "B C"]}, toy_runs

# %% [markdown]
# ## Takeaways
#
# - Groups take turns; each is a beam search whose scores pay `diversity_penalty` for every token an
#   earlier group chose at the same step. One group is plain beam search; λ = 0 makes every group
#   the same plain beam search.
# - The penalty pushes the groups to different tokens; the returned list ranks all groups'
#   hypotheses together by score, penalties included.

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed by the same searches as above.

# %% tags=["hide-input"]
toy_06 = dl.diverse_beam_search(toy, toy.ids("<s>"), num_beams=2, num_beam_groups=2, diversity_penalty=0.6, max_new_tokens=2, length_penalty=0.0)
toy_06_groups = {h.group: " ".join(toy.names(h.tokens)) for h in toy_06.returned}
zero_distinct = len({tuple(h.tokens) for h in sweep[0.0].returned})
display(
    Markdown(
        dl.exercises(
            [
                (
                    "In the toy case, what do the two groups return at λ = 0.6?",
                    f"**Group 1 `{toy_06_groups[0]}`, group 2 `{toy_06_groups[1]}`.** At step 1, 0.6 > log(0.5/0.3) ≈ 0.51, so "
                    "group 2 leaves A for B; at step 2 it pays 0.6 for repeating group 1's B, less than log 3.5 ≈ 1.25, "
                    "so it stays on B.",
                ),
                (
                    f"With λ = 0 and {GROUPS} groups of {BEAMS // GROUPS} beams, how many *different* outputs are among the "
                    f"{BEAMS} returned after “{prompt}”?",
                    f"**{zero_distinct}.** Without the penalty each group runs the same beam search of {BEAMS // GROUPS} beams, "
                    f"so each of its hypotheses comes back once per group.",
                ),
                (
                    f"How many forward passes did the search with {GROUPS} groups take for its {diverse.num_steps} steps?",
                    f"**{diverse.forward_passes}**, one per step, as for plain beam search ({plain.forward_passes} for its "
                    f"{plain.num_steps} steps): the groups take turns in choosing tokens, but all {BEAMS} beams go through the "
                    "model together in one batch per step.",
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert toy_06_groups == {0: "A B", 1: "B B"}, toy_06_groups  # the hand-worked answer: 0.51 < 0.6 < 1.25
assert zero_distinct == len({tuple(h.tokens) for h in sweep[0.0].returned[::GROUPS]}) <= BEAMS // GROUPS
assert diverse.forward_passes == diverse.num_steps and plain.forward_passes == plain.num_steps
