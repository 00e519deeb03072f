"""``make bench``: every benchmark, each reporting ratios to a baseline from the same run."""

from bench import group_commit, import_cost, load, pipeline

pipeline.main()
print()
group_commit.main()
print()
load.main()
print()
import_cost.main()
