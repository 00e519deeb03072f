"""``make bench``: every benchmark, each as ratios to a baseline measured in the same run; the
numbers go to ``bench/results/latest.json`` too."""

import json
from datetime import UTC, datetime
from pathlib import Path

from bench import cold_start, cost, listings, load, pipeline, quiet, refunds

results: dict[str, object] = {"when": datetime.now(UTC).isoformat(timespec="seconds")}
for name, section in (
    ("durable_load", load),
    ("hot_path", pipeline),
    ("cold_start", cold_start),
    ("cost_per_million", cost),
    ("listings", listings),
    ("refunds_of_one_transaction", refunds),
    ("quiet_providers", quiet),
):
    results[name] = section.main()
    print()
out = Path(__file__).parent / "results" / "latest.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps(results, indent=2, default=str) + "\n")
print(f"written to {out}")
