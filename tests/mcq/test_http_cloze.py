"""``elicitation: cloze`` over HTTP: one run scoring option texts on a real llama-cpp-python server and in-process.

Kept tiny (2 items x 2 options, reversed order only, so every answer must be mapped back):
llama-cpp-python's server sorts the whole vocabulary in Python for every echoed token,
0.2-0.5 s per prompt token on 2 busy cores.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import forkingpaths
from forkingpaths import parse_spec
from forkingpaths.errors import SpecError

ITEMS = [("q1", "Planet closest to the sun?", ["Mercury", "Mars"], "Mercury"), ("q2", "Largest ocean?", ["Arctic", "Pacific"], "Pacific")]


def _spec(tmp_path: Path, models: list[str]) -> dict[str, object]:
    rows = ["id,question,options,gold"] + [f'{i},"{q}","{json.dumps(o).replace(chr(34), chr(34) * 2)}",{g}' for i, q, o, g in ITEMS]
    (tmp_path / "q.csv").write_text("\n".join(rows) + "\n")
    return {
        "name": "http-cloze", "instrument": {"name": "mcq", "params": {"templates": {"short": "{question}\n{options}"}}},
        "data": {"loader": "tidy", "path": str(tmp_path / "q.csv")}, "models": models,
        "factors": {"option_order": ["reversed"], "template": ["short"], "elicitation": ["cloze"]},
        "output_dir": str(tmp_path / "runs"), "analysis": {"n_resamples": 50},
        "retries": {"timeout": 600},  # a serial server queues 2 x 2 echoed requests; busy shared cores are slow
    }


@pytest.mark.server
@pytest.mark.model
def test_cloze_over_http_maps_answers_back_and_equals_the_in_process_run(tmp_path: Path, llama_server) -> None:  # type: ignore[no-untyped-def]
    http = f"openai:{llama_server.model}@{llama_server.base_url};chat_template=llamacpp"
    run = forkingpaths.run(parse_spec(_spec(tmp_path, [http, "llamacpp"])), forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    trials = run.trials
    assert trials["error"].isna().all() and len(trials) == 4
    remote = trials[trials["model"] == http].set_index(["item_id", "condition_id"])
    local = trials[trials["model"] == "llamacpp"].set_index(["item_id", "condition_id"])
    for key, row in remote.iterrows():
        twin = local.loc[key]
        assert list(row["permutation"]) == list(twin["permutation"]) == [1, 0] and row["gold"] == twin["gold"]
        assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(row["probs"], twin["probs"]))
        assert row["chosen"] == twin["chosen"] == max(range(2), key=lambda i: row["probs"][i])
        assert row["chosen_norm"] == twin["chosen_norm"] and row["correct"] == (row["chosen"] == row["gold"])
    first = remote.loc["q1"].iloc[0]  # displayed reversed (Mars, Mercury), recorded in canonical order
    assert first["gold"] == 0 and first["gold_position"] == 1 and first["chosen_position"] == 1 - first["chosen"]
    assert run.analyses["models"][http]["cloze_norm"]["method"] == "korn-graubard(item)"


def test_cloze_on_a_chat_only_reference_fails_before_any_call(tmp_path: Path) -> None:
    """No server listens on port 9: reaching the model (even its probe) would be another error."""
    spec = parse_spec(_spec(tmp_path, ["openai:chat-model@http://127.0.0.1:9/v1"]))
    with pytest.raises(SpecError, match=r"^factors\.elicitation: openai:chat-model@http://127\.0\.0\.1:9/v1 cannot score option texts") as caught:
        forkingpaths.run(spec, forkingpaths.RunOptions(cache_dir=tmp_path / "cache"))
    assert len(str(caught.value).splitlines()) == 1 and "chat_template" in str(caught.value)
