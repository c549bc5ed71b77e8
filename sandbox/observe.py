"""Watching a deployment from the outside, as a user would: steady traffic through the load balancer, and
the production listener's weights read from the ELBv2 API. Used by the demo, the end-to-end tests and the
benchmarks."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Sample:
    at: float
    seconds: float
    status: int | None  # None: the request failed (connection refused or reset, timeout)
    version: str | None
    error: str | None = None


@dataclass
class LoadGenerator:
    """`rate` requests per second to http://host:port/path, each on a new connection (as independent clients
    arrive), from `workers` threads. A request fails when it gets no answer or a 5xx."""

    host: str
    port: int
    path: str = "/health"
    rate: float = 50.0
    workers: int = 4
    timeout: float = 5.0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _one(self) -> Sample:
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", self.path, headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
            try:
                version = json.loads(body).get("version")
            except ValueError:
                version = None
            return Sample(time.time(), time.monotonic() - started, response.status, version)
        except OSError as e:
            return Sample(time.time(), time.monotonic() - started, None, None, f"{type(e).__name__}: {e}")
        finally:
            connection.close()

    def _run(self, offset: float) -> None:
        interval = self.workers / self.rate
        next_at = time.monotonic() + offset
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            sample = self._one()
            with self._lock:
                self.samples.append(sample)
            next_at += interval

    def start(self) -> LoadGenerator:
        for index in range(self.workers):
            thread = threading.Thread(target=self._run, args=(index / self.rate,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 1)
        return self.samples

    @staticmethod
    def failed(samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if s.status is None or s.status >= 500]

    @staticmethod
    def by_version(samples: list[Sample]) -> Counter:
        return Counter(s.version for s in samples if s.status == 200)

    @staticmethod
    def percentile(samples: list[Sample], fraction: float) -> float:
        values = sorted(s.seconds for s in samples)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(fraction * len(values)))]


class ListenerWatcher:
    """Records each change of a listener's forward weights {target group name: weight}, with its time."""

    def __init__(self, elbv2, listener_arn: str, interval: float = 0.1):
        self.elbv2, self.listener_arn, self.interval = elbv2, listener_arn, interval
        self.changes: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._names: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def weights(self) -> dict[str, int]:
        listener = self.elbv2.describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0]
        result: dict[str, int] = {}
        for action in listener["DefaultActions"]:
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or (
                [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}] if action.get("TargetGroupArn") else []
            )
            total = sum(int(g.get("Weight", 1)) for g in groups) or 1
            for group in groups:
                arn = group["TargetGroupArn"]
                if arn not in self._names:
                    self._names[arn] = self.elbv2.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0][
                        "TargetGroupName"
                    ]
                result[self._names[arn]] = round(100 * int(group.get("Weight", 1)) / total)
        return result

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                current = self.weights()
            except Exception:  # a transient API error is a missed sample, not the end of the watch
                current = None
            if current is not None and (not self.changes or self.changes[-1][1] != current):
                self.changes.append((time.time(), current))
            self._stop.wait(self.interval)

    def start(self) -> ListenerWatcher:
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, dict[str, int]]]:
        self._stop.set()
        self._thread.join(5)
        return self.changes
