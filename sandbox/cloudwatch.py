"""CloudWatch as it works for an Application Load Balancer: metrics from the requests HAProxy served, and alarms
that evaluate them. moto stores alarms and datapoints but never evaluates an alarm and has no alarm history.

- `AlbMetrics` reads HAProxy's request log (one `option httplog` line per request) and publishes, per period,
  the `AWS/ApplicationELB` metrics an ALB publishes, with its dimensions and units (ELB user guide, "CloudWatch
  metrics for your Application Load Balancer"): `RequestCount`, `HTTPCode_Target_{2,3,4,5}XX_Count`,
  `HTTPCode_ELB_5XX_Count` (and 502/503/504), `TargetResponseTime` (each request's value, so percentiles are
  real), `TargetConnectionErrorCount` per load balancer and per target group; `HealthyHostCount` /
  `UnHealthyHostCount` per target group in use. As on AWS: health check requests are not counted, a count is
  reported only when it is not zero, and nothing at all for a period without requests (no zeros), so alarm math
  must fill gaps itself (`FILL(m, 0)`). The period is AWS's 60 seconds times the sandbox's time scale.
- `Alarms` evaluates every metric alarm each (scaled) minute, as CloudWatch does: the last EvaluationPeriods
  periods of the metric or of a metric math expression, DatapointsToAlarm of them breaching, TreatMissingData,
  percentiles with EvaluateLowSampleCountPercentile; a state change records its reason and history
  (DescribeAlarmHistory, which moto lacks). A state set with SetAlarmState lasts until the next evaluation.

The delays AWS does not document (request -> datapoint, datapoint -> evaluation) are the sandbox's: a period's
datapoints are published when it ends, and alarms are evaluated right after (fidelity ledger: assumed).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("sandbox.cloudwatch")

NAMESPACE = "AWS/ApplicationELB"
AWS_PERIOD = 60.0  # seconds: ALB metrics are published in 60-second intervals, alarms evaluated every minute

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


# --- The store the evaluator reads ------------------------------------------------------------------------


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


# --- Metric math ------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|[-+*/(),<>]))")


class Unsupported(ValueError):
    """An alarm the sandbox cannot evaluate (it says so in the alarm's state reason and its log)."""


class MathError(Unsupported):
    """An expression the sandbox cannot evaluate (a function it does not implement, a syntax error)."""


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise MathError(f"cannot read {expression[position:]!r} in {expression!r}")
        tokens.append(next(g for g in match.groups() if g is not None))
        position = match.end()
    return tokens


def _arithmetic(op: str, a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if op == "/":
        return None if b == 0 else a / b
    operations = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "<": lambda: float(a < b),
        ">": lambda: float(a > b),
        "<=": lambda: float(a <= b),
        ">=": lambda: float(a >= b),
        "==": lambda: float(a == b),
        "!=": lambda: float(a != b),
        "AND": lambda: float(bool(a) and bool(b)),
        "OR": lambda: float(bool(a) or bool(b)),
    }
    return operations[op]()


def _function(name: str, arguments: list[float | None], expression: str) -> float | None:
    if name == "FILL" and len(arguments) == 2:
        return arguments[1] if arguments[0] is None else arguments[0]
    if name == "IF" and len(arguments) in (2, 3):
        if arguments[0] is None:
            return None
        return arguments[1] if arguments[0] else (arguments[2] if len(arguments) == 3 else None)
    if name == "ABS" and len(arguments) == 1:
        return None if arguments[0] is None else abs(arguments[0])
    if name in ("MIN", "MAX") and arguments:
        present = [a for a in arguments if a is not None]
        return (min if name == "MIN" else max)(present) if present else None
    raise MathError(f"the sandbox does not evaluate {name}({len(arguments)} arguments) in {expression!r}")


class _Expression:
    """A recursive-descent reader of one metric math expression (CloudWatch's grammar has no library here)."""

    LEVELS = (("AND", "OR"), ("<", ">", "<=", ">=", "==", "!="), ("+", "-"), ("*", "/"))

    def __init__(self, expression: str, variables: dict[str, float | None]):
        self.expression, self.variables = expression, variables
        self.tokens, self.position = _tokens(expression), 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise MathError(f"expected {expected or 'more'} in {self.expression!r}")
        self.position += 1
        return token

    def value(self) -> float | None:
        result = self.level(0)
        if self.position != len(self.tokens):
            raise MathError(f"unexpected {self.tokens[self.position]!r} in {self.expression!r}")
        return result

    def level(self, depth: int) -> float | None:
        if depth == len(self.LEVELS):
            return self.unary()
        result = self.level(depth + 1)
        while (self.peek() or "").upper() in self.LEVELS[depth]:
            op = self.take().upper()
            result = _arithmetic(op, result, self.level(depth + 1))
        return result

    def unary(self) -> float | None:
        if self.peek() == "-":
            self.take()
            result = self.unary()
            return None if result is None else -result
        return self.atom()

    def atom(self) -> float | None:
        item = self.take()
        if item == "(":
            result = self.level(0)
            self.take(")")
            return result
        if item[0].isdigit():
            return float(item)
        if self.peek() == "(":
            self.take("(")
            arguments = [] if self.peek() == ")" else [self.level(0)]
            while self.peek() == ",":
                self.take(",")
                arguments.append(self.level(0))
            self.take(")")
            return _function(item.upper(), arguments, self.expression)
        if item not in self.variables:
            raise MathError(f"{item!r} is not the id of a query of the alarm ({self.expression!r})")
        return self.variables[item]


def evaluate_expression(expression: str, variables: dict[str, float | None]) -> float | None:
    """One period of a metric math expression: numbers, the queries' ids, + - * /, comparisons (1 or 0),
    AND / OR, FILL(x, value), IF(condition, a[, b]), ABS, MIN / MAX of arguments. A missing value (None) makes
    arithmetic on it missing, as a time series without a datapoint at that timestamp; FILL gives it a value;
    a division by zero has no datapoint. Anything else raises MathError (the sandbox implements no more)."""
    return _Expression(expression, variables).value()


# --- Alarm evaluation -------------------------------------------------------------------------------------

_OPERATORS = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}


@dataclass
class Evaluation:
    state: str | None  # None: the state does not change (ignore, or too few samples for a percentile)
    reason: str
    data: dict


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _percentile_needs(stat: str | None) -> float | None:
    """The samples a percentile needs to be significant: 10/(1-p) from p50 up, 10/p below (CloudWatch user
    guide, "Percentile-based alarms and low data samples"); None for another statistic."""
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", stat or "")
    if not match:
        return None
    p = float(match[1]) / 100
    return 10 / (1 - p) if p >= 0.5 else (10 / p if p > 0 else math.inf)


def _values(alarm, series: Series, starts: list[float], period: float) -> tuple[list[float | None], str, bool]:
    """The alarm's datapoint in each period (None: no datapoint), its statistic's name, and whether a percentile
    had too few samples in any of them."""
    if alarm.metric_data_queries:
        return [_math_value(alarm, series, start, period) for start in starts], "Expression", False
    stat = alarm.extended_statistic or alarm.statistic
    key = series_key(alarm.namespace, alarm.metric_name, [{"Name": d.name, "Value": d.value} for d in alarm.dimensions])
    needs = _percentile_needs(stat)
    values, low = [], False
    for start in starts:
        value, count = statistic(series.window(key, start, start + period), stat)
        values.append(value)
        low = low or (needs is not None and value is not None and count < needs)
    return values, stat, low


def evaluate(alarm, series: Series, now: float, scale: float) -> Evaluation:
    """The state an alarm's last EvaluationPeriods (scaled) periods put it in, with CloudWatch's reason.

    `alarm` is moto's Alarm. The periods end at multiples of the scaled period (CloudWatch aligns periods to
    the minute); the newest evaluated one is the last to have ended. Missing datapoints: with `breaching` or
    `notBreaching` each counts as such; with `missing` or `ignore` they are left out, and when all are missing
    the alarm goes to INSUFFICIENT_DATA (`missing`) or stays as it is (`ignore`)."""
    period = max(0.5, float(alarm.period or AWS_PERIOD) * scale)
    m = int(alarm.evaluation_periods or 1)
    n = int(alarm.datapoints_to_alarm or m)
    last_end = math.floor(now / period) * period
    starts = [last_end - (m - i) * period for i in range(m)]  # oldest first
    try:
        if alarm.comparison_operator not in _OPERATORS:
            raise Unsupported(f"the sandbox does not evaluate {alarm.comparison_operator} alarms")
        values, stat, low_samples = _values(alarm, series, starts, period)
    except Unsupported as e:
        log.error("alarm %s: %s", alarm.name, e)
        return Evaluation("INSUFFICIENT_DATA", f"Sandbox: {e}", {})
    breaches, words = _OPERATORS[alarm.comparison_operator]
    threshold = float(alarm.threshold)
    present = [(s, v) for s, v in zip(starts, values, strict=True) if v is not None]
    data = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(starts[0]),
        "statistic": stat,
        "period": int(alarm.period or AWS_PERIOD),
        "recentDatapoints": [v for _, v in present],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(s), "value": v} for s, v in reversed(present)],
    }
    if low_samples and (alarm.evaluate_low_sample_count_percentile or "evaluate") == "ignore":
        return Evaluation(None, "too few samples for the percentile (EvaluateLowSampleCountPercentile: ignore)", data)
    treat = alarm.treat_missing_data or "missing"
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return Evaluation(None, "no datapoints (TreatMissingData: ignore)", data)
        return Evaluation("INSUFFICIENT_DATA", f"Insufficient Data: {m} datapoint(s) were unknown.", data)
    breaching = [(s, v) for s, v in present if breaches(v, threshold)]
    count = len(breaching) + ((m - len(present)) if treat == "breaching" else 0)
    if count >= n:
        listed = ", ".join(f"{v:g} ({_stamp(s)})" for s, v in reversed(breaching))
        reason = (
            f"Threshold Crossed: {count} out of the last {m} datapoints [{listed}] {'were' if count > 1 else 'was'} "
            f"{words} the threshold ({threshold:g}) (minimum {n} datapoint{'s' if n > 1 else ''} for OK -> ALARM "
            "transition)."
        )
        if treat == "breaching" and len(present) < m:
            reason += f" {m - len(present)} missing datapoint(s) were treated as [Breaching]."
        return Evaluation("ALARM", reason, data)
    reason = _ok_reason(present, m, count, threshold=threshold, operator=alarm.comparison_operator, treat=treat)
    return Evaluation("OK", reason, data)


def _ok_reason(present: list, m: int, count: int, *, threshold: float, operator: str, treat: str) -> str:
    breaches, words = _OPERATORS[operator]
    if not present:
        return (
            f"Threshold Crossed: no datapoints were received for {m} period(s) and {m} missing datapoint(s) were "
            "treated as [NonBreaching]."
        )
    within = ", ".join(f"{v:g} ({_stamp(s)})" for s, v in reversed(present) if not breaches(v, threshold))
    reason = (
        f"Threshold Crossed: {m - count} out of the last {m} datapoints were not {words} the threshold "
        f"({threshold:g}). The most recent datapoints which were not {words} the threshold: [{within}]."
    )
    if treat == "notBreaching" and len(present) < m:
        reason += f" {m - len(present)} missing datapoint(s) were treated as [NonBreaching]."
    return reason


def _math_value(alarm, series: Series, start: float, period: float) -> float | None:
    variables: dict[str, float | None] = {}
    expressions = []
    for query in alarm.metric_data_queries:
        if query.metric_stat is not None:
            metric = query.metric_stat.metric
            key = series_key(
                metric.namespace, metric.metric_name, [{"Name": d.name, "Value": d.value} for d in metric.dimensions]
            )
            variables[query.id], _ = statistic(series.window(key, start, start + period), query.metric_stat.stat)
        elif query.expression:
            expressions.append(query)
    returned = None
    for query in expressions:  # in order: an expression may use an earlier one
        variables[query.id] = evaluate_expression(query.expression, variables)
        if str(query.return_data).lower() != "false":
            returned = query.id
    if returned is None:
        returned = next(
            (q.id for q in alarm.metric_data_queries if str(q.return_data).lower() == "true"),
            alarm.metric_data_queries[-1].id,
        )
    return variables.get(returned)


@dataclass
class HistoryItem:
    alarm: str
    at: float
    kind: str  # ConfigurationUpdate | StateUpdate | Action
    summary: str
    data: dict

    def render(self) -> dict:
        return {
            "AlarmName": self.alarm,
            "AlarmType": "MetricAlarm",
            "Timestamp": datetime.fromtimestamp(self.at, UTC),
            "HistoryItemType": self.kind,
            "HistorySummary": self.summary,
            "HistoryData": json.dumps(self.data),
        }


class Alarms:
    """Evaluates moto's metric alarms every scaled minute, and keeps their history."""

    def __init__(self, backend, series: Series, scale: float):
        self.backend, self.series, self.scale = backend, series, scale
        self.history: list[HistoryItem] = []
        self.lock = threading.Lock()
        self.next_at = 0.0

    def record(self, alarm: str, kind: str, summary: str, data: dict) -> None:
        with self.lock:
            self.history.append(HistoryItem(alarm, time.time(), kind, summary, data))
            del self.history[:-10000]

    def state_changed(self, alarm, old: tuple[str, str], new: tuple[str, str, str]) -> None:
        self.record(
            alarm.name,
            "StateUpdate",
            f"Alarm updated from {old[0]} to {new[0]}",
            {
                "version": "1.0",
                "oldState": {"stateValue": old[0], "stateReason": old[1]},
                "newState": {
                    "stateValue": new[0],
                    "stateReason": new[1],
                    "stateReasonData": json.loads(new[2] or "{}"),
                },
            },
        )

    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if now < self.next_at:
            return
        self.next_at = now + AWS_PERIOD * self.scale
        for alarm in list(self.backend().alarms.values()):
            if alarm.rule is not None:
                continue  # a composite alarm: not evaluated by the sandbox (the project has none)
            result = evaluate(alarm, self.series, now, self.scale)
            if result.state is None or result.state == alarm.state_value:
                continue
            log.info("alarm %s: %s -> %s: %s", alarm.name, alarm.state_value, result.state, result.reason)
            alarm.update_state(result.reason, json.dumps(result.data), result.state)

    def describe_history(self, params: dict) -> dict:
        """DescribeAlarmHistory: newest first unless ScanBy=TimestampAscending; MaxRecords 1-100 (default 50)."""
        name = params.get("AlarmName")
        kind = params.get("HistoryItemType")
        start, end = params.get("StartDate"), params.get("EndDate")

        def epoch(value) -> float | None:
            if value is None:
                return None
            if isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()

        since, until = epoch(start), epoch(end)
        types = params.get("AlarmTypes") or ["MetricAlarm", "CompositeAlarm"]
        with self.lock:
            items = [
                item
                for item in self.history
                if (name is None or item.alarm == name)
                and (kind is None or item.kind == kind)
                and (since is None or item.at >= since)
                and (until is None or item.at <= until)
                and "MetricAlarm" in types
            ]
        if params.get("ScanBy") != "TimestampAscending":
            items.reverse()
        size = int(params.get("MaxRecords") or 50)
        offset = int(params.get("NextToken") or 0)
        page = items[offset : offset + size]
        result: dict[str, Any] = {"AlarmHistoryItems": [item.render() for item in page]}
        if offset + size < len(items):
            result["NextToken"] = str(offset + size)
        return result


def patch_cloudwatch(alarms: Alarms, series: Series) -> None:
    """moto's CloudWatch, as AWS's: PutMetricData also feeds the evaluator; PutMetricAlarm creates an alarm in
    INSUFFICIENT_DATA and leaves an existing one's state as it is ("When you update an existing alarm, its state
    is left unchanged"); every state change (an evaluation or SetAlarmState) goes into the alarm's history;
    DescribeAlarmHistory answers from it; GetMetricStatistics matches the exact dimensions."""
    from moto.cloudwatch.models import Alarm, CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    original_put_data = CloudWatchBackend.put_metric_data

    def put_metric_data(self, namespace, metric_data):
        original_put_data(self, namespace, metric_data)
        series.add(namespace, metric_data)

    CloudWatchBackend.put_metric_data = put_metric_data

    original_put_alarm = CloudWatchBackend.put_metric_alarm

    def put_metric_alarm(self, name, *args, **kwargs):
        existing = self.alarms.get(name)
        alarm = original_put_alarm(self, name, *args, **kwargs)
        if existing is not None:
            alarm.state_value, alarm.state_reason = existing.state_value, existing.state_reason
            alarm.state_reason_data, alarm.state_updated_timestamp = (
                existing.state_reason_data,
                existing.state_updated_timestamp,
            )
            alarms.record(name, "ConfigurationUpdate", f'Alarm "{name}" updated', {"type": "Update"})
        else:
            alarm.state_value, alarm.state_reason = "INSUFFICIENT_DATA", "Unchecked: Initial alarm creation"
            alarms.record(name, "ConfigurationUpdate", f'Alarm "{name}" created', {"type": "Create"})
        return alarm

    CloudWatchBackend.put_metric_alarm = put_metric_alarm

    original_update_state = Alarm.update_state

    def update_state(self, reason, reason_data, state_value):
        old = (self.state_value, self.state_reason)
        original_update_state(self, reason, reason_data, state_value)
        alarms.state_changed(self, old, (state_value, reason, reason_data or "{}"))

    Alarm.update_state = update_state

    # GetMetricStatistics: "You must specify the same dimensions that were used when the metrics were created";
    # moto matched any datapoint having the dimensions asked for, so a load balancer's RequestCount also summed
    # its target groups' (twice the requests).
    original_statistics = CloudWatchBackend.get_metric_statistics

    def get_metric_statistics(self, *query, dimensions=None, unit=None):  # namespace, name, start, end, period, stats
        wanted = sorted((d["Name"], d["Value"]) for d in dimensions or [])
        found = []
        for point in original_statistics(self, *query, dimensions=[], unit=unit):  # type: ignore[misc]  # moto passes the six positionally
            point.metric_data = [
                md for md in point.metric_data if sorted((d.name, d.value) for d in md.dimensions) == wanted
            ]
            if point.metric_data:
                found.append(point)
        return found

    CloudWatchBackend.get_metric_statistics = get_metric_statistics

    def describe_alarm_history(self) -> ActionResult:
        return ActionResult(alarms.describe_history(self._get_params()))

    setattr(CloudWatchResponse, "describe_alarm_history", describe_alarm_history)  # noqa: B010 - moto has none
