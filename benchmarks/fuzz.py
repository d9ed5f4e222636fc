"""Long fuzzing runs of tests/test_fuzz.py: many random examples per property, not CI's few.

CI runs each property a few hundred derandomized times (~25 s in all); this runs them with
fresh randomness and as many examples as asked, and prints each property's time. A failure is
a crash or a broken property: turn its falsifying example into a regular test and fix the code.

    .venv/bin/python benchmarks/fuzz.py [--examples 5000] [-k EXPR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000,
                        help="random examples per property (default 5000)")
    parser.add_argument("-k", dest="select", default=None,
                        help="only the properties whose name matches (pytest -k)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the outcome here (python -m benchmarks)")
    args = parser.parse_args()
    env = {**os.environ, "VERM_FUZZ_EXAMPLES": str(max(1, args.examples))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--durations=0", str(ROOT / "tests" / "test_fuzz.py")]
    if args.select:
        command += ["-k", args.select]
    print(f"fuzzing with {args.examples} random examples per property", flush=True)
    if args.json is None:
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    print(done.stdout, end="")
    counts = {word: int(n) for n, word in
              re.findall(r"(\d+) (passed|failed|errors?|skipped)", done.stdout.splitlines()[-1]
                         if done.stdout.strip() else "")}
    args.json.write_text(json.dumps({
        "examples": args.examples, "select": args.select, "returncode": done.returncode,
        "seconds": time.perf_counter() - start, "passed": counts.get("passed", 0),
        "failed": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
    }, indent=1) + "\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
