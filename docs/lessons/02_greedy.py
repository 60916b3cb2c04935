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
# # Greedy decoding
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** at every step, take the token with the highest [score](../glossary.md#score).
# - **When:** short factual completions, tests and reproducible baselines; not open-ended writing,
#   where it loops.
# - **In transformers:** `generate(do_sample=False)`, the default.
# - **Typical value:** nothing to tune; `max_new_tokens` bounds the length.
#
# </div>
#
# The simplest way to turn next-token scores into text: at every step, take the token with the
# highest score, append it to the context, and ask again.
#
# $$x_t = \arg\max_{v \in \mathcal{V}} \; s_t(v)$$
#
# where $s_t$ are the scores of step $t$ and $\mathcal{V}$ is the vocabulary. Softmax preserves
# the order of the scores, so this is also the token with the highest probability.
#
# - **In transformers:** it is what `generate()` does by default: `do_sample=False` and
#   `num_beams=1`. No [sampling](../glossary.md#sampling) warper runs (temperature, top-k, top-p, min-p are all ignored);
#   only the [penalties](../glossary.md#penalty) (`repetition_penalty`, `no_repeat_ngram_size`) and the controls of
#   [lesson 18](../18_constrained_output/) (`bad_words_ids`, `sequence_bias`, `min_new_tokens`,
#   `suppress_tokens`, …) can change the scores.
# - **Paper:** no paper introduced it; it is the baseline. Holtzman et al., *The Curious Case of
#   Neural Text Degeneration* (ICLR 2020, [arXiv:1904.09751](https://arxiv.org/abs/1904.09751)),
#   measured how maximisation-based decoding (greedy and beam search) produces bland, repetitive
#   text.
# - **Typical use:** short, factual completions where one answer is expected; tests and
#   reproducible baselines. Not open-ended writing.

# %%
import torch
import transformers
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer
greedy = dl.DecodingConfig(do_sample=False)  # generate()'s default

# %% [markdown]
# ## One step
#
# The prompt `"2 + 2 = "`. The chart shows the 15 highest-logit tokens: their
# [logits](../glossary.md#logit) (dots, left axis) and their probabilities (bars, right axis). Greedy decoding needs only
# the left axis: it takes the highest dot, however close the runner-up is.

# %%
prompt = "2 + 2 = "
step = cap(prompt)
dl.token_chart(step, greedy, k=15).show()

# %% tags=["hide-input"]
(first_id, first_logit, first_p), (second_id, second_logit, second_p) = step.top(2)
margin = first_logit - second_logit
decides = (
    f"a margin of {margin:.2f} in logits decides" if margin > 0
    else "the two tie exactly, and `argmax` takes the first of them, the lower token id"
)
display(
    Markdown(
        f"Greedy takes **{lm.code(first_id)}** (logit {first_logit:.2f}, probability {first_p:.1%}). "
        f"The runner-up {lm.code(second_id)} has logit {second_logit:.2f} ({second_p:.1%}): {decides}, and the "
        f"other {1 - first_p:.0%} of the probability plays no part."
    )
)

# %% [markdown]
# ## A whole generation
#
# `dl.generate_with_trace` is `generate()`'s decoding loop written out: one forward pass on the
# prompt, then one new token at a time through the KV cache, the processors of the
# configuration, then argmax (or a draw, when sampling). It records, at every step, the
# probability of the chosen token and the entropy of the distribution. It produces the same
# tokens as `generate()` (checked below, and in the tests).

# %%
MAX_NEW = 60
trace = dl.generate_with_trace(lm, prompt, greedy, max_new_tokens=MAX_NEW, keep_scores=True)
print(prompt + trace.text)

# %% tags=["hide-input"]
reference = dl.reference_generate(lm, prompt, max_new_tokens=MAX_NEW)
assert torch.equal(trace.sequence, reference.cpu()), "generate_with_trace differs from generate()"

# %% [markdown]
# **Ties.** When two tokens have the very same highest score, `argmax` returns the first of them:
# greedy decoding breaks ties by token id. With float32 logits an exact tie is rare; a model run in
# bfloat16 (the usual precision on a GPU) has logits with 8 significant bits, and ties happen
# (lesson 4 counts them).

# %% tags=["hide-input"]
ties = [t for t, s in enumerate(trace.steps, start=1) if int((s.scores == s.scores.max()).sum()) > 1]
display(
    Markdown(
        f"In this generation ({str(lm.dtype).removeprefix('torch.')} logits), the top score was shared at "
        + (f"**{len(ties)}** of {len(trace.steps)} steps (step {', '.join(map(str, ties[:8]))}{', …' if len(ties) > 8 else ''})."
           if ties else f"none of the {len(trace.steps)} steps.")
    )
)

# %% tags=["hide-input"]
for t in ties:  # a tie goes to the lower id, as generate()'s argmax does
    s = trace.steps[t - 1]
    assert s.token_id == int(torch.nonzero(s.scores == s.scores.max())[0])

# %% [markdown]
# The first steps, one row per generated token: what greedy chose and how sure the model was.

# %% tags=["hide-input"]
rows = [[t, lm.code(s.token_id), f"{s.prob:.3f}", f"{s.entropy:.2f}"] for t, s in enumerate(trace.steps[:12], start=1)]
display(Markdown(dl.markdown_table(["step", "chosen", "p(chosen)", "entropy (nats)"], rows, align="rlrr")))

# %% [markdown]
# Given a raw prompt, a language model continues text; it does not answer and stop. Greedy decoding makes that worse:
# once it has produced a phrase, the phrase is part of the context, which makes the same
# continuation likely again, and argmax takes it every time.
#
# ## Finding the loop in code
#
# `dl.longest_repetition` finds the longest run of tokens that a sequence repeats (without
# overlapping itself). We run greedy decoding on two prompts, the arithmetic one above and a descriptive one,
# and measure how much of each generation (60 tokens) is taken by its longest repeat.

# %%
prompts = [prompt, "The sky is"]
traces = {p: (trace if p == prompt else dl.generate_with_trace(lm, p, greedy, max_new_tokens=MAX_NEW)) for p in prompts}
reps = {p: dl.longest_repetition(t.token_ids, tokenizer) for p, t in traces.items()}

rows = []
for p, t in traces.items():
    r = reps[p]
    if r is None:
        rows.append([f"`{p}`", "(none of 2 or more tokens)", "", "0%"])
    else:
        rows.append([f"`{p}`", f"`{r.text}`", f"{len(r.ngram)} × {r.count}", f"{r.covered / len(t.token_ids):.0%}"])
display(Markdown(dl.markdown_table(["prompt", "longest repeated stretch", "length × times", "share of the tokens"], rows, align="llrr")))

# %%
loop_prompt = max(prompts, key=lambda p: reps[p].covered if reps[p] else 0)
loop, loop_trace = reps[loop_prompt], traces[loop_prompt]
print(loop_prompt + loop_trace.text)

# %% tags=["hide-input"]
if loop is None:
    display(Markdown("Neither generation repeats a stretch of two or more tokens within these steps."))
else:
    n = len(loop.ngram)
    occurrence_p = [
        sum(s.prob for s in loop_trace.steps[start : start + n]) / n for start in loop.positions
    ]
    display(
        Markdown(
            f"After `{loop_prompt}`, greedy decoding repeats the {n}-token stretch **`{loop.text}`** "
            f"{loop.count} times: {loop.covered} of its {len(loop_trace.token_ids)} tokens "
            f"({loop.covered / len(loop_trace.token_ids):.0%}). The mean probability of the chosen tokens in "
            "each occurrence, in order: "
            + ", ".join(f"{p:.2f}" for p in occurrence_p)
            + (
                ". The model grows **more** certain each time round: the repetition feeds itself."
                if all(b > a for a, b in zip(occurrence_p, occurrence_p[1:]))
                else "."
            )
        )
    )

# %% [markdown]
# The chart follows every step of both generations: the probability of the token greedy chose.
# Hover a point to see the token.

# %%
dl.trace_chart({f"greedy after “{p}”": t for p, t in traces.items()}, metric="prob").show()

# %% [markdown]
# ### Inside the loop
#
# Here is the distribution at the start of the last occurrence of the repeated stretch: the
# context already holds the earlier occurrences. Compare it with the first step above.

# %%
if loop is not None:
    inside = loop.positions[-1]
    loop_step = cap(torch.cat([loop_trace.prompt_ids[0], torch.tensor(loop_trace.token_ids[:inside])]))
    dl.token_chart(loop_step, greedy, k=15, title=f"Step {inside + 1} after “{loop_prompt}”: inside the loop").show()
    top_id, _, top_p = loop_step.top(1)[0]
    display(
        Markdown(
            f"At that step the next token {lm.code(top_id)} has probability **{top_p:.1%}** "
            f"(entropy {loop_step.entropy():.2f} nats, against {cap(loop_prompt).entropy():.2f} at the first step)."
        )
    )

# %% [markdown]
# ## Why greedy is deterministic
#
# Greedy decoding draws nothing at random: the same model, prompt and settings give the same
# text, whatever the random seed. Two runs, with different seeds set before each:

# %%
again = dl.generate_with_trace(lm, prompt, greedy, max_new_tokens=MAX_NEW, seed=1)  # torch.manual_seed(1) first
once_more = dl.generate_with_trace(lm, prompt, greedy, max_new_tokens=MAX_NEW, seed=2)
print("run 1 == run 2:", again.token_ids == once_more.token_ids == trace.token_ids)

# %% [markdown]
# It also means the sampling knobs do nothing. With `do_sample=False`, `generate()` adds no
# sampling warper, so a temperature is ignored: the scores stay equal to the logits and the
# generation does not change. (transformers logs that the flag "may be ignored"; we silence that
# log here and check the result instead.)

# %%
cold = dl.DecodingConfig(do_sample=False, temperature=0.3)
print("scores with temperature=0.3 == logits:", torch.equal(step.scores(cold), step.logits))
with_temperature = dl.generate_with_trace(lm, prompt, cold, max_new_tokens=MAX_NEW)
print("same tokens with temperature=0.3:      ", with_temperature.token_ids == trace.token_ids)

verbosity = transformers.logging.get_verbosity()
transformers.logging.set_verbosity_error()
try:
    via_generate = dl.reference_generate(lm, prompt, cold, max_new_tokens=MAX_NEW)
finally:
    transformers.logging.set_verbosity(verbosity)
print("generate(do_sample=False, temperature=0.3) gives the same text:", torch.equal(via_generate.cpu(), trace.sequence))

# %% tags=["hide-input"]
assert again.token_ids == once_more.token_ids == trace.token_ids
assert torch.equal(step.scores(cold), step.logits)
assert with_temperature.token_ids == trace.token_ids
assert torch.equal(via_generate.cpu(), trace.sequence)
# "no top-k changes it" (What to notice): a top-k with do_sample=False leaves the scores and the tokens alone
few = dl.DecodingConfig(do_sample=False, top_k=2)
assert torch.equal(step.scores(few), step.logits)
assert dl.generate_with_trace(lm, prompt, few, max_new_tokens=MAX_NEW).token_ids == trace.token_ids

# %% [markdown]
# ## What to notice

# %% tags=["hide-input"]
low_conf = min(trace.steps, key=lambda s: s.prob)
low_step = trace.steps.index(low_conf) + 1
notes = [
    f"- Greedy ignores how sure the model is. At step {low_step} of the `{prompt}` run it took "
    f"{lm.code(low_conf.token_id)} with probability only **{low_conf.prob:.1%}**, exactly as it takes a "
    "token with probability 99 %.",
]
if loop is not None:
    notes.append(
        f"- Argmax feeds on its own output: after `{loop_prompt}`, a repeated stretch covers "
        f"**{loop.covered / len(loop_trace.token_ids):.0%}** of the {len(loop_trace.token_ids)} generated tokens."
    )
notes.append(
    "- The result is a function of the prompt alone: no seed, no temperature, no top-k changes it. "
    "To vary the text you must sample (next lesson: temperature) or search (beam search)."
)
notes.append(
    f"- Every chart on this page came from captured logits: **{cap.forward_passes}** forward passes for "
    f"{cap.distinct_contexts} distinct contexts, plus the generation loops."
)
display(Markdown("\n".join(notes)))

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same logits and
# generations as the charts above.

# %% tags=["hide-input"]
banned = dl.DecodingConfig(do_sample=False, suppress_tokens=[first_id])
banned_pick = int(step.scores(banned).argmax())
unsure_steps = [t for t, s in enumerate(trace.steps, start=1) if s.prob < 0.5]
items = []
if margin > 0:
    items.append((
        f"After `{prompt}`, how far would the logit of {lm.code(first_id)} have to drop for greedy to take "
        f"{lm.code(second_id)} instead?",
        (f"**By {margin:.2f} or more**, the gap between the two highest logits. At exactly that gap they tie, and argmax "
         f"takes the lower token id, {second_id}, the runner-up's."
         if second_id < first_id
         else f"**By more than {margin:.2f}**, the gap between the two highest logits. At exactly that gap they would tie, "
         f"and argmax would still take the lower token id, {first_id}.")
        + " Their probabilities play no part.",
    ))
items.append((
    f"`suppress_tokens=[{first_id}]` bans {lm.code(first_id)}. Which token does greedy decoding take first now, "
    "and does `do_sample=False` stop that processor from running?",
    f"**{lm.code(banned_pick)}**, the runner-up: the control sets the banned token's score to −∞ and argmax takes "
    "the next highest. Sampling warpers (temperature, top-k, …) are skipped without sampling; the penalties and "
    "controls such as `suppress_tokens`, `bad_words_ids`, `sequence_bias` and `min_new_tokens` are not.",
))
items.append((
    f"In the {len(trace.steps)}-token greedy run after `{prompt}`, at how many steps did the chosen token have "
    "probability below 50%?",
    f"**{len(unsure_steps)}** of {len(trace.steps)}"
    + (f" (the first at step {unsure_steps[0]})" if unsure_steps else "")
    + ". Greedy takes the top token however unsure the model is; the trace chart above shows each step.",
))
display(Markdown(dl.exercises(items)))

# %% tags=["hide-input"]
assert banned_pick == second_id and torch.isinf(step.scores(banned)[first_id])
ref_banned = dl.reference_generate(lm, prompt, banned, max_new_tokens=1, scores=True)
assert torch.equal(ref_banned.scores[0][0].cpu(), step.scores(banned))
assert len(unsure_steps) == sum(s.prob < 0.5 for s in trace.steps)
if margin > 0:
    shifted = step.logits.clone()
    shifted[first_id] -= margin * 1.01
    assert int(shifted.argmax()) == second_id
    tied = step.logits.clone()
    tied[first_id] = tied[second_id]  # exactly the gap: a tie, which argmax gives to the lower id
    assert int(tied.argmax()) == min(first_id, second_id)
