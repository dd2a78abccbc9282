"""Prometheus text read back into samples."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text as {series name: [(labels, value)]}, parsed as a scraper parses it."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(series: list[tuple[dict[str, str], float]], **labels: str) -> float:
    return sum(v for got, v in series if all(got.get(k) == want for k, want in labels.items()))
