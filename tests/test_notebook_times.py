import pytest

from nlpcourse.notebook_times import (
    BUDGET_SECONDS,
    NotebookTime,
    format_notebook_times,
    machine_description,
    read_notebook_times,
    write_notebook_times,
)


def test_write_then_read_round_trips(tmp_path):
    rows = [
        NotebookTime("00_setup", 5.04, "passed", "2026-12-01", "2 CPU cores, no GPU"),
        NotebookTime("01_keras_bilstm", 301.0, "FAILED", "2026-12-01", "2 CPU cores, no GPU"),
    ]
    path = write_notebook_times(rows, tmp_path / "sub" / "times.csv")
    back = read_notebook_times(path)
    assert [r.notebook for r in back] == ["00_setup", "01_keras_bilstm"]
    assert back[0].seconds == pytest.approx(5.0)
    assert back[1].result == "FAILED" and back[1].machine == "2 CPU cores, no GPU"
    assert back[0].within_budget and not back[1].within_budget


def test_missing_file_is_none_and_wrong_columns_are_an_error(tmp_path):
    assert read_notebook_times(tmp_path / "absent.csv") is None
    bad = tmp_path / "bad.csv"
    bad.write_text("name,time\n00,1\n")
    with pytest.raises(ValueError, match="columns"):
        read_notebook_times(bad)


def test_table_shows_budget_and_total():
    rows = [
        NotebookTime("a", 60, "passed", "d", "m"),
        NotebookTime("b", BUDGET_SECONDS + 1, "passed", "d", "m"),
    ]
    table = format_notebook_times(rows)
    assert "yes" in table.splitlines()[1] and "NO" in table.splitlines()[2]
    assert table.splitlines()[-1].split()[-1] == f"{60 + BUDGET_SECONDS + 1:.0f}"


def test_machine_description_is_one_line():
    line = machine_description()
    assert "\n" not in line and "CPU cores" in line and "torch" in line


def test_measured_times_path_is_in_the_data_folder():
    from nlpcourse.notebook_times import measured_times_path

    path = measured_times_path()
    assert path.name == "notebook_times.csv" and path.parent.name == "data"
