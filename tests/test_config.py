import random

import numpy as np
import pytest
import torch

from nlpcourse.config import (
    PROFILES,
    default_num_workers,
    get_device,
    get_profile,
    seed_everything,
)
from nlpcourse.errors import ProfileError


def test_default_profile_is_quick(monkeypatch):
    monkeypatch.delenv("NLPCOURSE_PROFILE", raising=False)
    assert get_profile().name == "quick"


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("NLPCOURSE_PROFILE", "FULL")
    profile = get_profile()
    assert profile.name == "full"
    assert profile.bert == "bert-base-uncased"
    assert profile.clip == "openai/clip-vit-base-patch32"


def test_quick_profile_checkpoints():
    quick = get_profile("quick")
    assert quick.bert == "sentence-transformers/all-MiniLM-L6-v2"
    assert quick.checkpoints == (quick.bert, quick.clip)
    assert quick.datasets == {"sst2": ("train", "validation"), "ag_news": ("test",)}
    assert get_profile("full").datasets["ag_news"] == ("train", "test")


def test_unknown_profile_lists_valid_ones(monkeypatch):
    monkeypatch.setenv("NLPCOURSE_PROFILE", "turbo")
    with pytest.raises(ProfileError) as error:
        get_profile()
    message = str(error.value)
    assert "turbo" in message
    for name in PROFILES:
        assert name in message
    assert isinstance(error.value, ValueError)


def test_profiles_name_the_same_fields():
    quick, full = (get_profile(name).as_dict() for name in ("quick", "full"))
    assert quick.keys() == full.keys()


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002

    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")


def test_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"


@pytest.mark.parametrize(
    ("system", "cpus", "expected"),
    [("Windows", 16, 0), ("Darwin", 16, 0), ("Linux", 2, 0), ("Linux", 4, 2), ("Linux", 64, 4)],
)
def test_num_workers_default(system, cpus, expected):
    assert default_num_workers(system, cpus) == expected
