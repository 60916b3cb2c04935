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
# # Sampling in practice
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** the draw itself (`torch.multinomial` on the softmax of the scores), checked against the
#   distribution; then whole generations, where one configuration meets a new distribution at every
#   step; then the strategies compared, quality against diversity, over many seeds and prompts.
# - **When:** choosing a configuration for a real task, and checking that a sampler draws what it
#   should.
# - **In transformers:** `torch.manual_seed(0)` and then `generate(do_sample=True, top_p=0.9, top_k=0)`:
#   the seed makes the draws reproducible.
# - **Typical value:** temperature 0.7–1.0 with top-p 0.9–0.95 or min-p 0.05–0.1.
#
# </div>
#
# Every lesson so far looked at one step: the distribution `softmax(scores)` that a configuration
# leaves for the next token. This one looks at what happens next. First the sampler draws from that
# distribution, and we check that the draws follow it. Then the model generates a whole text, step
# after step, and the same configuration meets a different distribution at every step.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer

# %% [markdown]
# ## Drawing from one step
#
# With `do_sample=True`, `generate()` draws the next token with
# `torch.multinomial(softmax(scores), 1)`. `dl.draw` does the same $N$ times from one captured step,
# with its own seeded generator, and compares the empirical frequencies with the probabilities
# through the **total variation distance**
#
# $$\mathrm{TV}(\hat p, p) = \tfrac12 \sum_x \bigl|\hat p(x) - p(x)\bigr| ,$$
#
# the largest difference in probability the two distributions give to any set of tokens. It is 0
# for a perfect match. $N$ finite draws never match exactly, so `dl.draw` also reports a **bound**
# that TV stays below with probability at least 99.9 % if the sampler really draws from $p$. The
# bound shrinks like $1/\sqrt N$ (see `dl.tv_bound` for the derivation).

# %%
prompt = "The sky is"
step = cap(prompt)
cfg = dl.DecodingConfig(do_sample=True, top_k=0, top_p=0.9)
result = dl.draw(step, cfg, n=20_000, seed=0)
dl.histogram_chart(step, cfg, result, k=15).show()

# %% tags=["hide-input"]
filtered = ~torch.isfinite(step.scores(cfg))
display(
    Markdown(
        f"In {result.n:,} draws under `{cfg.describe()}` the total variation distance is **{result.tv_distance:.4f}**, "
        f"{'below' if result.tv_distance < result.tv_bound else '**above**'} the bound {result.tv_bound:.4f}. "
        f"Top-p left {int((~filtered).sum()):,} tokens; the other {int(filtered.sum()):,} were drawn "
        f"**{int(result.counts[filtered].sum())}** times."
    )
)

# %% [markdown]
# How the distance shrinks with the number of draws, on the same step and configuration:

# %%
sizes = [100, 1_000, 10_000, 100_000]
draws = {n: dl.draw(step, cfg, n=n, seed=1) for n in sizes}

# %% tags=["hide-input"]
display(Markdown(dl.markdown_table(
    ["draws N", "TV distance", "bound", "TV × √N"],
    [[f"{n:,}", f"{r.tv_distance:.4f}", f"{r.tv_bound:.4f}", f"{r.tv_distance * n ** 0.5:.2f}"] for n, r in draws.items()],
    align="rrrr",
)))

# %% tags=["hide-input"]
assert result.tv_distance < result.tv_bound and int(result.counts[filtered].sum()) == 0
assert all(r.tv_distance < r.tv_bound for r in draws.values())
assert draws[100_000].tv_distance < draws[100].tv_distance

# %% tags=["hide-input"]
scaled = [r.tv_distance * n**0.5 for n, r in draws.items()]
level = max(scaled) <= 1.5 * min(scaled)  # "roughly level": within a factor of 1.5 over the whole column
display(
    Markdown(
        (
            f"The last column stays roughly level (between {min(scaled):.2f} and {max(scaled):.2f}): the distance falls "
            "like $1/\\sqrt N$, so a hundred times more draws buy a ten times better match. "
            if level
            else f"The last column ranges from {min(scaled):.2f} to {max(scaled):.2f}: at these sizes the distance does not "
            "yet fall like $1/\\sqrt N$. "
        )
        + (
            f"A histogram of a few hundred samples is a poor picture of the distribution the sampler draws from: "
            f"at N = {sizes[0]:,} the distance is {draws[sizes[0]].tv_distance:.2f}."
            if draws[sizes[0]].tv_distance >= 0.1
            else f"On this step even {sizes[0]:,} draws come close (distance {draws[sizes[0]].tv_distance:.2f}): "
            "few tokens hold the mass."
        )
    )
)

# %% [markdown]
# ## Whole generations, strategy by strategy
#
# One generation per strategy says little: a different seed gives a different text, and with
# one seed every strategy draws the same random numbers, so two strategies that keep nearly the
# same tokens print nearly the same text. So we compare the strategies of the earlier lessons,
# with one typical setting each, over several prompts and several samples per prompt.
#
# - **Quality:** the mean [log-probability](../glossary.md#log-probability) per token of a sample under the *untempered* model
#   (the raw logits, before any processor), whatever the strategy sampled from. Higher means the
#   model finds the text more likely; [greedy](../glossary.md#greedy) decoding's texts are the model's own best guesses.
# - **Diversity:** distinct-2, the share of distinct bigrams among all bigrams of a prompt's
#   samples (`dl.distinct_ngrams`; Li et al. 2016, [arXiv:1510.03055](https://arxiv.org/abs/1510.03055)).
#   1 means no two-token stretch occurs twice in any of them; identical samples push it down.
#
# `dl.compare_strategies` makes one `generate()` call per strategy: every prompt at once, and
# `num_return_sequences` samples per prompt, with `output_logits=True` for the raw logits. Every
# configuration except [top-k](../glossary.md#top-k) sets `top_k=0`, so that `generate()`'s hidden `top_k=50` (lesson 11)
# does not mix in. Greedy decoding gives one text per prompt, which stands for all its samples.

# %%
prompts = [
    "Once upon a time, in a small village by the sea,",
    "The best way to learn a new language is",
    "Yesterday the city council decided to",
]
strategies = {
    "greedy": dl.DecodingConfig(),
    "temperature 0.7": dl.DecodingConfig(do_sample=True, temperature=0.7, top_k=0),
    "top-k 40": dl.DecodingConfig(do_sample=True, top_k=40),
    "top-p 0.9": dl.DecodingConfig(do_sample=True, top_k=0, top_p=0.9),
    "min-p 0.1": dl.DecodingConfig(do_sample=True, top_k=0, min_p=0.1),
    "typical 0.9": dl.DecodingConfig(do_sample=True, top_k=0, typical_p=0.9),
    "ε 3e-4": dl.DecodingConfig(do_sample=True, top_k=0, epsilon_cutoff=3e-4),
    "η 2e-3": dl.DecodingConfig(do_sample=True, top_k=0, eta_cutoff=2e-3),
    "top-H 0.4": dl.DecodingConfig(do_sample=True, top_k=0, top_h=0.4),
}
study = dl.compare_strategies(lm, prompts, strategies, num_samples=4, max_new_tokens=12, seed=0)
dl.quality_diversity_chart(study).show()
display(Markdown(study.markdown(lm)))

# %% tags=["hide-input"]
summary = study.summary()
sampled = [name for name in strategies if name != "greedy"]
best_q = max(summary, key=lambda name: summary[name].quality)
best_d = max(summary, key=lambda name: summary[name].diversity)
# every strategy that ties with the best (equal samples give equal values)
top_q = [n for n in summary if summary[n].quality == summary[best_q].quality]
top_d = [n for n in summary if summary[n].diversity == summary[best_d].diversity]
# the strategies no other one beats on both medians (more likely *and* more diverse)
front = [a for a in summary if not any(summary[b].quality > summary[a].quality and summary[b].diversity > summary[a].diversity
                                       for b in summary if b != a)]
# Spearman's rank correlation of the sampled strategies' medians
def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    for r, i in enumerate(order):
        out[i] = float(r)
    return out
rq, rd = ranks([summary[n].quality for n in sampled]), ranks([summary[n].diversity for n in sampled])
m = (len(sampled) - 1) / 2
rho = sum((a - m) * (b - m) for a, b in zip(rq, rd)) / sum((a - m) ** 2 for a in rq)
# strategies whose samples were the same texts on every prompt: the same seed, nearly the same kept sets
same_texts = [(a, b) for i, a in enumerate(sampled) for b in sampled[i + 1 :]
              if study.strategies[a].continuations == study.strategies[b].continuations]
spread = {n: summary[n].quality_q3 - summary[n].quality_q1 for n in sampled}
median_spread = sorted(spread.values())[len(spread) // 2]
q_sampled = sorted(summary[n].quality for n in sampled)
lines = [
    f"- **Most likely:** {' and '.join(top_q)}, with a median of {summary[best_q].quality:.2f} nats per token; "
    f"**most diverse:** {' and '.join(top_d)}, with a median distinct-2 of {summary[best_d].diversity:.2f}.",
    (
        f"- No strategy is both more likely and more diverse than {', '.join(front[:-1]) + ' or ' + front[-1] if len(front) > 1 else front[0]}: "
        f"{'these are' if len(front) > 1 else 'this is'} the trade-off's frontier. "
        + (f"Every other strategy is beaten on both counts by one of them." if len(front) < len(summary) else "")
    ),
    (
        f"- Over the {len(sampled)} sampling strategies, the more diverse a strategy, the less likely its texts "
        f"(Spearman's ρ = {rho:.2f} between the two medians)."
        if rho <= -0.5
        else f"- Over the {len(sampled)} sampling strategies, quality and diversity are only loosely ranked against each "
        f"other (Spearman's ρ = {rho:.2f} between the two medians)."
    ),
    f"- The bars are wide: within one sampling strategy the middle half of the samples spans {median_spread:.2f} nats per "
    f"token (the median interquartile range), "
    + (
        "more than the whole range of the sampling strategies' medians "
        f"({q_sampled[0]:.2f} to {q_sampled[-1]:.2f}). A single sample says little about its strategy."
        if median_spread > q_sampled[-1] - q_sampled[0]
        else f"against {q_sampled[-1] - q_sampled[0]:.2f} between the lowest and highest sampling strategy's median."
    ),
    (
        f"- Identical samples on every prompt: {'; '.join(f'{a} and {b}' for a, b in same_texts)}. With the same seed every "
        "strategy draws the same random numbers, and `torch.multinomial` turns them into the same tokens wherever the "
        "two kept sets hold nearly the same probabilities."
        if same_texts
        else "- No two sampling strategies produced the same samples on every prompt, although each one drew the same "
        "random numbers (the same seed)."
    ),
]
display(Markdown("\n".join(lines)))

# %% tags=["hide-input"]
# every sentence above, against the whole table
assert all(summary[best_q].quality >= s.quality for s in summary.values()) and best_q in top_q
assert all(summary[best_d].diversity >= s.diversity for s in summary.values()) and best_d in top_d
assert all(summary[n].diversity < summary[best_d].diversity for n in summary if n not in top_d)
for a in summary:  # the frontier: recomputed from every pair
    beaten = any(summary[b].quality > summary[a].quality and summary[b].diversity > summary[a].diversity for b in summary)
    assert beaten == (a not in front)
assert best_q in front and best_d in front
for a, b in same_texts:
    assert study.strategies[a].quality == study.strategies[b].quality
# greedy is one text per prompt: its samples are copies, and the least diverse
assert study.strategies["greedy"].repeated and all(len(set(row)) == 1 for row in study.strategies["greedy"].continuations)
assert all(d <= 1 / study.num_samples + 1e-9 or len(row[0]) < 2
           for d, row in zip(study.strategies["greedy"].distinct(2), study.strategies["greedy"].continuations))
# quality is under the untempered model: a sample's log-probabilities are those of one forward pass
# over the prompt alone (no padding) and the sample
_s = study.strategies["temperature 0.7"]
_ids, _lp = _s.continuations[1][0], _s.token_logprobs[1][0]
# (a batched, cached pass and a fresh one add in another order: bf16's 8 bits differ by more)
_tol = 1e-3 if lm.dtype == torch.float32 else 0.1
assert abs(dl.sequence_logprob(lm, prompts[1], list(_ids)) - float(_lp.sum())) < _tol * len(_ids)
assert all(len(row) == study.num_samples for s in study.strategies.values() for row in s.continuations)

# %% [markdown]
# The table's example texts are one draw each: an illustration, not a verdict on the strategy.
#
# ## Entropy and kept set across a generation
#
# [Top-p](../glossary.md#nucleus), min-p, typical-p and η all adapt to the step: they keep few tokens where the model is sure
# and many where it is not. They differ in how strongly they react. `dl.generate_with_trace` is
# `generate()`'s sampling loop written out (its tests check that it produces `generate()`'s tokens
# for the same seed); at every step it also records the [entropy](../glossary.md#entropy) of `softmax(scores)` and how many
# tokens were kept. The first chart shows the entropy of the distribution each one samples from,
# step by step, on the first prompt; the second shows how many tokens it kept (log scale). Hover a
# point to see the token chosen at that step.

# %%
story, seed, new_tokens = prompts[0], 0, 16
adaptive = {
    name: dl.generate_with_trace(lm, story, strategies[name], max_new_tokens=new_tokens, seed=seed)
    for name in ("top-p 0.9", "min-p 0.1", "typical 0.9", "η 2e-3")
}
dl.trace_chart(adaptive, metric="entropy").show()
dl.trace_chart(adaptive, metric="kept").show()

# %% tags=["hide-input"]
# generate_with_trace is generate(): check one sampled strategy here (the tests check the others)
_check = strategies["top-p 0.9"]
_ref = dl.reference_generate(lm, story, _check, max_new_tokens=new_tokens, seed=seed)
assert _ref[0, adaptive["top-p 0.9"].prompt_ids.shape[1] :].tolist() == adaptive["top-p 0.9"].token_ids

# %% tags=["hide-input"]
def kept_range(trace):
    kept = trace.kept_counts
    return min(kept), max(kept)


lines = [
    f"- **{name}**: kept between {kept_range(t)[0]:,} and {kept_range(t)[1]:,} tokens per step"
    f"{' (a single token at some steps: there it decoded greedily)' if kept_range(t)[0] == 1 else ''}."
    for name, t in adaptive.items()
]
ratio = {name: kept_range(t)[1] / kept_range(t)[0] for name, t in adaptive.items()}
widest = [name for name in adaptive if ratio[name] == max(ratio.values())]
display(
    Markdown(
        "\n".join(lines)
        + f"\n\nThe widest range, from fewest to most tokens kept, belongs to **{' and '.join(widest)}** "
        f"({max(ratio.values()):,.0f}×{', the same range' if len(widest) > 1 else ''})."
    )
)

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
kc = adaptive["top-p 0.9"].kept_counts
jump = max(range(len(kc) - 1), key=lambda i: max(kc[i], kc[i + 1]) / min(kc[i], kc[i + 1]))
a, b = kc[jump], kc[jump + 1]
display(
    Markdown(
        "- Sampling draws from exactly the distribution the charts show. Tokens a configuration filters out are never "
        "drawn, and frequencies approach probabilities"
        + (" like $1/\\sqrt N$.\n" if level else " as $N$ grows.\n")
        + "- A configuration is a rule, not a fixed distribution. Over a generation the same `top_p=0.9` kept "
        + (
            f"between {min(kc):,} and {max(kc):,} tokens per step, and from one step to the next it went from "
            f"{a:,} token{'s' if a != 1 else ''} (step {jump + 1}) to {b:,} (step {jump + 2})."
            if a != b
            else f"{a:,} token{'s' if a != 1 else ''} at every step."
        )
        + "\n- Strategies are compared over many samples, not one. The seeds are fixed, so every page build shows the "
        "same texts and the same points; change `seed` and the samples change while greedy stays the same. What "
        f"holds across {len(prompts)} prompts × {study.num_samples} samples (the chart's medians) is what one sample "
        "cannot show, and the spread bars show how much a single text varies."
    )
)

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same logits and samples as
# the charts above.

# %% tags=["hide-input"]
kept_at = {name: step.kept(c) for name, c in (("top-p 0.9", cfg), ("min-p 0.1", strategies["min-p 0.1"]))}
greedy_q = [float(row[0].mean()) for row in study.strategies["greedy"].token_logprobs]
warm = study.strategies["temperature 0.7"].token_logprobs
above = sum(float(lp.mean()) > greedy_q[i] for i, row in enumerate(warm) for lp in row)
n_warm = sum(len(row) for row in warm)
texts_per_prompt = {name: [len(set(row)) for row in s.continuations] for name, s in study.strategies.items()}
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"After “{prompt}”, which keeps more tokens: `top_p=0.9` or `min_p=0.1` (both with `top_k=0`)?",
                    (
                        "**Top-p**" if kept_at["top-p 0.9"] > kept_at["min-p 0.1"]
                        else "**Min-p**" if kept_at["min-p 0.1"] > kept_at["top-p 0.9"] else "**Neither**: they keep as many"
                    )
                    + f". Top-p keeps {kept_at['top-p 0.9']:,} tokens and min-p {kept_at['min-p 0.1']:,}. Top-p keeps tokens until "
                    "they hold 90 % of the probability; min-p keeps those with at least a tenth of the top token's "
                    "probability.",
                ),
                (
                    f"Greedy decoding was asked for {study.num_samples} samples per prompt. How many different texts did "
                    "it give per prompt?",
                    f"**{', '.join(map(str, texts_per_prompt['greedy']))}** (one per prompt): `do_sample=False` takes the "
                    "argmax at every step, so there is nothing to draw; `generate()` even refuses `num_return_sequences` "
                    "above 1 for it. That is why its distinct-2 is low: its samples are copies.",
                ),
                (
                    f"Of the {n_warm} samples at temperature 0.7, how many have a higher mean log-probability per token "
                    "than greedy decoding's text for the same prompt?",
                    f"**{above}** of {n_warm}. "
                    + (
                        "Greedy takes the most likely token at every step, which usually, though not always, makes the "
                        "likelier text per token: a sampled token can open a continuation the model is surer of."
                        if above > 0
                        else "Greedy takes the most likely token at every step, and here that made the likelier text "
                        "every time."
                    ),
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
for name, c in (("top-p 0.9", cfg), ("min-p 0.1", strategies["min-p 0.1"])):
    assert kept_at[name] == int(torch.isfinite(dl.apply_processors(step.logits, step.input_ids, c)).sum())
assert texts_per_prompt["greedy"] == [1] * len(prompts)
try:  # "generate() even refuses num_return_sequences above 1" for greedy decoding
    dl.reference_generate(lm, prompt, dl.DecodingConfig(do_sample=False), max_new_tokens=1, num_return_sequences=2)
    raise AssertionError("greedy generate() accepted num_return_sequences=2")
except ValueError as error:
    assert "num_return_sequences" in str(error)
_g = study.strategies["greedy"]
assert [float(row[0].mean()) for row in _g.token_logprobs] == [_g.quality[i * study.num_samples] for i in range(len(prompts))]
assert above == sum(q > greedy_q[i // study.num_samples] for i, q in enumerate(study.strategies["temperature 0.7"].quality))

# %% [markdown]
# Cost of this page: one captured step for the histogram; one forward pass per step of each
# `generate()` call of the comparison, each over all its prompts and samples at once; and one pass
# per generated token of each traced run (the prompt is processed once, then the KV cache carries
# the past).

# %% tags=["hide-input"]
passes = {name: t.forward_passes for name, t in adaptive.items()}
rows = {name: len(prompts) * (1 if s.repeated else study.num_samples) for name, s in study.strategies.items()}
display(
    Markdown(
        f"The comparison: {sum(s.steps for s in study.strategies.values())} forward passes for {len(strategies)} "
        f"`generate()` calls over {sum(rows.values())} rows in all. The traces: {sum(passes.values())} forward passes for "
        f"{len(adaptive)} generations ({', '.join(f'{n}: {p}' for n, p in passes.items())}), and {cap.forward_passes} for "
        "the captured step."
    )
)

# %% tags=["hide-input"]
assert all(p == len(adaptive[n].steps) for n, p in passes.items())
assert all(s.steps <= study.max_new_tokens for s in study.strategies.values())
assert cap.forward_passes == cap.distinct_contexts
