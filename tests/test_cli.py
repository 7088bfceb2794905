import subprocess
import sys

import pytest

from nlpcourse import cli
from nlpcourse.cli import Check, doctor, doctor_checks, main

from .conftest import needs_hub_cache, needs_real_data


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _lines(monkeypatch, found_checkpoints):
    monkeypatch.setattr(
        cli, "in_hub_cache", lambda repo_id: "/cache/x" if repo_id in found_checkpoints else None
    )
    out: list[str] = []
    return out, out.append


def test_doctor_exit_0_when_everything_needed_is_there(data_dir, offline, monkeypatch):
    out, echo = _lines(monkeypatch, {"sentence-transformers/all-MiniLM-L6-v2"})
    assert doctor("quick", echo=echo) == 0  # CLIP is optional in quick
    text = "\n".join(out)
    assert "torch" in text and "device" in text and "profile" in text
    assert "optional" in text


def test_doctor_exit_1_and_fix_when_a_checkpoint_is_missing(data_dir, offline, monkeypatch):
    out, echo = _lines(monkeypatch, set())
    assert doctor("quick", echo=echo) == 1
    assert any("fix:" in line and "HF_HUB_CACHE" in line for line in out)


def test_doctor_exit_1_when_data_missing(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(tmp_path))
    out, echo = _lines(monkeypatch, {"sentence-transformers/all-MiniLM-L6-v2"})
    assert doctor("quick", echo=echo) == 1
    assert any("NLPCOURSE_DATA_DIR" in line for line in out)


def test_full_profile_needs_the_ag_news_train_split(data_dir, offline, monkeypatch):
    _lines(monkeypatch, set())
    checks = {c.name: c for c in doctor_checks("full")}
    assert not checks["AG News (train, test)"].ok
    assert not checks["bert-base-uncased"].ok


def test_check_ok_rules():
    assert Check("checkpoint", "x", None, required=False).ok
    assert not Check("checkpoint", "x", None).ok


def test_download_offline_fails_cleanly(tmp_path, offline):
    assert main(["download", "--to", str(tmp_path)]) == 1


def test_unknown_profile_exit_code(capsys):
    assert main(["--profile", "turbo", "doctor"]) == 1
    assert "Valid profiles" in capsys.readouterr().err


@needs_real_data
@needs_hub_cache
def test_python_dash_m_doctor_on_the_real_assets():
    done = subprocess.run(
        [sys.executable, "-m", "nlpcourse", "doctor"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SST-2 (train, validation)" in done.stdout
