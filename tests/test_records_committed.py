"""Every committed record in records/ is complete, unedited and matches today's code and sizes."""

import json

import pytest

from nlpcourse.cli import RECORDED
from nlpcourse.config import get_profile
from nlpcourse.evaluate.records import RECORDS_DIR, check_record

RECORDS = sorted(RECORDS_DIR.glob("*.json"))


def test_records_exist():
    assert RECORDS, f"no records in {RECORDS_DIR}"


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_committed_record_is_current(path):
    import importlib

    record = json.loads(path.read_text())
    check_record(record)  # provenance present, signature holds, code hash current
    experiment = importlib.import_module(RECORDED[record["notebook"][:2]])
    assert record["code_modules"] == sorted(experiment.CODE_MODULES)
    sizes = json.loads(json.dumps(experiment.sizes(get_profile(record["profile"]))))
    assert record["sizes"] == sizes, "the profile's sizes changed since the record was made"
