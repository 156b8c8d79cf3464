"""The entry point: loader names, and spec mistakes caught before any file is read."""

from __future__ import annotations

from pathlib import Path

from forkingpaths.instruments.survey.data import available_loaders

from .helpers import FIXTURES, load_error


def test_available_loaders_have_one_line_descriptions() -> None:
    loaders = available_loaders()
    assert set(loaders) == {"tidy-long", "tidy-wide", "globalopinionqa", "pro-share", "huggingface", "builtin"}
    assert all(text and "\n" not in text for text in loaders.values())


def test_unknown_loader(tmp_path: Path) -> None:
    message = load_error(tmp_path, loader="excel")
    assert message.startswith("data.loader: unknown loader 'excel'; available: tidy-long, tidy-wide")


def test_file_loaders_need_a_path(tmp_path: Path) -> None:
    assert load_error(tmp_path, loader="tidy-wide") == "data.path: required for loader 'tidy-wide'"


def test_unknown_param_is_an_error_not_ignored() -> None:
    message = load_error(FIXTURES, loader="tidy-wide", path="opinions_wide.jsonl", params={"ordred": True})
    assert message == "data.params.ordred: not an option of loader 'tidy-wide'; expected one of (none)"
