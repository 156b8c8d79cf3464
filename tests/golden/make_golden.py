"""Regenerate the golden survey run: a small fixed spec on the embedded model.

Writes ``responses.jsonl`` (every cached model answer the spec needs, so the test
never has to call the model) and ``results.json`` (the analyses the code gave).
Run with the project's venv: ``python tests/golden/make_golden.py``. Regenerate only
when a change of numbers is intended, and say why in the commit.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def main() -> None:
    import forkingpaths

    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "golden.yaml"
        spec = yaml.safe_load((HERE / "spec.yaml").read_text(encoding="utf-8"))
        spec["output_dir"] = str(Path(tmp) / "runs")
        spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        cache_dir = Path(tmp) / "cache"
        options = forkingpaths.RunOptions(cache_dir=cache_dir)
        run = forkingpaths.run(spec_path, options)
        with sqlite3.connect(cache_dir / "cache.sqlite") as conn:
            rows = conn.execute(
                "SELECT key, backend, model_identity, request_json, repeat, response_json FROM responses ORDER BY key"
            ).fetchall()
        with (HERE / "responses.jsonl").open("w", encoding="utf-8") as out:
            for key, backend, identity, request_json, repeat, response_json in rows:
                record = {
                    "key": key, "backend": backend, "model_identity": identity,
                    "request": json.loads(request_json), "repeat": repeat, "response": json.loads(response_json),
                }
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        results = json.loads((run.directory / "results.json").read_text(encoding="utf-8"))
        (HERE / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{len(rows)} responses, results with {len(results)} top-level keys", file=sys.stderr)


if __name__ == "__main__":
    main()
