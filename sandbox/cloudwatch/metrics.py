"""The datapoints put into CloudWatch, as its alarms read them: by metric and exact dimensions, raw values with their
counts (percentiles need them) or statistic sets, and the statistics of one period."""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from typing import Any

AWS_PERIOD = 60.0  # seconds: ALB metrics are published in 60-second intervals, alarms evaluated every minute


def series_key(namespace: str, name: str, dimensions) -> tuple:
    return (namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dimensions or [])))


class Series:
    """Every datapoint put into CloudWatch, by metric and exact dimensions, in arrival order: raw values with
    their counts (percentiles need them) or statistic sets. Indexed as PutMetricData stores them, so alarms on
    any metric (a custom one too) evaluate. Keeps the last `keep` seconds."""

    def __init__(self, keep: float = 3600.0):
        self.keep = keep
        self.points: dict[tuple, deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def add(self, namespace: str, metric_data: list[dict[str, Any]], now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            for datum in metric_data:
                stamp = datum.get("Timestamp")
                if isinstance(stamp, str):
                    stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                if isinstance(stamp, datetime):
                    at = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
                else:
                    at = now
                key = series_key(namespace, datum["MetricName"], datum.get("Dimensions"))
                entry: tuple[str, Any]
                if datum.get("Values"):
                    counts = datum.get("Counts") or [1] * len(datum["Values"])
                    entry = ("values", [(float(v), float(c)) for v, c in zip(datum["Values"], counts, strict=False)])
                elif datum.get("StatisticValues"):
                    s = datum["StatisticValues"]
                    entry = (
                        "stats",
                        (float(s["SampleCount"]), float(s["Sum"]), float(s["Minimum"]), float(s["Maximum"])),
                    )
                else:
                    entry = ("values", [(float(datum.get("Value", 0)), 1.0)])
                points = self.points[key]
                points.append((at, entry))
                while points and points[0][0] < now - self.keep:
                    points.popleft()

    def window(self, key: tuple, start: float, end: float) -> list:
        with self.lock:
            return [entry for at, entry in self.points.get(key, ()) if start <= at < end]


def statistic(entries: list, stat: str) -> tuple[float | None, float]:
    """(value, sample count) of one period's entries; value None: no datapoint (or a percentile of statistic
    sets only, which CloudWatch cannot compute either)."""
    values: list[tuple[float, float]] = []
    sets: list[tuple[float, float, float, float]] = []
    for kind, payload in entries:
        if kind == "values":
            values.extend(payload)
        else:
            sets.append(payload)
    count = sum(c for _, c in values) + sum(s[0] for s in sets)
    if count <= 0:
        return None, 0.0
    total = sum(v * c for v, c in values) + sum(s[1] for s in sets)
    basic = {
        "SampleCount": lambda: count,
        "Sum": lambda: total,
        "Average": lambda: total / count,
        "Minimum": lambda: min([v for v, _ in values] + [s[2] for s in sets]),
        "Maximum": lambda: max([v for v, _ in values] + [s[3] for s in sets]),
    }
    if stat in basic:
        return basic[stat](), count
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat)
    if not match or sets:
        return None, count
    rank, seen = float(match[1]) / 100 * count, 0.0  # nearest rank
    ordered = sorted(values)
    for value, c in ordered:
        seen += c
        if seen >= rank:
            return value, count
    return ordered[-1][0], count
