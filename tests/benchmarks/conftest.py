"""The benchmarks' own modules (the pyhmmer anchor, the alignment scores) live in benchmarks/, not in the package:
put that folder on the import path, as running a benchmark script does."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
