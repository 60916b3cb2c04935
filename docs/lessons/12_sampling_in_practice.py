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

# %%
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
display(Markdown(dl.markdown_table(
    ["draws N", "TV distance", "bound", "TV × √N"],
    [[f"{n:,}", f"{r.tv_distance:.4f}", f"{r.tv_bound:.4f}", f"{r.tv_distance * n ** 0.5:.2f}"] for n, r in draws.items()],
    align="rrrr",
)))

# %% tags=["hide-input"]
assert result.tv_distance < result.tv_bound and int(result.counts[filtered].sum()) == 0
assert all(r.tv_distance < r.tv_bound for r in draws.values())
assert draws[100_000].tv_distance < draws[100].tv_distance

# %%
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
# The same prompt, the same seed and 32 new tokens for each strategy of the earlier lessons, with
# one typical setting each. Every configuration except top-k sets `top_k=0`, so that `generate()`'s
# hidden `top_k=50` (lesson 11) does not mix in. `dl.generate_with_trace` is `generate()`'s
# sampling loop written out. Its tests check that it produces `generate()`'s tokens for the same
# seed. At every step it also records the entropy of `softmax(scores)` and how many tokens were kept.

# %%
story = "Once upon a time, in a small village by the sea,"
seed, new_tokens = 0, 32
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
traces = {name: dl.generate_with_trace(lm, story, c, max_new_tokens=new_tokens, seed=seed) for name, c in strategies.items()}

rows = []
for name, trace in traces.items():
    kept = sorted(trace.kept_counts)
    rows.append([
        f"**{name}**<br>`{trace.config.describe()}`", trace.text.strip(),
        f"{sum(trace.entropies) / len(trace.steps):.2f}", "—" if name == "greedy" else f"{kept[len(kept) // 2]:,}",
    ])
display(
    Markdown(
        dl.markdown_table(["strategy", f"continuation of “{story}”", "mean entropy", "median kept"], rows, align="llrr")
        + "\n\nEntropy is that of `softmax(scores)`, the distribution a sampler would draw from. Greedy takes the argmax "
        "of the same scores, so its entropy says how sure the model was, and its kept count means nothing."
    )
)

# %% tags=["hide-input"]
# generate_with_trace is generate(): check one sampled strategy here (the tests check the others)
_check = strategies["top-p 0.9"]
_ref = dl.reference_generate(lm, story, _check, max_new_tokens=new_tokens, seed=seed)
assert _ref[0, traces["top-p 0.9"].prompt_ids.shape[1] :].tolist() == traces["top-p 0.9"].token_ids

# %%
greedy_loop = dl.longest_repetition(traces["greedy"].token_ids, tokenizer)
repeats = {name: dl.longest_repetition(t.token_ids, tokenizer) for name, t in traces.items()}
looped = [name for name, r in repeats.items() if r is not None and r.covered >= new_tokens // 2]
truncating = [name for name in traces if name not in ("greedy", "temperature 0.7")]
widest = max(truncating, key=lambda name: sum(traces[name].kept_counts))
# rows that share a prefix: the same seed gives every run the same random numbers
names = list(traces)
first_split = {}
for i, a in enumerate(names[1:], 1):
    for b in names[i + 1 :]:
        ta, tb = traces[a].token_ids, traces[b].token_ids
        common = next((j for j, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
        first_split[(a, b)] = common
same = [(a, b) for (a, b), c in first_split.items() if c == min(len(traces[a].token_ids), len(traces[b].token_ids))]
longest_pair = max(first_split, key=first_split.get)
display(
    Markdown(
        (
            f"- Greedy decoding's longest repeated stretch is “{greedy_loop.text}” ({len(greedy_loop.ngram)} tokens, "
            f"{greedy_loop.count}×), covering {greedy_loop.covered} of its {len(traces['greedy'].steps)} tokens.\n"
            if greedy_loop is not None
            else "- Greedy decoding repeats no stretch of two or more tokens in these 32 tokens.\n"
        )
        + (
            f"- Strategies whose repeated stretches cover at least half of the text: {', '.join(looped)}.\n"
            if looped
            else "- No strategy repeats a stretch covering half of its text.\n"
        )
        + f"- Of the truncating strategies, **{widest}** kept the most tokens over the whole generation: "
        f"{sum(traces[widest].kept_counts) / len(traces[widest].steps):,.0f} per step on average.\n"
        + (
            f"- Identical continuations: {'; '.join(f'{a} and {b}' for a, b in same)}. "
            if same
            else f"- The two sampled rows that agree longest are {longest_pair[0]} and {longest_pair[1]}: "
            f"their first {first_split[longest_pair]} tokens are the same. "
        )
        + "With one seed, every run draws the same random numbers. `torch.multinomial` turns them into tokens through "
        "each distribution, so two strategies that keep nearly the same tokens pick the same ones until their "
        "distributions differ enough."
    )
)

# %% [markdown]
# One seed gives one sample of each strategy, so do not read quality into a single row. What the
# traces show more reliably is *how* each strategy decides, step by step.
#
# ## Entropy and kept set across a generation
#
# Top-p, min-p, typical-p and η all adapt to the step: they keep few tokens where the model is sure
# and many where it is not. They differ in how strongly they react. The first chart shows the
# entropy of the distribution each one samples from, step by step. The second shows how many tokens
# it kept (log scale). Hover a point to see the token chosen at that step.

# %%
adaptive = {name: traces[name] for name in ("top-p 0.9", "min-p 0.1", "typical 0.9", "η 2e-3")}
dl.trace_chart(adaptive, metric="entropy").show()
dl.trace_chart(adaptive, metric="kept").show()

# %%
def spread(trace):
    kept = trace.kept_counts
    return min(kept), max(kept)


lines = [
    f"- **{name}**: kept between {spread(t)[0]:,} and {spread(t)[1]:,} tokens per step"
    f"{' (a single token at some steps: there it decoded greedily)' if spread(t)[0] == 1 else ''}."
    for name, t in adaptive.items()
]
ratio = {name: spread(t)[1] / spread(t)[0] for name, t in adaptive.items()}
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

# %%
kc = traces["top-p 0.9"].kept_counts
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
        + "\n- The seeds are fixed, so every page build shows the same texts. Change `seed` and the sampled rows "
        "change while greedy stays the same. Comparing strategies fairly takes many seeds and prompts."
    )
)

# %% [markdown]
# Cost of this page: one captured step for the histogram, plus one forward pass per generated token
# in each run (the prompt is processed once, then the KV cache carries the past).

# %%
passes = {name: t.forward_passes for name, t in traces.items()}
display(
    Markdown(
        f"{sum(passes.values())} forward passes for {len(traces)} generations "
        f"({', '.join(f'{n}: {p}' for n, p in passes.items())}), and {cap.forward_passes} for the captured step."
    )
)

# %% tags=["hide-input"]
assert all(p == len(traces[n].steps) for n, p in passes.items())
assert cap.forward_passes == cap.distinct_contexts
