"""huggingface: local save_to_disk folders offline; hub loading exercised through a stand-in, never the network."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from forkingpaths.instruments.survey.data.globalopinionqa import item_id_for

from .helpers import FIXTURES, load, load_error

datasets = pytest.importorskip("datasets")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may reach the network; datasets reads the variable at import, so set its flag too."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)


def _goqa_frame() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "globalopinionqa.csv")


def test_local_saved_dataset_in_globalopinionqa_layout(tmp_path: Path) -> None:
    datasets.Dataset.from_pandas(_goqa_frame()).save_to_disk(str(tmp_path / "goqa"))
    items = load(tmp_path, loader="huggingface", path="goqa", params={"layout": "globalopinionqa"})
    from_csv = load(FIXTURES, loader="globalopinionqa", path="globalopinionqa.csv")
    assert items == from_csv


def test_local_dataset_dict_needs_a_split_when_it_has_several(tmp_path: Path) -> None:
    part = datasets.Dataset.from_pandas(_goqa_frame())
    datasets.DatasetDict({"train": part, "test": part.select([0])}).save_to_disk(str(tmp_path / "goqa"))
    spec = {"loader": "huggingface", "path": "goqa"}
    message = load_error(tmp_path, **spec, params={"layout": "globalopinionqa"})
    assert message == "goqa: data.params.split is required; splits found: train, test"
    items = load(tmp_path, **spec, params={"layout": "globalopinionqa", "split": "test"})
    assert len(items) == 1


def test_tidy_long_layout_with_column_mapping(tmp_path: Path) -> None:
    frame = pd.read_csv(FIXTURES / "opinions_long.csv")
    datasets.Dataset.from_pandas(frame).save_to_disk(str(tmp_path / "long"))
    items = load(
        tmp_path, loader="huggingface", path="long", params={"layout": "tidy-long"}, columns={"probability": "prob"}
    )
    assert [i.item_id for i in items] == ["q1", "q2", "q3"]


def test_rows_are_named_in_errors(tmp_path: Path) -> None:
    frame = _goqa_frame()
    frame.loc[1, "options"] = "Yes or No"
    datasets.Dataset.from_pandas(frame).save_to_disk(str(tmp_path / "goqa"))
    message = load_error(tmp_path, loader="huggingface", path="goqa", params={"layout": "globalopinionqa"})
    assert message.startswith("goqa row 2: column 'options' must be a list literal")


def test_hub_id_goes_to_load_dataset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def fake_load_dataset(path: str, **kwargs: Any) -> Any:
        calls.append({"path": path, **kwargs})
        return datasets.Dataset.from_pandas(_goqa_frame())

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    params = {"layout": "globalopinionqa", "split": "train", "revision": "abc123"}
    items = load(tmp_path, loader="huggingface", path="Anthropic/llm_global_opinions", params=params)
    assert calls == [{"path": "Anthropic/llm_global_opinions", "name": None, "split": "train", "revision": "abc123"}]
    assert items[0].item_id == item_id_for(items[0].question, "GAS")


def test_load_failure_becomes_one_data_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def offline_hub(path: str, **kwargs: Any) -> Any:
        raise ConnectionError("Couldn't reach the Hugging Face Hub\n(offline mode is enabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline_hub)
    message = load_error(tmp_path, loader="huggingface", path="someone/opinions", params={"layout": "tidy-wide"})
    assert message == (
        "someone/opinions[train]: cannot load Hugging Face dataset (ConnectionError: Couldn't reach the Hugging Face Hub)"
    )


def test_missing_datasets_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)
    message = load_error(tmp_path, loader="huggingface", path="goqa", params={"layout": "globalopinionqa"})
    assert message == "loader 'huggingface' needs the 'datasets' package: pip install 'forkingpaths[hf]'"


def test_layout_is_required_and_checked(tmp_path: Path) -> None:
    message = load_error(tmp_path, loader="huggingface", path="goqa")
    assert message == "data.params.layout: required; expected one of tidy-long, tidy-wide, globalopinionqa"
    message = load_error(tmp_path, loader="huggingface", path="goqa", params={"layout": "tidy-long", "id_column": "x"})
    assert message.startswith("data.params.id_column: not an option of loader 'huggingface'")
