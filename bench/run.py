"""Every benchmark in one command: the data (once), then barcode, checkout, reports and import, then
check_books over the benchmark database. Each benchmark prints its table and writes bench/results/.

    python bench/run.py [--quick]     (--quick: shorter runs on the same data)
"""

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import check_books_or_fail, setup_django  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = "5" if args.quick else "10"
    steps = [
        ["bench/data.py"],
        ["bench/bench_barcode.py", "--seconds", seconds],
        ["bench/bench_checkout.py", "--seconds", seconds],
        ["bench/bench_reports.py", "--repeat", "1" if args.quick else "2"],
        ["bench/bench_import.py"],
    ]
    for step in steps:
        print(f"\n=== {' '.join(step)}", flush=True)
        subprocess.run([sys.executable, *step], cwd=ROOT, check=True)
    setup_django()
    sys.exit(1 if check_books_or_fail() else 0)


if __name__ == "__main__":
    main()
