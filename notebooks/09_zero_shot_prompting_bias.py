# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: keep_output,tags,jupyter,slideshow,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 09 · Zero- and few-shot, prompting, and bias
#
# The article ends (§5) with two trends beside efficient models: **few-shot learning** — GPT-3
# showed that a prompt can classify with no or a handful of labelled examples — and **ethics
# and bias** — models pick up associations about groups of people, which debiasing methods
# try to remove. This notebook measures both on AG News and on the course's own encoder:
#
# 1. **Zero-shot** — classify by similarity to a sentence describing each class, with the
#    wording chosen on validation rows and then scored once on test rows; and a cloze prompt.
# 2. **Few-shot** — $k = 4 \ldots 32$ labelled stories per class, the same rows for three
#    methods: a linear probe on frozen embeddings, fine-tuning, and **SetFit**.
# 3. **Prompting, as GPT-3 does it** — a prompt scorer for a causal LM, written out and
#    checked against the package's batched version.
# 4. **Bias** — a WEAT test on embeddings with the noise of its effect size measured, a
#    projection that removes a "gender direction", and a counterfactual test of notebook 06's
#    classifier with a cluster bootstrap over its templates.
#
# Every choice is made on validation rows; test rows score each final method once.

# %% slideshow={"slide_type": "skip"}
import copy
import math
import time

import datasets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.checkpoints import (
    checkpoint_available,
    load_pretrained,
    missing_checkpoint_message,
)
from nlpcourse.data.runs import saved_classifier
from nlpcourse.data.splits import ag_news_three_way, stratified_subset
from nlpcourse.evaluate import bias, counterfactual, fewshot, prompting, stats
from nlpcourse.evaluate.comparison import compare_variants, verdict
from nlpcourse.models.heads import EncoderClassifier
from nlpcourse.models.pooling import encode
from nlpcourse.text.hf_batches import make_loader, tokenize_dataset
from nlpcourse.train import optim
from nlpcourse.train.loop import fit, predict

with fewshot.quiet_setfit():  # transformers' model imports load torchao, which reports GPU kernels
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        GPT2Config,
        GPT2LMHeadModel,
        get_linear_schedule_with_warmup,
    )

hf_logging.set_verbosity_error()  # no load reports
hf_logging.disable_progress_bar()  # no "Loading weights" bars
datasets.disable_progress_bars()  # no "Map" bars

profile = get_profile()
seed_everything(profile.seed)
cfg = profile.zero_shot_bias
device = get_device()
notebook_start = time.perf_counter()
print(f"profile {profile.name!r} · encoder {profile.bert} · device {device}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1 · The data and the encoder
#
# Notebook 06's three parts of AG News, rebuilt with the same helper and seed: the
# **validation** rows make every choice, the **test** rows score each final method once, and
# a **pool** of labelled training rows is where the few-shot examples come from.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
agnews = profile.agnews
parts = ag_news_three_way(
    agnews.use_official_train, agnews.test_size, agnews.val_size, profile.seed
)
class_names = parts["train"].features["label"].names
val_set = stratified_subset(parts["validation"], cfg.eval_size, profile.seed)
test_set = parts["test"]
pool_set = stratified_subset(parts["train"], cfg.fewshot_pool_size, profile.seed)
val_labels, test_labels = np.array(val_set["label"]), np.array(test_set["label"])
pool_labels, pool_texts = np.array(pool_set["label"]), list(pool_set["text"])
for name, part in (("few-shot pool", pool_set), ("validation", val_set), ("test", test_set)):
    counts = np.bincount(part["label"], minlength=len(class_names)).tolist()
    print(f"{name:>14}: {len(part):>5,} rows · per class {counts}")
print("classes:", class_names)

# %% [markdown] slideshow={"slide_type": "subslide"}
# In `quick`, `profile.bert` is `sentence-transformers/all-MiniLM-L6-v2`, trained so that its
# mean-pooled, normalised vectors are sentence embeddings: texts about the same thing land
# close together. (In `full` it is `bert-base-uncased`, whose mean-pooled vectors were never
# trained for similarity; there the cloze prompt is the zero-shot method to watch.) Every text
# is embedded **once**; everything below reuses these three matrices.

# %% slideshow={"slide_type": "-"}
tokenizer = load_pretrained(AutoTokenizer, profile.bert)
encoder = load_pretrained(AutoModel, profile.bert).to(device).eval()
# mean-pooled and normalised to unit length, as the model was trained to be used
val_emb = encode(list(val_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_val, H)
test_emb = encode(list(test_set["text"]), encoder, tokenizer, max_len=cfg.max_len)  # (n_test, H)
pool_emb = encode(pool_texts, encoder, tokenizer, max_len=cfg.max_len)  # (n_pool, H)
print(
    f"embeddings: validation {tuple(val_emb.shape)}, test {tuple(test_emb.shape)}, pool {tuple(pool_emb.shape)}"
)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2 · Zero-shot by similarity: the wording is a choice
#
# Embed one text per class, and give each story the class whose text is nearest (highest
# cosine). Three ways to describe the same four classes: the bare label names, a prompt
# template around them, and a sentence per class saying what such news is about. Picking one
# is a choice, so it is made on the validation rows.

# %% slideshow={"slide_type": "-"}
descriptions = {
    "label names": class_names,
    "template": [
        f"This news is about {topic}."
        for topic in ("the world", "sports", "business", "science and technology")
    ],
    "descriptions": [
        "World news: politics, governments, elections, war and diplomacy around the world.",
        "Sports news: games, matches, teams, players, scores and championships.",
        "Business news: companies, markets, stocks, earnings, oil prices and the economy.",
        "Science and technology news: computers, software, the internet, space and research.",
    ],
}
label_emb = {how: encode(texts, encoder, tokenizer) for how, texts in descriptions.items()}
val_zero_shot = {
    how: fewshot.zero_shot_predict(val_emb, emb) for how, emb in label_emb.items()
}  # (n_val,) each
wording_table = compare_variants(
    val_labels, val_zero_shot, against={"template": "label names", "descriptions": "label names"}
)
best_wording = wording_table["accuracy"].idxmax()  # the choice, on validation
print(f"{len(val_labels):,} validation rows (chance 0.25); chosen wording: {best_wording!r}")
wording_table.round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# On the 600 validation rows the class descriptions win clearly: 0.783, against 0.688 for
# the template and 0.600 for the bare label names (+0.183 [0.142, 0.223] over the names,
# paired). The chosen wording now meets the test rows, once. No other wording is scored on
# them.

# %% slideshow={"slide_type": "-"}
test_zero_shot = fewshot.zero_shot_predict(test_emb, label_emb[best_wording])  # (n_test,)
zero_shot_test = stats.bootstrap_accuracy(test_labels, test_zero_shot)
print(
    f"zero-shot ({best_wording}) on {len(test_labels):,} test rows: accuracy "
    f"{zero_shot_test.estimate:.3f} [{zero_shot_test.low:.3f}, {zero_shot_test.high:.3f}]"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# On 1,520 test rows the descriptions score 0.788 [0.768, 0.809], in line with their
# validation score: with no labelled example, about four stories in five land in the right
# class.
#
# ### Zero-shot by a cloze prompt
#
# A masked language model fills in "This news is about [MASK]." and we compare its scores for
# *world*, *sports*, *business*, *technology* (`fewshot.cloze_scores`, tested on a tiny BERT).
# This needs a checkpoint with its masked-LM head (`profile.masked_lm`); `quick` sets none, so
# here the cell prints one line saying it did not run, and no cloze number is claimed.

# %% slideshow={"slide_type": "-"}
cloze_words = ["world", "sports", "business", "technology"]
if profile.masked_lm is None:
    print(
        f"Cloze prompt not run: profile {profile.name!r} sets no masked-LM checkpoint "
        f"({profile.bert} ships without its masked-LM head); NLPCOURSE_PROFILE=full runs it."
    )
elif not checkpoint_available(profile.masked_lm):
    print(f"Cloze prompt not run: {missing_checkpoint_message(profile.masked_lm)}")
else:
    mlm_tokenizer = load_pretrained(AutoTokenizer, profile.masked_lm)
    mlm = load_pretrained(AutoModelForMaskedLM, profile.masked_lm).to(device).eval()
    template = "{text} This news is about " + mlm_tokenizer.mask_token + "."
    scores = fewshot.cloze_scores(
        list(test_set["text"]), mlm, mlm_tokenizer, template, cloze_words, max_len=cfg.max_len + 12
    )  # (n_test, 4): the masked-LM's logit of each label word at [MASK]
    cloze = stats.bootstrap_accuracy(test_labels, scores.argmax(dim=1).numpy())
    print(f"cloze zero-shot with {profile.masked_lm}, {len(test_labels):,} test rows: {cloze}")
    del mlm

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3 · Few-shot: 4 to 32 labelled examples per class, three ways
#
# Now allow $k$ labelled stories per class, drawn from the pool with a seed
# (`fewshot.sample_k_per_class` takes exactly $k$ of each class). Three ways to use the *same*
# $4k$ examples:
#
# * **a linear probe** — keep the encoder frozen, fit a logistic regression on the cached
#   embeddings (no gradient through the encoder);
# * **fine-tuning** — train the encoder and a linear head on mean-pooled vectors, for a fixed
#   number of optimizer steps, the body at a small learning rate and the head at a large one;
# * **SetFit** (Tunstall et al., 2022) — first fine-tune the sentence encoder *contrastively*
#   on pairs of the examples (same class: cosine pulled towards 1; different classes: towards
#   0), then fit a logistic regression on the new embeddings. Pairs multiply the data: $4k$
#   examples make $\binom{4k}{2}$ pairs.
#
# Every size and learning rate comes from `ZeroShotBiasConfig`, fixed before any run; no
# choice is made among these runs, so they are scored directly on test rows, once.

# %% keep_output=true slideshow={"slide_type": "-"}
# NBVAL_CHECK_OUTPUT
seeds = [profile.seed + s for s in range(cfg.few_shot_seeds)]
for k in cfg.shots:
    picked = fewshot.sample_k_per_class(pool_labels, k, seeds[0])
    per_class = np.bincount(pool_labels[picked]).tolist()
    print(
        f"k={k:>2}: {len(picked):>3} examples, per class {per_class}, {math.comb(len(picked), 2):>5,} pairs"
    )
print(
    f"fine-tuning: {cfg.finetune_steps} steps of {cfg.finetune_batch_size} examples; "
    f"SetFit: {cfg.setfit_steps} steps of {cfg.setfit_batch_size} pairs, then its head"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Three functions, one per method; each gets the indices of the $4k$ examples and a seed and
# returns its predictions for the same test rows. SetFit runs through the package's thin
# wrapper (`fewshot.train_setfit`: a copy of the one loaded encoder, no progress bars, no
# checkpoints on disk), on the same checkpoint as the other two.

# %% slideshow={"slide_type": "-"}
numbered_test = test_set.add_column("row", range(len(test_set)))
fs_rows = np.sort(stratified_subset(numbered_test, cfg.fewshot_test_size, profile.seed)["row"])
fs_labels, fs_texts = test_labels[fs_rows], [test_set[int(i)]["text"] for i in fs_rows]
fs_loader = make_loader(
    tokenize_dataset(test_set.select(fs_rows), tokenizer, cfg.max_len), tokenizer, batch_size=64
)
tok_pool = tokenize_dataset(pool_set, tokenizer, cfg.max_len)
# the same checkpoint, as SetFit loads it
setfit_body = fewshot.sentence_body(profile.bert, cfg.max_len)


def probe_predictions(indices, seed):
    probe = LogisticRegression(max_iter=1_000, random_state=seed)
    probe.fit(pool_emb[indices], pool_labels[indices])  # (4k, H) frozen embeddings
    return probe.predict(test_emb[fs_rows])  # (n_fs,)


def finetune_predictions(indices, seed):
    seed_everything(seed)
    model = EncoderClassifier(copy.deepcopy(encoder), len(class_names), pooling="mean")
    groups = optim.param_groups(model, cfg.finetune_body_lr, cfg.finetune_head_lr, head=("head",))
    loader = fewshot.fixed_steps_loader(
        tok_pool.select(indices), tokenizer, cfg.finetune_batch_size, cfg.finetune_steps, seed
    )
    fit(model, loader, epochs=1, optimizer=torch.optim.AdamW(groups), progress=False)
    return predict(model, fs_loader).argmax(dim=-1).numpy()  # (n_fs,)


def setfit_predictions(indices, seed):
    model = fewshot.train_setfit(
        setfit_body,
        [pool_texts[i] for i in indices],
        pool_labels[indices],
        steps=cfg.setfit_steps,
        batch_size=cfg.setfit_batch_size,
        body_lr=cfg.setfit_body_lr,
        seed=seed,
    )
    return fewshot.setfit_predict(model, fs_texts)  # (n_fs,)


methods = {
    "probe": probe_predictions,
    "fine-tuning": finetune_predictions,
    "SetFit": setfit_predictions,
}
few_shot = {}  # (method, k, seed) -> (n_fs,) predicted classes
for k, seed in tqdm([(k, s) for k in cfg.shots for s in seeds], desc="k × seed"):
    picked = fewshot.sample_k_per_class(pool_labels, k, seed)  # the same 4k rows for all three
    for method, run in methods.items():
        few_shot[method, k, seed] = run(picked, seed)

# %% [markdown] slideshow={"slide_type": "subslide"}
# First the learning curves: test accuracy against $k$, mean ± standard deviation over the
# seeds (each seed draws other examples), with the zero-shot line from section 2 on the same
# rows.

# %% slideshow={"slide_type": "-"}
accuracy = {
    key: float((predicted == fs_labels).mean()) for key, predicted in few_shot.items()
}  # (method, k, seed) -> accuracy
zero_shot_fs = float((test_zero_shot[fs_rows] == fs_labels).mean())
fig, ax = plt.subplots(figsize=(6.5, 4))
curve = {}
for color, method in zip(("C0", "C1", "C2"), methods, strict=True):
    per_k = [[accuracy[method, k, s] for s in seeds] for k in cfg.shots]
    mean, sd = np.array([np.mean(v) for v in per_k]), np.array([np.std(v, ddof=1) for v in per_k])
    curve[method] = [stats.format_mean_sd(v, 3) for v in per_k]
    ax.plot(cfg.shots, mean, "o-", color=color, label=method)
    ax.fill_between(cfg.shots, mean - sd, mean + sd, color=color, alpha=0.2)
ax.axhline(zero_shot_fs, color="gray", ls="--", label=f"zero-shot ({best_wording})")
ax.axhline(0.25, color="gray", ls=":", label="chance")
ax.set_xscale("log", base=2)
ax.minorticks_off()
ax.set(xticks=list(cfg.shots), xticklabels=[str(k) for k in cfg.shots], ylim=(0.2, 1))
ax.set(xlabel="labelled examples per class (k)", ylabel=f"accuracy, {len(fs_rows)} test rows")
ax.set_title(f"{len(seeds)} seeds per point (band: ± 1 sd)")
ax.legend(loc="lower right", fontsize=8)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
print(f"zero-shot on the same {len(fs_rows)} rows: {zero_shot_fs:.3f}")
pd.DataFrame(curve, index=pd.Index(cfg.shots, name="k"))

# %% [markdown] slideshow={"slide_type": "subslide"}
# Then the comparison in pairs. For every method, $k$ and seed the predictions cover the same
# test rows, so each row has a per-method correctness averaged over the seeds; the difference
# to SetFit is bootstrapped over the rows (`stats.bootstrap_mean`). The interval covers which
# test rows were drawn, not which examples or seeds were (that spread is the band above). Where
# it includes zero, the last column says how small a difference this many rows could have shown.


# %% slideshow={"slide_type": "-"}
def seed_mean_correct(method, k):
    return np.mean([few_shot[method, k, s] == fs_labels for s in seeds], axis=0)  # (n_fs,)


rows = []
for k in cfg.shots:
    for method in ("probe", "fine-tuning"):
        diff = stats.bootstrap_mean(seed_mean_correct(method, k) - seed_mean_correct("SetFit", k))
        rows.append(
            {
                "k": k,
                "method − SetFit": method,
                "difference": diff.estimate,
                "low": diff.low,
                "high": diff.high,
                "verdict": verdict(diff),
                "detectable": stats.interval_min_detectable_difference(diff)
                if not diff.excludes_zero()
                else np.nan,
            }
        )
pd.DataFrame(rows).set_index(["k", "method − SetFit"]).round(3)

# %% [markdown] slideshow={"slide_type": "subslide"}
# How to read the two outputs. The dashed line, zero-shot on the same 200 test rows, is at
# 0.765. At $k = 4$ every method is below it (probe 0.640, SetFit 0.677, fine-tuning 0.718);
# from $k = 16$ every method is at or above it (0.785 to 0.802), and at $k = 32$ the three
# lie within 0.010 of each other (0.810 to 0.820). In pairs against SetFit: at $k = 4$
# fine-tuning is higher by 0.040 [0.008, 0.075] and the probe lower by 0.038 [0.020, 0.058];
# at $k = 8$ the probe is still lower, by 0.018 [0.002, 0.035], while fine-tuning and SetFit
# differ by nothing measurable; from $k = 16$ no difference is measurable at all, and the
# detectable column says how large one would have had to be: about 0.01 against the probe,
# about 0.05 against fine-tuning. SetFit stays close to the probe
# throughout — what one would expect if its 4 contrastive steps moved the encoder little;
# this notebook does not measure how far they moved it.
#
# What `quick`'s size can and cannot show. Two seeds per point, 200 test rows, 8 fine-tuning
# steps and 4 SetFit steps (the sizes that keep the notebook within its CPU budget) show the
# order of the methods at $k = 4$ and that the gaps close by $k = 16$; they cannot show
# differences smaller than the detectable column (about 0.05 between SetFit and fine-tuning),
# and two seeds give a standard deviation (0.007 to 0.060 above) that says the draw of
# examples matters, not how much. Nor do they speak for SetFit as published, which trains on
# far more pairs per example; `full` runs 5 seeds, 2,000 test rows and 15 SetFit steps. The
# two trained methods get the same encoder passes (SetFit's pairs hold two texts each) and
# neither is tuned on these rows.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4 · Prompting, as GPT-3 does it
#
# A causal LM predicts the next token. To classify with it, write the task into the input —
# an instruction, optionally $k$ solved examples per class ("demonstrations"), then the query
# ending where the answer goes — and ask which label word the model finds most likely next.
# *Zero-shot* is the instruction alone; *few-shot* adds demonstrations; the weights never
# change (in-context learning). A label word may be several tokens: its score is the sum of
# the log-probabilities of its tokens, each given the prompt and the tokens before it.
#
# A prompt with one solved example per class, drawn from the labelled pool:

# %% slideshow={"slide_type": "-"}
label_words = ["World", "Sports", "Business", "Technology"]  # one word per class, in class order
instruction = "Classify each news story as World, Sports, Business or Technology."
examples = prompting.demonstrations(pool_texts, pool_labels, label_words, k=1, seed=profile.seed)
print(
    prompting.build_prompt(
        val_set[0]["text"], examples, instruction, max_words=cfg.prompt_max_words
    )
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# The scorer, written out for one prompt: append each label word's tokens to the prompt's,
# run the model once, and add up the log-probabilities the model gave those tokens — the token
# at position $t$ is predicted at position $t-1$.


# %% slideshow={"slide_type": "-"}
@torch.no_grad()
def label_log_likelihoods(prompt, words, model, tok):
    prompt_ids = tok(prompt)["input_ids"]  # the prompt as the model reads it
    scores = []
    for word in words:
        word_ids = tok(" " + word, add_special_tokens=False)["input_ids"]  # after "Answer:"
        ids = torch.tensor([prompt_ids + word_ids], device=model.device)  # (1, P + m)
        log_probs = F.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)  # (P + m, V)
        at = torch.arange(len(prompt_ids) - 1, len(prompt_ids) + len(word_ids) - 1)  # (m,)
        scores.append(log_probs[at, torch.tensor(word_ids)].sum())  # log p(word | prompt)
    return torch.stack(scores).cpu()  # (labels,)


# %% [markdown] slideshow={"slide_type": "subslide"}
# The package's `prompting.score_labels` does the same for many prompts at once: it left-pads
# a batch, runs each prompt once and feeds longer label words on top of the prompt's key-value
# cache. The two must agree whether a real checkpoint is at hand or not, so we check them on
# a tiny GPT-2 built from a config (random weights: its scores mean nothing, only the
# equality does) with this notebook's tokenizer, on three prompts of different lengths:

# %% slideshow={"slide_type": "-"}
torch.manual_seed(profile.seed)
tiny_lm = GPT2LMHeadModel(
    GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
).eval()
queries = list(val_set["text"][:3])
prompt_settings = dict(instruction=instruction, max_words=cfg.prompt_max_words)
batched = prompting.score_labels(
    queries, tiny_lm, tokenizer, label_words, examples=examples, **prompt_settings
)  # (3, 4)
by_hand = torch.stack(
    [
        label_log_likelihoods(
            prompting.build_prompt(q, examples, **prompt_settings), label_words, tiny_lm, tokenizer
        )
        for q in queries
    ]
)  # (3, 4)
torch.testing.assert_close(by_hand, batched, atol=1e-4, rtol=1e-4)
print("label_log_likelihoods equals prompting.score_labels on a tiny GPT-2:", tuple(batched.shape))

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### A real causal LM against the encoder, on the same test rows
#
# `profile.causal_lm` names a small instruct model in `quick` and a larger one in `full`
# (`python -m nlpcourse download` fetches it). No choice is made among the prompts, so they
# are scored on test rows: zero-shot against the similarity classifier with the wording chosen
# in section 2, $k$-shot against the linear probe trained on the **same** $k$ examples per
# class (`prompting.demonstrations` and the probe draw them with the same seed).

# %% slideshow={"slide_type": "-"}
if not checkpoint_available(profile.causal_lm):
    print(
        f"Prompting not run: {profile.causal_lm!r} is not reachable (offline, not in the hub cache)."
    )
else:
    lm, lm_tokenizer = prompting.load_causal_lm(profile.causal_lm)
    lm.to(device)
    prompt_rows = np.sort(
        stratified_subset(numbered_test, cfg.prompt_eval_size, profile.seed)["row"]
    )
    prompt_texts, prompt_labels = (
        [test_set[int(i)]["text"] for i in prompt_rows],
        test_labels[prompt_rows],
    )
    one = prompting.build_prompt(prompt_texts[0], examples, **prompt_settings)
    torch.testing.assert_close(  # the hand-written scorer agrees on the real model too
        label_log_likelihoods(one, label_words, lm, lm_tokenizer),
        prompting.score_labels(
            prompt_texts[:1], lm, lm_tokenizer, label_words, examples=examples, **prompt_settings
        )[0],
        atol=1e-3,
        rtol=1e-3,
    )
    prompt_predictions, counterparts = {}, {}
    for k in cfg.prompt_shots:
        shots = (
            prompting.demonstrations(pool_texts, pool_labels, label_words, k, profile.seed)
            if k
            else []
        )
        scores = prompting.score_labels(
            prompt_texts,
            lm,
            lm_tokenizer,
            label_words,
            examples=shots,
            progress=True,
            batch_size=cfg.prompt_batch_size,
            **prompt_settings,
        )
        prompt_predictions[f"prompt, k={k}"] = scores.argmax(dim=1).numpy()  # (n,)
        if k == 0:
            baseline, name = test_zero_shot[prompt_rows], f"similarity ({best_wording})"
        else:
            picked = fewshot.sample_k_per_class(pool_labels, k, profile.seed)  # the same examples
            probe = LogisticRegression(max_iter=1_000).fit(pool_emb[picked], pool_labels[picked])
            baseline, name = probe.predict(test_emb[prompt_rows]), f"probe, k={k}"
        prompt_predictions[name] = baseline
        counterparts[f"prompt, k={k}"] = name
    print(
        f"{profile.causal_lm} on {len(prompt_rows)} test rows; demonstrations drawn with seed {profile.seed}"
    )
    display(compare_variants(prompt_labels, prompt_predictions, against=counterparts).round(3))
    del lm

# %% [markdown] slideshow={"slide_type": "subslide"}
# What the comparison measures, where it runs: how much a decoder's in-context learning buys
# against an encoder's embeddings given the *same* labelled examples. Nothing above measured
# it here; the cell says why. Two cautions from the literature apply to any single run:
# few-shot prompting is sensitive to which examples are shown and in what order (Zhao et
# al., 2021, "Calibrate before use"), so one draw of demonstrations is one sample; and a
# model small enough for a laptop is far from GPT-3's 175B parameters, where in-context
# learning was first reported.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5 · Bias: an association and how noisy it is
#
# Embeddings learn from human text, and human text associates groups of people with roles.
# The **Word Embedding Association Test** (WEAT; Caliskan, Bryson & Narayanan, 2017) takes two
# sets of **target** words $X$, $Y$ (here: common male and female first names) and two sets of
# **attribute** words $A$, $B$ (here: career and family words), the lists of the original
# paper's test 6:

# %% slideshow={"slide_type": "-"}
male_names = ["John", "Paul", "Mike", "Kevin", "Steve", "Greg", "Jeff", "Bill"]
female_names = ["Amy", "Joan", "Lisa", "Sarah", "Diana", "Kate", "Ann", "Donna"]
more_male = ["David", "James", "Robert", "Daniel", "Thomas", "Mark", "Brian", "Eric"]
career = ["executive", "management", "professional", "corporation", "salary", "office"]
career += ["business", "career"]
family = ["home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"]
word_lists = {"male names": male_names, "female names": female_names, "more male names": more_male}
word_lists.update({"career": career, "family": family})
vec = {name: encode(words, encoder, tokenizer) for name, words in word_lists.items()}  # (8, H) each

# %% [markdown] slideshow={"slide_type": "subslide"}
# For each target word $w$, its association is the difference of its mean cosine similarity
# with the two attribute sets,
# $s(w,A,B) = \operatorname{mean}_{a\in A}\cos(w,a) - \operatorname{mean}_{b\in B}\cos(w,b)$.
# The **effect size** compares the targets: $d = \dfrac{\operatorname{mean}_{x\in X}s(x,A,B) - \operatorname{mean}_{y\in Y}s(y,A,B)}{\operatorname{std}_{w\in X\cup Y}s(w,A,B)}$,
# between −2 and 2, Cohen's-$d$-like. The **p-value** asks how often a random re-split of the
# 16 names into two groups of 8 gives a statistic $\sum_X s - \sum_Y s$ at least as large.
# Written out for the effect size, then checked against `bias.weat_test`:


# %% slideshow={"slide_type": "-"}
def s_assoc(w, a, b):
    # the vectors have unit length, so w @ a.T holds cosines: (n, |A|) and (n, |B|)
    return (w @ a.T).mean(dim=1) - (w @ b.T).mean(dim=1)  # (n,)


s_x = s_assoc(vec["male names"], vec["career"], vec["family"])  # (8,)
s_y = s_assoc(vec["female names"], vec["career"], vec["family"])  # (8,)
effect = (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()  # ()
settings = {"n_permutations": cfg.weat_permutations, "seed": profile.seed}
weat = bias.weat_test(
    vec["male names"], vec["female names"], vec["career"], vec["family"], **settings
)
assert math.isclose(float(effect), weat.effect_size, rel_tol=1e-4)
print(f"mean s(w, career, family): male names {s_x.mean():+.4f}, female names {s_y.mean():+.4f}")
print(f"WEAT male vs female names: d = {weat.effect_size:+.3f}, one-sided p = {weat.p_value:.4f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### How noisy is $d$ with 8 words per set?
#
# A **control** runs the same test on groups that differ in nothing we care about: male names
# against other male names. Both the halves of the male list (4 + 4) and the male list against
# 8 more male names. Then, to see the spread such controls have by chance, split the 16 male
# names at random into two groups of 8, many times, and compute $d$ for each split: the
# pooled standard deviation is the same for every split, so only the two means move.

# %% slideshow={"slide_type": "-"}
halves = bias.weat_test(
    vec["male names"][:4], vec["male names"][4:], vec["career"], vec["family"], **settings
)
male_male = bias.weat_test(
    vec["male names"], vec["more male names"], vec["career"], vec["family"], **settings
)
s_male = bias.association(
    torch.cat([vec["male names"], vec["more male names"]]), vec["career"], vec["family"]
).numpy()  # (16,)
rng = np.random.default_rng(profile.seed)
splits = np.argsort(rng.random((cfg.weat_null_splits, 16)), axis=1)  # (S, 16): random orders
null_d = (s_male[splits[:, :8]].mean(axis=1) - s_male[splits[:, 8:]].mean(axis=1)) / s_male.std(
    ddof=1
)  # (S,)
spread = np.percentile(np.abs(null_d), 95)
print(
    f"male vs male, halves {male_names[:4]} vs {male_names[4:]}: d = {halves.effect_size:+.2f}, p = {halves.p_value:.3f}"
)
print(f"male vs 8 more male names: d = {male_male.effect_size:+.2f}, p = {male_male.p_value:.3f}")
print(
    f"{cfg.weat_null_splits:,} random 8 + 8 splits of the 16 male names: 95 % of |d| below {spread:.2f}"
)
print(
    f"male vs female: d = {weat.effect_size:+.2f}, {'outside' if abs(weat.effect_size) > spread else 'inside'} that range"
)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Compare the printed numbers. Male against female names gives $d = +1.02$ (one-sided
# $p = 0.015$). But splitting the male list into halves — groups that differ in nothing we
# care about — already gives $d = +0.61$ ($p = 0.214$), the male list against 8 other male
# names gives $-0.01$, and 95 % of 2,000 random 8 + 8 splits of the 16 male names stay below
# $|d| = 0.96$. With 8 words per set, $d$ moves by up to about 1 from the choice of words
# alone; the male-vs-female value lies just outside that range, not far beyond it.
#
# ### Debiasing by projection
#
# Bolukbasi et al. (2016) estimate a **gender direction** from *definitional* pairs — words
# whose difference is gender and nothing else — and remove every embedding's component along
# it: $e \leftarrow e - (e\cdot g)\,g$, then renormalise. The names and the career/family words
# are not among the pairs, so the test is not trivially zeroed. Two simplifications of their
# method are made here: the direction is the mean difference of the normalised pairs (theirs
# is the first principal component of the centred pairs; the cell prints how far apart the two
# are), and every vector is projected, with no pair equalised.

# %% slideshow={"slide_type": "-"}
pairs = [("he", "she"), ("man", "woman"), ("boy", "girl"), ("father", "mother")]
pairs += [("son", "daughter"), ("brother", "sister"), ("husband", "wife"), ("king", "queen")]
pairs += [("male", "female"), ("his", "her")]
male_side = encode([m for m, _ in pairs], encoder, tokenizer)  # (10, H)
female_side = encode([f for _, f in pairs], encoder, tokenizer)  # (10, H)
g = bias.bias_direction(male_side, female_side)  # (H,), unit length
midpoints = (male_side + female_side) / 2  # (10, H)
centred = torch.cat([male_side - midpoints, female_side - midpoints])  # (20, H)
pc1 = torch.linalg.svd(centred, full_matrices=False).Vh[0]  # (H,): Bolukbasi's direction
print(f"|cos(mean-difference direction, first principal component)| = {abs(float(g @ pc1)):.3f}")
vec_debiased = {name: bias.project_out(v, g) for name, v in vec.items()}  # (8, H) each
assert float((vec_debiased["male names"] @ g).abs().max()) < 1e-5  # nothing left along g
debiased = [vec_debiased[name] for name in ("male names", "female names", "career", "family")]
weat_after = bias.weat_test(*debiased, **settings)
pd.DataFrame(
    {
        "effect size d": [weat.effect_size, weat_after.effect_size],
        "p-value": [weat.p_value, weat_after.p_value],
    },
    index=["original embeddings", "gender direction projected out"],
).round(3)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6 · A counterfactual test of the course's own classifier
#
# The tests above probe geometry. A **counterfactual test** probes decisions: take sentences
# that differ *only* in a name and its pronouns, give both versions to a classifier, and
# count how often the predicted class changes and how far the probabilities move. The model
# is notebook 06's news classifier: `saved_classifier` loads it from `runs/06_ag_news_classifier`
# when it is the same kind of model as `profile.bert` with four classes. If notebook 06 has
# not run, a stand-in is fine-tuned here, briefly, on rows of 06's training part, and the
# cell says so.

# %% slideshow={"slide_type": "-"}
classifier, classifier_source = saved_classifier(
    "06_ag_news_classifier", load_pretrained(AutoConfig, profile.bert), len(class_names)
)
if classifier is None:
    print(f"{classifier_source}: fine-tuning a stand-in here.")
    seed_everything(profile.seed)
    classifier = load_pretrained(
        AutoModelForSequenceClassification, profile.bert, num_labels=len(class_names)
    ).to(device)
    rows_06 = stratified_subset(parts["train"], agnews.train_rows, profile.seed)  # 06's call
    trained_rows = stratified_subset(rows_06, cfg.teacher_train_size, profile.seed)
    loader = make_loader(
        tokenize_dataset(trained_rows, tokenizer, cfg.max_len),
        tokenizer,
        cfg.batch_size,
        shuffle=True,
    )
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=cfg.teacher_lr)
    steps = cfg.teacher_epochs * len(loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    fit(classifier, loader, epochs=cfg.teacher_epochs, optimizer=optimizer, scheduler=scheduler)
    classifier_source = (
        f"fine-tuned here on {len(trained_rows):,} of 06's rows, {cfg.teacher_epochs} epoch(s)"
    )
classifier.to(device).eval()
print(f"classifier: {profile.bert}, {classifier_source}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# The sentences are short news-like templates covering the four topics, each filled with each
# of the 8 pairs of WEAT names. The **control** swaps each male name for another male name
# with the same pronouns, on the same templates and name positions, so the two tests can be
# compared pair by pair.

# %% slideshow={"slide_type": "-"}
templates = counterfactual.NEWS_TEMPLATES
male_texts, female_texts = counterfactual.counterfactual_pairs(templates, male_names, female_names)
control_a, control_b = counterfactual.counterfactual_pairs(
    templates,
    male_names,
    more_male,
    counterfactual.PRONOUNS["male"],
    counterfactual.PRONOUNS["male"],
)
classify = counterfactual.text_classifier(classifier, tokenizer, max_len=cfg.max_len)
gender_swap = counterfactual.counterfactual_test(classify, male_texts, female_texts)
name_swap = counterfactual.counterfactual_test(classify, control_a, control_b)
template_of = np.repeat(np.arange(len(templates)), len(male_names))  # (64,): each pair's template
print(f"{len(templates)} templates × {len(male_names)} name pairs = {gender_swap.n} pairs, e.g.")
print("  ", male_texts[len(male_names) * 4], "\n  ", female_texts[len(male_names) * 4])

# %% [markdown] slideshow={"slide_type": "subslide"}
# The 64 pairs are not 64 independent observations: the 8 pairs of one template share its
# wording, and they move together. The intervals therefore resample whole **templates**
# (`stats.cluster_bootstrap_mean`); the last line shows what the naive bootstrap over pairs
# would have claimed.

# %% slideshow={"slide_type": "-"}
for label, result in (("male ↔ female", gender_swap), ("male ↔ male (control)", name_swap)):
    flips = stats.cluster_bootstrap_mean(result.flips, template_of)
    shift = stats.cluster_bootstrap_mean(result.shifts, template_of)
    print(
        f"{label:<22} flips {flips.estimate:.3f} [{flips.low:.3f}, {flips.high:.3f}]  "
        f"mean probability shift {shift.estimate:.4f} [{shift.low:.4f}, {shift.high:.4f}]"
    )
excess = stats.cluster_bootstrap_mean(gender_swap.shifts - name_swap.shifts, template_of)
detectable = (
    f"; smallest detectable {stats.interval_min_detectable_difference(excess):.4f}"
    if not excess.excludes_zero()
    else ""
)
print(
    f"gender swap minus control, shift per pair, by template: {excess} → {verdict(excess)}{detectable}"
)
naive = stats.bootstrap_mean(gender_swap.shifts - name_swap.shifts)
print(f"the same, pairs treated as independent (wrong here): {naive}")
by_template = pd.DataFrame(
    {
        "male ↔ female": gender_swap.shifts.reshape(len(templates), -1).mean(axis=1),
        "male ↔ male": name_swap.shifts.reshape(len(templates), -1).mean(axis=1),
    },
    index=[t[:48] + "…" for t in templates],
)
ax = by_template.plot.barh(figsize=(7.5, 3.8))
ax.set(xlabel="mean probability shift (total variation) per template", ylabel="")
ax.invert_yaxis()
ax.grid(axis="x", alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# Read the lines together: the gender swap matters only as far as it moves the classifier
# *more than swapping one male name for another*. Notebook 06's classifier changes its
# prediction on none of the 64 gender-swapped pairs and on none of the control pairs (0.000
# both). Its probabilities move by 0.0098 on average when the gender is swapped, against
# 0.0062 for the control; the excess, +0.0036, has a by-template interval of [+0.0002,
# +0.0087], which just excludes zero. Treating the 64 pairs as independent would claim the
# narrower [+0.0013, +0.0061]: the 8 pairs of one template move together, and only
# resampling whole templates counts that. With 8 templates the cluster interval is itself a
# rough one. Either way the excess is a few thousandths of probability: measurable on these
# sentences, far too small to change a decision — which is what the flip rates show.
#
# Which classifier was tested matters: the cell above printed that it is the one notebook 06
# saved. If 06 has not run, a stand-in trained briefly here is tested instead (the cell
# prints its training loss and accuracy), and the numbers above do not describe it. The test
# is as narrow as its inputs: 8 templates and 16 names chosen by hand, names standing in for
# gender only roughly.
#
# ### What such tests do and do not show
#
# * A WEAT measures an **association in the geometry** of one model, for the words someone
#   chose; section 5 measured how far $d$ moves between groups that differ in nothing, and a
#   different list of names can move it as much. Report the lists with the number. The
#   projection lowered $d$ from 1.021 to 0.487 ($p$ from 0.015 to 0.169), into the range
#   that same-group splits reach by chance; the two directions it could use agreed closely
#   (|cos| = 0.992).
# * Sentence encoders are not word embeddings: May et al. (2019) found that WEAT-style tests
#   adapted to sentences (SEAT) give inconsistent results across encoders. Embedding a bare
#   name is not how the model meets names in use.
# * An association in embeddings is not a measured **harm**. What matters downstream — does a
#   résumé screener rank equal résumés differently by name? — needs a test of the system's
#   decisions with counterfactual inputs, against a control, as in section 6.
# * Removing one linear direction targets one measurement; "Going further" below measures
#   how much gender information the projection leaves, and what it costs the task.
#   Counterfactual data augmentation (train on copies of the data with gendered words swapped)
#   is the other common remedy; it needs a training run and its effect must be measured the
#   same way.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Going further
#
# ### What the projection does not remove
#
# Gonen & Goldberg (2019) showed that after such a projection the gender of words is still
# recoverable from the rest of the geometry ("lipstick on a pig"). Check it on names: train a
# logistic regression to tell male from female names and score it on each name it did not
# see (leave-one-out), before and after the projection.

# %% slideshow={"slide_type": "-"}
more_female = ["Mary", "Jennifer", "Linda", "Susan", "Karen", "Emily", "Laura", "Rachel"]
names = male_names + more_male + female_names + more_female
name_vec = encode(names, encoder, tokenizer)  # (32, H)
is_female = np.array([0] * 16 + [1] * 16)


def leave_one_out_predictions(x):
    predicted = []
    for held in range(len(x)):
        keep = np.arange(len(x)) != held
        probe = LogisticRegression(max_iter=1_000).fit(x[keep], is_female[keep])
        predicted.append(probe.predict(x[held : held + 1])[0])  # a name it did not see
    return np.array(predicted)  # (32,)


print(f"gender of a held-out name predicted from its embedding ({len(names)} names, chance 0.5):")
for label, x in (
    ("original embeddings", name_vec),
    ("after projecting out g", bias.project_out(name_vec, g)),
):
    hit = stats.bootstrap_accuracy(is_female, leave_one_out_predictions(x.numpy()))
    print(f"  {label:<24} {hit.estimate:.3f} [{hit.low:.3f}, {hit.high:.3f}]")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### The cost to the task
#
# Debiasing changes every vector, so it can change what the vectors are good for. Apply the
# same projection to the news embeddings and the label descriptions, and re-run the zero-shot
# classifier on the validation rows (a measurement, not a choice: the test rows stay untouched).

# %% slideshow={"slide_type": "-"}
val_debiased = bias.project_out(val_emb, g)  # (n_val, H)
labels_debiased = bias.project_out(label_emb[best_wording], g)  # (4, H)
cost = compare_variants(
    val_labels,
    {
        "original": val_zero_shot[best_wording],
        "debiased": fewshot.zero_shot_predict(val_debiased, labels_debiased),
    },
    against={"debiased": "original"},
)
print(f"mean |cos(news embedding, g)| = {(val_emb @ g).abs().mean():.4f}")
cost.round(4)

# %% [markdown] slideshow={"slide_type": "subslide"}
# Two measurements, two readings. A probe names the gender of every held-out name from its
# original embedding (1.000) and still of 0.875 [0.750, 0.969] after the projection, far above
# chance (0.5): removing one direction left most of the gender information in place. And the
# projection cost the zero-shot classifier nothing measurable: none of the 600 validation
# predictions changed (difference 0.0, interval [0.0, 0.0]); a news embedding's mean |cosine|
# with $g$ is 0.0502, so little of it lay along that direction to begin with.

# %% slideshow={"slide_type": "skip"}
print(f"notebook wall time so far: {time.perf_counter() - notebook_start:.0f} s")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# **1. How small can a p-value be?** An exact WEAT permutation test on 4 target words per
# side compares the observed split with every split of the 8 words into two groups of 4.
# How many splits are there, and what is the smallest p-value the test can report?

# %% slideshow={"slide_type": "-"}
from nlpcourse.exercises.ch09 import (
    check_exact_p_value,
    check_exact_splits,
    check_weat_effect_size,
)

n_splits, smallest_p = None, None  # your answer
check_exact_splits(n_splits, smallest_p)

# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
n_splits = math.comb(8, 4)
smallest_p = 1 / n_splits  # only the observed split itself is at least as extreme
assert check_exact_splits(n_splits, smallest_p)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **2. WEAT's effect size for any vectors.** Section 5 relied on the embeddings having unit
# length. Write `my_effect_size(x, y, a, b)` for tensors of shape (n, dim) whose rows may have
# any length: $s(w, A, B)$ from cosines, then $d$ with the sample standard deviation over
# $X \cup Y$. The check compares it with `bias.weat_effect_size` on random vectors.

# %% slideshow={"slide_type": "-"}
my_effect_size = None  # your function (x, y, a, b) -> d
check_weat_effect_size(my_effect_size)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def my_effect_size(x, y, a, b):
    x, y, a, b = (F.normalize(t, dim=1) for t in (x, y, a, b))  # rows to unit length
    s_x = (x @ a.T).mean(dim=1) - (x @ b.T).mean(dim=1)  # (nx,)
    s_y = (y @ a.T).mean(dim=1) - (y @ b.T).mean(dim=1)  # (ny,)
    return (s_x.mean() - s_y.mean()) / torch.cat([s_x, s_y]).std()


assert check_weat_effect_size(my_effect_size)

# %% [markdown] slideshow={"slide_type": "subslide"}
# **3. The exact permutation test.** Write `my_exact_p(s_x, s_y)`: given the associations
# $s$ of the words in $X$ and in $Y$ (1-D tensors), enumerate every way to choose $|X|$ of the
# pooled words as the new $X$, compute $\sum_{X'} s - \sum_{\text{rest}} s$ for each, and return
# the share of splits at least as large as the observed one. The check compares it with
# `bias.weat_test` on random word sets.

# %% slideshow={"slide_type": "-"}
my_exact_p = None  # your function (s_x, s_y) -> p-value
check_exact_p_value(my_exact_p)


# %% jupyter={"source_hidden": true} slideshow={"slide_type": "skip"} tags=["solution"]
def my_exact_p(s_x, s_y):
    import itertools

    scores = torch.cat([s_x, s_y])  # (n,)
    observed = float(s_x.sum() - s_y.sum())
    splits = list(itertools.combinations(range(len(scores)), len(s_x)))
    stats_per_split = [float(2 * scores[list(x)].sum() - scores.sum()) for x in splits]
    return sum(value >= observed - 1e-12 for value in stats_per_split) / len(splits)


assert check_exact_p_value(my_exact_p)
