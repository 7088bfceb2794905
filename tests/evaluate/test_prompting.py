import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nlpcourse.evaluate import prompting
from tests.tiny_lm import tiny_bpe_tokenizer, tiny_causal_lm


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_bpe_tokenizer()


def reference_logprob(model, tokenizer, prompt, continuation):
    """One unpadded forward over prompt + continuation: the plain definition."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    cont_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + cont_ids])
    with torch.no_grad():
        log_probs = F.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)  # (T, V)
    start = len(prompt_ids)
    return sum(log_probs[start - 1 + j, t].item() for j, t in enumerate(cont_ids))


def test_build_prompt_layout():
    prompt = prompting.build_prompt(
        "stocks fell today",
        [("the team won", "Sports"), ("a new chip", "Technology")],
        instruction="Classify each story.",
        text_prefix="Story: ",
        label_prefix="Topic:",
    )
    assert prompt == (
        "Classify each story.\n\nStory: the team won\nTopic: Sports\n\n"
        "Story: a new chip\nTopic: Technology\n\nStory: stocks fell today\nTopic:"
    )
    assert prompting.build_prompt("x") == "Text: x\nAnswer:"
    assert prompting.shorten("a b c d", 2) == "a b …"
    assert prompting.shorten("a b", 2) == "a b"


def test_demonstrations_are_k_per_class_seeded_and_mixed():
    texts = [f"text {i}" for i in range(40)]
    labels = np.arange(40) % 4
    words = ["World", "Sports", "Business", "Technology"]
    demos = prompting.demonstrations(texts, labels, words, k=2, seed=0)
    assert len(demos) == 8
    assert sorted(w for _, w in demos) == sorted(words * 2)
    assert demos == prompting.demonstrations(texts, labels, words, k=2, seed=0)
    assert [w for _, w in demos] != sorted(w for _, w in demos)  # not grouped by class
    for text, word in demos:
        assert words[labels[texts.index(text)]] == word


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_batched_scores_equal_one_unpadded_forward_per_pair(kind, tokenizer):
    model = tiny_causal_lm(kind, vocab_size=len(tokenizer))
    words = ["Sports", "Business", "scored goals quickly"]  # the last one is several tokens
    assert len(tokenizer(" scored goals quickly", add_special_tokens=False)["input_ids"]) > 1
    queries = ["the team won", "oil prices rose on the market today after the news", "war"]
    examples = [("a new chip", "Technology")]
    scores = prompting.score_labels(
        queries, model, tokenizer, words, instruction="Classify.", examples=examples, batch_size=2
    )
    assert scores.shape == (3, 3)
    for i, query in enumerate(queries):
        prompt = prompting.build_prompt(query, examples, "Classify.")
        for j, word in enumerate(words):
            expected = reference_logprob(model, tokenizer, prompt, " " + word)
            assert scores[i, j].item() == pytest.approx(expected, abs=1e-4)


def test_per_token_divides_by_the_token_count(tokenizer):
    model = tiny_causal_lm("gpt2", vocab_size=len(tokenizer))
    prompts, conts = ["Text: the team\nAnswer:"], [" Sports", " scored goals quickly"]
    total = prompting.continuation_logprobs(model, tokenizer, prompts, conts)
    mean = prompting.continuation_logprobs(model, tokenizer, prompts, conts, per_token=True)
    counts = torch.tensor([len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in conts])
    torch.testing.assert_close(mean, total / counts)
    assert (total < 0).all()


def test_clear_errors(tokenizer):
    model = tiny_causal_lm("gpt2", vocab_size=len(tokenizer))
    with pytest.raises(ValueError, match="distinct"):
        prompting.score_labels(["x"], model, tokenizer, ["a", "a"])
    with pytest.raises(ValueError, match="at least one query"):
        prompting.score_labels([], model, tokenizer, ["a"])
    with pytest.raises(ValueError, match="positions"):
        prompting.score_labels(["the team won " * 150], model, tokenizer, ["Sports"])
    with pytest.raises(ValueError, match="tokenize to nothing"):
        prompting.continuation_logprobs(model, tokenizer, ["x"], [""])
    with pytest.raises(ValueError, match="max_words"):
        prompting.shorten("a b", 0)
