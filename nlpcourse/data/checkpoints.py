"""Pretrained checkpoints: where each one can be found, and loading with a clear error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nlpcourse.data.datasets import hub_endpoint, hub_offline
from nlpcourse.data.quiet import hf_quiet
from nlpcourse.errors import CheckpointUnavailableError


def hub_cache_dir() -> Path:
    """The hub cache in use (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else the default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME", "~/.cache/huggingface")
    return Path(home).expanduser() / "hub"


def in_hub_cache(repo_id: str, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of ``repo_id`` (holding its config.json), or None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir or hub_cache_dir())
    return Path(found).parent if isinstance(found, str) else None


def on_hub(repo_id: str, timeout: float = 5.0) -> bool:
    """True when the hub (or the ``HF_ENDPOINT`` mirror) answers for ``repo_id``."""
    if hub_offline():
        return False
    from huggingface_hub import HfApi

    try:
        HfApi(endpoint=hub_endpoint()).model_info(repo_id, timeout=timeout)
    except Exception:
        return False
    return True


def checkpoint_source(repo_id: str, check_hub: bool = True) -> str | None:
    """Where ``repo_id`` can be loaded from: ``"hub cache"``, ``"hub"``, or None."""
    if in_hub_cache(repo_id) is not None:
        return "hub cache"
    if check_hub and on_hub(repo_id):
        return "hub"
    return None


def checkpoint_available(repo_id: str) -> bool:
    """True when ``repo_id`` can be loaded now (from the cache or the hub)."""
    return checkpoint_source(repo_id) is not None


def missing_checkpoint_message(repo_id: str) -> str:
    """One paragraph saying why ``repo_id`` cannot be loaded and how to fix it."""
    where = (
        "offline mode is on (HF_HUB_OFFLINE)"
        if hub_offline()
        else f"{hub_endpoint()} did not answer"
    )
    return (
        f"Checkpoint {repo_id!r} is not in the hub cache ({hub_cache_dir()}) and {where}. "
        f"Either point HF_HUB_CACHE at a cache that holds it (an instructor can prepare one with "
        f"`python -m nlpcourse download --to DIR` on a connected machine), set HF_ENDPOINT to a "
        f"hub mirror you can reach, or switch profile with NLPCOURSE_PROFILE."
    )


def require_checkpoint(repo_id: str) -> str:
    """Return ``repo_id`` if it can be loaded, else raise :class:`CheckpointUnavailableError`."""
    if checkpoint_source(repo_id) is None:
        raise CheckpointUnavailableError(missing_checkpoint_message(repo_id))
    return repo_id


def load_pretrained(cls: Any, repo_id: str, **kwargs: Any) -> Any:
    """``cls.from_pretrained(repo_id, **kwargs)`` with one clear error when it cannot be had."""
    require_checkpoint(repo_id)
    try:
        with hf_quiet():  # the new head's load report and the loading bar are not the lesson here
            return cls.from_pretrained(repo_id, **kwargs)
    except OSError as exc:
        raise CheckpointUnavailableError(
            f"{missing_checkpoint_message(repo_id)} (loader said: {str(exc).splitlines()[0]})"
        ) from None
