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
# # Repetition penalty and no-repeat-ngram
#
# Left to itself, greedy decoding loops: once a phrase is likely, repeating it makes it more likely
# still. Two processors in `generate()` push back, and both read the **context**, not only the
# next-token distribution:
#
# - `repetition_penalty` (`RepetitionPenaltyLogitsProcessor`) lowers the logit of every token that
#   already occurs in the context. It comes from the CTRL paper: Keskar et al., *CTRL: A Conditional
#   Transformer Language Model for Controllable Generation* (2019,
#   [arXiv:1909.05858](https://arxiv.org/abs/1909.05858)), whose authors suggest a penalty of about
#   **1.2**. 1.0 (the default) switches it off; values below 1 *reward* repetition.
# - `no_repeat_ngram_size` (`NoRepeatNGramLogitsProcessor`) forbids any n-gram from occurring twice.
#   0 (the default) switches it off. When used, it is usually 2 to 4, mostly with beam search.
#
# Both are applied **first**, before temperature and every truncation warper, and they act even
# with greedy decoding (`do_sample=False`).

# %%
import torch
from IPython.display import Markdown, display
from transformers import RepetitionPenaltyLogitsProcessor

import decoding_lessons as dl
from decoding_lessons.penalties import banned_ngram_tokens, repetition_penalty, repetition_table

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer


def show(token_id):
    return f"`{dl.token_label(tokenizer, token_id).display}`"


# %% [markdown]
# ## The repetition penalty, as transformers computes it
#
# The seed notebook this site grew from states the rule as
#
# ```
# score["token"] = logit["token"] / repetition_penalty ^ min(word_count["token"], 1)
# ```
#
# That is right about one thing: the penalty is applied **once** per token, however many times the
# token occurs. But dividing a **negative** logit by a penalty above 1 moves it towards zero, and
# that makes the token *more* likely, the opposite of a penalty. transformers handles the sign. For
# a penalty $\theta$ and every distinct token $t$ in the context $C$ (prompt included):
#
# $$
# s_t = \begin{cases} l_t / \theta & \text{if } t \in C \text{ and } l_t > 0,\\
#                     l_t \cdot \theta & \text{if } t \in C \text{ and } l_t < 0,\\
#                     l_t & \text{otherwise.} \end{cases}
# $$
#
# With $\theta > 1$ both cases lower the logit. The rule scales the logit rather than shifting it,
# so how hard a token is hit depends on the size of its logit.
#
# The seed's commented-out prompt is a good test, because its words repeat:

# %%
prompt = "Hi, my name is, what? My name is, who? My name is"
step = cap(prompt)
penalty = 1.5
cfg = dl.DecodingConfig(repetition_penalty=penalty)

ours = repetition_penalty(step.logits, step.input_ids, penalty)
processor = RepetitionPenaltyLogitsProcessor(penalty)(step.input_ids, step.logits.clone().reshape(1, -1))[0]
print("our reading == RepetitionPenaltyLogitsProcessor:", torch.equal(ours, processor))
print("our reading == generate()'s scores:             ", torch.equal(ours, step.scores(cfg)))
assert torch.equal(ours, processor) and torch.equal(ours, step.scores(cfg))

# %% [markdown]
# Every distinct token of the context, before and after a penalty of 1.5. The "seed's formula"
# column is what dividing by the penalty would give; it differs from transformers exactly where
# the logit is negative (⚠).

# %%
rows = repetition_table(step.logits, step.input_ids, penalty)
table = [
    "| token (× in context) | logit → transformers | seed's formula | p before → after |",
    "|---|---:|---:|---:|",
]
for r in rows:
    seed_value = r.logit / penalty
    mark = " ⚠" if abs(seed_value - r.penalized) > 1e-6 else ""
    table.append(
        f"| {show(r.token_id)} × {r.count} | {r.logit:.2f} → {r.penalized:.2f} | {seed_value:.2f}{mark} | "
        f"{r.p_before:.4f} → {r.p_after:.4f} |"
    )
display(Markdown("\n".join(table)))

# %%
negative = [r for r in rows if r.logit < 0]
most = max(rows, key=lambda r: r.p_before)
display(
    Markdown(
        f"- The count column does not matter: {show(most.token_id)} occurs {most.count}× and is penalised once, "
        f"from logit {most.logit:.2f} to {most.penalized:.2f} (that is {most.logit:.2f} / {penalty}). Its probability falls "
        f"from {most.p_before:.3f} to {most.p_after:.3f}.\n"
        + (
            f"- {len(negative)} context token{'s have' if len(negative) != 1 else ' has'} a negative logit, for example "
            f"{show(negative[0].token_id)}: transformers moves it from {negative[0].logit:.2f} to {negative[0].penalized:.2f} "
            f"(× {penalty}), while the seed's formula would move it *up* to {negative[0].logit / penalty:.2f}."
            if negative
            else "- On this step every context token has a positive logit, so here the seed's formula and transformers agree. "
            "On a negative logit, for example −3.0 with penalty 1.5, transformers gives −4.5 and the seed's formula −2.0."
        )
    )
)

# %% [markdown]
# ### Before and after
#
# Greedy decoding (no warpers) with and without the penalty, on the same captured logits. The left
# axis shows the raw logits, the right axis `softmax(scores)`.

# %%
dl.token_chart(step, dl.DecodingConfig(), k=15).show()
dl.token_chart(step, cfg, k=15).show()

# %%
before_top, after_top = int(step.logits.argmax()), int(step.scores(cfg).argmax())
display(
    Markdown(
        f"Without the penalty greedy decoding would pick {show(before_top)}"
        + (
            f"; with it, {show(after_top)}."
            if after_top != before_top
            else f" either way: the penalty lowers {show(before_top)}, but not below the next token."
        )
    )
)

# %% [markdown]
# ### Move the knob
#
# The sampling distribution (`do_sample=True, top_k=0`) as the penalty goes from rewarding
# repetition (below 1) to punishing it:

# %%
dl.slider_chart(step, "repetition_penalty", [0.6, 0.8, 1.0, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0], k=20).show()

# %% [markdown]
# ### The scale of the logits matters
#
# Dividing by 1.5 takes a third off a logit. How much probability that removes depends on how
# large the logit is. The seed's arithmetic prompt shows it:

# %%
seed_step = cap("4 + 4 - 4 = ")
seed_rows = repetition_table(seed_step.logits, seed_step.input_ids, penalty)
top_row = max(seed_rows, key=lambda r: r.p_before)
display(
    Markdown(
        f"After “4 + 4 - 4 = ” the logits lie between {float(seed_step.logits.min()):.1f} and {float(seed_step.logits.max()):.1f}. "
        f"The context token {show(top_row.token_id)} goes from logit {top_row.logit:.2f} to {top_row.penalized:.2f}, a drop of "
        f"{top_row.logit - top_row.penalized:.2f}, and its probability from {top_row.p_before:.4f} to {top_row.p_after:.2g}. "
        f"A penalty that is mild for one model can be drastic for another whose logits are larger."
    )
)
dl.token_chart(seed_step, dl.DecodingConfig(repetition_penalty=penalty), k=15).show()

# %% [markdown]
# ### On a whole generation
#
# Greedy decoding of 30 tokens, with and without a penalty of 1.3. `dl.generate_with_trace` is
# `generate()`'s loop written out; its tests check that it produces the same tokens as `generate()`.

# %%
loop_prompt = "The cat sat on the mat. The cat"
plain = dl.generate_with_trace(lm, loop_prompt, dl.DecodingConfig(), max_new_tokens=30)
penalised = dl.generate_with_trace(lm, loop_prompt, dl.DecodingConfig(repetition_penalty=1.3), max_new_tokens=30)


def distinct_share(trace):
    return len(set(trace.token_ids)) / len(trace.token_ids)


display(
    Markdown(
        f"| repetition_penalty | continuation of “{loop_prompt}” | distinct tokens |\n|---|---|---:|\n"
        f"| 1.0 | {plain.text.strip()!r} | {distinct_share(plain):.0%} |\n"
        f"| 1.3 | {penalised.text.strip()!r} | {distinct_share(penalised):.0%} |"
    )
)

# %% [markdown]
# ## No-repeat-ngram
#
# With `no_repeat_ngram_size=n`, before each step the processor takes the last $n-1$ tokens. Every
# earlier n-gram in the context (prompt included) that starts with those tokens would be repeated
# by its last token, so that token's score becomes $-\infty$:
#
# $$s_v = -\infty \quad \text{if } (x_{t-n+2}, \dots, x_t, v) \text{ already occurs in } x_{1..t}.$$
#
# It is absolute: the probability the model gave the token does not matter. transformers' own
# docstring warns about the consequence: "penalizing 2-grams (bigrams) in an article about the city
# of New York might lead to undesirable outcomes where the city's name appears only once in the
# entire text."
#
# ### One step: " York" after " New"

# %%
ny_prompt = "I love New York. Every summer I travel back to New"
ny = cap(ny_prompt)
ny_cfg = dl.DecodingConfig(no_repeat_ngram_size=2)
banned = banned_ngram_tokens(ny.input_ids, 2)
p_plain = ny.probs()
favourite = int(ny.logits.argmax())
display(
    Markdown(
        f"After “{ny_prompt}” the context ends in {show(int(ny.input_ids[0, -1]))}. With n = 2 the banned next "
        f"token{'s are' if len(banned) != 1 else ' is'} {', '.join(show(t) for t in banned)}. "
        f"The model's favourite continuation is {show(favourite)} with p = {float(p_plain[favourite]):.3f}"
        + (
            f": **it is banned**, and greedy decoding takes {show(int(ny.scores(ny_cfg).argmax()))} instead."
            if favourite in banned
            else f", which is not banned here."
        )
    )
)
dl.token_chart(ny, dl.DecodingConfig(), k=12).show()
dl.token_chart(ny, ny_cfg, k=12).show()

# %% tags=["hide-input"]
assert banned == torch.isinf(ny.scores(ny_cfg)).nonzero().flatten().tolist()

# %% [markdown]
# ### A whole generation
#
# The model mentions New York in the prompt and would like to mention it again. We generate greedily
# with and without `no_repeat_ngram_size=2`. For every step of the constrained run we look at the raw
# logits that `generate()` reports, and find the steps where the model's favourite token was banned.

# %%
gen_prompt = "I was born in New York. My sister was also born in"
gen_inputs = tokenizer(gen_prompt, return_tensors="pt").to(lm.device)
runs = {}
for n in (0, 2):
    runs[n] = lm.model.generate(
        **gen_inputs, max_new_tokens=20, do_sample=False, no_repeat_ngram_size=n, output_logits=True,
        output_scores=True, return_dict_in_generate=True, pad_token_id=tokenizer.pad_token_id,
    )
length = gen_inputs.input_ids.shape[1]
texts = {n: tokenizer.decode(run.sequences[0, length:], skip_special_tokens=True) for n, run in runs.items()}

blocked = []
constrained = runs[2]
for t, (logits, scores) in enumerate(zip(constrained.logits, constrained.scores)):
    wanted = int(logits[0].argmax())
    if not torch.isfinite(scores[0, wanted]):
        context = constrained.sequences[0, : length + t]
        assert wanted in banned_ngram_tokens(context, 2)  # our reading names the same ban
        blocked.append((t, wanted, float(torch.softmax(logits[0].float(), -1)[wanted]), int(constrained.sequences[0, length + t])))

display(
    Markdown(
        f"| no_repeat_ngram_size | continuation of “{gen_prompt}” |\n|---|---|\n"
        f"| 0 | {texts[0].strip()!r} |\n| 2 | {texts[2].strip()!r} |"
    )
)

# %%
if blocked:
    t, wanted, p_wanted, taken = blocked[0]
    lines = [
        f"- Step {t + 1}: the model's favourite was {show(wanted)} with p = {p_wanted:.3f}; it is banned, and "
        f"{show(taken)} is written instead."
        for t, wanted, p_wanted, taken in blocked
    ]
    display(
        Markdown(
            f"With n = 2 the model's favourite token was banned at **{len(blocked)}** of {len(constrained.scores)} steps:\n\n"
            + "\n".join(lines)
        )
    )
else:
    display(Markdown("With n = 2 no step banned the model's favourite token on this prompt."))

# %%
new_york = tokenizer(" New York", add_special_tokens=False).input_ids
continuation_ids = {n: runs[n].sequences[0, length:].tolist() for n in runs}


def contains(seq, sub):
    return any(seq[i : i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


display(
    Markdown(
        f"Does the continuation contain “ New York” (tokens {', '.join(show(i) for i in new_york)})? "
        f"Without the constraint: **{'yes' if contains(continuation_ids[0], new_york) else 'no'}**; with n = 2: "
        f"**{'yes' if contains(continuation_ids[2], new_york) else 'no'}**. "
        + (
            "With n = 2 the bigram was already in the prompt, so the city cannot be named again."
            if contains(continuation_ids[0], new_york) and not contains(continuation_ids[2], new_york)
            else ""
        )
    )
)

# %% tags=["hide-input"]
# The constrained run can never contain a bigram of the prompt again.
prompt_bigrams = set(zip(gen_inputs.input_ids[0].tolist(), gen_inputs.input_ids[0].tolist()[1:]))
full = runs[2].sequences[0].tolist()
gen_bigrams = list(zip(full[length - 1 :], full[length:]))
assert not prompt_bigrams & set(gen_bigrams)
assert len(new_york) == 2 and not contains(continuation_ids[2], new_york)

# %% [markdown]
# ## What to notice
#
# - The repetition penalty counts **presence**, not frequency, and the prompt counts too. A token
#   that occurs once in a long prompt is penalised as much as one that occurs ten times.
# - It **scales** logits: positive ones are divided, negative ones multiplied. How strong a given
#   value is depends on the model's logit scale.
# - No-repeat-ngram is **absolute**: it bans a token whatever its probability. Names and fixed
#   phrases ("New York", "of the") are the first casualties, which is why it is mostly used with
#   beam search on short outputs.
# - Neither processor needs sampling. Both change the scores that greedy decoding takes the argmax of.

# %% tags=["hide-input"]
assert cap.forward_passes == cap.distinct_contexts
