"""Fine-tuning a real (tiny) BERT with the course's helpers: accumulation, autocast, saving."""

import pytest
import torch
from transformers import BertForSequenceClassification

from nlpcourse.text.hf_batches import check_num_labels, make_loader, tokenize_dataset
from nlpcourse.train.loop import evaluate, fit, predict
from tests.tiny_bert import tiny_bert, tiny_news, tiny_tokenizer


@pytest.fixture(scope="module")
def tokenized():
    return tokenize_dataset(tiny_news(32), tiny_tokenizer(), max_len=10)


def test_collate_pads_to_the_longest_in_each_batch_and_truncates(tokenized):
    tokenizer = tiny_tokenizer()
    lengths = [len(ids) for ids in tokenized["input_ids"]]
    assert max(lengths) == 10 and min(lengths) < 10  # truncated to max_len, not padded
    for batch, start in zip(make_loader(tokenized, tokenizer, 8), range(0, 32, 8), strict=True):
        longest = max(lengths[start : start + 8])
        assert batch["input_ids"].shape == (8, longest)
        assert batch["attention_mask"].sum(1).tolist() == lengths[start : start + 8]
        padding = batch["attention_mask"] == 0
        assert (batch["input_ids"][padding] == tokenizer.pad_token_id).all()
        assert (batch["input_ids"][:, 0] == tokenizer.cls_token_id).all()
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels"}


def test_accumulating_4_micro_batches_equals_one_big_batch(tokenized):
    tokenizer = tiny_tokenizer()
    big, small = tiny_bert(seed=1), tiny_bert(seed=1)
    for model, batch_size, steps in ((big, 32, 1), (small, 8, 4)):
        fit(
            model,
            make_loader(tokenized, tokenizer, batch_size),
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
            accumulation_steps=steps,
            progress=False,
        )
    for (name, a), b in zip(big.named_parameters(), small.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)
    assert not torch.equal(big.classifier.weight, tiny_bert(seed=1).classifier.weight)


def test_bf16_autocast_training_runs_on_cpu(tokenized):
    tokenizer = tiny_tokenizer()
    model = tiny_bert()
    loader = make_loader(tokenized, tokenizer, 16)
    history = fit(
        model,
        loader,
        loader,
        epochs=1,
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3),
        amp_dtype=torch.bfloat16,
        progress=False,
    )
    assert torch.isfinite(torch.tensor(history.last("loss")))
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay fp32
    assert predict(model, loader, amp_dtype=torch.bfloat16).dtype == torch.float32


def test_saved_and_reloaded_model_gives_identical_logits(tokenized, tmp_path):
    tokenizer = tiny_tokenizer()
    model = tiny_bert()
    model.config.id2label = {0: "a", 1: "b", 2: "c"}
    model.config.label2id = {"a": 0, "b": 1, "c": 2}
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    reloaded = BertForSequenceClassification.from_pretrained(tmp_path).eval()
    loader = make_loader(tokenized, tokenizer, 8)
    assert torch.equal(predict(model, loader), predict(reloaded, loader))
    assert reloaded.config.id2label[2] == "c"
    assert (
        type(tokenizer).from_pretrained(tmp_path)("the cat")["input_ids"]
        == (tokenizer("the cat")["input_ids"])
    )


def test_bad_inputs_raise_clear_errors(tokenized):
    tokenizer = tiny_tokenizer()
    model = tiny_bert(num_labels=3)
    with pytest.raises(ValueError, match="num_labels=4 but the data has 3 classes"):
        check_num_labels(4, tiny_news(6))
    with pytest.raises(ValueError, match="empty dataset"):
        tokenize_dataset(tiny_news(6).select([]), tokenizer, 8)
    loader = make_loader(tokenized, tokenizer, 8)
    with pytest.raises(ValueError, match="accumulation_steps must be at least 1"):
        fit(
            model,
            loader,
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), 0.1),
            accumulation_steps=0,
        )
    with pytest.raises(ValueError, match="no batches"):
        evaluate(model, [])


def test_make_loader_takes_a_sampler_or_shuffle_not_both(tokenized):
    from torch.utils.data import SequentialSampler

    tokenizer = tiny_tokenizer()
    picked = list(make_loader(tokenized, tokenizer, 8, sampler=SequentialSampler(range(16))))
    assert [len(batch["labels"]) for batch in picked] == [8, 8]
    with pytest.raises(ValueError, match="not both"):
        make_loader(tokenized, tokenizer, 8, shuffle=True, sampler=SequentialSampler(range(16)))
