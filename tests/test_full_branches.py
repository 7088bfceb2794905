"""Every branch that only the ``full`` profile takes, run in CI on tiny data and checkpoints.

The notebooks take these paths only where a checkpoint or a data split is reachable that CI
lacks: AG News's official train split (06, 08), the masked-LM cloze prompt (08), the
pretrained CLIP (07) and the causal-LM prompt (08). Here each one runs through the very calls
the notebooks make — ``from_pretrained(repo_id)`` with the profile's repo ids, resolved from a
temporary hub cache in the hub's own layout, offline — on tiny models this test builds and
saves itself, and on a few CSV rows in the ``NLPCOURSE_DATA_DIR`` layout. Nothing is
downloaded and no notebook changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nlpcourse.config import get_profile
from nlpcourse.errors import CheckpointUnavailableError

from .conftest import write_csv
from .tiny_bert import SPECIAL
from .tiny_lm import tiny_bpe_tokenizer, tiny_causal_lm

FULL = get_profile("full")
CLOZE_WORDS = ["world", "sports", "business", "technology"]  # notebook 08's label words
TOPICS = ["World", "Sports", "Business", "Sci/Tech"]
STORIES = {
    "World": ["leaders meet at the summit", "the war ends with a deal", "a vote in the capital"],
    "Sports": ["the team won the match", "a goal in the final", "the coach quits the club"],
    "Business": ["stocks fell on the market", "oil prices rose again", "the bank cut rates"],
    "Sci/Tech": ["a new chip is faster", "the phone gets software", "space probe finds water"],
}


def save_to_hub_cache(cache: Path, repo_id: str, *objects: object) -> Path:
    """``save_pretrained`` each object into ``cache`` as the hub would lay out ``repo_id``."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for obj in objects:
        obj.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty offline hub cache that huggingface_hub, transformers and nlpcourse all use."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read when a file is resolved
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def word_tokenizer():
    """A WordPiece tokenizer whose vocabulary holds every word of STORIES and the cloze words."""
    from transformers import BertTokenizer

    words = sorted({w for texts in STORIES.values() for t in texts for w in t.split()})
    words += [w for w in [*CLOZE_WORDS, "this", "news", "is", "about", "."] if w not in words]
    return BertTokenizer(vocab={w: i for i, w in enumerate(SPECIAL + words)})


def agnews_csv(rows_per_class: int) -> str:
    lines = ["label,label_name,title,description"]
    for number, topic in enumerate(TOPICS, start=1):
        for i in range(rows_per_class):
            story = STORIES[topic][i % len(STORIES[topic])]
            lines.append(f"{number},{topic},{story.title()} {i},{story} (row {i}).")
    return "\n".join(lines) + "\n"


def test_official_ag_news_train_split(tmp_path, monkeypatch):
    """06 and 08 in full: train on the official train split, report on the test split."""
    from nlpcourse.data.splits import ag_news_three_way

    write_csv(tmp_path / "ag_news" / "train.csv.gz", agnews_csv(rows_per_class=6))
    write_csv(tmp_path / "ag_news" / "test.csv.gz", agnews_csv(rows_per_class=2))
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    assert FULL.agnews.use_official_train and FULL.datasets["ag_news"] == ("train", "test")
    parts = ag_news_three_way(
        FULL.agnews.use_official_train, FULL.agnews.test_size, 0.25, FULL.seed
    )
    assert len(parts["test"]) == 8  # the official test split, whole
    assert len(parts["train"]) + len(parts["validation"]) == 24  # the official train split
    assert len(parts["validation"]) == 6
    assert sorted(set(parts["validation"]["label"])) == [0, 1, 2, 3]  # stratified
    assert parts["train"].features["label"].names == TOPICS
    train_texts, test_texts = set(parts["train"]["text"]), set(parts["test"]["text"])
    assert not set(parts["validation"]["text"]) & train_texts
    assert all("(row" in text for text in train_texts | test_texts)


def test_masked_lm_cloze_prompt(hub_cache):
    """08 in full: the cloze prompt on profile.masked_lm, loaded by repo id through the hub."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM

    from nlpcourse.data.checkpoints import checkpoint_available, load_pretrained
    from nlpcourse.evaluate import fewshot

    tokenizer = word_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    assert FULL.masked_lm is not None
    assert not checkpoint_available(FULL.masked_lm)  # the skip branch first: nothing cached
    with pytest.raises(CheckpointUnavailableError, match="HF_HUB_CACHE"):
        load_pretrained(AutoModelForMaskedLM, FULL.masked_lm)
    save_to_hub_cache(hub_cache, FULL.masked_lm, BertForMaskedLM(config), tokenizer)
    assert checkpoint_available(FULL.masked_lm)
    # notebook 08's branch, line for line
    mlm_tokenizer = load_pretrained(AutoTokenizer, FULL.masked_lm)
    mlm = load_pretrained(AutoModelForMaskedLM, FULL.masked_lm).eval()
    template = "{text} This news is about " + mlm_tokenizer.mask_token + "."
    texts = [text for stories in STORIES.values() for text in stories]
    scores = fewshot.cloze_scores(
        texts, mlm, mlm_tokenizer, template, CLOZE_WORDS, max_len=FULL.zero_shot_bias.max_len + 12
    )
    assert scores.shape == (len(texts), len(CLOZE_WORDS))
    assert torch.isfinite(scores).all()


def test_pretrained_clip_logits_per_image(hub_cache):
    """07 with the pretrained CLIP reachable: the article's CLIPProcessor/CLIPModel code path."""
    from PIL import Image
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from nlpcourse.data import synthetic_images
    from nlpcourse.data.checkpoints import checkpoint_available, load_pretrained

    tokenizer = word_tokenizer()
    size = 32
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.cls_token_id,
            "eos_token_id": tokenizer.sep_token_id,
        },
        vision_config={
            "image_size": size,
            "patch_size": 8,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        projection_dim=8,
    )
    torch.manual_seed(0)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": size}, crop_size={"height": size, "width": size}
        ),
        tokenizer=tokenizer,
    )
    save_to_hub_cache(hub_cache, FULL.clip, CLIPModel(config), processor)
    assert checkpoint_available(FULL.clip)
    processor = load_pretrained(CLIPProcessor, FULL.clip)
    model = load_pretrained(CLIPModel, FULL.clip).eval()
    images = [sample.image for sample in synthetic_images.generate(3, image_size=48, seed=0)]
    images.append(Image.new("RGB", (64, 40), (200, 30, 30)))  # a photo of another size
    captions = ["the team won", "a new chip is faster"]
    inputs = processor(
        text=captions, images=images, return_tensors="pt", padding=True, truncation=True
    )
    with torch.no_grad():
        outputs = model(**inputs)
    assert outputs.logits_per_image.shape == (len(images), len(captions))
    torch.testing.assert_close(outputs.logits_per_image, outputs.logits_per_text.T)
    probs = outputs.logits_per_image.softmax(dim=1)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(len(images)))


@pytest.mark.parametrize("profile_name", ["quick", "full"])
def test_causal_lm_prompt(hub_cache, profile_name):
    """08 with profile.causal_lm reachable: zero- and few-shot prompts scored by likelihood."""
    from nlpcourse.data.checkpoints import checkpoint_available
    from nlpcourse.evaluate import prompting

    profile = get_profile(profile_name)
    assert profile.causal_lm is not None
    assert not checkpoint_available(profile.causal_lm)
    with pytest.raises(CheckpointUnavailableError):
        prompting.load_causal_lm(profile.causal_lm)
    tokenizer = tiny_bpe_tokenizer()
    save_to_hub_cache(
        hub_cache, profile.causal_lm, tiny_causal_lm("llama", len(tokenizer)), tokenizer
    )
    model, tokenizer = prompting.load_causal_lm(profile.causal_lm)
    texts = [text for stories in STORIES.values() for text in stories]
    labels = np.repeat(np.arange(4), 3)
    label_words = ["World", "Sports", "Business", "Technology"]
    instruction = "Classify each news story as World, Sports, Business or Technology."
    for k in profile.zero_shot_bias.prompt_shots[:2]:
        examples = prompting.demonstrations(texts, labels, label_words, k, seed=0) if k else []
        scores = prompting.score_labels(
            texts[:5],
            model,
            tokenizer,
            label_words,
            instruction=instruction,
            examples=examples,
            max_words=profile.zero_shot_bias.prompt_max_words,
            batch_size=profile.zero_shot_bias.prompt_batch_size,
        )
        assert scores.shape == (5, 4)
        assert torch.isfinite(scores).all() and (scores < 0).all()
