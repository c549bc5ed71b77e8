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
    """Records each change of a listener's forward weights {target group name: weight}, with its time; or, given
    a listener rule's ARN (the ECS controller shifts traffic with one), that rule's."""

    def __init__(self, elbv2, listener_arn: str, interval: float = 0.1, rule_arn: str | None = None):
        self.elbv2, self.listener_arn, self.interval, self.rule_arn = elbv2, listener_arn, interval, rule_arn
        self.changes: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._names: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def production(cls, elbv2, listener_arn: str, interval: float = 0.1) -> ListenerWatcher:
        """The production listener's watcher, whichever controller: the ECS controller moves its listener rule's
        weights (the one rule that is not the default), CodeDeploy its default action's."""
        rules = elbv2.describe_rules(ListenerArn=listener_arn)["Rules"]
        rule = next((r["RuleArn"] for r in rules if not r["IsDefault"]), None)
        return cls(elbv2, listener_arn, interval=interval, rule_arn=rule)

    def weights(self) -> dict[str, int]:
        if self.rule_arn:
            actions = self.elbv2.describe_rules(RuleArns=[self.rule_arn])["Rules"][0]["Actions"]
        else:
            actions = self.elbv2.describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0]["DefaultActions"]
        result: dict[str, int] = {}
        for action in actions:
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


@dataclass
class BlastRadius:
    """What a bad canary cost the users, from what they saw (the load's samples) and what the API said (the
    production listener's weights, the alarm's transition to ALARM):

    - bad requests: failed (5xx or no answer), or slower than `slow_seconds` when given;
    - predicted: rate x canary share x fault share x exposure, the exposure being the seconds from the first bad
      request to the production listener's weights back on the original (the version's time to detect and
      roll back; the canary's first seconds, before its fault shows, are not exposure);
    - time to detect: first bad request to the alarm's ALARM; time to restore: first bad request to 100 % back.
    """

    samples: list[Sample]
    changes: list[tuple[float, dict[str, int]]]
    canary_group: str
    fault_share: float  # the share of the new version's requests that go wrong (0.3: 30 %)
    rate: float
    alarm_at: float | None = None
    slow_seconds: float | None = None

    def bad(self, sample: Sample) -> bool:
        if self.slow_seconds is not None:
            return sample.seconds >= self.slow_seconds
        return sample.status is None or sample.status >= 500

    @property
    def bad_samples(self) -> list[Sample]:
        return [s for s in self.samples if self.bad(s)]

    @property
    def canary_share(self) -> float:
        return max((w.get(self.canary_group, 0) for _, w in self.changes), default=0) / 100

    @property
    def exposure(self) -> tuple[float | None, float | None]:
        """(when the canary got production traffic, when it had none again)."""
        began = next((at for at, w in self.changes if w.get(self.canary_group, 0) > 0), None)
        ended = next((at for at, w in self.changes if began and at > began and not w.get(self.canary_group, 0)), None)
        return began, ended

    @property
    def exposed_seconds(self) -> float | None:
        bad = self.bad_samples
        _began, ended = self.exposure
        if not bad or ended is None:
            return None
        # A slow request is seen when it ends: it was sent slow_seconds before.
        return ended - (bad[0].at - (self.slow_seconds or 0.0))

    @property
    def predicted(self) -> float | None:
        if self.exposed_seconds is None:
            return None
        return self.rate * self.canary_share * self.fault_share * self.exposed_seconds

    def lines(self) -> list[str]:
        bad = self.bad_samples
        _began, ended = self.exposure
        first = bad[0].at if bad else None
        what = f"slower than {self.slow_seconds:g} s" if self.slow_seconds is not None else "failed"
        lines = [
            f"  {len(bad)} of {len(self.samples)} requests {what}; predicted {self.predicted or 0:.1f} = "
            f"{self.rate:.0f}/s x canary {self.canary_share:.0%} x fault {self.fault_share:.0%} x "
            f"{self.exposed_seconds or 0:.1f} s from the first bad request to 100 % back",
        ]
        if first is not None and self.alarm_at is not None:
            lines.append(f"  first bad request -> alarm in ALARM: {self.alarm_at - first:.1f} s")
        if first is not None and ended is not None:
            lines.append(f"  first bad request -> 100 % back on the original: {ended - first:.1f} s")
        return lines
