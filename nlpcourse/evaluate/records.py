"""Recorded runs: a notebook's larger experiment saved as a small JSON record with provenance.

A record holds the figures a run produced, the profile and its sizes, when and on what hardware
it ran, the library versions, the git commit, a hash of the code modules that produced it and a
signature over all of that. :func:`check_record` fails when a field is missing, when the code
changed since (a stale record) or when anything in the file was edited by hand.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nlpcourse.errors import CourseError

RECORDS_DIR = Path(__file__).resolve().parents[2] / "records"
PROVENANCE = (
    "notebook",
    "profile",
    "sizes",
    "created",
    "wall_seconds",
    "hardware",
    "versions",
    "git_commit",
    "code_modules",
    "code_hash",
)
LIBRARIES = ("torch", "transformers", "peft", "datasets", "numpy", "scikit-learn")


class RecordError(CourseError):
    """A record is missing, incomplete, stale (its code changed) or was edited by hand."""


def module_path(module: str) -> Path:
    """The source file of an importable module, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RecordError(f"the record names module {module!r}, which no longer exists.")
    return Path(spec.origin)


def code_hash(modules: Sequence[str]) -> str:
    """SHA-256 over the modules' names and source bytes (line endings normalised)."""
    digest = hashlib.sha256()
    for module in sorted(modules):
        source = module_path(module).read_bytes().replace(b"\r\n", b"\n")
        digest.update(module.encode() + b"\0" + source + b"\0")
    return digest.hexdigest()


def _canonical(payload: dict[str, Any]) -> bytes:
    body = {key: value for key, value in payload.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def signature(payload: dict[str, Any]) -> str:
    """SHA-256 of every field but ``signature``: any hand edit changes it."""
    return hashlib.sha256(_canonical(payload)).hexdigest()


def hardware() -> dict[str, Any]:
    """CPU, cores, threads, GPU (if any) and the load average when called."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Python's version and each named library's (``not installed`` when it is absent)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def git_commit(folder: Path | None = None) -> str:
    """The checked-out commit (with ``+dirty`` when tracked files changed), or ``unknown``."""
    folder = folder or RECORDS_DIR.parent
    try:
        run = dict(cwd=folder, capture_output=True, text=True, check=True, timeout=10)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "-uno"], **run).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def make_record(
    notebook: str,
    profile: str,
    sizes: dict[str, Any],
    figures: dict[str, Any],
    code_modules: Sequence[str],
    wall_seconds: float,
    hardware_info: dict[str, Any] | None = None,
    commit: str | None = None,
) -> dict[str, Any]:
    """A signed record of ``figures`` with its provenance (hardware and commit read now if not
    given: pass what was read when the run started)."""
    record: dict[str, Any] = {
        "notebook": notebook,
        "profile": profile,
        "sizes": sizes,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_seconds": round(wall_seconds, 1),
        "hardware": hardware_info if hardware_info is not None else hardware(),
        "versions": library_versions(),
        "git_commit": commit if commit is not None else git_commit(),
        "code_modules": sorted(code_modules),
        "code_hash": code_hash(code_modules),
        "figures": figures,
    }
    record = json.loads(json.dumps(record, allow_nan=False))  # tuples -> lists, as read back
    record["signature"] = signature(record)
    return record


def record_path(notebook: str, profile: str, folder: Path | None = None) -> Path:
    """``records/<notebook>.<profile>.json``."""
    return (folder or RECORDS_DIR) / f"{notebook}.{profile}.json"


def write_record(record: dict[str, Any], folder: Path | None = None) -> Path:
    """Check ``record`` and write it as indented JSON; return the path."""
    check_record(record)
    path = record_path(record["notebook"], record["profile"], folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return path


def check_record(record: dict[str, Any]) -> None:
    """Raise :class:`RecordError` unless every provenance field is there, the signature holds
    and the code hash matches the named modules as they are now."""
    missing = [key for key in (*PROVENANCE, "figures", "signature") if key not in record]
    if missing:
        raise RecordError(f"the record lacks its provenance field(s) {missing}.")
    name = f"{record['notebook']}.{record['profile']}"
    if record["signature"] != signature(record):
        raise RecordError(
            f"record {name} does not match its signature: it was edited by hand. "
            "Records are only written by `python -m nlpcourse record`; rerun it."
        )
    if record["code_hash"] != code_hash(record["code_modules"]):
        modules = ", ".join(record["code_modules"])
        raise RecordError(
            f"record {name} is stale: {modules} changed since it was recorded. "
            f"Rerun `python -m nlpcourse record` with profile {record['profile']!r}."
        )


def load_record(notebook: str, profile: str, folder: Path | None = None) -> dict[str, Any]:
    """Read and check ``records/<notebook>.<profile>.json`` (raises :class:`RecordError`)."""
    path = record_path(notebook, profile, folder)
    if not path.exists():
        raise RecordError(
            f"no record {path.name} in {path.parent}: run `python -m nlpcourse record "
            f"{notebook[:2]} --profile {profile}` to make it."
        )
    record = json.loads(path.read_text())
    check_record(record)
    return record


def record_label(record: dict[str, Any]) -> str:
    """``recorded run: <profile> profile, <date>, <hardware>`` for a table or figure title."""
    hw = record["hardware"]
    load = hw.get("load_average_mean", hw["load_average_1min"])
    device = hw.get("gpu") or f"{hw['cpu_cores']} CPU cores, {hw['torch_threads']} thread(s)"
    return (
        f"recorded run: {record['profile']} profile, {record['created'][:10]}, {device}, "
        f"{record['wall_seconds'] / 60:.0f} min at mean load {load:.0f}"
    )
