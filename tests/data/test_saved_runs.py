import torch

from nlpcourse.data.runs import saved_classifier
from tests.tiny_bert import tiny_bert


def test_saved_classifier_loads_a_matching_model_and_refuses_others(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPCOURSE_RUNS_DIR", str(tmp_path))
    model = tiny_bert(num_labels=4).eval()
    model, reason = saved_classifier("06_ag_news_classifier", model.config, 4)
    assert model is None and "run notebook 06_ag_news_classifier first" in reason

    original = tiny_bert(num_labels=4).eval()
    original.save_pretrained(tmp_path / "06_ag_news_classifier")
    loaded, source = saved_classifier("06_ag_news_classifier", original.config, 4)
    assert source == "saved by notebook 06_ag_news_classifier"
    ids = torch.tensor([[2, 7, 9, 3]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).logits, original(input_ids=ids).logits)

    refused, reason = saved_classifier("06_ag_news_classifier", original.config, 3)
    assert refused is None and "4 labels, not 3" in reason
    wider = tiny_bert(num_labels=4, hidden_size=32).config
    refused, reason = saved_classifier("06_ag_news_classifier", wider, 4)
    assert refused is None and "hidden_size 16" in reason
