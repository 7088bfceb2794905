import pytest

from nlpcourse.data.runs import project_root, run_dir


def test_run_dir_is_under_the_project(monkeypatch, tmp_path):
    monkeypatch.delenv("NLPCOURSE_RUNS_DIR", raising=False)
    root = project_root()
    assert root is not None and (root / "nlpcourse").is_dir()
    monkeypatch.setenv("NLPCOURSE_RUNS_DIR", str(tmp_path))
    path = run_dir("01_keras_bilstm")
    assert path == tmp_path / "01_keras_bilstm" and path.is_dir()


def test_run_dir_found_from_the_notebooks_folder(monkeypatch):
    monkeypatch.delenv("NLPCOURSE_RUNS_DIR", raising=False)
    root = project_root()
    monkeypatch.chdir(root / "notebooks")
    assert run_dir("x", create=False) == root / "runs" / "x"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden"])
def test_run_dir_rejects_paths(bad):
    with pytest.raises(ValueError, match="plain name"):
        run_dir(bad)
