"""The benchmark's parts at tiny counts (a smoke run, not a timed test): every figure is there and
sane. The monthly report and the simulator have tests of their own and are left out here."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from temporalio.client import Client

from activities.runtime.keys import load_key_ring
from activities.runtime.settings import load_config
from starter.tools.bench import QUICK, Bench, markdown_table, memory_target, summary, table, write_results
from starter.tools.bench_engine import bare_engine, history_bytes, history_events
from starter.tools.bench_memory import worker_memory
from starter.tools.bench_tickets import (
    Project,
    latency_parts,
    latency_summary,
    percentile,
    project_throughput,
    steady_rate,
)

REQUIRED = [
    "bare_events_per_s",
    "ticket_events_per_s",
    "events_per_s_ratio",
    "events_per_standard_ticket",
    "history_bytes_per_standard_ticket",
    "delivery_latency_ms",
    "burst_1000_drain_s",
    "worker_rss_mb_5000_open",
    "monthly_report_s_20000",
    "simulate_year_s",
    "simulate_tickets_per_s",
    "simulate_linearity",
    "cores",
    "quick",
    "targets",
]


def test_percentiles_and_rate() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert percentile(values, 50) == 0.05 and percentile(values, 99) == 0.099 and percentile([0.3], 99) == 0.3
    assert latency_summary(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0, "mean": 50.5}
    assert steady_rate(8.7, 10) == 4.0 and steady_rate(40, 10) == 10 and steady_rate(0.4, 5) == 0.5


def test_memory_bounded_means_little_added_past_the_cache() -> None:
    assert memory_target({"open_tickets": 500, "all_open": {"rss_mb": 300}})["met"] is None
    at = {"1000": {"rss_mb": 400}, "3000": {"rss_mb": 440}, "5000": {"rss_mb": 450}}
    flat = {"open_tickets": 5000, "idle": {"rss_mb": 140}, "at_open": at, "all_open": {"rss_mb": 450}}
    result = memory_target(flat)
    assert result["met"] is True  # 5 KB a ticket from 3,000 to 5,000 open, against 266 KB a cached one
    assert result["value"] == {"kb_per_cached_ticket": 266.2, "kb_per_open_ticket_3000_to_5000": 5.1}
    growing = flat | {"at_open": at | {"5000": {"rss_mb": 600}}}
    assert memory_target(growing)["met"] is False
    closing = flat | {"closed": {"tickets": 1000, "memory": {"rss_mb": 700}}}
    assert memory_target(closing)["met"] is False


async def test_a_tiny_run_of_every_server_part(client: Client, tmp_path: Path) -> None:
    config = load_config(None)
    keys = load_key_ring()
    assert keys is not None
    bench = Bench(QUICK, quick=True, console=Console(quiet=True))
    project = Project(client, config, tmp_path / "project")
    bench.parts["bare"] = await bare_engine(client, 3, warm_up=1)
    bench.parts["project"] = await project_throughput(project, 5)
    bench.parts["bare_after"] = await bare_engine(client, 3, warm_up=1)
    bench.parts["latency"] = await latency_parts(project, capacity=4.0, max_rate=5, seconds=1, burst_size=5)
    bench.parts["memory"] = await worker_memory(
        client, config, keys, tmp_path / "memory", open_tickets=5, checkpoints=[5], close=2, settle_s=0.2
    )
    results = summary(bench, 1.0)

    assert not [key for key in REQUIRED if key not in results]
    assert results["bare_engine"]["workflows"] == 6 and results["bare_engine"]["events_per_workflow"] >= 20
    assert results["bare_events_per_s"] > 0 and results["ticket_events_per_s"] > 0
    assert bench.parts["project"]["throughput"]["tickets"] == 5 and results["steady_rate_per_s"] == 2
    assert results["events_per_s_ratio"] == round(results["ticket_events_per_s"] / results["bare_events_per_s"], 3)
    standard = bench.parts["project"]["standard_ticket"]
    events = await history_events(client, standard["workflow_id"])
    assert results["events_per_standard_ticket"] == len(events) == sum(standard["event_types"].values())
    assert results["history_bytes_per_standard_ticket"] == history_bytes(events)
    assert standard["event_types"]["WorkflowExecutionCompleted"] == 1
    latency = results["delivery_latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert results["burst_size"] == 5 and 0 < results["burst_1000_drain_s"] <= results["burst_1000_closed_s"]
    memory = bench.parts["memory"]
    assert memory["closed"]["tickets"] == 2 and results["worker_rss_mb_5000_open"] > 0
    assert results["worker_hwm_mb_5000_open"] >= results["worker_rss_mb_5000_open"]
    assert results["monthly_report_s_20000"] is None and results["targets"]["monthly_report_s"]["met"] is None

    write_results(results, tmp_path / "bench.json")
    assert json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))["cores"] == results["cores"]
    screen = Console(record=True, width=200, file=io.StringIO())
    screen.print(table(results))
    assert "events_per_s_ratio" in screen.export_text()
    assert "`events_per_standard_ticket`" in markdown_table(results)
