"""Rebuild correctness.csv from the CAT MedQA JSON Lines files (see SOURCE.md).

Usage: python derive.py /path/to/cat_medqa > correctness.csv
"""

import json
import sys
from pathlib import Path

MODELS = ("medalpaca-7b", "mistral-7b-instruct")
VARIANT_TYPES = ("standard_MC", "standard_MC_shuffled")

source = Path(sys.argv[1])
print("model,variant_type,item,correct")
for model in MODELS:
    with open(source / f"{model}.jsonl", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    for variant_type in VARIANT_TYPES:
        for record in records:
            answers = record["variants"][variant_type]
            bits = "".join("1" if a.get("chosen") == a["correct"] else "0" for a in answers)
            print(f"{model},{variant_type},{record['item']},{bits}")
