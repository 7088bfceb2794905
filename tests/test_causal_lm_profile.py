from pathlib import Path

from nlpcourse import cli
from nlpcourse.config import get_profile


def test_profiles_name_a_causal_lm_optional_in_quick():
    quick, full = get_profile("quick"), get_profile("full")
    assert quick.causal_lm and full.causal_lm and quick.causal_lm != full.causal_lm
    assert quick.causal_lm in quick.optional
    assert full.causal_lm not in full.optional
    assert quick.all_checkpoints == (*quick.checkpoints, quick.causal_lm)
    assert quick.causal_lm not in quick.checkpoints  # the encoder list is unchanged
    assert set(quick.zero_shot_bias.prompt_shots) >= {0}
    assert quick.clip_train.shift > 0 and quick.clip_train.size_jitter > 0


def test_doctor_lists_the_causal_lm_as_optional(monkeypatch):
    quick = get_profile("quick")
    monkeypatch.setattr(cli, "in_hub_cache", lambda repo_id: None)
    monkeypatch.setattr(cli, "on_hub", lambda repo_id: False)
    checks = {c.name: c for c in cli.doctor_checks("quick")}
    assert quick.causal_lm in checks
    assert checks[quick.causal_lm].ok and not checks[quick.causal_lm].required


def test_download_fetches_the_causal_lm(tmp_path: Path, monkeypatch):
    fetched = []
    monkeypatch.setattr(cli, "hub_offline", lambda: False)
    monkeypatch.setattr(cli, "load_hub", lambda spec, splits: None)
    monkeypatch.setattr(cli, "write_local", lambda dataset, spec, folder: [folder / spec.name])

    def fake_snapshot_download(repo_id, cache_dir, allow_patterns):
        fetched.append(repo_id)
        return str(cache_dir / repo_id)

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    out = []
    assert cli.download(tmp_path, "quick", echo=out.append) == 0
    assert get_profile("quick").causal_lm in fetched
    assert fetched == list(get_profile("quick").all_checkpoints)
