"""The ``nlpcourse`` command line: ``doctor`` checks a machine, ``download`` prepares a mirror,
``record`` runs a notebook's larger experiment and writes its record."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nlpcourse.config import get_device, get_profile
from nlpcourse.data.checkpoints import in_hub_cache, missing_checkpoint_message, on_hub
from nlpcourse.data.datasets import (
    SPECS,
    default_data_dir,
    hub_endpoint,
    hub_offline,
    load_hub,
    load_local,
    local_data_dir,
    write_local,
)
from nlpcourse.errors import CourseError
from nlpcourse.evaluate.records import library_versions

LIBRARIES = (
    "torch",
    "transformers",
    "datasets",
    "tokenizers",
    "huggingface_hub",
    "keras",
    "scikit-learn",
    "jupyterlab",
    "nbval",
)
CHECKPOINT_FILES = ["*.json", "*.txt", "*.safetensors", "*.model", "1_Pooling/*"]


@dataclass
class Check:
    """One line of the doctor's report."""

    kind: str  # "dataset" or "checkpoint"
    name: str
    source: str | None  # where it was found, or None
    fix: str = ""
    required: bool = True

    @property
    def ok(self) -> bool:
        """Found, or allowed to be missing."""
        return self.source is not None or not self.required


def check_dataset(name: str, splits: tuple[str, ...]) -> Check:
    """Find a dataset's splits in the local folder or on the hub."""
    spec = SPECS[name]
    label = f"{spec.title} ({', '.join(splits)})"
    try:
        folder = local_data_dir()
        if folder is not None and load_local(spec, folder, splits) is not None:
            return Check("dataset", label, f"local folder {folder / name}")
    except CourseError as exc:
        return Check("dataset", label, None, str(exc))
    if not hub_offline() and on_hub_dataset(spec.hub_id):
        return Check("dataset", label, f"hub {spec.hub_id}")
    fix = (
        f"set NLPCOURSE_DATA_DIR to a folder holding {name}/<split>.csv.gz, or run "
        f"`python -m nlpcourse download --to DIR` on a connected machine"
    )
    return Check("dataset", label, None, fix)


def on_hub_dataset(repo_id: str, timeout: float = 5.0) -> bool:
    """True when the hub (or the ``HF_ENDPOINT`` mirror) answers for dataset ``repo_id``."""
    from huggingface_hub import HfApi

    try:
        HfApi(endpoint=hub_endpoint()).dataset_info(repo_id, timeout=timeout)
    except Exception:
        return False
    return True


def check_checkpoint(repo_id: str, required: bool) -> Check:
    """Find a checkpoint in the hub cache or on the hub."""
    cached = in_hub_cache(repo_id)
    if cached is not None:
        return Check("checkpoint", repo_id, f"hub cache {cached}", required=required)
    if on_hub(repo_id):
        return Check("checkpoint", repo_id, f"hub {hub_endpoint()}", required=required)
    fix = missing_checkpoint_message(repo_id)
    if not required:
        fix = "optional: the notebook falls back to a model it trains itself. " + fix
    return Check("checkpoint", repo_id, None, fix, required=required)


def doctor_checks(profile_name: str | None = None) -> list[Check]:
    """Every dataset and checkpoint the profile needs, with where each was found."""
    profile = get_profile(profile_name)
    checks = [check_dataset(name, splits) for name, splits in profile.datasets.items()]
    checks += [
        check_checkpoint(cid, cid not in profile.optional) for cid in profile.all_checkpoints
    ]
    return checks


def doctor(profile_name: str | None = None, echo: Callable[[str], None] = print) -> int:
    """Print the environment report; return 0 when everything needed is reachable, else 1."""
    profile = get_profile(profile_name)
    echo("nlpcourse doctor")
    for name, version in library_versions(LIBRARIES).items():
        echo(f"  {name:<16} {version}")
    echo(f"  {'device':<16} {get_device()}")
    echo(f"  {'profile':<16} {profile.name}: {profile.description}")
    echo(f"  {'hub':<16} {'offline (HF_HUB_OFFLINE)' if hub_offline() else hub_endpoint()}")
    checks = doctor_checks(profile.name)
    for check in checks:
        mark = "ok " if check.source else ("-- " if not check.required else "XX ")
        echo(f"{mark} {check.kind:<10} {check.name:<40} {check.source or 'not reachable'}")
        if check.source is None:
            echo(f"      fix: {check.fix}")
    missing = [c for c in checks if not c.ok]
    echo(
        "All needed data and checkpoints are reachable."
        if not missing
        else f"{len(missing)} needed item(s) missing: see the fixes above."
    )
    return 0 if not missing else 1


def download_targets(to: Path | None) -> tuple[Path, Path]:
    """Where ``download`` writes: ``to/data`` and ``to/hf-cache/hub``, or the course's ``data/``."""
    if to is not None:
        return to / "data", to / "hf-cache" / "hub"
    data_dir = default_data_dir()
    if data_dir is None:
        raise CourseError(
            "no course folder found above the working folder: run this inside the course "
            "repository, or name a folder with --to DIR"
        )
    return data_dir, data_dir / "hf-cache" / "hub"


def download(
    to: Path | None = None, profile_name: str | None = None, echo: Callable[[str], None] = print
) -> int:
    """Fetch the profile's datasets and checkpoints for offline use; 0 when all came.

    Without ``to`` they go to the course's ``data/`` folder (datasets) and ``data/hf-cache/hub``.
    """
    profile = get_profile(profile_name)
    if hub_offline():
        echo("download needs the hub, but HF_HUB_OFFLINE is set: unset it on a connected machine.")
        return 1
    data_dir, cache_dir = download_targets(to)
    failures = []
    for name, splits in profile.datasets.items():
        spec = SPECS[name]
        try:
            written = write_local(load_hub(spec, splits), spec, data_dir)
            echo(f"ok  {spec.title}: " + ", ".join(str(p) for p in written))
        except Exception as exc:
            failures.append(f"{spec.title} ({spec.hub_id}): {str(exc).splitlines()[0][:200]}")
    for repo_id in profile.all_checkpoints:  # the causal LM for prompts too
        try:
            from huggingface_hub import snapshot_download

            path = snapshot_download(repo_id, cache_dir=cache_dir, allow_patterns=CHECKPOINT_FILES)
            echo(f"ok  {repo_id}: {path}")
        except Exception as exc:
            failures.append(f"{repo_id}: {str(exc).splitlines()[0][:200]}")
    if failures:
        echo("Could not download (is the hub reachable? set HF_ENDPOINT to a mirror if not):")
        for failure in failures:
            echo(f"  - {failure}")
        return 1
    echo("Done. On the offline machine, set:" if to is not None else "Done. Before starting, set:")
    if to is not None:
        echo(f"  export NLPCOURSE_DATA_DIR={data_dir.resolve()}")
    echo(f"  export HF_HUB_CACHE={cache_dir.resolve()} HF_HUB_OFFLINE=1")
    return 0


RECORDED = {"05": "nlpcourse.train.strategies"}  # notebook -> module with run_experiment


def record(
    notebook: str,
    profile_name: str = "standard",
    folder: Path | None = None,
    threads: int | None = None,
    echo: Callable[[str], None] = print,
) -> Path:
    """Run notebook ``notebook``'s experiment at ``profile_name``'s sizes; write its record.

    The experiment module names ``NOTEBOOK``, ``CODE_MODULES`` (hashed into the record),
    ``sizes(profile) -> dict`` and ``run_experiment(profile, log) -> figures``.
    """
    import importlib
    import os
    import time

    import torch

    from nlpcourse.evaluate.records import git_commit, hardware, make_record, write_record

    key = notebook[:2]
    if key not in RECORDED:
        raise CourseError(f"no recorded run for notebook {notebook!r}: known {sorted(RECORDED)}")
    experiment = importlib.import_module(RECORDED[key])
    profile = get_profile(profile_name)
    if threads is not None:
        torch.set_num_threads(threads)
    loads = [os.getloadavg()[0]]

    def log(line: str) -> None:
        loads.append(os.getloadavg()[0])
        echo(line)

    hw, commit = hardware(), git_commit()
    echo(f"recording {experiment.NOTEBOOK} with profile {profile.name}: {hw}")
    start = time.perf_counter()
    figures = experiment.run_experiment(profile, log)
    hw["load_average_mean"] = round(sum(loads) / len(loads), 2)
    hw["load_average_max"] = round(max(loads), 2)
    made = make_record(
        experiment.NOTEBOOK,
        profile.name,
        experiment.sizes(profile),
        figures,
        experiment.CODE_MODULES,
        time.perf_counter() - start,
        hardware_info=hw,
        commit=commit,
    )
    path = write_record(made, folder)
    echo(f"wrote {path} ({made['wall_seconds'] / 60:.1f} min)")
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m nlpcourse`` and the ``nlpcourse`` console script."""
    parser = argparse.ArgumentParser(prog="nlpcourse", description=__doc__)
    parser.add_argument("--profile", help="quick or full (default: $NLPCOURSE_PROFILE or quick)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check versions, device, data and checkpoints")
    fetch = commands.add_parser("download", help="fetch data and checkpoints for offline use")
    fetch.add_argument(
        "--to",
        type=Path,
        help="folder to fill with data/ and hf-cache/hub (default: the course's data/ folder)",
    )
    rec = commands.add_parser("record", help="run a notebook's larger experiment, write a record")
    rec.add_argument("notebook", help=f"notebook number: {', '.join(sorted(RECORDED))}")
    rec.add_argument("--to", type=Path, help="folder for the record (default: records/)")
    rec.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            return doctor(args.profile)
        if args.command == "record":
            record(args.notebook, args.profile or "standard", args.to, args.threads)
            return 0
        return download(args.to, args.profile)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
