"""Recorded runs: provenance fields present, a stale code hash and a hand-edited figure fail."""

import json

import pytest

from nlpcourse.evaluate.records import (
    PROVENANCE,
    RecordError,
    check_record,
    code_hash,
    load_record,
    make_record,
    record_label,
    write_record,
)


@pytest.fixture
def module(tmp_path, monkeypatch):
    """A throwaway experiment module the record's code hash covers."""
    (tmp_path / "fake_experiment.py").write_text("def run():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "fake_experiment.py"


@pytest.fixture
def record(module):
    return make_record(
        "99_demo",
        "standard",
        {"train_size": 10, "grid": (1e-4, 2e-4)},
        {"accuracy": [0.5, 0.75]},
        ["fake_experiment"],
        wall_seconds=12.3,
    )


def test_a_record_carries_its_provenance_and_reads_back(record, tmp_path):
    for field in PROVENANCE:
        assert field in record
    assert record["sizes"]["grid"] == [1e-4, 2e-4]  # tuples stored as JSON lists
    assert set(record["versions"]) >= {"python", "torch", "peft"}
    assert record["hardware"]["cpu_cores"] >= 1
    path = write_record(record, tmp_path / "records")
    assert path.name == "99_demo.standard.json"
    assert load_record("99_demo", "standard", tmp_path / "records") == record
    assert record_label(record).startswith("recorded run: standard profile, ")


@pytest.mark.parametrize("field", [*PROVENANCE, "figures", "signature"])
def test_a_record_without_a_provenance_field_fails(record, field):
    del record[field]
    with pytest.raises(RecordError, match="lacks"):
        check_record(record)


def test_a_stale_record_fails_when_its_code_changes(record, module):
    check_record(record)
    module.write_text("def run():\n    return 2\n")
    assert code_hash(["fake_experiment"]) != record["code_hash"]
    with pytest.raises(RecordError, match="stale"):
        check_record(record)


def test_a_hand_edited_figure_fails(record, tmp_path):
    path = write_record(record, tmp_path)
    edited = json.loads(path.read_text())
    edited["figures"]["accuracy"][1] = 0.8
    path.write_text(json.dumps(edited))
    with pytest.raises(RecordError, match="by hand"):
        load_record("99_demo", "standard", tmp_path)


def test_a_hand_edited_code_hash_fails_too(record):
    record["code_hash"] = code_hash(["nlpcourse.errors"])
    with pytest.raises(RecordError, match="by hand"):
        check_record(record)


def test_a_missing_record_says_how_to_make_it(tmp_path):
    with pytest.raises(RecordError, match="nlpcourse record 99"):
        load_record("99_demo", "standard", tmp_path)
