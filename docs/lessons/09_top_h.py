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
# # Top-H
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance · advanced lesson</p>
#
# - **What:** keep the most likely tokens while their [entropy](../glossary.md#entropy) stays within a fraction `top_h` of
#   the distribution's entropy: few tokens on a confident step, more on an uncertain one.
# - **When:** creative sampling at higher temperatures, where a plain [nucleus](../glossary.md#nucleus) lets too much in.
# - **In transformers:** `generate(do_sample=True, top_h=0.4)`.
# - **Typical value:** 0.3 to 0.6.
#
# </div>
#
# *This is an advanced lesson: it reads the warper's source line by line. Read lessons 5 (top-p)
# and 7 ([typical-p](../glossary.md#typical-p), for entropy) first.*
#
# Top-p stops adding tokens when their **probability** reaches a target. Top-H stops when their
# **entropy** would exceed a budget: a fraction `top_h` of the distribution's own entropy. It keeps
# few tokens where the model is sure and more where it hesitates, but it bounds how much
# randomness the [kept set](../glossary.md#kept-set) can add.
#
# - **Paper:** Potraghloo et al., *Top-H Decoding: Adapting the Creativity and Coherence with
#   Bounded Entropy in Text Generation* (NeurIPS 2025, [arXiv:2509.02510](https://arxiv.org/abs/2509.02510)).
#   It poses [truncation](../glossary.md#truncation) as choosing a set whose entropy is bounded relative to the original
#   distribution, and Top-H is its greedy procedure for that.
# - **In transformers:** `generate(do_sample=True, top_h=...)`, implemented by `TopHLogitsWarper`.
#   It runs right after temperature and before top-k, top-p, min-p, typical, ε and η. `top_h` must be
#   in $(0, 1]$; unset (the default) switches it off.
# - **Typical values:** 0.3 to 0.6, says `GenerationConfig`'s docstring. Smaller keeps fewer tokens,
#   and `top_h=1` keeps all of its candidates (see below for how many that is).
#
# ## The paper's definition
#
# The paper poses truncation as **entropy-constrained mass maximisation**: among all sets $S$ of
# tokens, keep the one with the most probability whose *renormalised* distribution is no more
# random than a fraction $\alpha$ = `top_h` of the original's,
#
# $$\max_{S} \sum_{i \in S} p_i \quad \text{subject to} \quad H\!\left(\frac{p_S}{\sum_{i \in S} p_i}\right) \le \alpha \, H(p).$$
#
# That problem is NP-hard, and Top-H is the paper's greedy procedure for it: add tokens, most likely
# first, while the renormalised entropy of the kept set stays within the bound.
# `GenerationConfig`'s docstring states this definition. The warper that `generate()` runs computes
# something close to it but not the same, and this lesson follows the warper, read from its
# source; the two are compared at the end.

# %%
import inspect

import torch
from IPython.display import Markdown, display
from transformers import TopHLogitsWarper

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
base = dl.DecodingConfig(do_sample=True, top_k=0)

# %% [markdown]
# ## The source
#
# Here is the body of `TopHLogitsWarper.__call__` in the installed transformers, with its
# comments removed:

# %%
source = inspect.getsource(TopHLogitsWarper.__call__)
body = source[source.index("batch_size, vocab_size = scores.shape") :]
lines = [line for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]
print("\n".join(line[8:] if line.startswith(" " * 8) else line for line in lines))
print("\nTopHLogitsWarper(top_h=0.5).top_n =", TopHLogitsWarper(top_h=0.5).top_n)

# %% [markdown]
# ## The rule, exactly
#
# Read line by line, with scores $s$ (the logits after temperature):
#
# 1. **Candidates.** Take the $n = \min(100, |V|)$ highest-scoring tokens and renormalise over them
#    only: $q_i = e^{s_i} / \sum_{j \le n} e^{s_j}$, with $q_1 \ge q_2 \ge \dots \ge q_n$. A token
#    outside the top 100 is never kept, whatever `top_h` is.
# 2. **Budget.** $\tau = \texttt{top\_h} \cdot H(q)$, where $H(q) = -\sum_{i \le n} q_i \log q_i$ is the
#    entropy of the *candidates'* distribution. It is not the full vocabulary's entropy.
# 3. **Walk.** Go down the candidates, adding each one's entropy term:
#    $S_k = \sum_{i \le k} -q_i \log q_i$. Keep candidate $k$ while $S_k \le \tau$. The first
#    candidate is always kept.
#
# Every term is $\ge 0$, so $S_k$ only grows and the kept set is a prefix of the candidates. Note
# that $S_k$ is a **partial sum of $H(q)$'s terms**. It is not the entropy of the kept tokens
# renormalised; the two are compared below.
#
# ## One step
#
# After `"The sky is"`, with `top_h=0.5`: bars are the candidates' entropy terms $-q_i \log q_i$
# (left axis), and the line is the running sum $S_k$ (right axis). Green candidates are kept while
# the line stays under $\tau$.

# %%
prompt = "The sky is"
step = cap(prompt)
cfg = base.replace(top_h=0.5)
dl.top_h_chart(step, cfg, k=30).show()

# %%
rule = dl.top_h_rule(dl.scores_entering(step, cfg, "top_h"), 0.5)
p_full = step.probs(base)
h_full = step.entropy(base)
mass_top = float(p_full[rule.candidates].sum())
display(
    Markdown(
        f"- The full distribution has entropy **{h_full:.2f} nats**. Its {rule.candidates.numel()} most likely tokens hold "
        f"{mass_top:.1%} of the probability, and renormalised over them the entropy is **H(q) = {rule.entropy_candidates:.2f} nats**. "
        f"The budget is τ = 0.5 × {rule.entropy_candidates:.2f} = **{rule.tau:.2f}**, not 0.5 × {h_full:.2f} = {0.5 * h_full:.2f}.\n"
        f"- The running sum stays within τ for **{rule.n_kept}** candidate{'s' if rule.n_kept != 1 else ''}: "
        f"S<sub>{rule.n_kept}</sub> = {float(rule.cumulative[rule.n_kept - 1]):.3f} ≤ {rule.tau:.3f} < "
        f"S<sub>{rule.n_kept + 1}</sub> = {float(rule.cumulative[rule.n_kept]):.3f}."
    )
)

# %% tags=["hide-input"]
# Our reading keeps exactly what the warper keeps, inside generate()'s chain.
assert torch.equal(rule.keep, torch.isfinite(step.scores(cfg)))
assert rule.n_kept < rule.candidates.numel()  # the prose quotes S_{n_kept + 1}
out = dl.reference_generate(lm, prompt, cfg, max_new_tokens=1, scores=True)
assert torch.equal(out.scores[0][0].cpu(), step.scores(cfg))

# %% [markdown]
# ### Partial sum versus the kept set's own entropy
#
# Once the kept tokens are renormalised, the sampler draws from a distribution with its own
# entropy. That entropy is not $S_k$:

# %% tags=["hide-input"]
kept_q = rule.q[: rule.n_kept] / rule.q[: rule.n_kept].sum()
h_kept = float(-(kept_q * kept_q.log()).sum())
h_sampled = step.entropy(cfg)
display(
    Markdown(
        f"For the {rule.n_kept} kept tokens the running sum is S = {float(rule.cumulative[rule.n_kept - 1]):.3f}, while the "
        f"renormalised kept distribution has entropy **{h_kept:.3f} nats** (and `step.entropy(cfg)` of the scores "
        f"generate() samples from gives {h_sampled:.3f}). "
        + (
            f"That is {'above' if h_kept > rule.tau else 'below'} τ = {rule.tau:.3f}: the budget bounds the partial sum, "
            "not the entropy of what is sampled."
        )
    )
)

# %% tags=["hide-input"]
assert abs(h_kept - h_sampled) < 1e-3

# %% [markdown]
# ## Before and after

# %%
dl.token_chart(step, base, k=15).show()
dl.token_chart(step, cfg, k=15).show()

# %% [markdown]
# ## Move the knob
#
# The first slider moves the budget $\tau$ along the running sum; the second shows the distribution
# the sampler then draws from. Both reuse the captured logits.

# %%
grid = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
dl.rule_slider(step, "top_h", grid, k=30, active=5).show()

# %%
dl.slider_chart(step, "top_h", grid, k=20).show()

# %% [markdown]
# ## At `top_h = 1`
#
# With `top_h=1` the budget equals the whole $H(q)$, so the walk should keep all 100 candidates.
# Whether the last one survives is decided by float32 rounding: the running sum at the 100th
# candidate and $H(q)$ are the same number computed two ways.

# %%
prompts = ["Once upon a time", "The sky is", "My name is", "2 + 2 = "]
rows = []
at_one = {}
for p in prompts:
    s = cap(p)
    r_half = dl.top_h_rule(dl.scores_entering(s, base.replace(top_h=0.5), "top_h"), 0.5)
    r_one = dl.top_h_rule(dl.scores_entering(s, base.replace(top_h=1.0), "top_h"), 1.0)
    at_one[p] = r_one.n_kept
    rows.append([f"“{p}”", f"{s.entropy(base):.2f}", f"{r_half.entropy_candidates:.2f}", f"{r_half.n_kept} / {r_one.n_kept}"])
header = ["prompt", "H, full (nats)", "H(q), top 100", "kept at top_h = 0.5 / 1"]
display(Markdown(dl.markdown_table(header, rows, align="lrrr")))
short = [p for p, n in at_one.items() if n < dl.TOP_H_CANDIDATES]
display(
    Markdown(
        (
            f"On {len(short)} of these {len(prompts)} steps `top_h=1` keeps fewer than {dl.TOP_H_CANDIDATES} tokens "
            f"(the last candidate is lost to rounding: {', '.join(f'“{p}” keeps {at_one[p]}' for p in short)}). "
            if short
            else f"On these steps `top_h=1` keeps all {dl.TOP_H_CANDIDATES} candidates. "
        )
        + f"On none of them can it keep more than {dl.TOP_H_CANDIDATES}: the candidate cap also bounds what Top-H can add."
    )
)

# %% tags=["hide-input"]
for p in prompts:
    for v in (0.5, 1.0):
        c = base.replace(top_h=v)
        r = dl.top_h_rule(dl.scores_entering(cap(p), c, "top_h"), v)
        assert torch.equal(r.keep, torch.isfinite(cap(p).scores(c)))
    assert at_one[p] <= dl.TOP_H_CANDIDATES
    if at_one[p] < dl.TOP_H_CANDIDATES:  # "lost to rounding": only the last candidate, and only by float32 noise
        r = dl.top_h_rule(dl.scores_entering(cap(p), base.replace(top_h=1.0), "top_h"), 1.0)
        assert at_one[p] == dl.TOP_H_CANDIDATES - 1 and 0 < float(r.cumulative[-1]) - r.tau < 1e-5 * r.tau

# %% [markdown]
# ## The paper's rule versus the code
#
# `GenerationConfig`'s docstring gives the paper's rule: *"tokens are sorted by probability, and the
# smallest prefix of tokens is kept whose **renormalized** entropy is less than or equal to `top_h`
# times the entropy of the **full distribution**."* (The greedy procedure keeps adding tokens while
# the bound holds, so it keeps the *longest* such prefix; the renormalised entropy of a prefix only
# grows as tokens are added, so that prefix is well defined.) The code differs from that rule twice:
# it bounds a partial sum of the candidates' entropy terms instead of the kept set's renormalised
# entropy, and its budget is a fraction of the top 100's entropy, not of the full distribution's.
# Here are the two side by side on the same steps:

# %%
def paper_rule(s, top_h):
    """The paper's greedy Top-H: the longest prefix of the most likely tokens whose renormalised
    entropy is <= top_h * H(full distribution)."""
    p = torch.softmax(s.logits, -1).sort(descending=True).values[:2000].double()
    prefix = p.cumsum(0)
    h_prefix = (-(p * p.log()).cumsum(0) / prefix) + prefix.log()  # entropy of each renormalised prefix
    return int((h_prefix <= top_h * s.entropy(base)).nonzero().max()) + 1


readings = {}
for p in prompts:
    s = cap(p)
    readings[p] = (paper_rule(s, 0.5), s.kept(base.replace(top_h=0.5)))
rows = [[f"“{p}”", f"{a:,}", f"{b:,}"] for p, (a, b) in readings.items()]
display(Markdown(dl.markdown_table(["prompt", "paper's rule keeps", "code keeps (top_h = 0.5)"], rows, align="lrr")))
differ = sum(a != b for a, b in readings.values())
display(
    Markdown(
        f"The two rules give different sets on **{differ} of {len(prompts)}** steps. The lessons, the charts and "
        "`dl.top_h_rule` follow the code, since the code is what `generate()` runs."
    )
)

# %% tags=["hide-input"]
# the renormalised-prefix entropy formula used above is right: check one prefix directly
_p = torch.softmax(step.logits, -1).sort(descending=True).values[:7].double()
_q = _p / _p.sum()
assert abs(float(-(_q * _q.log()).sum()) - float((-(_p * _p.log()).sum() / _p.sum()) + _p.sum().log())) < 1e-9
# "the renormalised entropy of a prefix only grows as tokens are added", on every step of the table
for p in prompts:
    _s = torch.softmax(cap(p).logits, -1).sort(descending=True).values[:2000].double()
    _c = _s.cumsum(0)
    _h = (-(_s * _s.log()).cumsum(0) / _c) + _c.log()
    assert bool((_h[1:] >= _h[:-1] - 1e-12).all())

# %% [markdown]
# **Try it in the [playground](../playground.md#ctx=sky&top_k=0&top_h=0.4)**, which opens on this lesson's prompt with `top_h=0.4`: move τ and watch how many of the 100 candidates stay, and how much of the mass they held.

# %% [markdown]
# ## What to notice
#
# - Top-H adapts like top-p: a confident step (small $H$) keeps few tokens, an uncertain one more.
#   Compare the "kept at top_h = 0.5" column with the entropies.
# - It never looks beyond the **100 most likely tokens**, and its budget is relative to the
#   entropy of those 100, not of the full vocabulary.
# - The budget bounds the **partial sum** $\sum_{i \le k} -q_i \log q_i$. It does not bound the
#   entropy of the renormalised kept set.
# - Temperature acts *before* Top-H, so raising the temperature raises $H(q)$ and with it the
#   budget:

# %%
hot = dl.DecodingConfig(do_sample=True, top_k=0, temperature=1.5, top_h=0.5)
r_hot = dl.top_h_rule(dl.scores_entering(step, hot, "top_h"), 0.5)
display(
    Markdown(
        f"After “{prompt}” at temperature 1.5, H(q) = {r_hot.entropy_candidates:.2f} nats (against {rule.entropy_candidates:.2f} at 1.0) "
        f"and `top_h=0.5` keeps **{r_hot.n_kept}** tokens instead of {rule.n_kept}."
    )
)

# %% tags=["hide-input"]
assert torch.equal(r_hot.keep, torch.isfinite(step.scores(hot)))
assert r_hot.entropy_candidates > rule.entropy_candidates
assert cap.forward_passes == cap.distinct_contexts

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
r_03 = dl.top_h_rule(dl.scores_entering(step, base.replace(top_h=0.3), "top_h"), 0.3)
cool = base.replace(temperature=0.7, top_h=0.5)
r_cool = dl.top_h_rule(dl.scores_entering(step, cool, "top_h"), 0.5)
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"After “{prompt}”, what is the budget τ at `top_h=0.3`, and how many tokens does it keep?",
                    f"**τ = 0.3 × {r_03.entropy_candidates:.2f} = {r_03.tau:.2f}** (a fraction of the top 100's entropy, "
                    f"not of the full vocabulary's {h_full:.2f}), and it keeps **{r_03.n_kept}** token"
                    f"{'s' if r_03.n_kept != 1 else ''}, against {rule.n_kept} at `top_h=0.5`.",
                ),
                (
                    "On a step where thousands of tokens are plausible, can `top_h=1` keep 500 of them?",
                    f"**No.** The warper only ever considers the {dl.TOP_H_CANDIDATES} most likely tokens "
                    f"(`top_n = min(100, vocabulary)`), so it keeps at most {dl.TOP_H_CANDIDATES}, on any model and at any "
                    "temperature.",
                ),
                (
                    f"At temperature 0.7 instead of 1.0, does `top_h=0.5` keep more or fewer tokens after “{prompt}”?",
                    f"**{'Fewer' if r_cool.n_kept < rule.n_kept else 'More' if r_cool.n_kept > rule.n_kept else 'The same number'}**: "
                    f"{r_cool.n_kept} against {rule.n_kept}. Temperature runs first; at 0.7 the candidates' entropy "
                    f"falls to {r_cool.entropy_candidates:.2f} nats (from {rule.entropy_candidates:.2f}), and the budget with it.",
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert torch.equal(r_03.keep, torch.isfinite(step.scores(base.replace(top_h=0.3))))
assert torch.equal(r_cool.keep, torch.isfinite(step.scores(cool)))
assert r_03.n_kept <= rule.n_kept and r_cool.entropy_candidates < rule.entropy_candidates
assert dl.TOP_H_CANDIDATES == 100 and all(n <= 100 for n in at_one.values())
assert cap.forward_passes == cap.distinct_contexts
