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
# # Constraining the output
#
# <div class="admonition abstract">
# <p class="admonition-title">At a glance</p>
#
# - **What:** processors that decide what may be said at all: they ban tokens, bias them, allow only
#   what a [grammar](../glossary.md#grammar) allows, or rule on [EOS](../glossary.md#eos); they act before [temperature](../glossary.md#temperature), [greedy](../glossary.md#greedy) or sampled.
# - **When:** words that must never appear, a format the output must keep (JSON, a fixed set of
#   answers), a length the output must reach or must end at.
# - **In transformers:** `generate(bad_words_ids=[[id]])`, `sequence_bias={(id,): -3.0}`,
#   `prefix_allowed_tokens_fn=fn`, `min_new_tokens=n`, `forced_eos_token_id=eos`,
#   `exponential_decay_length_penalty=(start, factor)`, `suppress_tokens=[id]`.
# - **Typical value:** a [logit bias](../glossary.md#logit-bias) of a few units, since $b$ multiplies a token's odds by $e^b$
#   (±3 is about ×20 or ÷20); a ban is $-\infty$.
#
# </div>
#
# The sampling warpers of the earlier lessons decide *how boldly* to pick from the model's
# distribution. A second family of processors in `generate()` decides *what may be said at all*:
# they ban tokens, bias them, allow only what a grammar allows, or rule on the end-of-sequence
# token ([EOS](../glossary.md#eos)). They are set per call, act with [greedy](../glossary.md#greedy) decoding as well as with sampling, and every
# one of them works the same way: it changes some [scores](../glossary.md#score), often to $-\infty$, before the softmax.
#
# This lesson draws each one as what it removes or shifts on the **full** next-token distribution,
# and checks each against `generate(output_scores=True)`.
#
# | argument | what it does to the scores |
# |---|---|
# | `bad_words_ids` | $-\infty$ for the last token of a listed sequence, once the rest of it is there |
# | `sequence_bias` | adds a bias, positive or negative, to a sequence's last token |
# | `prefix_allowed_tokens_fn` | $-\infty$ for every token a function of the context does not list (a grammar) |
# | `min_new_tokens` | $-\infty$ for EOS until that many tokens exist (the EOS ban) |
# | `forced_eos_token_id` | $-\infty$ for every token *but* EOS at the last step |
# | `exponential_decay_length_penalty` | raises EOS's score more with every token past a start |
# | `suppress_tokens` | $-\infty$ for the listed tokens at every step |

# %%
import json

import torch
from IPython.display import Markdown, display

import decoding_lessons as dl

lm, cap = dl.lesson_setup()
tokenizer = lm.tokenizer
eos = lm.model.generation_config.eos_token_id
eos = eos if isinstance(eos, int) else list(eos)[0]


def ids_of(text):
    """Token ids of `text` from this model's tokenizer (no id is ever written by hand)."""
    return tokenizer(text, add_special_tokens=False).input_ids


# %% [markdown]
# ## Where they sit in generate()'s order
#
# `GenerationMixin._get_logits_processor` appends the processors in a fixed order. The controls
# come **before** temperature and the truncation warpers, and `sequence_bias` comes first of all,
# even before the repetition penalty:

# %%
print(" → ".join(dl.GENERATE_ORDER))

# %% [markdown]
# Two consequences follow. A token a control bans stays banned, whatever the warpers do after it
# (temperature divides $-\infty$ and leaves it $-\infty$). And a bias is divided by the temperature
# like the logit it was added to: with $T = 2$, a bias of $+4$ works like $+2$.

# %% tags=["hide-input"]
_pos = list(dl.GENERATE_ORDER)
assert _pos.index("sequence_bias") < _pos.index("repetition_penalty") < _pos.index("bad_words_ids")
assert all(_pos.index(c) < _pos.index("temperature") for c in dl.CONTROL_ORDER)

# %% [markdown]
# ## Banning words: `bad_words_ids`
#
# `bad_words_ids` is a list of token sequences. For each one, the processor looks at the end of the
# context: if it ends with all of the sequence but its last token, that last token gets $-\infty$.
# A one-token word is therefore banned at every step. transformers builds it as a
# `SequenceBiasLogitsProcessor` with a bias of $-\infty$.
#
# The chart bans the model's favourite next word after a prompt. Blue is the distribution before,
# red after: the banned token drops to zero, and its probability is spread over every other token
# in proportion (softmax renormalises), so the order of the rest does not change.

# %%
prompt = "The colour of the sky on a clear day is"
step = cap(prompt)
favourite = int(step.logits.argmax())
ban = dl.DecodingConfig(bad_words_ids=[[favourite]])
dl.shift_chart(step, ban, k=12).show()

# %%
s = dl.shift(step, ban)
second = int(step.scores(ban).argmax())
display(Markdown(
    f"Banning {lm.code(favourite)} removes {s.removed:.1%} of the probability. Each remaining token is multiplied by "
    f"1 / (1 − {s.removed:.3f}) = {1 / (1 - s.removed):.3f}, so greedy decoding now picks {lm.code(second)}, "
    f"the old second choice."
))

# %% tags=["hide-input"]
_keep = torch.arange(step.logits.numel()) != favourite
assert torch.allclose(s.after[_keep], s.before[_keep] / (1 - s.removed), rtol=1e-4, atol=1e-9)
assert second == int(step.logits.topk(2).indices[1])

# %% [markdown]
# A sequence of several tokens is banned only at its last token, and only once the rest of it is
# there. That is a weakness: the model can still write the first tokens, and is then forced onto
# a detour.

# %%
phrase = ids_of(" blue sky")
ban_phrase = dl.DecodingConfig(bad_words_ids=[phrase])
at_end = cap(step.input_ids[0].tolist() + phrase[:-1])
display(Markdown(
    f"“ blue sky” is {len(phrase)} tokens here: {', '.join(lm.code(t) for t in phrase)}. After “{prompt}”, the ban does "
    f"nothing ({dl.shift(step, ban_phrase).removed:.0%} removed). After “{prompt}{tokenizer.decode(phrase[:-1])}” it removes "
    f"{dl.shift(at_end, ban_phrase).removed:.1%}: the probability of {lm.code(phrase[-1])} there."
))

# %% tags=["hide-input"]
assert len(phrase) >= 2 and dl.shift(step, ban_phrase).removed == 0
assert bool(at_end.scores(ban_phrase)[phrase[-1]].isneginf())

# %% [markdown]
# ## Pushing and pulling: `sequence_bias`
#
# `sequence_bias` maps token sequences to a bias that is **added** to the score of the last token,
# under the same rule as above (a one-token sequence at every step, a longer one only when the rest
# of it ends the context). For one token with probability $p$, a bias $b$ gives
#
# $$p' = \frac{p\,e^b}{1 - p + p\,e^b},$$
#
# so a bias works on the **odds**: it multiplies $p / (1-p)$ by $e^b$. A negative bias is a soft
# ban: the token becomes unlikely but is never removed.

# %%
underdog = int(step.logits.topk(8).indices[7])  # the 8th most likely token
push = dl.DecodingConfig(sequence_bias={(underdog,): 3.0})
pull = dl.DecodingConfig(sequence_bias={(favourite,): -3.0})
dl.shift_chart(step, push, k=10).show()
dl.shift_chart(step, pull, k=10).show()

# %% tags=["hide-input"]
p_under, p_fav = float(step.probs()[underdog]), float(step.probs()[favourite])
up, down = float(step.probs(push)[underdog]), float(step.probs(pull)[favourite])
display(Markdown(
    f"A bias of +3 lifts {lm.code(underdog)} from {p_under:.2%} to {up:.2%} (the formula: "
    f"{p_under * 2.718281828**3 / (1 - p_under + p_under * 2.718281828**3):.2%}); a bias of −3 lowers {lm.code(favourite)} "
    f"from {p_fav:.1%} to {down:.1%}, and it stays in the kept set ({dl.shift(step, pull).kept_after:,} tokens, none removed)."
))

# %% tags=["hide-input"]
_e3 = torch.tensor(3.0).exp().item()
assert abs(up - p_under * _e3 / (1 - p_under + p_under * _e3)) < 1e-5
assert abs(down - p_fav / _e3 / (1 - p_fav + p_fav / _e3)) < 1e-5 and dl.shift(step, pull).removed == 0

# %% [markdown]
# Over a whole generation, each configuration against `generate()` itself: the same tokens, and
# at every step the same scores, bit for bit.

# %%
def same_as_generate(prompt, config, max_new_tokens, seed=0):
    """generate_with_trace against generate(output_scores=True): tokens and every step's scores."""
    out = dl.reference_generate(lm, prompt, config, max_new_tokens=max_new_tokens, seed=seed, scores=True)
    trace = dl.generate_with_trace(lm, prompt, config, max_new_tokens=max_new_tokens, seed=seed, keep_scores=True)
    return torch.equal(trace.sequence, out.sequences) and all(
        torch.equal(s.scores, g[0]) for s, g in zip(trace.steps, out.scores, strict=True)
    ), trace


for name, config in {"ban": ban, "ban a phrase": ban_phrase, "push": push, "pull": pull}.items():
    ok, trace = same_as_generate(prompt, config, 6)
    print(f"{name:13} equals generate(): {ok}   →{trace.visible_text}")
    assert ok

# %% [markdown]
# ## A grammar: `prefix_allowed_tokens_fn`
#
# The strongest control is a function. Before every step `generate()` calls
# `prefix_allowed_tokens_fn(batch_id, input_ids)` with the context so far; every token not in the
# list it returns gets $-\infty$. This is how constrained decoding works, from entity retrieval
# (De Cao et al. 2021, [arXiv:2010.00904](https://arxiv.org/abs/2010.00904), the example in
# transformers' docstring) to JSON-schema libraries.
#
# A small grammar: the answer must be a JSON object `{"colour": …}` with one of four colours.
# `dl.choice_grammar` tokenizes the valid answers with the model's [tokenizer](../glossary.md#tokenizer) and puts their token
# sequences in a trie; after the tokens generated so far it allows the trie node's children, and
# EOS where an answer is complete.

# %%
question = 'Answer in JSON. What colour is the sky on a clear day?\n'
answers = [json.dumps({"colour": c}) for c in ("blue", "grey", "red", "green")]
grammar = dl.choice_grammar(lm, answers, question)
constrained = dl.DecodingConfig(prefix_allowed_tokens_fn=grammar)

free = dl.generate_with_trace(lm, question, dl.DecodingConfig(), max_new_tokens=12)
greedy = dl.generate_with_trace(lm, question, constrained, max_new_tokens=16)
hot = [dl.generate_with_trace(lm, question, constrained.replace(do_sample=True, top_k=0, temperature=2.0), 16, seed=s)
       for s in range(4)]
display(Markdown(dl.markdown_table(
    ["decoding", "output", "valid JSON?"],
    [["greedy, no grammar", f"`{free.text.strip()!r}`", "yes" if free.text.strip() in answers else "no"],
     ["greedy, grammar", f"`{grammar.text(greedy.token_ids)}`", "yes"]]
    + [[f"T = 2, seed {t.seed}, grammar", f"`{grammar.text(t.token_ids)}`", "yes"] for t in hot],
    align="lll",
)))

# %% tags=["hide-input"]
for _t in [greedy, *hot]:
    assert grammar.text(_t.token_ids) in answers and json.loads(grammar.text(_t.token_ids))["colour"]
    assert _t.token_ids[-1] == eos

# %% [markdown]
# Even at temperature 2 every output parses. What the grammar allows is fixed; *which* allowed token comes next is still the model's choice,
# by its own scores. The step where the colours part ways shows it: everything outside the four
# allowed tokens is removed, and the mass left is shared among them in the model's proportions.

# %%
split = next(i for i in range(len(greedy.token_ids)) if len(grammar.allowed(greedy.token_ids[:i])) > 1)
branch = cap(greedy.prompt_ids[0].tolist() + greedy.token_ids[:split])
allowed = grammar.allowed(greedy.token_ids[:split])
dl.shift_chart(branch, constrained, k=8, highlight=allowed).show()

# %%
g = dl.shift(branch, constrained)
raw = {t: float(branch.probs()[t]) for t in allowed}
display(Markdown(
    f"At new token {split + 1} the grammar allows {len(allowed)} tokens ({', '.join(lm.code(t) for t in allowed)}). "
    f"Together the model gave them {sum(raw.values()):.1%}; the grammar removes the other {g.removed:.1%} and scales them "
    f"up to 100%."
))

# %% tags=["hide-input"]
assert g.kept_after == len(allowed) and abs(g.removed - (1 - sum(raw.values()))) < 1e-4
assert abs(float(g.after[allowed].sum()) - 1) < 1e-5

# %%
for name, config in {"grammar, greedy": constrained, "grammar, T = 2": hot[0].config}.items():
    ok, _ = same_as_generate(question, config, 16, seed=hot[0].seed)
    print(f"{name:16} equals generate(): {ok}")
    assert ok

# %% [markdown]
# A grammar can also allow *nothing*: a bug in the function, or a context it did not foresee.
# `generate()` refuses it with a `ValueError` ("returned an empty list … the constraint is
# unsatisfiable"); `decoding_lessons` refuses it too, before transformers sees it, and says where:

# %%
def nothing(batch_id, input_ids):
    return []


try:
    cap(question).scores(dl.DecodingConfig(prefix_allowed_tokens_fn=nothing))
except ValueError as error:
    print(error)

# %% [markdown]
# ## The EOS rules
#
# Three controls act on EOS alone. The prompt below is a short question whose answer is given, so
# the model may well want to stop: here is the probability of EOS at each step of a greedy
# generation.

# %%
short = "Question: Is the sky blue?\nAnswer: Yes."
new_tokens = 16
plain = dl.generate_with_trace(lm, short, dl.DecodingConfig(), max_new_tokens=new_tokens, keep_scores=True)
peak = max(range(len(plain.steps)), key=lambda i: float(torch.softmax(plain.steps[i].scores, -1)[eos]))
display(Markdown(
    f"Greedy decoding writes {len(plain.steps)} tokens (“{lm.text(plain.token_ids)}”)"
    + (", ending with EOS." if plain.token_ids[-1] == eos else f", without EOS: it runs into the limit of {new_tokens}.")
    + f" EOS is most likely at new token {peak + 1}, with p = {float(torch.softmax(plain.steps[peak].scores, -1)[eos]):.1%}."
))

# %% [markdown]
# ### The EOS ban: `min_new_tokens`
#
# `min_new_tokens=n` gives EOS $-\infty$ until $n$ new tokens exist. At the step where EOS was most
# likely (counted from the prompt, which is why the processor needs the prompt's length), the ban
# removes exactly EOS's probability:

# %%
at_peak = cap(plain.prompt_ids[0].tolist() + plain.token_ids[:peak])
eos_ban = dl.DecodingConfig(min_new_tokens=peak + 2)
prompt_length = plain.prompt_ids.shape[1]
dl.shift_chart(at_peak, eos_ban, k=10, highlight=[eos], prompt_length=prompt_length).show()

# %%
banned = dl.generate_with_trace(lm, short, eos_ban, max_new_tokens=new_tokens)
display(Markdown(
    f"With `min_new_tokens={peak + 2}` the generation is {len(banned.steps)} tokens long: "
    f"“{lm.text(banned.token_ids)}”. EOS is not in its first {peak + 2} tokens"
    + (", and it appears later." if eos in banned.token_ids else ".")
))

# %% tags=["hide-input"]
assert eos not in banned.token_ids[: peak + 2]
assert dl.shift(at_peak, eos_ban, prompt_length=prompt_length).removed == float(at_peak.probs()[eos])

# %% [markdown]
# `suppress_tokens=[eos]` would do the same at every step, for good. Unlike `min_new_tokens`, it
# can be combined with nothing that needs EOS: asking to force a token you also suppress is refused.

# %%
try:
    dl.DecodingConfig(forced_eos_token_id=eos, suppress_tokens=[eos])
except ValueError as error:
    print(error)

# %% [markdown]
# ### Forced EOS: `forced_eos_token_id`
#
# `forced_eos_token_id` acts once, at the step that reaches `max_length` (prompt + `max_new_tokens`):
# every token but EOS gets $-\infty$, so a generation that runs to the limit still ends properly.
# It needs to know the limit, which a single captured step does not: `max_new_tokens=` says which
# step is the last.

# %%
force = dl.DecodingConfig(forced_eos_token_id=eos)
first = cap(short)
dl.shift_chart(first, force, k=10, highlight=[eos], max_new_tokens=1).show()

# %%
forced_run = dl.generate_with_trace(lm, short, force, max_new_tokens=6)
f = dl.shift(first, force, max_new_tokens=1)
display(Markdown(
    f"On the last step it removes {f.removed:.1%} of the probability, everything but EOS. On the other steps it does "
    f"nothing. A 6-token generation: “{lm.text(forced_run.token_ids[:-1])}” and then EOS."
))

# %% tags=["hide-input"]
assert f.kept_after == 1 and forced_run.token_ids[-1] == eos and len(forced_run.steps) <= 6
assert torch.equal(first.scores(force, max_new_tokens=2), first.logits)

# %% [markdown]
# ### The exponential length penalty: `exponential_decay_length_penalty`
#
# `exponential_decay_length_penalty=(start, factor)` does not force anything. From `start` new
# tokens on, it adds to EOS's score
#
# $$\Delta = |s_{\text{EOS}}| \cdot (\text{factor}^{\,n} - 1),$$
#
# with $n$ the number of tokens past the start. The bonus grows exponentially, so EOS becomes
# likely at a natural stopping point a little after `start`, rather than at a hard cut. The chart
# follows EOS's probability through two sampled generations with the same seed, with and without
# the penalty.

# %%
story = "Once upon a time"
sampling = dl.DecodingConfig(do_sample=True, top_k=0, temperature=0.8)
decay = sampling.replace(exponential_decay_length_penalty=(4, 1.5))
runs = {label: dl.generate_with_trace(lm, story, config, max_new_tokens=20, seed=1, keep_scores=True)
        for label, config in {"no penalty": sampling, "(4, 1.5)": decay}.items()}
dl.mass_chart({label: [torch.softmax(s.scores, -1) for s in t.steps] for label, t in runs.items()}, {"EOS": [eos]},
              title=f"P(EOS) at each step after “{story}”").show()

# %% tags=["hide-input"]
lengths = {label: len(t.steps) for label, t in runs.items()}
display(Markdown(
    f"Without the penalty the story runs to {lengths['no penalty']} tokens; with `(4, 1.5)` it stops after "
    f"{lengths['(4, 1.5)']}: “{lm.text(runs['(4, 1.5)'].token_ids)}”."
))

# %% tags=["hide-input"]
assert runs["(4, 1.5)"].token_ids[-1] == eos and lengths["(4, 1.5)"] < 20
_ctx = runs["(4, 1.5)"].prompt_ids[0].tolist() + runs["(4, 1.5)"].token_ids[:6]
_s, _l = cap(_ctx).scores(decay, prompt_length=runs["(4, 1.5)"].prompt_ids.shape[1]), cap(_ctx).logits
_n = 6 - 4  # after 6 new tokens: cur_len − (prompt + start)
assert abs(float(_s[eos] * 0.8) - (float(_l[eos]) + abs(float(_l[eos])) * (1.5**_n - 1))) < 1e-3

# %% [markdown]
# ### Everything together, against generate()
#
# The EOS rules combined with sampling warpers, a ban and a suppressed token, over whole
# generations: the same tokens and the same scores at every step as
# `generate(output_scores=True)`.

# %%
everything = dl.DecodingConfig(
    do_sample=True, temperature=0.9, top_p=0.95, top_k=40, min_new_tokens=3, forced_eos_token_id=eos,
    exponential_decay_length_penalty=(6, 1.3), bad_words_ids=[[favourite]], suppress_tokens=ids_of("\n")[-1:],
)
for config, seed in ((eos_ban, 0), (force, 0), (decay, 1), (everything, 2)):
    ok, trace = same_as_generate(short if config is not decay else story, config, 10, seed=seed)
    print(f"{config.describe()[:70]:72} seed {seed}: {ok}")
    assert ok

# %% [markdown]
# ## Summary
#
# - The controls act **before** temperature and truncation, with greedy decoding as well as with
#   sampling, and they act on the full distribution: a ban removes a token's mass and renormalises
#   the rest; a bias multiplies a token's odds by $e^b$.
# - `bad_words_ids` and `sequence_bias` look at the end of the context: a multi-token sequence is
#   caught only at its last token.
# - `prefix_allowed_tokens_fn` turns a grammar into a mask; the model still ranks what the grammar
#   allows. It must allow something at every step.
# - `min_new_tokens` bans EOS early, `forced_eos_token_id` forces it last, and
#   `exponential_decay_length_penalty` makes it ever more likely after a start, without a hard cut.

# %% [markdown]
# ## Exercises
#
# Predict first, then open the answer. Every answer is computed from the same captured logits as
# the charts above.

# %% tags=["hide-input"]
warm = dl.DecodingConfig(do_sample=True, top_k=0, temperature=2.0)
hot_ban = step.scores(ban.replace(do_sample=True, top_k=0, temperature=2.0))[favourite]


def odds(p):
    return p / (1 - p)


gain = odds(float(step.probs(push.replace(do_sample=True, top_k=0, temperature=2.0))[underdog])) / odds(float(step.probs(warm)[underdog]))
eos_banned = {n: bool(at_peak.scores(dl.DecodingConfig(min_new_tokens=n), prompt_length=prompt_length)[eos].isneginf())
              for n in (peak, peak + 1) if n >= 1}
display(Markdown(dl.exercises([
    (f"Ban {lm.code(favourite)} with `bad_words_ids`, then sample at $T = 2$, which flattens the distribution. Can "
     f"{lm.code(favourite)} be drawn now?",
     f"**No**: its score is {float(hot_ban)}. The ban comes before temperature, and $-\\infty / 2$ is still $-\\infty$."),
    (f"`sequence_bias={{({underdog},): 3.0}}` together with `temperature=2.0`: by how much are the odds of "
     f"{lm.code(underdog)} multiplied?",
     f"**{gain:.2f}**, that is $e^{{1.5}}$, not $e^3 = 20.09$: the bias is added before temperature, so it is "
     "divided by $T$ along with the logit."),
    (f"At new token {peak + 1} of the greedy answer, {peak} new token{'s' if peak != 1 else ''} exist. Does "
     f"`min_new_tokens={peak + 1}` ban EOS there?"
     + (f" And `min_new_tokens={peak}`?" if peak >= 1 else ""),
     f"**{'Yes' if eos_banned[peak + 1] else 'No'}** for {peak + 1}: EOS is banned while fewer than `min_new_tokens` "
     f"new tokens exist, and only {peak} do."
     + (f" **{'Yes' if eos_banned[peak] else 'No'}** for {peak}: {peak} already exist." if peak >= 1 else "")),
])))
assert bool(hot_ban.isneginf())
assert abs(gain / torch.tensor(1.5).exp().item() - 1) < 1e-3
assert eos_banned[peak + 1] and not eos_banned.get(peak, False)
