"""Long fuzzing runs of tests/test_fuzz.py: many random examples per property, not CI's few.

CI runs each property a few hundred derandomized times (~25 s in all); this runs them with
fresh randomness and as many examples as asked, and prints each property's time. A failure is
a crash or a broken property: turn its falsifying example into a regular test and fix the code.

    .venv/bin/python benchmarks/fuzz.py [--examples 5000] [-k EXPR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000,
                        help="random examples per property (default 5000)")
    parser.add_argument("-k", dest="select", default=None,
                        help="only the properties whose name matches (pytest -k)")
    args = parser.parse_args()
    env = {**os.environ, "VERM_FUZZ_EXAMPLES": str(max(1, args.examples))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--durations=0", str(ROOT / "tests" / "test_fuzz.py")]
    if args.select:
        command += ["-k", args.select]
    print(f"fuzzing with {args.examples} random examples per property", flush=True)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
