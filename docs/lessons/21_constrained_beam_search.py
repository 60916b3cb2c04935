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
# # Constrained beam search
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** [beam search](../glossary.md#beam) that must put given words or phrases ([constraints](../glossary.md#constraint)) somewhere in
#   the output: each step adds the candidates that advance a constraint and shares the beams out
#   round-robin over banks of progress.
# - **When:** terminology a translation or a summary must keep, keywords a description must
#   mention.
# - **In transformers:** `generate(num_beams=4, force_words_ids=[phrase_ids])`, which since
#   transformers 4.57 also needs `custom_generate="transformers-community/constrained-beam-search"`
#   and `trust_remote_code=True` (below).
# - **Typical value:** 4 or more beams and a `max_new_tokens` well beyond the words' own tokens: if
#   the limit comes first, the output comes back without them, silently.
#
# </div>
#
# [Constraining the output](../18_constrained_output/) showed processors that ban tokens, bias
# them or allow only what a grammar allows, one step at a time. None of them can say "this word must
# appear *somewhere*": a ban acts at every step, and a grammar has to spell out where the word goes.
# Constrained [beam search](../glossary.md#beam) takes a list of words or phrases that must appear in the output and leaves
# the *where* to the search.
#
# - **In transformers:** `generate(num_beams=N, force_words_ids=[...])`, or
#   `constraints=[PhrasalConstraint(...), DisjunctiveConstraint(...)]`, no longer in its core (the
#   status is below the set-up). `decoding_lessons.constrained_beam_search` ports the last in-core implementation
#   (`ConstrainedBeamSearchScorer`, `ConstraintListState`) and records every candidate; the package's
#   tests compare it with transformers 4.55.4's own outputs (23 recorded searches: the same
#   sequences, the same scores).
# - **Papers:** Hokamp & Liu, *Lexically Constrained Decoding for Sequence Generation Using Grid
#   Beam Search* (ACL 2017, [arXiv:1704.07138](https://arxiv.org/abs/1704.07138)); Post & Vilar,
#   *Fast Lexically Constrained Decoding with Dynamic Beam Allocation* (NAACL 2018,
#   [arXiv:1804.06609](https://arxiv.org/abs/1804.06609)), whose beam allocation over "banks"
#   transformers follows.
# - **Typical use:** terminology that a translation or a summary must keep, keywords a generated
#   description must mention; one of several forms of a word (`" rain"`, `" rainy"`, `" raining"`).

# %%
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()


def holds(tokens, phrase) -> bool:
    """Whether the token list `tokens` contains the token sequence `phrase`."""
    tokens, n = list(tokens), len(phrase)
    return any(tokens[i : i + n] == list(phrase) for i in range(len(tokens) - n + 1))



# %% tags=["hide-input"]
display(Markdown("**Today in transformers.** " + dl.retired_note("constrained_beam_search")))

# %% [markdown]
# ## A word the model would not choose
#
# Four beams, twelve new tokens, and the phrase `" purple clouds"` that must appear. Beside it, plain
# [beam search](../13_beam_search/) on the same prompt. For each output, the search's own score
# (summed [log-probability](../glossary.md#log-probability) divided by the length) and the mean log-probability per token under the
# model:

# %%
prompt = "The sky is"
NEW, BEAMS = 12, 4
plain = dl.beam_search(lm, prompt, num_beams=BEAMS, max_new_tokens=NEW, num_return_sequences=1)
forced = dl.constrained_beam_search(lm, prompt, [" purple clouds"], num_beams=BEAMS, max_new_tokens=NEW)

phrase = forced.settings["constraints"][0]
rows = [
    [name, lm.text(r.returned[0].tokens), f"{r.returned[0].score:.3f}",
     f"{dl.sequence_logprob(lm, prompt, list(r.returned[0].tokens)) / len(r.returned[0].tokens):.3f}"]
    for name, r in (("beam search", plain), ("constrained: “ purple clouds”", forced))
]
display(Markdown(dl.markdown_table(["decoding", "output", "score", "log p per token"], rows, align="llrr")))

# %% tags=["hide-input"]
out = list(forced.returned[0].tokens)
assert forced.returned[0].constraints_met and holds(out, phrase)
where = next(i for i in range(len(out)) if out[i : i + len(phrase)] == phrase)
n_words = len(phrase)
cost = plain.returned[0].score - forced.returned[0].score
already = holds(plain.returned[0].tokens, phrase)
display(
    Markdown(
        f"The phrase is {n_words} token{'s' if n_words > 1 else ''} here ({', '.join(lm.code(t) for t in phrase)}). "
        + (
            "Plain beam search already says it, so the constraint costs nothing. "
            if already
            else f"Plain beam search never says it; the constrained output holds it at tokens {where + 1}–{where + n_words} "
            f"of {len(out)}, and its score is {cost:.3f} lower: the price of the words, paid in likelihood. "
        )
        + (
            "The phrase ends the output: a pattern the next sections explain."
            if where + n_words == len(out)
            else ""
        )
    )
)

# %% [markdown]
# ## Banks: beams that have met more of the constraints
#
# Plain beam search would drop a beam that takes an unlikely word at once: its score falls below the
# others'. Constrained beam search adds two things to each step.
#
# 1. **Forced candidates.** Besides the best $2N$ candidates ($N$ beams), every live beam is
#    extended by each token that *advances* a constraint: the next token of a phrase it has started,
#    or the first token of one it has not. They enter at their own cumulative score, however low.
# 2. **Banks.** A candidate's bank measures how much of the constraints its sequence has met. With
#    $L$ the longest constraint's length (in tokens), a sequence that has met $m$ constraints and is
#    $j$ tokens into another is in bank $m \cdot L + j$; one that has met all $c$ constraints is in
#    the top bank, $c \cdot L$. With one phrase, the bank is the number of its tokens met. The candidates are sorted by $100 \cdot \text{bank} + \text{score}$ and taken
#    **round-robin**: the best of every bank, then the second best of every bank, and so on, until
#    $N$ beams are chosen.
#
# So every bank keeps a beam as long as there are beams to share out. An [EOS](../glossary.md#eos) finishes a [hypothesis](../glossary.md#hypothesis)
# only if its sequence has met every constraint; at the length limit, the live beams that met them
# join the pool of finished hypotheses.
#
# The tree of the search above, coloured by bank (blue: bank 0, no constraint token yet; green: the
# top bank, all met).
# Hover a node: forced candidates say so.

# %%
dl.beam_tree(forced, lm).show()

# %% tags=["hide-input"]
top = forced.settings["max_bank"]
chosen = [c for c in forced.candidates if c.next_slot is not None]  # every candidate that became a live beam
first_full = min((c.step for c in chosen if c.bank == top), default=None)
n_forced = sum(c.forced for c in forced.candidates)
kept_forced = sum(c.forced for c in chosen)
full_steps = fresh = 0
for step in range(forced.num_steps):
    best_full = max((c for c in chosen if c.step == step and c.bank == top), key=lambda c: c.score, default=None)
    if best_full is not None:
        full_steps += 1
        fresh += best_full.parent is None or forced.candidates[best_full.parent].bank < top
banks_per_step = [len({c.bank for c in chosen if c.step == s}) for s in range(forced.num_steps)]
display(
    Markdown(
        f"The search looked at {len(forced.candidates)} candidates; **{n_forced}** of them were forced (they advance the "
        f"phrase), and {kept_forced} of those became live beams. "
        + (
            f"A beam met the whole phrase as early as step {first_full + 1}. The top bank had beams at {full_steps} of the "
            f"{forced.num_steps} steps, and at **{fresh}** of those its best beam was one that had *just* completed the "
            "phrase, not a descendant of an earlier one. "
            + ("That is the pattern behind the output: a beam that has met the phrase must pay for every token after it, "
               "and a sequence that ran unconstrained and took the phrase at the last moment paid less."
               if fresh * 2 > full_steps else "Beams that met the phrase early mostly lived on.")
            if first_full is not None else "No beam met the whole phrase before the end."
        )
        + f" At most steps the {BEAMS} beams were spread over {max(set(banks_per_step), key=banks_per_step.count)} "
        "banks at once: the round-robin keeps the unfinished banks alive beside the finished one."
    )
)
assert all(c.bank is not None for c in chosen) and all(0 <= c.bank <= top for c in chosen)
assert n_forced > 0 or already

# %% [markdown]
# ## Where the words land
#
# The same search on a few prompts and words. The column "at" says where the phrase starts in the
# output, counted in tokens.

# %%
CASES = [
    ("The sky is", [" purple clouds"]),
    ("Once upon a time, there was a little", [" dragon"]),
    ("The capital of France is", [" Eiffel Tower"]),
    ("My favourite food is", [" cheese"]),
    ("def add(a, b):\n", [" return a + b"]),
    ("The weather today is", [" sunny", " cold"]),
]
found = []
for text, words in CASES:
    r = dl.constrained_beam_search(lm, text, words, num_beams=BEAMS, max_new_tokens=NEW)
    out = list(r.returned[0].tokens)
    starts = [next((i for i in range(len(out)) if out[i : i + len(p)] == p), None) for p in r.settings["constraints"]]
    found.append((text, words, r, starts))

# %% tags=["hide-input"]
rows = [
    [lm.text(lm.tokenizer(text, add_special_tokens=False).input_ids), ", ".join(f"“{w}”" for w in words), lm.text(r.returned[0].tokens),
     ", ".join("–" if s is None else f"{s + 1} of {len(r.returned[0].tokens)}" for s in starts)]
    for text, words, r, starts in found
]
display(Markdown(dl.markdown_table(["prompt", "must contain", "output", "at"], rows, align="lllr")))

# %% tags=["hide-input"]
met = [r.returned[0].constraints_met for _, _, r, _ in found]
at_end = 0
for _, _, r, starts in found:
    out = r.returned[0].tokens
    ends = [s + len(p) for s, p in zip(starts, r.settings["constraints"]) if s is not None]
    at_end += bool(ends) and max(ends) >= len(out) - (1 if r.returned[0].eos else 0)
display(
    Markdown(
        f"All {len(found)} outputs hold their words. " if all(met)
        else f"{sum(met)} of {len(found)} outputs hold their words; the others ran out of tokens first. "
    )
)
display(
    Markdown(
        f"In **{at_end} of {len(found)}** the last constraint token is the output's last token. "
        + (
            "The words tend to come at the very end, and the reason is the score. All these outputs have the same "
            "length, so the search compares summed log-probabilities. A forced word costs about the same wherever it "
            "goes, but every token *after* it is predicted in its light, and a word the model would not have chosen "
            "makes what follows harder to predict. Put last, it leaves nothing to pay for afterwards. Grid beam search "
            "has no notion of fluency around the word; the remedies are a prompt in which the word is natural, a longer "
            "budget with an EOS that can end the text, or reranking several outputs."
            if at_end * 2 >= len(found)
            else "Here the words mostly come before the end: the search found continuations after them that the model "
            "still likes."
        )
    )
)

# %% [markdown]
# ## One of several words: a disjunctive constraint
#
# A list of words inside the list means "one of these". transformers builds a trie of their token
# sequences (no sequence may be the start of another), and a beam advances the constraint with the
# next token of any branch it is on.

# %%
rainy = dl.constrained_beam_search(lm, "The weather today is", [[" rain", " rainy", " raining"]], num_beams=BEAMS, max_new_tokens=NEW)
print(rainy.texts[0])
print("branches:", [[lm.label(t) for t in branch] for branch in rainy.settings["constraints"][0]])

# %% tags=["hide-input"]
branches = rainy.settings["constraints"][0]
taken = [w for w, b in zip([" rain", " rainy", " raining"], branches) if holds(rainy.returned[0].tokens, b)]
assert rainy.returned[0].constraints_met and taken
lengths = sorted({len(b) for b in branches})
display(
    Markdown(
        f"The output took {', '.join(f'“{w}”' for w in taken)}. The branches are "
        + ", ".join(f"{len(b)} token{'s' if len(b) > 1 else ''}" for b in branches)
        + " long; "
        + (
            f"the bank counts a half-done longer branch as {rainy.settings['max_bank'] - 1} of {rainy.settings['max_bank']}, "
            "so a one-token branch is complete at once while a longer one climbs a bank per token."
            if len(lengths) > 1
            else "all of one length, so each one fills the same banks."
        )
    )
)

# %% [markdown]
# ## When the length limit comes first
#
# Below, the search gets one token fewer than the constraints need together. It cannot meet them, and 4.55's `finalize` then fills the pool with the live beams as they
# are: the result comes back **without** its words, and no error says so. Check
# `constraints_met` (or the text).

# %%
words = [" Eiffel Tower", " cheese"]
need = sum(len(lm.tokenizer(w, add_special_tokens=False).input_ids) for w in words)
short = dl.constrained_beam_search(lm, "The capital of France is", words, num_beams=BEAMS, max_new_tokens=need - 1)
fits = dl.constrained_beam_search(lm, "The capital of France is", words, num_beams=BEAMS, max_new_tokens=need + 4)
for name, r in (("max_new_tokens = need − 1", short), ("max_new_tokens = need + 4", fits)):
    print(f"{name:26s} {r.texts[0]!r:60s} constraints met: {r.returned[0].constraints_met}")

# %% tags=["hide-input"]
assert short.returned[0].constraints_met is False and need - 1 == short.num_steps
display(
    Markdown(
        f"The words take {need} tokens. With {need - 1} new tokens the returned beam ends in bank "
        f"{short.candidates[short.returned[0].node].bank} of {short.settings['max_bank']}: part of the way. "
        + (
            f"With {need + 4}, the output holds both."
            if fits.returned[0].constraints_met
            else f"Even with {need + 4} the search did not fit both in."
        )
    )
)

# %% [markdown]
# The same fallback applies to `num_return_sequences`: if fewer beams than that met the
# constraints, every live beam joins the pool, and the returned list can mix outputs with and
# without the words.

# %%
many = dl.constrained_beam_search(lm, "Once upon a time, there was a little", [" cat", " dog"], num_beams=8, max_new_tokens=16,
                                  num_return_sequences=8)
rows = [[h.rank + 1, lm.text(h.tokens), "yes" if h.constraints_met else "**no**", f"{h.score:.3f}"] for h in many.returned]
display(Markdown(dl.markdown_table(["#", "output", "has “ cat” and “ dog”", "score"], rows, align="rlcr")))

# %% tags=["hide-input"]
with_words = sum(h.constraints_met for h in many.returned)
best_has = many.returned[0].constraints_met
display(
    Markdown(
        f"{with_words} of the {len(many.returned)} returned outputs hold both words"
        + (
            "." if with_words == len(many.returned)
            else "; the others fill the list. "
            + ("The best-scored output is one of them: " if not best_has else "The best-scored output does hold them, ")
            + ("without its words, it scores higher than the constrained ones." if not best_has else "but the ones after it do not all.")
        )
    )
)
for h in many.returned:  # the record agrees with the tokens
    assert h.constraints_met == all(holds(list(many.prompt_ids) + list(h.tokens), p) for p in many.settings["constraints"])

# %% [markdown]
# ## What 4.55 did, quirks included
#
# The port keeps 4.55's behaviour exactly, because the tests hold it to 4.55.4's recorded outputs.
# Three of its details are worth knowing when you read its outputs:
#
# - **The prompt counts.** A sequence's state is rebuilt by replaying it from the first token,
#   prompt included: a word already in the prompt is met before the search starts, and the search is
#   then plain beam search.
# - **A broken phrase starts again from nothing.** If a beam is half way through a phrase and takes
#   another token, the phrase goes back to pending, and that token is not tried as the phrase's first.
# - **A shared list.** Copying a state shares, rather than copies, the token list of a disjunctive
#   constraint in progress. When one beam can advance to several branches of a trie in one step, the
#   later branches' banks are counted from a list that the earlier ones already extended. Two of
#   the 23 recorded searches change if the list is copied instead; the test suite checks both.

# %%
in_prompt = dl.constrained_beam_search(lm, "The capital of France is", [" France"], num_beams=BEAMS, max_new_tokens=NEW)
same_as_plain = dl.beam_search(lm, "The capital of France is", num_beams=BEAMS, max_new_tokens=NEW, num_return_sequences=1)
print("forced candidates:", sum(c.forced for c in in_prompt.candidates))
print("constrained:", in_prompt.texts[0])
print("plain:      ", same_as_plain.texts[0])

# %% tags=["hide-input"]
assert sum(c.forced for c in in_prompt.candidates) == 0  # met by the prompt: nothing to force
display(
    Markdown(
        "The word is in the prompt, so no candidate was forced"
        + (", and the output is plain beam search's."
           if in_prompt.returned[0].tokens == same_as_plain.returned[0].tokens
           else "; the outputs still differ, because 4.55's pool rule for finishing (the best candidate of the step, an "
           "EOS included) is not transformers 5's vectorised one (the best live beam).")
    )
)

# %% [markdown]
# ## The cost
#
# One forward pass per step, for all beams at once, as in beam search; the extra work is Python
# bookkeeping: each step rebuilds every beam's constraint state by replaying its sequence.

# %% tags=["hide-input"]
display(
    Markdown(
        f"The first search ran **{forced.forward_passes}** forward passes for {forced.num_steps} steps in {forced.seconds:.2f} s; "
        f"plain beam search ran {plain.forward_passes} for {plain.num_steps} steps in {plain.seconds:.2f} s."
    )
)
assert forced.forward_passes == forced.num_steps

# %% [markdown]
# ## Takeaways
#
# - Constrained beam search forces words into the output without saying where: at every step it
#   adds the candidates that advance a constraint and shares the beams out round-robin over banks,
#   the number of constraint tokens each beam has met.
# - An EOS ends a hypothesis only once every constraint is met; with the same length for every
#   output, the words often come last, where they cost the least.
# - If the length limit comes first, or `num_return_sequences` asks for more beams than met the
#   constraints, the result holds outputs without the words, silently: check `constraints_met`.
#
# **Try it.** Give the first search `max_new_tokens=24` and a prompt after which the phrase is
# natural ("On a stormy evening the sky was full of"). Does the phrase move away from the end? Then
# ask for `[[" purple", " violet"]]` instead: which one does the search take, and at what cost?

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the searches above.

# %% tags=["hide-input"]
two_words = found[-1][2]
longest = max(len(p) for p in two_words.settings["constraints"])
ended = [h for _, _, r, _ in found for h in r.returned if h.eos] + [h for h in many.returned if h.eos]
unmet = [h for h in short.returned + many.returned if not h.constraints_met]  # the outputs above without their words
display(Markdown(dl.exercises([
    (f"“ purple clouds” is {len(phrase)} tokens here. What is the top bank of the first search? And of the search for "
     f"“ sunny” and “ cold”, which are {' and '.join(str(len(p)) for p in two_words.settings['constraints'])} tokens?",
     f"**{forced.settings['max_bank']}** and **{two_words.settings['max_bank']}**: the top bank is $c \\cdot L$, with $c$ "
     f"constraints and $L$ the longest one's length: 1 × {len(phrase)}, and 2 × {longest}."),
    ("Can a returned output end with EOS without its words?",
     "**No**: an EOS finishes a hypothesis only once every constraint is met; outputs without the words come from the "
     "length limit. "
     + f"The {len(unmet)} returned output{'s' if len(unmet) != 1 else ''} above without {'their' if len(unmet) != 1 else 'its'} "
     "words all ran into the length limit: none ends with EOS."
     + (f" All {len(ended)} returned outputs above that end with EOS hold their words." if ended else "")),
])))
assert forced.settings["max_bank"] == len(phrase) and two_words.settings["max_bank"] == 2 * longest
assert unmet and all(h.constraints_met for h in ended) and not any(h.eos for h in unmet)
