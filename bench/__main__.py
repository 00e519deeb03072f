"""``make bench``: every benchmark, each reporting ratios to a baseline from the same run."""

from bench import import_cost, pipeline

pipeline.main()
print()
import_cost.main()
