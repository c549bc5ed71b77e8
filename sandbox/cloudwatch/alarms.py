"""CloudWatch's metric alarms, evaluated as CloudWatch evaluates them; moto stores alarms and datapoints but never
evaluates an alarm and has no alarm history.

`Alarms` evaluates every metric alarm each (scaled) minute, as CloudWatch does: the last EvaluationPeriods periods of
the metric or of a metric math expression, DatapointsToAlarm of them breaching, TreatMissingData, percentiles with
EvaluateLowSampleCountPercentile; a state change records its reason and history (DescribeAlarmHistory, which moto
lacks). A state set with SetAlarmState lasts until the next evaluation.

The delay AWS does not document (datapoint -> evaluation) is the sandbox's: alarms are evaluated right after a period's
datapoints are published (fidelity ledger: assumed).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.cloudwatch.expressions import Unsupported, evaluate_expression
from sandbox.cloudwatch.metrics import AWS_PERIOD, Series, series_key, statistic

log = logging.getLogger("sandbox.cloudwatch")

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
