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
# # Temperature
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** divide every logit by $T$ before the softmax: $T < 1$ sharpens the distribution, $T > 1$
#   flattens it, and the tokens' order never changes.
# - **When:** with any sampling, to set how adventurous the draws are; usually next to a truncation
#   (top-p, min-p) that keeps the tail out.
# - **In transformers:** `generate(do_sample=True, temperature=0.7)`; add `top_k=0` to see temperature
#   alone, since sampling applies `top_k=50` by default.
# - **Typical value:** 0.7–1.0 for general text, 0.2–0.5 for focused output.
#
# </div>
#
# [Sampling](../glossary.md#sampling) draws the next token at random from $\mathrm{softmax}(s)$ instead of taking the
# argmax. **Temperature** reshapes that distribution first: it divides every [logit](../glossary.md#logit) by $T$.
#
# $$s_i = \frac{z_i}{T}, \qquad p_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}$$
#
# - $T < 1$ stretches the gaps between logits: the likely tokens get likelier, the distribution
#   sharpens. As $T \to 0$ all the mass goes to the top token: greedy decoding.
# - $T = 1$ leaves the model's distribution as it is.
# - $T > 1$ shrinks the gaps: the distribution flattens, and the long tail of unlikely tokens
#   gets a real chance. As $T \to \infty$ every token becomes equally likely.
#
# The order of the tokens never changes; only how far apart their probabilities are.
#
# - **Origin:** the temperature of the Boltzmann distribution, brought to neural networks by
#   Ackley, Hinton and Sejnowski, *A Learning Algorithm for Boltzmann Machines* (Cognitive
#   Science, 1985). For text, Holtzman et al. (ICLR 2020,
#   [arXiv:1904.09751](https://arxiv.org/abs/1904.09751)) discuss low temperatures as a way to
#   avoid the unreliable tail, at the cost of diversity.
# - **In transformers:** `generate(do_sample=True, temperature=T)`, implemented by
#   `TemperatureLogitsWarper`, the first sampling warper in `generate()`'s chain. Without
#   `do_sample=True` it is ignored (lesson 2).
# - **Typical values:** 0.2–0.5 for focused output, 0.7–1.0 for general text, above 1 rarely
#   (it quickly becomes incoherent). The default is 1.0.
#
# > **Temperature alone needs `top_k=0`.** `generate()` applies `top_k=50` whenever it samples,
# > unless you pass `top_k=0`. Ask for `do_sample=True, temperature=1.5` and you also get [top-k](../glossary.md#top-k)
# > truncation you did not ask for. On this page every configuration sets `top_k=0`, so that
# > temperature is the only knob.

# %%
import math

import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
sampling = dl.DecodingConfig(do_sample=True, top_k=0)  # temperature only, done right

# %% [markdown]
# ## The hidden top-k, measured
#
# How many tokens can be drawn after `"My name is"` with a high temperature, with and without
# `top_k=0`:

# %%
prompt = "My name is"
step = cap(prompt)
hot_default = dl.DecodingConfig(do_sample=True, temperature=1.5)
hot_only = hot_default.replace(top_k=0)
kept_default = step.kept(hot_default)
kept_only = step.kept(hot_only)
cut = dl.top_k_rule(step.scores(hot_only), 50)  # what the hidden top_k=50 receives: logits / 1.5
ties = "" if cut.extra == 0 else f": 50, plus {cut.extra} tied with the 50th (top-k keeps ties; lesson 4)"
display(
    Markdown(
        f"- `{hot_default.describe()}`: **{kept_default:,}** tokens can be drawn (`generate()`'s default `top_k=50`{ties}).\n"
        f"- `{hot_only.describe()}`: **{kept_only:,}** tokens, the whole vocabulary."
    )
)

# %% tags=["hide-input"]
assert kept_default == cut.kept >= 50 and kept_only == lm.vocab_size

# %% [markdown]
# ## Before and after
#
# The same captured logits after `"My name is"`, at $T = 1$ and at $T = 0.5$. The logits (blue)
# do not move; the probabilities (red) do.

# %%
dl.token_chart(step, sampling, k=15).show()
dl.token_chart(step, sampling.replace(temperature=0.5), k=15).show()

# %% tags=["hide-input"]
top_id, _, p1 = step.top(1, sampling)[0]
p_half = float(step.probs(sampling.replace(temperature=0.5))[top_id])
display(
    Markdown(
        f"Halving the temperature takes the top token {lm.code(top_id)} from **{p1:.1%}** to **{p_half:.1%}**. "
        f"Dividing logits by $T = 0.5$ doubles every gap between them, and probability ratios are "
        f"exponentials of those gaps: a token 1 logit behind the top is $e^1 \\approx 2.7$ times less likely at "
        f"$T = 1$ and $e^2 \\approx 7.4$ times less likely at $T = 0.5$."
    )
)

# %% tags=["hide-input"]
assert p_half > p1

# %% [markdown]
# ## Move the knob
#
# The slider runs from almost-greedy to very flat. The last bar holds the probability of all the
# tokens not shown: watch it grow with the temperature. Each position is computed from the same
# captured logits; moving the slider runs no model.

# %%
grid = [0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0]
dl.slider_chart(step, "temperature", grid, k=20, active=4).show()

# %%
frames = dl.slider_frames(step, "temperature", grid, k=20)
display(
    Markdown(
        "Probability left to the tokens outside the top 20: "
        + ", ".join(f"T = {f.value:g} → {f.rest_mass:.1%}" for f in frames)
        + "."
    )
)

# %% [markdown]
# ## Entropy as a function of temperature
#
# [Entropy](../glossary.md#entropy), $H = -\sum_i p_i \log p_i$ in nats, measures how spread out the distribution is: 0
# when one token has all the mass, $\log |\mathcal{V}|$ when all are equal. Two prompts, the one
# with the lower entropy (the model more sure of the next token) first, over a fine grid of
# temperatures:

# %%
candidates = {p: cap(p) for p in ["The capital of France is", "My name is"]}
confident, uncertain = sorted(candidates, key=lambda p: candidates[p].entropy(sampling))
temperatures = [round(0.05 * i, 2) for i in range(1, 61)]  # 0.05 … 3.0
dl.sweep_chart(
    {f"“{confident}”": candidates[confident], f"“{uncertain}”": candidates[uncertain]},
    "temperature",
    temperatures,
    metric="entropy",
    title="Entropy of softmax(logits / T)",
).show()

# %% tags=["hide-input"]
h = {p: [candidates[p].entropy(sampling.replace(temperature=t)) for t in temperatures] for p in candidates}
max_entropy = math.log(lm.vocab_size)
NEAR_ZERO = 0.1  # nats
start = f"{h[confident][0]:.2f} and {h[uncertain][0]:.2f} nats at $T = {temperatures[0]:g}$"
starts_near_zero = max(h[confident][0], h[uncertain][0]) < NEAR_ZERO
display(
    Markdown(
        f"At $T = 1$ the model is more certain after “{confident}” ({candidates[confident].entropy(sampling):.2f} nats) "
        f"than after “{uncertain}” ({candidates[uncertain].entropy(sampling):.2f} nats). Both curves rise with $T$ "
        + (f"and start near 0 (greedy): {start}. " if starts_near_zero else f"and start at {start}. ")
        + f"At $T = 3$ they reach {h[confident][-1]:.2f} and {h[uncertain][-1]:.2f} nats, "
        f"on the way to $\\log |\\mathcal{{V}}| = \\log {lm.vocab_size:,} = {max_entropy:.2f}$ nats, the uniform distribution."
    )
)

# %% tags=["hide-input"]
for p in candidates:
    assert all(b >= a - 1e-4 for a, b in zip(h[p], h[p][1:])), "entropy should rise with temperature"
    assert h[p][0] < h[p][-1] < max_entropy
assert starts_near_zero == all(h[p][0] < NEAR_ZERO for p in candidates)  # "start near 0" only when both do

# %% [markdown]
# ## T → 0 is greedy, T = 0 is refused
#
# As $T$ shrinks, the top token's probability goes to 1. Draw 2,000 tokens from the step after
# `"My name is"` at a few temperatures and count how often the argmax comes out:

# %%
argmax = int(step.logits.argmax())
rows = []
for t in [1.0, 0.5, 0.2, 0.1, 0.05]:
    cfg = sampling.replace(temperature=t)
    result = dl.draw(step, cfg, n=2000, seed=0)
    rows.append([f"{t:g}", f"{float(result.probs[argmax]):.4f}", f"{int(result.counts[argmax]):,}"])
display(Markdown(dl.markdown_table(["T", "p(argmax)", "draws of the argmax (of 2,000)"], rows, align="rrr")))

# %% [markdown]
# So why not allow $T = 0$ exactly? Because it is a division by zero: $z_i / 0$ is $\pm\infty$,
# and $\mathrm{softmax}$ of infinities is `nan`. Both transformers and `DecodingConfig` refuse it
# and point to greedy decoding instead:

# %%
try:
    dl.DecodingConfig(do_sample=True, temperature=0)
except ValueError as err:
    print("DecodingConfig:", err)

try:
    lm.model.generate(lm.encode(prompt), max_new_tokens=1, do_sample=True, temperature=0.0)
except ValueError as err:
    print("generate():    ", err)

# %% tags=["hide-input"]
def refuses(call) -> bool:
    try:
        call()
    except ValueError:
        return True
    return False


assert refuses(lambda: dl.DecodingConfig(do_sample=True, temperature=0))
assert refuses(lambda: lm.model.generate(lm.encode(prompt), max_new_tokens=1, do_sample=True, temperature=0.0))

# %%
print("what T = 0 would compute:", torch.softmax(step.logits[:3] / torch.tensor(0.0), dim=-1))

# %% [markdown]
# ## Over a whole generation
#
# One step shows the distribution; a generation shows what the temperature does to the text.
# Three runs from the same prompt with the same seed, at $T = 0.3$, $1.0$ and $1.5$, and the
# entropy the sampler faced at every step:

# %%
runs, temps = {}, {}
for t in [0.3, 1.0, 1.5]:
    name = f"T = {t:g}"
    runs[name] = dl.generate_with_trace(lm, "Once upon a time", sampling.replace(temperature=t), max_new_tokens=40, seed=0, keep_scores=True)
    temps[name] = t
    print(f"{name}: Once upon a time{runs[name].text}\n")
dl.trace_chart(runs, metric="entropy").show()

# %% [markdown]
# The entropy above is that of the distribution the sampler drew from, *after* dividing by $T$.
# Multiplying the scores back by $T$ gives the model's own distribution at each step, and tells
# whether the hot run also led the model into contexts where it is less sure.

# %% tags=["hide-input"]
def mean(values):
    return sum(values) / len(values)


rows, own = [], {}
for name, tr in runs.items():
    own[name] = mean([float(dl.entropy(s.scores * temps[name])) for s in tr.steps])
    rows.append([name, len(tr.steps), f"{mean(tr.entropies):.2f}", f"{own[name]:.2f}"])
header = ["run", "tokens", "mean entropy sampled from (nats)", "mean entropy of the model itself, T = 1 (nats)"]
display(Markdown(dl.markdown_table(header, rows, align="lrrr")))
hot, others = "T = 1.5", [n for n in own if n != "T = 1.5"]
display(
    Markdown(
        "The hot run's steps are spread out for two reasons. $T$ flattens each distribution (middle column), and "
        + (
            f"the unusual tokens it draws lead the model into contexts where it is itself less certain: "
            f"{own[hot]:.2f} nats on average against {max(own[n] for n in others):.2f} at most for the cooler runs (right column)."
            if own[hot] > max(own[n] for n in others)
            else "the contexts it reaches differ, but here the model's own uncertainty (right column) is not higher on the hot run."
        )
    )
)

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=name&temperature=0.7&top_k=0)**, which opens on this lesson's prompt at T = 0.7, with the hidden `top_k=50` switched off: drag the temperature from 0.05 to 3 and watch the kept mass stay at 100% while the entropy climbs.

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
t_low, t_high = sampling.replace(temperature=0.5), sampling.replace(temperature=1.5)
p_cold, p_one = step.probs(sampling.replace(temperature=0.1)), step.probs(sampling)
zeros_cold, zeros_one = int((p_cold == 0).sum()), int((p_one == 0).sum())
dtype = str(p_cold.dtype).removeprefix("torch.")
underflow = (
    f"In {dtype}, though, a low temperature underflows the tail: after “{prompt}”, {zeros_cold:,} of the "
    f"{lm.vocab_size:,} tokens get probability exactly 0 at $T = 0.1$ "
    + (f"({zeros_one:,} at $T = 1$). " if zeros_one else "(none at $T = 1$). ")
    if zeros_cold
    else f"In {dtype} none of them underflows to 0 after “{prompt}”, even at $T = 0.1$. "
)
notes = [
    f"- Temperature never changes the ranking: the argmax after “{prompt}” is {lm.code(argmax)} at every $T$, "
    "so a low temperature approaches greedy decoding, and no temperature can make the model prefer another token.",
    f"- It changes how much the tail matters. After “{prompt}”, the 20 most likely tokens hold "
    f"{1 - frames[grid.index(0.5)].rest_mass:.0%} of the probability at $T = 0.5$ and "
    f"{1 - frames[grid.index(1.5)].rest_mass:.0%} at $T = 1.5$.",
    "- Temperature truncates nothing: with `top_k=0` every score stays finite, so in exact arithmetic every token keeps "
    "a non-zero probability. "
    + underflow
    + "Because the rule itself cuts no tail, temperature is "
    "usually combined with top-k, top-p or min-p (next lessons), which cut the tail that a high temperature inflates.",
    f"- `generate()` samples with `top_k=50` unless told otherwise: {kept_default} tokens instead of {kept_only:,} here.",
]
display(Markdown("\n".join(notes)))

# %% tags=["hide-input"]
assert all(int(step.scores(sampling.replace(temperature=t)).argmax()) == argmax for t in grid)
assert all(f.kept_count == lm.vocab_size for f in frames)
assert all(bool(torch.isfinite(step.scores(sampling.replace(temperature=t))).all()) for t in grid)  # "every score stays finite"
assert 1 - frames[grid.index(0.5)].rest_mass > 1 - frames[grid.index(1.5)].rest_mass
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
runner_up = int(step.logits.topk(2).indices[1])


def odds(t):  # how many times likelier the top token is than the runner-up, at temperature t
    p = step.probs(sampling.replace(temperature=t))
    return float(p[argmax] / p[runner_up])


p_top = {t: float(step.probs(sampling.replace(temperature=t))[argmax]) for t in (1.0, 2.0)}
still_top = int(step.scores(sampling.replace(temperature=2.0)).argmax()) == argmax
cold_default = dl.DecodingConfig(do_sample=True, temperature=0.5)  # no top_k=0: generate()'s top_k=50 applies
kept_cold = step.kept(cold_default)
cold_cut = dl.top_k_rule(step.scores(cold_default.replace(top_k=0)), 50)
top20 = {f.value: 1 - f.rest_mass for f in frames}
first_flat = next((t for t in grid if top20[t] < 0.5), None)
if first_flat is None:
    flat_answer = f"None of them: even at $T = {grid[-1]:g}$ the top 20 hold {top20[grid[-1]]:.1%}."
elif first_flat == grid[0]:
    flat_answer = f"Already the first, $T = {first_flat:g}$: the top 20 hold only {top20[first_flat]:.1%} there."
else:
    before = grid[grid.index(first_flat) - 1]
    flat_answer = (
        f"$T = {first_flat:g}$: the top 20 hold {top20[before]:.1%} at $T = {before:g}$ and {top20[first_flat]:.1%} at "
        f"$T = {first_flat:g}$. Their share only falls as $T$ rises: the tail fills up."
    )
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"After “{prompt}”, is the top token {lm.code(argmax)} more or less likely at $T = 2$ than at $T = 1$? "
                    "Is it still the most likely token?",
                    f"**{'Less' if p_top[2.0] < p_top[1.0] else 'More'} likely**: {p_top[1.0]:.1%} at $T = 1$, "
                    f"{p_top[2.0]:.1%} at $T = 2$. "
                    + (
                        "And **still the most likely**: dividing by $T$ shrinks the gaps between the logits but keeps "
                        "their order, so the top token gives mass to the others without losing its rank."
                        if still_top
                        else "And it is no longer the most likely token."
                    ),
                ),
                (
                    f"At $T = 1$ the runner-up {lm.code(runner_up)} is some number $r$ of times less likely than the "
                    "top token. How many times less likely is it at $T = 0.5$?",
                    f"**$r^2$.** The ratio of two probabilities is $e^{{(z_1 - z_2) / T}}$, so halving $T$ squares it: "
                    f"$r = {odds(1.0):,.2f}$ at $T = 1$, and $r^2 = {odds(0.5):,.2f}$ at $T = 0.5$.",
                ),
                (
                    f"`{cold_default.describe()}`, without `top_k=0`: how many tokens can be drawn after “{prompt}”?",
                    f"**{kept_cold:,}**, not {lm.vocab_size:,}: `generate()` adds its default `top_k=50` whenever it samples"
                    + ("" if cold_cut.extra == 0 else f" (50, plus {cold_cut.extra} tied with the 50th)")
                    + ". A lower temperature does not change which 50 tokens are on top, so it is the same set as at $T = 1.5$.",
                ),
                (
                    "On the slider above, at which temperature do the 20 most likely tokens first hold less than "
                    "half of the probability?",
                    flat_answer,
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
z = step.logits
assert (p_top[2.0] < p_top[1.0]) and still_top  # a hotter T flattens, never reorders
assert math.isclose(odds(0.5), odds(1.0) ** 2, rel_tol=1e-3)
assert math.isclose(odds(1.0), math.exp(float(z[argmax] - z[runner_up])), rel_tol=1e-3)  # the odds, from the logits alone
assert kept_cold == cold_cut.kept == kept_default  # the processor path and the rule, and the same set as at T = 1.5
assert torch.equal(torch.isfinite(step.scores(cold_default)), torch.isfinite(step.scores(hot_default)))
mass20 = {t: float(torch.softmax(z / t, dim=-1).topk(20).values.sum()) for t in grid}
assert all(abs(mass20[t] - top20[t]) < 1e-4 for t in grid)
assert first_flat == next((t for t in grid if mass20[t] < 0.5), None)
assert all(a >= b - 1e-6 for a, b in zip(list(mass20.values()), list(mass20.values())[1:]))  # "only falls"
assert cap.forward_passes == cap.distinct_contexts
