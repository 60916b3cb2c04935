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
# # Beam sampling
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** [beam search](../glossary.md#beam) that *draws* its `2 × num_beams` candidates per step, without
#   replacement, from the whole-sequence scores of every beam × token, instead of taking the best ones.
# - **When:** several varied but likely outputs, to rerank or to offer, where beam search's are too
#   alike and single samples too uneven.
# - **In transformers:** `generate(do_sample=True, num_beams=4)`, with the [sampling](../glossary.md#sampling) knobs
#   (`temperature`, `top_k`, `top_p`) and the beam knobs (`length_penalty`, `num_return_sequences`).
# - **Typical value:** 4–8 beams, as in beam search; a [temperature](../glossary.md#temperature) below 1 stays near beam search's
#   outputs, 1 and above varies more (the sweep below). The hidden `top_k=50` applies.
#
# </div>
#
# [Beam search](../13_beam_search/) keeps the `num_beams` best partial sequences and is
# deterministic: the same prompt always gives the same outputs, and they tend to be near-copies of
# one sentence. [Sampling](../12_sampling_in_practice/) draws one token at a time and never looks
# back: every run differs, but nothing keeps a promising sequence alive. Beam sampling runs beam
# search's loop and changes one thing: at each step it **draws** its candidates instead of taking
# the best ones.
#
# - **In transformers:** `generate(do_sample=True, num_beams=N)`, with every sampling knob
#   (`temperature`, `top_k`, `top_p`, …) and every beam knob (`length_penalty`, `early_stopping`,
#   `num_return_sequences`). `decoding_lessons.beam_sample` is the same algorithm written out
#   (transformers 5's `_beam_search` with `do_sample=True`), recorded step by step like
#   `beam_search`; after the same `torch.manual_seed`, it returns what `generate()` returns (checked
#   below and in the tests).
# - **Papers:** transformers' rule is a heuristic: it draws each step's candidates without
#   replacement from all beams × tokens. Kool et al., *Stochastic Beams and Where to Find Them: The
#   Gumbel-Top-k Trick for Sampling Sequences Without Replacement* (2019,
#   [arXiv:1903.06059](https://arxiv.org/abs/1903.06059)), turn the same idea into an exact sample
#   of whole sequences without replacement. Holtzman et al. (2020,
#   [arXiv:1904.09751](https://arxiv.org/abs/1904.09751)) explain why pure maximisation degenerates
#   and pure sampling wanders, the two ends beam sampling sits between.
# - **Typical use:** several varied but likely candidates (to rerank, or to offer), where beam
#   search's are too alike and plain samples too uneven.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% [markdown]
# ## The one change
#
# At each step beam search scores every live beam $b$ extended by every token $y$ with its
# cumulative score $S(b, y) = S_b + s(y \mid b)$, where $s$ is the model's [log-probability](../glossary.md#log-probability) after
# the processors. Beam search keeps the $2N$ best of those $N \times V$ candidates ($N$ beams, $V$
# tokens). Beam sampling draws $2N$ of them, without replacement, from
#
# $$P(b, y) = \frac{\exp S(b, y)}{\sum_{b', y'} \exp S(b', y')},$$
#
# one distribution over all beams and tokens at once, and sorts the drawn ones by score. From there
# on everything is beam search: the best drawn candidates that end join the pool of finished
# [hypotheses](../glossary.md#hypothesis), the best $N$ that do not end become the next beams. In transformers' code the
# difference is two lines:
#
# ```python
# total = (scores + beam_scores[:, None]).reshape(1, -1)  # every beam × every token
# top = torch.topk(total, 2 * num_beams)                                # beam search
# drawn = torch.multinomial(torch.softmax(total, -1), 2 * num_beams)    # beam sampling
# ```
#
# Because $S$ is *cumulative*, a candidate's chance is its whole sequence's probability, not only
# its last token's: a strong beam supplies most of the draws, a weak one few or none. The sampling
# warpers act on $s$ before the draw, as in plain sampling, including transformers' hidden
# default `top_k=50` (pass `top_k=0` to switch it off). With `num_beams > 1` each truncation keeps
# at least two tokens per beam (one more than the number of end-of-sequence ids).

# %% [markdown]
# ## Beam search, beam sampling and sampling on one prompt
#
# Four beams, ten new tokens, `generate()`'s default sampling settings ([temperature](../glossary.md#temperature) 1, `top_k=50`)
# and the same [seed](../glossary.md#seed) for the two random decoders. For each output we compute its mean
# log-probability per token under the model, in one forward pass over prompt + output
# (`dl.sequence_logprob`).

# %%
prompt = "The best way to learn a language is"
NEW, BEAMS, SEED = 10, 4, 0
searched = dl.beam_search(lm, prompt, num_beams=BEAMS, max_new_tokens=NEW)
sampled = dl.beam_sample(lm, prompt, num_beams=BEAMS, max_new_tokens=NEW, seed=SEED)
plain = dl.generate_with_trace(lm, prompt, dl.DecodingConfig(do_sample=True), max_new_tokens=NEW, seed=SEED)


_known = {}


def per_token(tokens) -> float:
    """Mean log-probability per token of an output under the model alone (computed once per output)."""
    tokens = tuple(tokens)
    if tokens not in _known:
        _known[tokens] = dl.sequence_logprob(lm, prompt, list(tokens)) / len(tokens)
    return _known[tokens]


rows = [["beam search #1", lm.text(searched.returned[0].tokens), f"{per_token(searched.returned[0].tokens):.3f}"]]
rows += [[f"beam sampling #{h.rank + 1}", lm.text(h.tokens), f"{per_token(h.tokens):.3f}"] for h in sampled.returned]
rows.append(["sampling", lm.text(plain.token_ids), f"{per_token(plain.token_ids):.3f}"])
display(Markdown(dl.markdown_table(["decoding", "output", "log p per token"], rows, align="llr")))

# %% [markdown]
# **The check.** `torch.manual_seed(0)` and then `generate(do_sample=True, num_beams=4,
# num_return_sequences=4)` must return the same sequences and the same scores:

# %%
ref = dl.reference_generate(
    lm, prompt, max_new_tokens=NEW, seed=SEED, scores=True, do_sample=True, num_beams=BEAMS, num_return_sequences=BEAMS
)
same = torch.equal(ref.sequences.cpu(), sampled.sequences)
gap = float((ref.sequences_scores.cpu() - sampled.sequences_scores).abs().max())
print(f"same sequences: {same}; largest difference of sequences_scores: {gap:g}")

# %% tags=["hide-input"]
assert same and gap <= 1e-4
lp = {"search": per_token(searched.returned[0].tokens), "beam": per_token(sampled.returned[0].tokens), "plain": per_token(plain.token_ids)}

# %% tags=["hide-input"]
same_best = sampled.returned[0].tokens == searched.returned[0].tokens
shared_beams = len({h.tokens for h in sampled.returned} & {h.tokens for h in searched.returned})
if same_best:
    first_line = (
        f"Beam sampling's best output is beam search's best ({lp['beam']:.3f} nats per token): at temperature 1 the draw "
        "still favours the top candidates. "
    )
elif lp["beam"] > lp["search"]:
    first_line = (
        f"Beam sampling's best output is even likelier per token than beam search's ({lp['beam']:.3f} against "
        f"{lp['search']:.3f} nats): beam search is a heuristic, not an exhaustive search. "
    )
else:
    first_line = f"Beam sampling's best output ({lp['beam']:.3f} nats per token) is less likely than beam search's ({lp['search']:.3f}). "
display(
    Markdown(
        first_line
        + f"{shared_beams} of its {len(sampled.returned)} returned beams {'is' if shared_beams == 1 else 'are'} also among "
        f"beam search's {len(searched.returned)}. "
        + f"The single sample, at {lp['plain']:.3f} nats per token, is "
        + ("less likely than any returned beam." if lp["plain"] < min(per_token(h.tokens) for h in sampled.returned)
           else "at least as likely as some of the beams.")
    )
)

# %% [markdown]
# ## The tree
#
# The chart is the one of [lesson 13](../13_beam_search/), for the beam sampling above: every node
# is a candidate the step *drew*, coloured when it became a live beam, grey when it was drawn but
# pruned; stars are finished hypotheses, the returned ones numbered. Hover a node for its
# log-probability, the cumulative score and its probability in its step's draw.

# %%
dl.beam_tree(sampled, lm).show()

# %% tags=["hide-input"]
cands = sampled.candidates
later = [c for c in cands if c.step > 0]
from_best = sum(c.slot == 0 for c in later)
first = [cands[i] for i in sampled.steps[0].candidates]
top_first = max(first, key=lambda c: c.draw_prob)


def kept_prefixes(result) -> set:
    """Every live beam of every step, as its tokens."""
    return {tuple(result.candidates[i].token_id for i in result.path(c.id)) for c in result.candidates if c.status == "kept"}


shared = kept_prefixes(sampled) & kept_prefixes(searched)
n_kept = sum(c.status == "kept" for c in cands)
display(
    Markdown(
        f"The search drew **{len(cands)}** candidates in {sampled.num_steps} steps ({2 * BEAMS} per step) and kept {n_kept} as "
        f"live beams. At the first step all draws come from the prompt; the likeliest, {lm.code(top_first.token_id)}, had "
        f"probability {top_first.draw_prob:.2f} in the draw. From the second step on, **{from_best / len(later):.0%}** of the "
        f"draws extended the best live beam of their step, one beam of {BEAMS}"
        + (
            ": the draw is weighted by whole-sequence probability, and the best beam takes more than its share. "
            if from_best / len(later) > 1 / BEAMS
            else ": here the beams were close enough in score to share the draws about evenly. "
        )
        + f"Of its {n_kept} live beams, {len(shared)} were also live beams of beam search at the same step."
    )
)

# %% tags=["hide-input"]
assert all(c.slot == 0 and c.parent is None for c in first)  # the first step draws from the prompt only
for step in sampled.steps:  # the record: processed score added to the parent's, draws in the ratio of exp(score)
    here = [cands[i] for i in step.candidates]
    for c in here:
        parent = 0.0 if c.parent is None else cands[c.parent].score
        assert abs(c.score - (parent + c.step_score)) < 1e-4
        assert abs(c.draw_prob / here[0].draw_prob - torch.tensor(c.score - here[0].score).exp().item()) < 1e-3

# %% [markdown]
# ### The cost
#
# The draw replaces a `topk` over $N \times V$ scores by a `multinomial` over the same scores; the
# model does the same work as in beam search.

# %% tags=["hide-input"]
display(
    Markdown(
        f"Beam sampling ran **{sampled.forward_passes}** forward passes for {sampled.num_steps} steps, one per step over a "
        f"batch of {BEAMS} beams; beam search ran {searched.forward_passes} for its {searched.num_steps} steps."
    )
)
assert sampled.forward_passes == sampled.num_steps and searched.forward_passes == searched.num_steps

# %% [markdown]
# ## Several seeds
#
# Beam search gives the same four outputs every time. Beam sampling and sampling change with the
# seed. Four seeds, the best output of each beam sampling, and the sample of the same seed:

# %%
SEEDS = [0, 1, 2, 3]
runs = {s: sampled if s == SEED else dl.beam_sample(lm, prompt, num_beams=BEAMS, max_new_tokens=NEW, seed=s) for s in SEEDS}
samples = {s: plain if s == SEED else dl.generate_with_trace(lm, prompt, dl.DecodingConfig(do_sample=True), max_new_tokens=NEW, seed=s) for s in SEEDS}
rows = []
for s in SEEDS:
    best = runs[s].returned[0].tokens
    rows.append([s, lm.text(best), f"{per_token(best):.3f}", lm.text(samples[s].token_ids), f"{per_token(samples[s].token_ids):.3f}"])
display(
    Markdown(
        dl.markdown_table(
            ["seed", "beam sampling: best output", "log p / token", "sampling", "log p / token"], rows, align="rlrlr"
        )
    )
)

# %% tags=["hide-input"]
distinct_beam = len({runs[s].returned[0].tokens for s in SEEDS})
distinct_plain = len({tuple(samples[s].token_ids) for s in SEEDS})
as_search = sum(runs[s].returned[0].tokens == searched.returned[0].tokens for s in SEEDS)
mean_beam = sum(per_token(runs[s].returned[0].tokens) for s in SEEDS) / len(SEEDS)
mean_plain = sum(per_token(samples[s].token_ids) for s in SEEDS) / len(SEEDS)
all_beams = [h.tokens for s in SEEDS for h in runs[s].returned]
better = [s for s in SEEDS if per_token(runs[s].returned[0].tokens) > lp["search"] + 1e-6]
display(
    Markdown(
        f"Over {len(SEEDS)} seeds beam sampling gave **{distinct_beam}** different best outputs "
        f"({as_search} of them beam search's own), sampling **{distinct_plain}** different texts. "
        f"On average beam sampling's best output has {mean_beam:.3f} nats per token, sampling's {mean_plain:.3f}: "
        + (
            "beam sampling keeps most of beam search's likelihood while it varies."
            if mean_beam > mean_plain
            else "here sampling's texts are as likely per token, on average."
        )
        + f" Across the seeds' {len(all_beams)} returned beams, {len(set(all_beams))} are different and "
        f"{dl.distinct_ngrams(all_beams, 2):.0%} of their bigrams distinct."
        + (
            f" Seed {better[0]}'s best output is even likelier per token than beam search's ({per_token(runs[better[0]].returned[0].tokens):.3f} "
            f"against {lp['search']:.3f}): a draw can reach a hypothesis that beam search did not return."
            if better else ""
        )
    )
)

# %% [markdown]
# ## Temperature: from beam search to sampling
#
# Temperature divides every step's log-probabilities, so it sharpens or flattens the draw over
# whole sequences. As $T \to 0$ the draw concentrates on the best candidates, and beam sampling
# returns beam search's outputs; as $T$ grows, it spreads over more beams and tokens. Three seeds
# at each temperature: how many of them return beam search's best output, and how many of their
# three pairs disagree (0 % when all three agree):

# %%
TEMPS = [0.25, 0.5, 1.0, 2.0]
sweep = {
    (t, s): runs[s] if t == 1.0 else dl.beam_sample(lm, prompt, num_beams=BEAMS, max_new_tokens=NEW, temperature=t, seed=s)
    for t in TEMPS for s in SEEDS[:3]
}
best = {key: r.returned[0].tokens for key, r in sweep.items()}
PAIRS = [(a, b) for i, a in enumerate(SEEDS[:3]) for b in SEEDS[:3][i + 1:]]
series = {
    "best output = beam search's": [sum(best[t, s] == searched.returned[0].tokens for s in SEEDS[:3]) / 3 for t in TEMPS],
    # 0 when the 3 seeds agree, 1 when all three differ
    "seed pairs with different best outputs": [sum(best[t, a] != best[t, b] for a, b in PAIRS) / len(PAIRS) for t in TEMPS],
}
dl.measures_chart(
    TEMPS, series, "temperature", "share of 3 seeds (of their 3 pairs)",
    f"Beam sampling at four temperatures<br><sup>{BEAMS} beams, {NEW} tokens, after “{prompt}”, top_k=50</sup>", percent=True,
).show()

# %% tags=["hide-input"]
rows = []
for t in TEMPS:
    h = sweep[t, 0].returned[0]
    rows.append([f"{t:g}", lm.text(h.tokens), f"{per_token(h.tokens):.3f}", f"{h.score:.3f}"])
display(Markdown(dl.markdown_table(["temperature", "best output (seed 0)", "log p / token", "sequences_scores"], rows, align="rlrr")))

# %% tags=["hide-input"]
same_cold = series["best output = beam search's"][0]
spread_hot = len({best[TEMPS[-1], s] for s in SEEDS[:3]})
h_cold = sweep[TEMPS[0], 0].returned[0]
display(
    Markdown(
        f"At $T = {TEMPS[0]:g}$, {same_cold:.0%} of the seeds return beam search's best output; at $T = {TEMPS[-1]:g}$ the "
        f"3 seeds give {spread_hot} different best output{'s' if spread_hot != 1 else ''}. "
        "Mind the last column: `sequences_scores` are computed from the *processed* scores, so with a temperature they are "
        f"divided by $T$ (at $T = {TEMPS[0]:g}$, {h_cold.score:.3f} is {1 / TEMPS[0]:g} × the length-normalised log-probability "
        f"{h_cold.score * TEMPS[0]:.3f}). Compare outputs across temperatures by their log-probability, not by those scores."
    )
)

# %% tags=["hide-input"]
# the claims above: scores divided by T, and the two ends of the sweep
# (the model's log-probabilities as the search recorded them, from the same forward passes: a separate
# pass over the whole sequence differs in bfloat16 by more than the claim's precision)
for t in TEMPS:
    result = sweep[t, 0]
    h = result.returned[0]
    path, node = [], h.node
    while node is not None:
        path.append(result.candidates[node].logprob)
        node = result.candidates[node].parent
    assert len(path) == len(h.tokens)
    assert abs(h.sum_logprobs - sum(path) / t) <= 1e-4 * max(1.0, abs(h.sum_logprobs)), (t, h.sum_logprobs, sum(path))
assert series["best output = beam search's"][0] >= series["best output = beam search's"][-1]
assert series["seed pairs with different best outputs"][-1] >= series["seed pairs with different best outputs"][0]

# %% [markdown]
# ## Takeaways
#
# - Beam sampling is beam search whose $2N$ candidates per step are drawn from the whole-sequence
#   scores instead of taken from the top: the same loop, the same pool of finished hypotheses, the
#   same cost (one batched forward pass per step).
# - It varies with the seed like sampling, while the pool and the cumulative scores keep its
#   outputs likelier than single samples.
# - Temperature moves it between the two: near 0 it is beam search, high it spreads like sampling.
#   Its `sequences_scores` are on the processed scale (divided by $T$), and the hidden `top_k=50`
#   applies here too.

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the searches above.

# %% tags=["hide-input"]
first_tokens = [c.token_id for c in first]
second_draws = [cands[i] for i in sampled.steps[1].candidates]
strong, weak = max(second_draws, key=lambda c: c.score), min(second_draws, key=lambda c: c.score)
gap_nats = strong.score - weak.score
draw_ratio = strong.draw_prob / weak.draw_prob
display(Markdown(dl.exercises([
    (f"Beam sampling's first step draws {2 * BEAMS} candidates after “{prompt}”, all extending the prompt. Can one token "
     "be among them twice?",
     f"**No**: the draw is without replacement, so the {2 * BEAMS} draws are {len(set(first_tokens))} different tokens "
     f"({', '.join(lm.code(t) for t in first_tokens)})."),
    (f"At the second step, the best and the worst of the {len(second_draws)} drawn candidates differ by {gap_nats:.3f} "
     "nats in cumulative score. How much more weight does the best one carry in the draw?",
     f"**{draw_ratio:,.2f} times** as much, $e^{{{gap_nats:.3f}}}$: each draw picks a candidate in proportion to "
     "$\\exp S(b, y)$, the whole sequence's score, so a candidate's weight falls with its beam's score as well as with its "
     "own token's. Both were drawn here, since the draws go on without replacement; the weight is how likely each is "
     "to come first."),
])))
assert len(set(first_tokens)) == len(first_tokens) == 2 * BEAMS
assert abs(draw_ratio / torch.tensor(gap_nats, dtype=torch.float64).exp().item() - 1) < 1e-3
