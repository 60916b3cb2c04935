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
# # Beam search
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** keep the `num_beams` best partial sequences by summed log-probability, extend each by
#   every token, keep the best again; rank the finished ones by score / length$^{\,\text{length\_penalty}}$.
# - **When:** tasks with one right answer (translation, summarisation, speech recognition); not
#   open-ended writing, where the most likely text is bland and repeats.
# - **In transformers:** `generate(num_beams=4)`, with `length_penalty`, `early_stopping` and
#   `num_return_sequences`.
# - **Typical value:** 4–8 beams.
#
# </div>
#
# [Greedy](../glossary.md#greedy) decoding commits to the most likely token at every step and never looks back. But the
# most likely *sequence* need not start with the most likely *token*: a slightly less likely first
# word can open a much more likely continuation. Beam search hedges. It keeps the `num_beams` best
# partial sequences (the *beams*), scored by their summed [log-probability](../glossary.md#log-probability)
#
# $$\text{score}(y_{1..t}) = \sum_{i=1}^{t} \log p(y_i \mid x, y_{<i}),$$
#
# extends each by every token, keeps the best `num_beams` of all those candidates, and repeats.
# Finished sequences (they produced the end-of-sequence token, or hit the length limit) are
# ranked by $\text{score} / \text{length}^{\,\text{length\_penalty}}$.
#
# - **In transformers:** `generate(num_beams=N)`, with `length_penalty`, `early_stopping`,
#   `num_return_sequences` and `no_repeat_ngram_size`. `decoding_lessons.beam_search` is the same
#   algorithm written out (transformers 5's `_beam_search`), and records every step so that it can
#   be drawn; its outputs are checked against `generate()` on this page and in the tests.
# - **Papers:** beam search is decades older than neural text generation; for neural machine
#   translation see Sutskever et al., *Sequence to Sequence Learning with Neural Networks*
#   (2014, [arXiv:1409.3215](https://arxiv.org/abs/1409.3215)). Length normalisation is older
#   than transformers' form of it: Wu et al., *Google's Neural Machine Translation System* (2016,
#   [arXiv:1609.08144](https://arxiv.org/abs/1609.08144)), divide by $((5 + |Y|)/6)^\alpha$;
#   transformers' `length_penalty` divides by $|Y|^\alpha$, the plain length to the power α. Holtzman et al. (2020,
#   [arXiv:1904.09751](https://arxiv.org/abs/1904.09751)) show why it suits translation and
#   summarisation better than open-ended writing.
# - **Typical use:** tasks with one right answer (translation, summarisation, speech recognition),
#   with 4–8 beams.

# %%
import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()

# %% [markdown]
# ## Greedy against beam search
#
# The same prompt, 12 new tokens: greedy decoding, then beam search with 4 beams. For each output
# we compute its joint probability under the model, $p(y \mid x) = \prod_i p(y_i \mid x, y_{<i})$,
# in one [forward pass](../glossary.md#forward-pass) over prompt + output (`dl.sequence_logprob`).

# %%
prompt = "The sky is"
NEW = 12
greedy = dl.generate_with_trace(lm, prompt, dl.DecodingConfig(do_sample=False), max_new_tokens=NEW)
beams = dl.beam_search(lm, prompt, num_beams=4, max_new_tokens=NEW)

greedy_lp = dl.sequence_logprob(lm, prompt, greedy.token_ids)
beam_lps = [dl.sequence_logprob(lm, prompt, h.tokens) for h in beams.returned]

# %% tags=["hide-input"]
rows = [["greedy", lm.text(greedy.token_ids), f"{greedy_lp:.2f}", f"{torch.tensor(greedy_lp).exp():.2e}"]]
for h, lp in zip(beams.returned, beam_lps):
    rows.append([f"beam #{h.rank + 1}", lm.text(h.tokens), f"{lp:.2f}", f"{torch.tensor(lp).exp():.2e}"])
display(Markdown(dl.markdown_table(["decoding", "output", "log p(output)", "p(output)"], rows, align="llrr")))
best = beams.returned[0]
if list(best.tokens) == greedy.token_ids:
    verdict = "Here beam search's best output **is** greedy's: the locally best tokens also made the best sequence."
elif beam_lps[0] > greedy_lp:
    verdict = (
        f"Beam search's best output is **{(beam_lps[0] - greedy_lp) / 0.6931:.1f} bits** "
        f"(a factor of {torch.tensor(beam_lps[0] - greedy_lp).exp():.1f}) more likely than greedy's."
    )
else:
    verdict = (
        "Greedy's output is more likely than beam search's best here: beam search ranks finished "
        "hypotheses by length-normalised score, and its beams are a heuristic, not an exhaustive search."
    )
display(Markdown(verdict))

# %% tags=["hide-input"]
# Hidden check: our beam search is generate()'s.
ref = dl.reference_generate(lm, prompt, max_new_tokens=NEW, scores=True, num_beams=4, num_return_sequences=4, do_sample=False)
assert torch.equal(ref.sequences.cpu(), beams.sequences)
assert torch.allclose(ref.sequences_scores.cpu(), beams.sequences_scores, atol=1e-4)

# %% [markdown]
# ## The search tree
#
# Every node is a candidate the search looked at: a beam extended by one token. At each step the
# search keeps twice as many candidates as beams in view (so that it can refill the beams even if
# half the candidates end), keeps the best `num_beams` (coloured) and prunes the rest (grey).
# Stars are finished hypotheses; the returned ones are numbered, and the paths to them are thick.
# Hover a node for its token, its log-probability, the cumulative score and its fate.

# %%
dl.beam_tree(beams, lm).show()

# %% tags=["hide-input"]
path = beams.path(best.node)
ranks = [beams.candidates[i].rank for i in path]
detours = [(beams.candidates[i].step + 1, r) for i, r in zip(path, ranks) if r > 0]
n_cands = len(beams.candidates)
n_kept = sum(c.status == "kept" for c in beams.candidates)
text = (
    f"The search looked at **{n_cands}** candidates in {beams.num_steps} steps, kept {n_kept} of them as live beams "
    f"and pruned {sum(c.status == 'pruned' for c in beams.candidates)}. "
)
def own_rank(c) -> int:
    """Rank of a candidate among the continuations of its own beam (0: its beam's most likely token)."""
    siblings = [o for o in beams.candidates if o.step == c.step and o.parent == c.parent and o.slot == c.slot]
    return sum(o.logprob > c.logprob for o in siblings)


off_greedy = [(beams.candidates[i].step + 1, own_rank(beams.candidates[i])) for i in path if own_rank(beams.candidates[i]) > 0]
if off_greedy:
    text += (
        "The winning beam did not always take its own most likely token: at "
        + ", ".join(f"step {s} it took its beam's number {r + 1}" for s, r in off_greedy)
        + ". Greedy decoding would have taken another token there."
    )
elif detours:
    text += (
        "The winning beam ranked below other beams' candidates at "
        + ", ".join(f"step {s} (number {r + 1})" for s, r in detours)
        + ", but it always took its own most likely token: it is greedy's path, kept alive beside the others."
    )
else:
    text += "The winning beam was the best candidate at every step: here beam search followed greedy's path."
display(Markdown(text))

# %% [markdown]
# ### The cost
#
# All beams advance together: one forward pass per step over a batch of `num_beams` rows, with the
# [KV cache](../glossary.md#kv-cache) reordered to follow the beams (a beam that survives twice gets its cache copied).

# %% tags=["hide-input"]
display(
    Markdown(
        f"This search ran **{beams.forward_passes}** forward passes for {beams.num_steps} steps × "
        f"{beams.settings['num_beams']} beams = {beams.num_steps * beams.settings['num_beams']} beam-steps: "
        + (
            f"the same number of passes as greedy decoding above ({greedy.forward_passes} for its "
            f"{len(greedy.steps)} tokens), each over a batch of beams."
            if beams.forward_passes == greedy.forward_passes
            else f"one per step, as greedy decoding takes one per token ({greedy.forward_passes} for its "
            f"{len(greedy.steps)} tokens above), but each over a batch of beams."
        )
    )
)
assert beams.forward_passes == beams.num_steps

# %% tags=["hide-input"]
assert greedy.forward_passes == len(greedy.steps)  # greedy: one pass per token

# %% [markdown]
# ## Length penalty
#
# Log-probabilities are negative, so every extra token lowers a sum: left alone, beam search
# prefers short outputs. Finished hypotheses are therefore compared by
# $\text{score} / \text{length}^{\,\text{length\_penalty}}$:
#
# - `length_penalty = 0`: the raw sum, the true joint log-probability (favours short outputs);
# - `length_penalty = 1` (the default): the mean log-probability per token, which already lets a
#   longer output win when its tokens are as likely on average;
# - `length_penalty > 1`: favours long outputs more; `< 0`: favours short ones even more than the
#   raw sum. Any value above 0 moves the balance toward length.
#
# We need a prompt after which the model may end its answer (produce its end-of-sequence token)
# so that hypotheses of different lengths compete. The same search with four settings:

# %%
qa = "Q: What is the capital of France?\nA:"
runs = {lp: dl.beam_search(lm, qa, num_beams=4, max_new_tokens=15, length_penalty=lp) for lp in (-1.0, 0.0, 1.0, 2.0)}

# %% tags=["hide-input"]
rows = []
for lp, r in runs.items():
    h = r.returned[0]
    rows.append([f"{lp:g}", lm.text(h.tokens), f"{h.length}; {h.sum_logprobs:.2f}", f"{h.score:.3f}"])
display(Markdown(dl.markdown_table(["length_penalty", "best output", "tokens; sum of log p", "ranked by"], rows, align="rlrr")))
lengths = {lp: r.returned[0].length for lp, r in runs.items()}
ended = {lp: r.returned[0].eos for lp, r in runs.items()}
if len(set(lengths.values())) > 1:
    msg = (
        f"The best output's length moves with the penalty: {', '.join(f'{n} tokens at {lp:g}' for lp, n in lengths.items())}. "
    )
else:
    msg = f"On this model every setting returns an output of the same length ({lengths[1.0]} tokens). "
n_ended = sum(ended.values())
msg += (
    "None of the 4 best outputs ends with the end-of-sequence token: all were cut by the 15-token limit."
    if n_ended == 0 else "All 4 best outputs end with the end-of-sequence token." if n_ended == 4
    else f"{n_ended} of the 4 best outputs end with the end-of-sequence token; the others were cut by the 15-token limit."
)
display(Markdown(msg))

# %% [markdown]
# The finished hypotheses of the `length_penalty = 1` search, scored under each rule. The pool
# keeps the best `num_beams` under the search's own rule.

# %% tags=["hide-input"]
pool = runs[1.0].finished
rows = [
    [f"{lm.text(h.tokens)} ({h.length})", f"{h.sum_logprobs:.2f}", f"{h.sum_logprobs / h.length:.3f}", f"{h.sum_logprobs / h.length**2:.4f}"]
    for h in sorted(pool, key=lambda h: h.step)
]
display(Markdown(dl.markdown_table(["hypothesis (tokens)", "lp = 0: the sum", "lp = 1", "lp = 2"], rows, align="lrrr")))
pool_lengths = sorted({h.length for h in pool})
display(Markdown(
    f"The hypotheses have {', '.join(map(str, pool_lengths))} tokens: re-ranking them by another rule changes their order "
    "where lengths differ." if len(pool_lengths) > 1 else
    f"Every hypothesis here has {pool_lengths[0]} tokens, so the three rules rank them alike: the length penalty "
    "only matters between hypotheses of different lengths, which this model did not produce on this prompt."
))

# %% [markdown]
# ## Early stopping
#
# When can the search stop before the length limit? Only once `num_beams` hypotheses are finished,
# and then `early_stopping` decides:
#
# - `True`: stop at once;
# - `False` (the default): stop when the best live beam, *scored at its current length*, cannot
#   beat the worst finished hypothesis — a heuristic, since with a positive `length_penalty` a
#   longer beam could still climb;
# - `"never"`: stop only when no live beam can beat it even at the length limit (with a positive
#   `length_penalty`): the canonical, exhaustive-within-beams algorithm.

# %%
stops = {es: dl.beam_search(lm, qa, num_beams=2, max_new_tokens=20, early_stopping=es) for es in (True, False, "never")}

# %% tags=["hide-input"]
rows = [[f"`{es!r}`", r.num_steps, lm.text(r.returned[0].tokens), f"{r.returned[0].score:.3f}"] for es, r in stops.items()]
display(Markdown(dl.markdown_table(["early_stopping", "steps (forward passes)", "best output", "ranked by"], rows, align="lrlr")))
steps = {es: r.num_steps for es, r in stops.items()}
same_best = len({r.returned[0].tokens for r in stops.values()}) == 1
display(
    Markdown(
        f"With 2 beams and up to 20 tokens, `True` ran {steps[True]} steps, `False` {steps[False]} and `\"never\"` "
        f"{steps['never']}; "
        + ("all three return the same best output." if same_best else "the best output depends on the rule.")
        + (" The rules only differ once `num_beams` hypotheses have finished, which this model seldom does early." if len(set(steps.values())) == 1 else "")
    )
)

# %% tags=["hide-input"]
for es, r in stops.items():
    ref = dl.reference_generate(lm, qa, max_new_tokens=20, scores=True, num_beams=2, num_return_sequences=2, early_stopping=es,
                                do_sample=False)
    assert torch.equal(ref.sequences.cpu(), r.sequences), es
    assert torch.allclose(ref.sequences_scores.cpu(), r.sequences_scores, atol=1e-4), es

# %% [markdown]
# The difference is easier to see on a toy "model" that ends often. `dl.search.BigramModel` is a
# table of next-token probabilities that depend on the last token only (every search runs on it
# unchanged). In this one, `a` is followed by `a` or by the end about equally often, so longer
# `a a a …` hypotheses keep a similar score per token — and with `length_penalty = 1` each one
# that ends later ranks a little higher:
#
# | after | a | b | c | ⟨eos⟩ |
# |---|---:|---:|---:|---:|
# | ⟨s⟩ | 0.40 | 0.27 | 0.19 | 0.14 |
# | a | 0.47 | 0.01 | 0.03 | 0.49 |
# | b | 0.56 | 0.07 | 0.32 | 0.05 |
# | c | 0.06 | 0.01 | 0.27 | 0.66 |

# %%
toy = dl.search.BigramModel(
    ["<s>", "a", "b", "c", "<eos>"],
    {
        "<s>": {"a": 0.40, "b": 0.27, "c": 0.19, "<eos>": 0.14},
        "a": {"a": 0.47, "b": 0.01, "c": 0.03, "<eos>": 0.49},
        "b": {"a": 0.56, "b": 0.07, "c": 0.32, "<eos>": 0.05},
        "c": {"a": 0.06, "b": 0.01, "c": 0.27, "<eos>": 0.66},
    },
    eos="<eos>",
)
toy_stops = {es: dl.beam_search(toy, toy.ids("<s>"), num_beams=2, max_new_tokens=6, early_stopping=es) for es in (True, False, "never")}

# %% tags=["hide-input"]
why = {
    True: "2 hypotheses finished",
    False: "the best live beam, scored at its current length, cannot beat the worst finished one",
    "never": "the length limit (at the limit's length the live beam could still win)",
}
rows = []
for es, r in toy_stops.items():
    h = r.returned[0]
    rows.append([f"`{es!r}`", r.num_steps, f"`{' '.join(toy.names(h.tokens))}` ({h.score:.3f})", why[es]])
display(Markdown(dl.markdown_table(["early_stopping", "steps", "best output (score)", "why it stopped"], rows, align="lrll")))

# %%
dl.beam_tree(toy_stops["never"], toy, title="The toy's search with early_stopping=\"never\": 2 beams, up to 6 tokens").show()

# %% tags=["hide-input"]
assert toy_stops[True].num_steps < toy_stops[False].num_steps < toy_stops["never"].num_steps == 6
assert len(toy_stops[True].finished) >= 2
assert toy_stops[True].returned[0].score < toy_stops[False].returned[0].score < toy_stops["never"].returned[0].score

# %% [markdown]
# ## All the beams: `num_return_sequences`
#
# `generate()` returns only the best hypothesis unless you ask for more with
# `num_return_sequences` (at most `num_beams`). Here are all four of the first search, best first,
# with their scores (`sequences_scores`: the length-penalised score):

# %% tags=["hide-input"]
rows = [[h.rank + 1, lm.text(h.tokens), f"{h.score:.3f}"] for h in beams.returned]
display(Markdown(dl.markdown_table(["#", "output", "score"], rows, align="rlr")))
common = 0
while all(len(h.tokens) > common for h in beams.returned) and len({h.tokens[common] for h in beams.returned}) == 1:
    common += 1
distinct2 = dl.distinct_ngrams([h.tokens for h in beams.returned], 2)
near_copies = common >= 1 and distinct2 <= 0.5  # a shared start, and at most half of the bigrams distinct
display(
    Markdown(
        f"The {len(beams.returned)} outputs share their first **{common}** token{'s' if common != 1 else ''}, and "
        + (
            f"only {distinct2:.0%} of their bigrams are distinct: beam search's outputs tend to be variations of one "
            "sentence. "
            if near_copies
            else f"{distinct2:.0%} of their bigrams are distinct: here they are not near-copies of one sentence. "
        )
        + "The next lesson, [diverse beam search](../14_diverse_beam_search/), forces them apart."
    )
)

# %% [markdown]
# ## N-gram blocking
#
# Maximising probability rewards repetition: once a phrase is in the context, repeating it is
# likely. Over 30 tokens beam search, like greedy decoding, can fall into a loop.
# `no_repeat_ngram_size=n` sets the score of any token that would complete an n-gram already in
# the sequence (prompt included) to $-\infty$.

# %%
LONG = 30
loops = {n: dl.beam_search(lm, prompt, num_beams=4, max_new_tokens=LONG, no_repeat_ngram_size=n, num_return_sequences=1) for n in (0, 3)}
reps = {n: dl.longest_repetition(r.returned[0].tokens, lm.tokenizer) for n, r in loops.items()}

# %% tags=["hide-input"]
rows = []
for n, r in loops.items():
    rep = f"{len(reps[n].ngram)} tokens × {reps[n].count}" if reps[n] else "none"
    rows.append([n, lm.text(r.returned[0].tokens), rep])
display(Markdown(dl.markdown_table(["no_repeat_ngram_size", "best output", "longest repeated stretch"], rows, align="rll")))
before, after = reps[0], reps[3]
if before is not None and len(before.ngram) >= 3:
    msg = f"Without blocking, the best beam repeats a stretch of {len(before.ngram)} tokens (`{before.text}`) {before.count} times. "
else:
    msg = "Without blocking, this output happens not to repeat a stretch of 3 or more tokens. "
msg += (
    "With `no_repeat_ngram_size=3` no 3-token stretch can occur twice"
    + (f"; the longest repeat left has {len(after.ngram)} tokens." if after else ", and none of 2 tokens repeats either.")
)
display(Markdown(msg))

# %% tags=["hide-input"]
full = loops[3].prompt_ids + list(loops[3].returned[0].tokens)
grams = [tuple(full[i : i + 3]) for i in range(len(full) - 2)]
assert len(grams) == len(set(grams)), "no_repeat_ngram_size=3 left a repeated trigram"
assert after is None or len(after.ngram) < 3

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the searches above.

# %% tags=["hide-input"]
by_sum = max(pool, key=lambda h: h.sum_logprobs)
by_mean = max(pool, key=lambda h: h.sum_logprobs / h.length)
pool_span = (min(h.length for h in pool), max(h.length for h in pool))
toy_steps = {es: r.num_steps for es, r in toy_stops.items()}
display(
    Markdown(
        dl.exercises(
            [
                (
                    f"The first search ran 4 beams for up to {NEW} tokens; greedy decoding took {greedy.forward_passes} "
                    "forward passes. How many did beam search take?",
                    f"**{beams.forward_passes}**, one per step ({beams.num_steps} steps): the 4 beams advance together, "
                    "as one batch of rows per pass. Beam search costs more arithmetic per pass, not more passes.",
                ),
                (
                    "Among the finished hypotheses of the `length_penalty = 1` search (the table of the three rules), "
                    "which one would `length_penalty = 0`, the raw sum, rank first? Is it the shortest?",
                    f"“{lm.text(by_sum.tokens)}”, **{by_sum.length} tokens** "
                    + (
                        "(the shortest in the pool). "
                        if by_sum.length == pool_span[0] and pool_span[0] < pool_span[1]
                        else "(every hypothesis in the pool has that length). " if pool_span[0] == pool_span[1]
                        else f"(the pool's hypotheses have {pool_span[0]} to {pool_span[1]} tokens: here the shortest is not the likeliest). "
                    )
                    + (
                        "Ranked by the mean per token (`length_penalty = 1`) the same one wins."
                        if by_mean.tokens == by_sum.tokens
                        else f"Ranked by the mean per token (`length_penalty = 1`), “{lm.text(by_mean.tokens)}” "
                        f"({by_mean.length} tokens) wins instead."
                    ),
                ),
                (
                    "On the toy bigram model, how many steps did the search with `early_stopping=True` run, and how "
                    "many with `\"never\"`?",
                    f"**{toy_steps[True]}** with `True` (it stops as soon as 2 hypotheses are finished) and "
                    f"**{toy_steps['never']}** with `\"never\"` (up to the length limit, since with `length_penalty = 1` "
                    f"a live `a a …` beam could still climb); `False` stopped in between, after {toy_steps[False]}.",
                ),
                (
                    "With `no_repeat_ngram_size=3`, can the best beam of the 30-token search contain a stretch of "
                    "3 tokens twice? How long is the longest repeated stretch it has?",
                    "**No** 3-token stretch can occur twice: its third token is banned wherever the first two "
                    "already occurred. "
                    + (
                        f"The longest repeated stretch is {len(after.ngram)} tokens (`{after.text}`, {after.count}×)."
                        if after
                        else "Here no stretch of 2 tokens repeats either."
                    ),
                ),
            ]
        )
    )
)

# %% tags=["hide-input"]
assert beams.forward_passes == beams.num_steps <= NEW
assert all(by_sum.sum_logprobs >= h.sum_logprobs for h in pool) and all(
    by_mean.sum_logprobs / by_mean.length >= h.sum_logprobs / h.length for h in pool)
assert toy_steps[True] < toy_steps[False] < toy_steps["never"] == 6
assert after is None or len(after.ngram) < 3

# %% [markdown]
# ## Takeaways
#
# - Beam search keeps `num_beams` hypotheses instead of one, so a token that is not the best now
#   can still lead to the best sequence; it costs one batched forward pass of `num_beams` rows per
#   step.
# - `length_penalty` decides how finished outputs of different lengths compare; `early_stopping`
#   decides how long the search keeps looking.
# - The returned beams are usually near-copies, and long outputs can loop: n-gram blocking stops
#   the loops; [diverse beam search](../14_diverse_beam_search/) separates the beams.
