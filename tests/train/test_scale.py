"""scripts/finetune_ag_news.py on two CPU processes: sharding, equality, evaluation, resume,
and notebook 10's Accelerate snippet against it.
"""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import pytest
import torch

from nlpcourse.train.launch import (
    course_file,
    launch_command,
    load_script,
    load_weights,
    read_metrics,
    run_launch,
)
from nlpcourse.train.parallel import steps_per_epoch
from tests.conftest import write_csv
from tests.tiny_bert import WORDS, tiny_bert, tiny_tokenizer

pytestmark = pytest.mark.slow
ROWS = 120  # AG News "test" split of the fixture: 96 training rows, 24 test rows (quick's 80/20)
COMMON = [
    "--cpu",
    "--val_size", "0.2",  # 20 validation rows: not a multiple of 2 processes x 4
    "--train_rows", "all",
    "--val_rows", "all",
    "--test_rows", "all",
    "--max_len", "16",
    "--eval_batch_size", "4",
    "--max_steps", "4",
    "--lr", "1e-3",
    "--head_lr", "1e-2",
    "--warmup_ratio", "0.25",
    "--head_modules", "classifier",
    "--record_rows",
    "--no_progress",
]  # fmt: skip


def _ag_news_csv(folder: Path) -> None:
    rng = random.Random(0)
    words = WORDS.split()
    names = ("World", "Sports", "Business", "Sci/Tech")
    lines = ["label,label_name,title,description"]
    for i in range(ROWS):
        label = i % 4
        title = " ".join(rng.choices(words, k=rng.randint(1, 4)))
        body = " ".join(rng.choices(words, k=rng.randint(1, 9)))
        lines.append(f"{label + 1},{names[label]},{title},{body}")
    write_csv(folder / "ag_news" / "test.csv.gz", "\n".join(lines) + "\n")


# the snippet's run: one process, 32 rows in micro-batches of 4, 2 per step = 4 optimizer steps
SNIPPET_RUN = ["--train_rows", "32", "--max_steps", "none", "--per_device_batch_size", "4",
               "--gradient_accumulation_steps", "2", "--checkpoint_every", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three launches: 2 processes (with checkpoints), 2 processes resumed, 1 process."""
    base = tmp_path_factory.mktemp("scale")
    _ag_news_csv(base / "data")
    model_dir = base / "tiny"
    tiny_bert(num_labels=4).save_pretrained(model_dir)
    tiny_tokenizer().save_pretrained(model_dir)
    env = {"NLPCOURSE_DATA_DIR": str(base / "data"), "NLPCOURSE_PROFILE": "quick"}
    args = [*COMMON, "--model", str(model_dir)]
    out = {name: base / name for name in ("two", "resumed", "one", "snippet")}
    # 2 processes x 2 rows x 2 accumulation steps = an effective batch of 8
    two = ["--per_device_batch_size", "2", "--gradient_accumulation_steps", "2"]
    run_launch(
        launch_command([*args, *two, "--checkpoint_every", "2", "--score_test",
                        "--output_dir", str(out["two"])], config="cpu_2proc.yaml"),
        env=env,
    )  # fmt: skip
    checkpoint = out["two"] / "checkpoints" / "step_000002"
    run_launch(
        launch_command([*args, *two, "--checkpoint_every", "0", "--resume_from", str(checkpoint),
                        "--output_dir", str(out["resumed"])], config="cpu_2proc.yaml"),
        env=env,
    )  # fmt: skip
    one = ["--per_device_batch_size", "8", "--gradient_accumulation_steps", "1"]
    run_launch(
        launch_command([*args, *one, "--checkpoint_every", "0", "--output_dir", str(out["one"])]),
        env=env,
    )
    run_launch(launch_command([*args, *SNIPPET_RUN, "--output_dir", str(out["snippet"])]), env=env)
    # dropout on (one process): a resumed run must draw the uninterrupted run's dropout masks
    dropout_dir = base / "tiny_dropout"
    tiny_bert(num_labels=4, hidden_dropout_prob=0.2).save_pretrained(dropout_dir)
    tiny_tokenizer().save_pretrained(dropout_dir)
    drop = [*COMMON, "--model", str(dropout_dir), *two]
    out["dropout"], out["dropout_resumed"] = base / "dropout", base / "dropout_resumed"
    run_launch(
        launch_command([*drop, "--checkpoint_every", "2", "--output_dir", str(out["dropout"])]),
        env=env,
    )
    resume_from = out["dropout"] / "checkpoints" / "step_000002"
    run_launch(
        launch_command([*drop, "--checkpoint_every", "0", "--resume_from", str(resume_from),
                        "--output_dir", str(out["dropout_resumed"])]),
        env=env,
    )  # fmt: skip
    out["model"], out["data"] = model_dir, base / "data"
    return out


def test_two_processes_really_ran(runs):
    metrics = read_metrics(runs["two"])
    assert metrics["num_processes"] == 2
    assert metrics["distributed_type"] == "MULTI_CPU"
    assert metrics["effective_batch_size"] == 8
    assert metrics["steps"] == 4
    assert read_metrics(runs["one"])["num_processes"] == 1
    for run, sizes in (("two", (2, 2, 2)), ("one", (8, 1, 1))):
        counted = read_metrics(runs[run])
        assert counted["steps_per_epoch"] == steps_per_epoch(counted["rows"]["train"], *sizes)


def test_each_process_saw_a_disjoint_shard(runs):
    shards = [set(json.loads((runs["two"] / f"rows_rank{r}.json").read_text())) for r in (0, 1)]
    assert shards[0] and shards[1]
    assert not shards[0] & shards[1]
    single = json.loads((runs["one"] / "rows_rank0.json").read_text())
    assert shards[0] | shards[1] == set(single), "together they saw the single run's rows"


def test_two_processes_match_one_with_the_same_effective_batch(runs):
    two, one = load_weights(runs["two"] / "model"), load_weights(runs["one"] / "model")
    start = tiny_bert(num_labels=4).state_dict()
    assert two.keys() == one.keys()
    moved = max((two[k] - start[k]).abs().max().item() for k in two)
    assert moved > 1e-3, "training changed the weights"
    for key in two:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)


def test_evaluation_counts_every_held_out_row_once(runs):
    metrics = read_metrics(runs["two"])
    for part in ("validation", "test"):
        rows = metrics[part]["row_ids"]
        assert len(rows) == metrics["rows"][part] and sorted(rows) == list(range(len(rows)))
    # 20 rows in batches of 4 on 2 processes: the second process's last batch repeats rows
    assert metrics["rows"]["validation"] % (2 * 4) != 0, "the last round of batches is padded"


def test_resuming_continues_with_the_same_weights(runs):
    resumed = read_metrics(runs["resumed"])
    assert resumed["steps"] == 4 and [log["step"] for log in resumed["log"]] == [3, 4]
    full, cont = load_weights(runs["two"] / "model"), load_weights(runs["resumed"] / "model")
    for key in full:
        torch.testing.assert_close(cont[key], full[key], rtol=0, atol=1e-7)
    uninterrupted = read_metrics(runs["two"])["log"][2:]
    for a, b in zip(resumed["log"], uninterrupted, strict=True):
        assert a["lr"] == pytest.approx(b["lr"]) and a["loss"] == pytest.approx(b["loss"])


def test_resuming_with_dropout_on_continues_with_the_same_weights(runs):
    full, cont = read_metrics(runs["dropout"]), read_metrics(runs["dropout_resumed"])
    assert [log["step"] for log in cont["log"]] == [3, 4]
    assert [log["loss"] for log in cont["log"]] == [log["loss"] for log in full["log"][2:]]
    a, b = load_weights(runs["dropout"] / "model"), load_weights(runs["dropout_resumed"] / "model")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-7)


def test_resuming_with_another_schedule_length_warns(runs, capsys):
    script = load_script()

    class Stub:
        is_main_process = True

        def load_state(self, folder):
            self.loaded = folder

    checkpoint = runs["two"] / "checkpoints" / "step_000002"
    stub = Stub()
    assert script.resume(stub, checkpoint, total_steps=4) == 2 and stub.loaded == str(checkpoint)
    assert capsys.readouterr().out == ""
    assert script.resume(stub, checkpoint, total_steps=6) == 2
    assert "ran over 4 steps, this run's over 6" in capsys.readouterr().out


def _notebook_snippet(name: str) -> str:
    """The string assigned to ``name`` in notebook 10's source."""
    source = course_file("notebooks", "10_scaling_out.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in the notebook")


def _run_snippet(runs, code: str, out: Path, monkeypatch) -> tuple[dict, list[list[float]]]:
    """Notebook 10's way: the script's data and model, the snippet's loop."""
    from accelerate import Accelerator, DataLoaderConfiguration
    from accelerate.utils import set_seed
    from transformers import AutoTokenizer

    from nlpcourse.train.optim import make_scheduler, param_groups, warmup_steps_for
    from nlpcourse.train.parallel import run_snippet

    monkeypatch.setenv("NLPCOURSE_DATA_DIR", str(runs["data"]))
    monkeypatch.setenv("NLPCOURSE_PROFILE", "quick")
    script = load_script()
    args = script.parse_args([*COMMON, *SNIPPET_RUN, "--model", str(runs["model"]),
                              "--output_dir", str(out)])  # fmt: skip
    set_seed(args.seed)
    parts, loaders = script.get_dataloaders(args, AutoTokenizer.from_pretrained(args.model))
    model = script.get_model(args, parts["train"].features["label"].names)
    optimizer = torch.optim.AdamW(
        param_groups(model, args.lr, args.head_lr, args.head_modules, args.weight_decay)
    )
    steps = len(loaders["train"]) // args.gradient_accumulation_steps
    scheduler = make_scheduler(
        optimizer, "linear", warmup_steps_for(steps, args.warmup_ratio), steps
    )
    return run_snippet(
        code,
        optimizer,
        Accelerator=Accelerator,
        DataLoaderConfiguration=DataLoaderConfiguration,
        model=model,
        scheduler=scheduler,
        loader=loaders["train"],
        eval_loader=loaders["validation"],
        accumulation_steps=args.gradient_accumulation_steps,
        max_norm=args.max_grad_norm,
        out=out,
    )


def test_the_notebooks_accelerate_snippet_trains_as_the_script_does(runs, tmp_path, monkeypatch):
    _, rates = _run_snippet(runs, _notebook_snippet("loop_accelerate"), tmp_path, monkeypatch)
    script_log = read_metrics(runs["snippet"])["log"]
    assert len(rates) == len(script_log) == 4
    assert rates == [log["lr"] for log in script_log]  # JSON keeps floats exactly
    ours, theirs = load_weights(tmp_path), load_weights(runs["snippet"] / "model")
    assert ours.keys() == theirs.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=1e-7)


def test_the_trap_the_notebook_shows_is_caught(runs, tmp_path, monkeypatch):
    snippet = _notebook_snippet("loop_accelerate")
    trap = snippet.replace(  # the notebook's trap: the scheduler stepped on every micro-batch
        "    if accelerator.sync_gradients:\n        scheduler.step()", "    scheduler.step()"
    )
    assert trap != snippet
    _, rates = _run_snippet(runs, trap, tmp_path, monkeypatch)
    script_rates = [log["lr"] for log in read_metrics(runs["snippet"])["log"]]
    assert len(rates) == len(script_rates)
    assert rates != script_rates, "the schedule runs ahead"
    assert rates[-1] == [0.0] * len(rates[-1]), "it reaches zero before the last step"


def test_help_explains_the_knobs(capsys):
    script = load_script()
    with pytest.raises(SystemExit):
        script.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for knob in ("--per_device_batch_size", "--gradient_accumulation_steps", "--resume_from"):
        assert knob in text
    assert "effective batch" in text
    assert "notebooks 05, 06 and 08" in text and "keep it when you resume" in text


def test_the_split_is_notebook_06s():
    from nlpcourse.config import get_profile

    for name in ("quick", "full"):
        profile = get_profile(name)
        assert not hasattr(profile.scale, "val_size"), "one validation share, 06's"
    args = load_script().parse_args(["--output_dir", "x"])
    assert args.val_size == get_profile().agnews.val_size


def test_profiles_size_the_launch():
    from nlpcourse.config import get_profile
    from nlpcourse.train.parallel import effective_batch_size

    quick = get_profile("quick")
    sc = quick.scale
    # the notebook's 2-process run steps on notebook 06's batch of 32
    assert (
        effective_batch_size(sc.per_device_batch_size, sc.processes, sc.gradient_accumulation_steps)
        == quick.agnews.batch_size
    )
    assert sc.timing_batch_size % sc.processes == 0
    for name in ("quick", "full"):
        assert course_file("configs", "accelerate", get_profile(name).scale.launch_config)
    assert get_profile("full").scale.max_steps is None


def test_command_line_sizes():
    parse = load_script().parse_args
    args = parse(
        ["--output_dir", "x", "--val_size", "0.1", "--train_rows", "all", "--max_steps", "7"]
    )
    assert args.val_size == 0.1 and args.train_rows is None and args.max_steps == 7
    assert parse(["--output_dir", "x", "--val_size", "500"]).val_size == 500


def test_run_launch_retries_the_teardown_abort_only(tmp_path):
    import sys

    from nlpcourse.train.launch import TEARDOWN_ABORT, LaunchError

    marker = tmp_path / "first"
    first_aborts = (
        "import pathlib, sys\n"
        f"p = pathlib.Path({str(marker)!r})\n"
        "first = not p.exists()\n"
        "p.touch()\n"
        f"print({TEARDOWN_ABORT!r}, file=sys.stderr) if first else print('done')\n"
        "sys.exit(134 if first else 0)\n"
    )
    with pytest.warns(UserWarning, match="aborted at exit"):
        assert run_launch([sys.executable, "-c", first_aborts]).strip() == "done"
    marker.unlink()
    with pytest.raises(LaunchError, match="exit 134"):
        run_launch([sys.executable, "-c", first_aborts], retries=0)
    with pytest.raises(LaunchError, match="exit 3"):
        run_launch([sys.executable, "-c", "import sys; sys.exit(3)"])
