"""Verdicts speak the notebook's language: English by default, Chinese in the zh edition."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nlpcourse.exercises as exercises
from nlpcourse.config import course_language
from nlpcourse.errors import LanguageError
from nlpcourse.exercises import ch00, verdict

MODULES = ["ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09", "ch10"]


@pytest.fixture
def english_env(monkeypatch, tmp_path):
    monkeypatch.delenv("NLPCOURSE_LANG", raising=False)
    monkeypatch.chdir(tmp_path)


def test_english_is_the_default(english_env, capsys):
    assert course_language() == "en"
    assert verdict(True, "right.", "", "对了。", "") is True
    assert verdict(False, "", "try again.", "", "再试一次。") is False
    assert capsys.readouterr().out == "✅ Correct: right.\n❌ Not yet: try again.\n"


@pytest.mark.parametrize("value", ["zh", "ZH", "zh-CN", "zh_CN"])
def test_the_environment_variable_picks_chinese(english_env, monkeypatch, capsys, value):
    monkeypatch.setenv("NLPCOURSE_LANG", value)
    assert course_language() == "zh"
    assert verdict(True, "right.", "", "对了。", "") is True
    assert verdict(False, "", "try again.", "", "再试一次。") is False
    assert capsys.readouterr().out == "✅ 正确：对了。\n❌ 还不对：再试一次。\n"


def test_a_kernel_in_a_folder_named_zh_speaks_chinese(english_env, monkeypatch, tmp_path):
    (tmp_path / "zh").mkdir()
    monkeypatch.chdir(tmp_path / "zh")
    assert course_language() == "zh"
    monkeypatch.setenv("NLPCOURSE_LANG", "en")  # the variable wins over the folder
    assert course_language() == "en"
    assert course_language(tmp_path / "zh") == "en"
    monkeypatch.delenv("NLPCOURSE_LANG")
    assert course_language(tmp_path) == "en"


def test_an_unknown_language_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("NLPCOURSE_LANG", "fr")
    with pytest.raises(LanguageError, match="use one of en, zh"):
        course_language()


def test_missing_chinese_text_falls_back_to_english(english_env, monkeypatch, capsys):
    monkeypatch.setenv("NLPCOURSE_LANG", "zh")
    verdict(True, "right.", "")
    assert capsys.readouterr().out == "✅ Correct: right.\n"


def test_a_real_check_answers_in_chinese_from_a_zh_folder(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("NLPCOURSE_LANG", raising=False)
    (tmp_path / "zh").mkdir()
    monkeypatch.chdir(tmp_path / "zh")
    assert ch00.check_to_device(lambda batch, device: batch) is False
    out = capsys.readouterr().out
    assert out.startswith("❌ 还不对：") and "meta" in out
    assert ch00.check_to_device(None) is None
    assert capsys.readouterr().out == ""  # unanswered: silent in both editions


def _verdict_calls(module: str) -> list[ast.Call]:
    source = (Path(exercises.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    return [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "verdict"
    ]


def _argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == name), None)


def _empty(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value == "")


@pytest.mark.parametrize("module", MODULES)
def test_every_verdict_has_chinese_text(module):
    calls = _verdict_calls(module)
    assert calls, f"{module} has no verdict() calls"
    missing = []
    for call in calls:
        passed = _argument(call, 0, "passed")
        outcome = passed.value if isinstance(passed, ast.Constant) else None
        if outcome is not False and _empty(_argument(call, 3, "praise_zh")):
            missing.append(f"line {call.lineno}: no praise_zh")
        if outcome is not True and _empty(_argument(call, 4, "hint_zh")):
            missing.append(f"line {call.lineno}: no hint_zh")
    assert not missing, f"{module}: " + "; ".join(missing)
