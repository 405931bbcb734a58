"""Write the last `make bench` run into bench/RESULTS.md.

    .venv/bin/python -m bench.report [--since EPOCH]

Each workload keeps its report in bench/out/<name>.md (bench.run.publish). This puts the reports
written since `--since` (the start of the run) into RESULTS.md between two markers near its top,
with the date, the commit and the machine; the dated sections below the markers, with what was
learnt from each change, are kept as they are.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
OUT = ROOT / "bench" / "out"
BEGIN = "<!-- make bench: the last run, written by bench.report -->"
END = "<!-- make bench: end of the last run -->"
ORDER = ("latest", "reads", "ingestion", "rewards", "writes")


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"MemTotal:\s+(\d+) kB", meminfo.read_text())
        if found:
            memory = f"{int(found.group(1)) / 1024 / 1024:.0f} GiB"
    postgres = _run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"])
    redis = _run(["redis-cli", "-h", "127.0.0.1", "INFO", "server"])
    found = re.search(r"redis_version:(\S+)", redis)
    return (
        f"{os.cpu_count()} cores, {memory}, PostgreSQL {postgres.split()[0] if postgres else '?'},"
        f" Redis {found.group(1) if found else '?'}, Python {platform.python_version()}"
        " (load generator, servers and database on the same machine)"
    )


def section(since: float) -> str:
    reports = [
        OUT / f"{name}.md"
        for name in ORDER
        if (OUT / f"{name}.md").exists() and (OUT / f"{name}.md").stat().st_mtime >= since
    ]
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    lines = [
        BEGIN,
        "",
        f"## The last `make bench` run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
        f" commit {commit}",
        "",
        f"Machine: {machine()}.",
        "",
    ]
    if not reports:
        lines += ["(No workload wrote a report in this run.)", ""]
    for report in reports:
        text = report.read_text().strip()
        # each report's own headings sit one level below this section's
        text = re.sub(r"^### ", "#### ", text, flags=re.MULTILINE)
        lines += [text, ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write(since: float) -> None:
    current = RESULTS.read_text()
    new = section(since)
    if BEGIN in current and END in current:
        before, rest = current.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        current = before + new + "\n" + after
    else:
        # after the title and the machine paragraph, before the dated sections
        head, sep, tail = current.partition("\n## ")
        current = head.rstrip("\n") + "\n\n" + new + "\n" + sep.lstrip("\n") + tail
    RESULTS.write_text(current)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--since", type=float, default=0.0)
    args = parser.parse_args()
    write(args.since)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
