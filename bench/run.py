"""`make bench`: run the benchmark parts one after the other and sum up.

    .venv/bin/python bench/run.py [part ...]      e.g. bench/run.py catalogue

Each part is a module of its own in bench/ (catalogue, mixed, checkout, ingest, trace, ledger, readings), run as its own
process with its own defaults and printing its own figures; a part that is absent is skipped.
Everything stays on loopback. The exit status is non-zero when a part fails or misses its target.
"""
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# The catalogue first: it empties the shop tables of the shared bench database, which the parts
# after it fill again as they need.
# readings last: it has a database of its own and the longest first run (50 M rows of history, kept for the next).
PARTS = ["catalogue", "mixed", "checkout", "ingest", "trace", "ledger", "readings"]


def main(argv: list[str]) -> int:
    unknown = [name for name in argv if name not in PARTS]
    if unknown:
        print(f"Unknown part(s): {', '.join(unknown)}. Parts: {', '.join(PARTS)}.", file=sys.stderr)
        return 2
    chosen = [name for name in (argv or PARTS) if (BENCH_DIR / f"{name}.py").exists()]
    summary = []
    for name in chosen:
        print(f"\n=== bench: {name}", flush=True)
        started = time.perf_counter()
        status = subprocess.call([sys.executable, str(BENCH_DIR / f"{name}.py")], cwd=BENCH_DIR.parent)
        summary.append((name, status, time.perf_counter() - started))
    print("\n=== bench summary")
    for name, status, seconds in summary:
        verdict = "ok" if status == 0 else f"exit {status} (failed or missed its target)"
        print(f"  {name:10} {verdict:45} {seconds:6.0f} s")
    return 0 if all(status == 0 for _, status, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
