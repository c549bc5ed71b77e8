"""The CloudWatch metrics an Application Load Balancer publishes, from the requests HAProxy served.

`AlbMetrics` reads HAProxy's request log (one `option httplog` line per request) and publishes, per period, the
`AWS/ApplicationELB` metrics an ALB publishes, with its dimensions and units (ELB user guide, "CloudWatch metrics for
your Application Load Balancer"): `RequestCount`, `HTTPCode_Target_{2,3,4,5}XX_Count`, `HTTPCode_ELB_5XX_Count` (and
502/503/504), `TargetResponseTime` (each request's value, so percentiles are real), `TargetConnectionErrorCount` per
load balancer and per target group; `HealthyHostCount` / `UnHealthyHostCount` per target group in use. As on AWS:
health check requests are not counted, a count is reported only when it is not zero, and nothing at all for a period
without requests (no zeros), so alarm math must fill gaps itself (`FILL(m, 0)`). The period is AWS's 60 seconds times
the sandbox's time scale (sandbox/cloudwatch/metrics.py).

The delay AWS does not document (request -> datapoint) is the sandbox's: a period's datapoints are published when it
ends (fidelity ledger: assumed).
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAMESPACE = "AWS/ApplicationELB"
# HAProxy's `option httplog` line: client [accept date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes ...
_LINE = re.compile(
    r"^\S+ \[(?P<accepted>[^\]]+)\] (?P<frontend>\S+) (?P<backend>[^/\s]+)/(?P<server>\S+) "
    r"-?\d+/-?\d+/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/\+?(?P<Ta>-?\d+) (?P<status>-?\d+) "
)


@dataclass(frozen=True)
class Request:
    at: float  # epoch seconds when the load balancer finished with it
    frontend: str
    backend: str
    server: str  # "<NOSRV>" when no target was chosen
    status: int  # -1: no response was sent (the client went away)
    target_seconds: float | None  # HAProxy's Tr: from the request sent to the target's response headers
    connected: bool  # the connection to the target was made (Tc >= 0)


def parse(line: str) -> Request | None:
    """One request from a HAProxy httplog line (its accept date is the machine's local time)."""
    match = _LINE.match(line)
    if not match:
        return None
    try:
        accepted = datetime.strptime(match["accepted"], "%d/%b/%Y:%H:%M:%S.%f").timestamp()
    except ValueError:
        return None
    tr = int(match["Tr"])
    return Request(
        at=accepted + max(0, int(match["Ta"])) / 1000,
        frontend=match["frontend"].rstrip("~"),  # "~": a TLS frontend
        backend=match["backend"],
        server=match["server"],
        status=int(match["status"]),
        target_seconds=tr / 1000 if tr >= 0 else None,
        connected=int(match["Tc"]) >= 0,
    )


class LogTail:
    """The complete lines appended to a file since the last read (a partial last line waits for its end)."""

    def __init__(self, path: Path):
        self.path, self.offset, self.partial = path, 0, b""

    def lines(self) -> list[str]:
        try:
            with self.path.open("rb") as f:
                if f.seek(0, 2) < self.offset:  # the file was truncated or replaced
                    self.offset, self.partial = 0, b""
                f.seek(self.offset)
                data = f.read()
                self.offset = f.tell()
        except FileNotFoundError:
            return []
        *complete, self.partial = (self.partial + data).split(b"\n")
        return [line.decode(errors="replace") for line in complete]


@dataclass
class Topology:
    """How HAProxy's names map to the ALB's CloudWatch dimensions (the ARN suffixes `app/<name>/<id>` and
    `targetgroup/<name>/<id>`). Kept across reconciliations: a deregistered target's requests still end."""

    frontends: dict[str, str] = field(default_factory=dict)  # HAProxy frontend -> load balancer suffix
    servers: dict[tuple[str, str], str] = field(default_factory=dict)  # (backend, server) -> target group suffix
    # load balancer suffix -> {target group suffix: (healthy, unhealthy)} for the target groups in use now
    health: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)


def arn_suffix(arn: str) -> str:
    """An ELB ARN's CloudWatch dimension value: what follows "loadbalancer/" or the resource type's colon."""
    resource = arn.split(":", 5)[5]
    return resource.split("/", 1)[1] if resource.startswith("loadbalancer/") else resource


def _counts(requests: list[Request]) -> dict[str, float]:
    """The count metrics of a set of requests, only those that are not zero (ALB "reporting criteria")."""
    counts: dict[str, float] = defaultdict(float)
    for r in requests:
        chosen = r.server != "<NOSRV>"
        if chosen:
            # "Requests that are rejected before a target is chosen are not reflected in this metric."
            counts["RequestCount"] += 1
        if chosen and r.target_seconds is not None and r.status >= 100:
            counts[f"HTTPCode_Target_{r.status // 100}XX_Count"] += 1
        elif r.status >= 500:
            # The load balancer answered itself: no target, no answer from it, or it could not connect.
            counts["HTTPCode_ELB_5XX_Count"] += 1
            if r.status in (502, 503, 504):
                counts[f"HTTPCode_ELB_{r.status}_Count"] += 1
        if chosen and not r.connected:
            counts["TargetConnectionErrorCount"] += 1
    return {name: value for name, value in counts.items() if value}


def datapoints(requests: list[Request], topology: Topology) -> list[dict[str, Any]]:
    """PutMetricData's MetricData for one period's requests and the target groups' health now."""
    by_lb: dict[str, list[Request]] = defaultdict(list)
    by_tg: dict[tuple[str, str], list[Request]] = defaultdict(list)
    for r in requests:
        lb = topology.frontends.get(r.frontend)
        if lb is None:
            continue
        by_lb[lb].append(r)
        tg = topology.servers.get((r.backend, r.server))
        if tg is not None:
            by_tg[(lb, tg)].append(r)
    data: list[dict[str, Any]] = []

    def metrics(dimensions: list[dict[str, str]], group: list[Request]) -> None:
        for name, value in sorted(_counts(group).items()):
            data.append({"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": "Count"})
        times: dict[float, int] = defaultdict(int)
        for r in group:
            if r.target_seconds is not None:
                times[r.target_seconds] += 1
        if times:
            values = sorted(times)
            data.append(
                {
                    "MetricName": "TargetResponseTime",
                    "Dimensions": dimensions,
                    "Values": values,
                    "Counts": [float(times[v]) for v in values],
                    "Unit": "Seconds",
                }
            )

    for lb, group in sorted(by_lb.items()):
        metrics([{"Name": "LoadBalancer", "Value": lb}], group)
    for (lb, tg), group in sorted(by_tg.items()):
        metrics([{"Name": "LoadBalancer", "Value": lb}, {"Name": "TargetGroup", "Value": tg}], group)
    for lb, groups in sorted(topology.health.items()):
        for tg, (healthy, unhealthy) in sorted(groups.items()):
            dimensions = [{"Name": "LoadBalancer", "Value": lb}, {"Name": "TargetGroup", "Value": tg}]
            data.append(
                {"MetricName": "HealthyHostCount", "Dimensions": dimensions, "Value": float(healthy), "Unit": "Count"}
            )
            data.append(
                {
                    "MetricName": "UnHealthyHostCount",
                    "Dimensions": dimensions,
                    "Value": float(unhealthy),
                    "Unit": "Count",
                }
            )
    return data


class AlbMetrics:
    """Publishes each period's ALB metrics into CloudWatch (moto's backend), at the end of the period."""

    def __init__(self, log_path: Path, period: float, put, origin: float = 0.0):
        self.tail = LogTail(log_path)
        self.period = period
        self.put = put  # (namespace, metric_data) -> None
        # Periods start at multiples of the period (CloudWatch's are minute-aligned), as the alarms' do.
        self.origin = origin
        self.pending: dict[int, list[Request]] = defaultdict(list)
        self.published_through = self.index(time.time()) - 1

    def index(self, at: float) -> int:
        return math.floor((at - self.origin) / self.period)

    def due(self, now: float | None = None) -> bool:
        """A period has ended since the last publication."""
        return self.index(time.time() if now is None else now) - 1 > self.published_through

    def period_start(self, index: int) -> float:
        return self.origin + index * self.period

    def publish(self, topology: Topology, now: float | None = None) -> int:
        """Read the new log lines; publish every period that has ended. Returns the datapoints published."""
        now = time.time() if now is None else now
        for line in self.tail.lines():
            request = parse(line)
            if request is not None:
                # A line for a period already published counts in the first one not yet published.
                self.pending[max(self.index(request.at), self.published_through + 1)].append(request)
        current = self.index(now)
        published = 0
        # Health is sampled once per period: it belongs to the period that has just ended, not to older ones.
        for index in range(self.published_through + 1, current):
            requests = self.pending.pop(index, [])
            latest = index == current - 1
            snapshot = Topology(topology.frontends, topology.servers, topology.health if latest else {})
            data = datapoints(requests, snapshot)
            stamp = datetime.fromtimestamp(self.period_start(index), UTC).replace(tzinfo=None)
            for datum in data:
                datum["Timestamp"] = stamp
            if data:
                self.put(NAMESPACE, data)
                published += len(data)
        self.published_through = max(self.published_through, current - 1)
        return published
