"""Run every benchmark, collect their JSON results, write the summary into docs/benchmarks.md.

Each benchmark runs as its own subprocess with its defaults (or its quick options with
--quick), one after the other; one that fails or times out is reported as failed, with the end
of its error output, and the rest go on. The summary — the machine (CPU model, cores, memory,
OS, Python, torch, numpy), the date, and the headline figures of each benchmark from its JSON —
replaces only the block between `<!-- run_all:begin -->` and `<!-- run_all:end -->` in
docs/benchmarks.md (appended at the end when the markers are not there yet).

    python benchmarks/run_all.py [--quick] [--only a,b] [--skip a,b] [--timeout 900]
        [--no-run] [--no-docs]

The plan: engine_overhead, store_ingest, stream_latency, ws_fanout, browser_render,
doctor_accuracy (synthetic runs) and doctor_accuracy_real (`--corpus real`), the three
tracker_* comparisons, script_runs, branch_latency, integrations_cost, and gpu_check (on a
machine without CUDA its GPU parts are skipped and its CPU parts run).

--no-run writes the summary from the JSON already in benchmarks/results/. With --quick the
results of the quick runs are kept in benchmarks/results/quick/ and the full-run JSON files are
left as they were; the summary then says it was a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
CHROMIUM = Path("/usr/bin/chromium")


def postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def benchmarks(quick: bool) -> list[tuple[str, str, list[str]]]:
    """(name of its result, script, its arguments) in the order they run. The result is
    benchmarks/results/<name>.json; doctor_accuracy runs twice, for its two corpora."""
    store = [] if postgres_up() else ["--backends", "sqlite"]
    if quick:
        return [
            ("engine_overhead", "engine_overhead", ["--rounds", "4", "--iterations", "60"]),
            (
                "store_ingest",
                "store_ingest",
                ["--points", "200000", "--repeat", "3", *store],
            ),
            (
                "stream_latency",
                "stream_latency",
                ["--clients", "10", "--epochs", "5", "--restarts", "3"],
            ),
            ("ws_fanout", "ws_fanout", ["--clients", "30", "--epochs", "10"]),
            (
                "browser_render",
                "browser_render",
                ["--points", "200000", "--warm-loads", "2", "--seconds", "5"],
            ),
            (
                "doctor_accuracy",
                "doctor_accuracy",
                ["--per-scenario", "5", "--repeat", "10", "--corpus", "synthetic"],
            ),
            ("doctor_accuracy_real", "doctor_accuracy", ["--corpus", "real"]),
            ("tracker_overhead", "tracker_overhead", ["--quick"]),
            ("tracker_slowdown", "tracker_slowdown", ["--quick"]),
            ("tracker_latency", "tracker_latency", ["--quick"]),
            ("script_runs", "script_runs", ["--quick"]),
            ("branch_latency", "branch_latency", ["--quick"]),
            ("integrations_cost", "integrations_cost", ["--quick"]),
            ("gpu_check", "gpu_check", ["--quick"]),
        ]
    return [
        ("engine_overhead", "engine_overhead", []),
        ("store_ingest", "store_ingest", store),
        ("stream_latency", "stream_latency", []),
        ("ws_fanout", "ws_fanout", []),
        ("browser_render", "browser_render", []),
        ("doctor_accuracy", "doctor_accuracy", ["--corpus", "synthetic"]),
        ("doctor_accuracy_real", "doctor_accuracy", ["--corpus", "real"]),
        ("tracker_overhead", "tracker_overhead", []),
        ("tracker_slowdown", "tracker_slowdown", []),
        ("tracker_latency", "tracker_latency", []),
        ("script_runs", "script_runs", []),
        ("branch_latency", "branch_latency", []),
        ("integrations_cost", "integrations_cost", []),
        # On a machine without CUDA its GPU parts are skipped (and said so); the CPU parts run.
        ("gpu_check", "gpu_check", []),
    ]


# -- the machine ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    os_name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for mod in ("torch", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": f"{os_name}, kernel {platform.release()}",
        "python": platform.python_version(),
        **versions,
    }


# -- running -----------------------------------------------------------------------------------
def run_one(name: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Runs benchmarks/<name>.py with `args`."""
    script = HERE / f"{name}.py"
    if name == "browser_render" and not CHROMIUM.exists():
        return {"status": "failed", "error": f"{CHROMIUM} is not installed"}
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=HERE.parent,
        )
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"timed out after {timeout:.0f} s", "args": args}
    seconds = round(time.monotonic() - t0, 1)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-4:]
        return {
            "status": "failed",
            "error": f"exit {proc.returncode}: " + " | ".join(tail),
            "seconds": seconds,
            "args": args,
        }
    return {"status": "ok", "seconds": seconds, "args": args, "table": proc.stdout[-4000:]}


# -- the summary ---------------------------------------------------------------------------------
Row = tuple[str, str, str]  # measure, value, goal
Rows = list[Row]


def _ms(x: Any, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f} ms"


def sum_engine(d: dict[str, Any]) -> Rows:
    return [
        (
            "bare PyTorch loop / trainscope engine, ms per iteration",
            f"{d['bare_ms_per_iteration']:.2f} / {d['engine_ms_per_iteration']:.2f}",
            "",
        ),
        (
            "overhead (median of paired rounds)",
            f"{d['overhead_percent_median_of_pairs']:+.2f} %",
            "≤ 3 %",
        ),
        ("emit a point", f"{d['emit_point_us']:.2f} µs", "≤ 2 µs"),
    ]


def sum_store(d: dict[str, Any]) -> Rows:
    rows: Rows = []
    for backend, b in d["backends"].items():
        batched = max(b["ingest"], key=lambda r: r["batch"])
        rows.append(
            (
                f"{backend}: ingest, batches of {batched['batch']}",
                f"{batched['points_per_s']:,} points/s",
                "≥ 200,000",
            )
        )
        rows.append(
            (
                f"{backend}: read {b['run_points']:,} points downsampled to 2000",
                _ms(b["read_downsampled_2000_ms_median"]),
                "≤ 200 ms",
            )
        )
    return rows


def sum_stream(d: dict[str, Any]) -> Rows:
    s = d["stream"]
    return [
        (
            f"latency p50 / p99 ({s['clients']} clients, {s['points_measured']:,} points)",
            f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms",
            "≤ 30 / ≤ 100 ms",
        ),
        (
            "steady state p50 / p99",
            f"{s['steady_p50_ms']:.1f} / {s['steady_p99_ms']:.1f} ms",
            "≤ 30 / ≤ 100 ms",
        ),
        ("restart → first point (median)", _ms(d["restart_to_first_point_median_ms"]), "≤ 300 ms"),
    ]


def sum_fanout(d: dict[str, Any]) -> Rows:
    f = d["fanout"]
    return [
        (
            "clients that got every point exactly once",
            f"{f['clients_exactly_once']} / {f['clients']}",
            f"{f['clients']} / {f['clients']}",
        ),
        ("latency p50 / p99", f"{f['p50_ms']:.1f} / {f['p99_ms']:.1f} ms", ""),
        ("server CPU, % of one core", f"{f['server_cpu_pct_of_one_core']:.1f} %", ""),
    ]


def sum_browser(d: dict[str, Any]) -> Rows:
    b, t = d["big_run"], d["ten_streaming"]["all_tabs"]
    return [
        (
            f"{b['points']:,}-point run, first chart, warm (median) / cold",
            f"{b['warm_first_chart_ms_median']:,.0f} / {b['cold']['first_chart_ms']:,.0f} ms",
            "≤ 1,000 ms",
        ),
        (
            "ten streaming run pages: frame time p95 / mean",
            f"{t['p95_ms']:.1f} / {t['mean_ms']:.1f} ms",
            "< 16 ms",
        ),
    ]


def sum_doctor(d: dict[str, Any]) -> Rows:
    full, down = d["full"], d["downsampled"]
    worst = min(
        min(c["precision"], c["recall"]) for c in full["per_code"].values() if c["labelled"]
    )
    worst_down = min(
        min(c["precision"], c["recall"]) for c in down["per_code"].values() if c["labelled"]
    )
    timing = d["timing"].get("20000", {}).get("healthy", {})
    return [
        (
            "runs with the label set exactly right (full / downsampled)",
            f"{full['exact_label_sets']} / {down['exact_label_sets']} of {full['runs']}",
            "",
        ),
        (
            "lowest precision or recall of any code (full / downsampled)",
            f"{worst:.3f} / {worst_down:.3f}",
            "≥ 0.9",
        ),
        (
            "diagnose a healthy 20,000-point run",
            _ms(timing["diagnose_us"] / 1e3, 2) if timing else "—",
            "",
        ),
    ]


def _fmt_us(ns: float) -> str:
    us = ns / 1e3
    return f"{us:,.2f}" if us < 100 else f"{us:,.0f}"


def _per_tracker(d: dict[str, Any], row: Callable[[str, dict[str, Any]], Row]) -> Rows:
    """One row per tracker of a tracker_* result; a tracker measured with an error shows it."""
    trackers: dict[str, dict[str, Any]] = d["trackers"]
    return [(n, r["error"], "") if "error" in r else row(n, r) for n, r in trackers.items()]


def sum_tracker_overhead(d: dict[str, Any]) -> Rows:
    def row(name: str, r: dict[str, Any]) -> Row:
        return (
            f"{name}: µs per call (1 scalar / 3 scalars); per scalar incl. flush (3 per call)",
            f"{_fmt_us(r['ns_per_call_1'])} / {_fmt_us(r['ns_per_call_3'])}; "
            f"{_fmt_us(r['flush_3']['total_ns_per_scalar'])}",
            "≤ 1; ≤ 3" if name.startswith("trainscope") else "",
        )

    return _per_tracker(d, row)


def sum_tracker_slowdown(d: dict[str, Any]) -> Rows:
    def row(name: str, r: dict[str, Any]) -> Row:
        return (
            f"{name}: slowdown of the simple-CNN loop (added ms per iteration)",
            f"{r['slowdown_percent_median_of_pairs']:+.2f} % ({r['added_ms_per_iteration']:+.2f})",
            "",
        )

    return _per_tracker(d, row)


def sum_tracker_latency(d: dict[str, Any]) -> Rows:
    def row(name: str, r: dict[str, Any]) -> Row:
        period = r["ui"]["period_s"]
        ui = (
            "push"
            if period == 0
            else ("no browser view offline" if period is None else f"UI every {period:g} s")
        )
        return (
            f"{name}: log() → {'websocket' if period == 0 else 'storage'} p50 / p99; {ui}",
            f"{_ms(r.get('p50_ms'))} / {_ms(r.get('p99_ms'))}",
            "",
        )

    return _per_tracker(d, row)


def sum_doctor_real(d: dict[str, Any]) -> Rows:
    labelled = [c for c in d["per_code"].values() if c.get("labelled")]
    worst = min((min(c["precision"], c["recall"]) for c in labelled), default=None)
    return [
        (
            "real engine runs with the label set exactly right",
            f"{d['exact_label_sets']} of {d['runs']}",
            "",
        ),
        (
            "lowest precision or recall of any labelled code",
            "—" if worst is None else f"{worst:.3f}",
            "≥ 0.9",
        ),
    ]


def sum_script_runs(d: dict[str, Any]) -> Rows:
    return [
        (
            "restart → first point of a user's script (median)",
            _ms(d["restart_to_first_point_ms"]["median"]),
            "≤ 500 ms",
        ),
        (
            "script watched vs plain (median of pairs)",
            f"{d['overhead_percent']['median']:+.2f} %",
            "≤ 3 %",
        ),
    ]


def sum_branch(d: dict[str, Any]) -> Rows:
    latency = d["branch_to_first_point_median_ms"]
    rows: Rows = [
        (
            "branch → first point at epochs " + ", ".join(latency),
            " / ".join(f"{v:,.0f}" for v in latency.values()) + " ms",
            "≤ 300 ms",
        )
    ]
    disk = {k: v for k, v in d["disk"].items() if isinstance(v, dict)}
    if disk:
        rows.append(
            (
                "epoch checkpoints of a 100-epoch run, MB on disk (largest preset)",
                f"{max(v['disk_mb'] for v in disk.values()):,.1f}",
                "≤ 1,000",
            )
        )
    return rows


def sum_integrations(d: dict[str, Any]) -> Rows:
    return [(f"{k}, µs per scalar", f"{v:.2f}", "") for k, v in d["us_per_scalar"].items()]


def sum_gpu_check(d: dict[str, Any]) -> Rows:
    parts = ", ".join(f"{k} {'ok' if ok else 'FAILED'}" for k, ok in d["parts_passed"].items())
    rows: Rows = [("GPU", str(d["gpu"]), ""), ("checks", parts, "all ok")]
    for device, o in d["overhead"].items():
        if isinstance(o, dict):
            rows.append(
                (
                    f"engine overhead on {device} (short/long run difference)",
                    f"{o['overhead_percent_median_of_rounds']:+.2f} %",
                    "≤ 3 %",
                )
            )
    return rows


SUMMARIES: dict[str, tuple[str, Callable[[dict[str, Any]], Rows]]] = {
    "engine_overhead": ("Engine overhead", sum_engine),
    "store_ingest": ("Store ingest and read", sum_store),
    "stream_latency": ("Stream latency and restart", sum_stream),
    "ws_fanout": ("Websocket fan-out", sum_fanout),
    "browser_render": ("Browser rendering", sum_browser),
    "doctor_accuracy": ("Doctor accuracy", sum_doctor),
    "doctor_accuracy_real": ("Doctor accuracy, real runs", sum_doctor_real),
    "tracker_overhead": ("Cost per logged scalar, against peers", sum_tracker_overhead),
    "tracker_slowdown": ("Training-loop slowdown, against peers", sum_tracker_slowdown),
    "tracker_latency": ("log() → drawable, against peers", sum_tracker_latency),
    "script_runs": ("A user's script as a run", sum_script_runs),
    "branch_latency": ("Branch from an epoch", sum_branch),
    "integrations_cost": ("Integrations, cost per scalar", sum_integrations),
    "gpu_check": ("GPU readiness (CPU parts without CUDA)", sum_gpu_check),
}


def summary(
    mach: dict[str, Any],
    runs: dict[str, dict[str, Any]],
    results_dir: Path,
    quick: bool,
    ran: bool = True,
) -> str:
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    if ran:
        title = "## All benchmarks, one run (`python benchmarks/run_all.py" + (
            " --quick`)" if quick else "`)"
        )
        said = f"Run on {when}" + (
            " with each benchmark's quick options (smaller, noisier)." if quick else "."
        )
    else:
        title = "## All benchmarks: the latest results (`python benchmarks/run_all.py --no-run`)"
        said = (
            f"Collected on {when} from the JSON in `benchmarks/results/`, without running "
            "anything: each benchmark's own date is in the first column."
        )
    lines = [
        BEGIN,
        "<!-- generated by benchmarks/run_all.py; edits between these markers are replaced -->",
        "",
        title,
        "",
        said,
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB; "
        f"{mach['os']}; Python {mach['python']}, torch {mach['torch']}, numpy {mach['numpy']}."
        + (
            f" Load average (1 min) before / after: {mach.get('load_before', '—')} / "
            f"{mach.get('load_after', '—')} (other jobs share this machine)."
            if ran
            else ""
        ),
        "",
        "| benchmark | measure | value | goal |",
        "|---|---|---|---|",
    ]
    for name, (title, fn) in SUMMARIES.items():
        run = runs.get(name)
        path = results_dir / f"{name}.json"
        if run is not None and run["status"] != "ok":
            err = str(run["error"]).replace("|", "\\|")[:300]
            lines.append(f"| {title} | **failed** | {err} | |")
            continue
        if not path.exists():
            lines.append(f"| {title} | not run | | |")
            continue
        data = json.loads(path.read_text())
        try:
            rows = fn(data)
        except (KeyError, TypeError, ValueError) as exc:
            rows = [(f"(summary failed: {exc!r}; see {path.name})", "", "")]
        took = f" ({run['seconds']:.0f} s)" if run and "seconds" in run else ""
        date = data.get("date", "?")
        for i, (measure, value, goal) in enumerate(rows):
            label = f"{title}{took}, {date}" if i == 0 else ""
            lines.append(f"| {label} | {measure} | {value} | {goal} |".replace("\n", " "))
    lines += [
        "",
        f"Results: `benchmarks/results{'/quick' if quick else ''}/<name>.json`; the sections "
        "above and below explain each benchmark and what its figures mean.",
        END,
    ]
    return "\n".join(lines)


def write_doc(block: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick options")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per benchmark")
    parser.add_argument("--no-run", action="store_true", help="summarise the existing JSON")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args()
    plan = benchmarks(args.quick)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    known = {name for name, _, _ in plan}
    if unknown := (only | skip) - known:
        raise SystemExit(f"unknown benchmarks: {sorted(unknown)}; known: {sorted(known)}")
    plan = [(n, sc, a) for n, sc, a in plan if (not only or n in only) and n not in skip]

    mach = machine()
    mach["load_before"] = f"{os.getloadavg()[0]:.1f}"
    results_dir = RESULTS / "quick" if args.quick else RESULTS
    results_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[str, Any]] = {}
    if not args.no_run:
        for name, script, bench_args in plan:
            target = RESULTS / f"{name}.json"
            saved = target.read_bytes() if args.quick and target.exists() else None
            started = time.time()
            print(f"=== {name} {' '.join(bench_args)}", flush=True)
            run = run_one(script, bench_args, args.timeout)
            runs[name] = run
            if run["status"] == "ok":
                print(run["table"].rstrip(), flush=True)
                print(f"    ({run['seconds']:.0f} s)", flush=True)
                quick_file = results_dir / target.name
                # Some benchmarks write their quick results to results/quick/ themselves.
                wrote_quick = quick_file.exists() and quick_file.stat().st_mtime >= started
                if args.quick and target.exists() and not wrote_quick:
                    shutil.copyfile(target, quick_file)
            else:
                print(f"    FAILED: {run['error']}", flush=True)
            if args.quick:  # the full run's JSON stays what it was
                if saved is not None:
                    target.write_bytes(saved)
                elif target.exists():
                    target.unlink()
    mach["load_after"] = f"{os.getloadavg()[0]:.1f}"
    block = summary(mach, runs, results_dir, args.quick, ran=not args.no_run)
    (results_dir / "run_all.json").write_text(
        json.dumps(
            {
                "benchmark": "run_all",
                "date": time.strftime("%Y-%m-%d"),
                "machine": mach,
                "quick": args.quick,
                "runs": {k: {x: y for x, y in v.items() if x != "table"} for k, v in runs.items()},
            },
            indent=2,
        )
        + "\n"
    )
    if not args.no_docs:
        write_doc(block)
        print(f"summary written to {DOC}")
    failed = [n for n, r in runs.items() if r["status"] != "ok"]
    print(
        f"{len(runs) - len(failed)} ran, {len(failed)} failed" + (f": {failed}" if failed else "")
    )


if __name__ == "__main__":
    main()
