"""The alarms that stop a deployment, as PutMetricAlarm requests; and what they say when one did.

Each service has three alarms on each of its two target groups (the model names them `<name>-<kind>-<color>`).
The groups swap roles every deployment, so each alarm watches one group whatever its role: the group taking
new traffic is the one that misbehaves, and an idle group has no requests and so no breaching datapoint.

- `error-rate`: the share of requests (%) the targets answered 5XX or could not be connected to, in metric math:
  `IF(FILL(requests, 0) >= min, 100 * (FILL(errors, 0) + FILL(refused, 0)) / requests, 0)`. A rate, not a
  count, so the threshold means the same at 10 % and at 100 % of the traffic. The ALB publishes a count only
  when it is not zero (no datapoint, not a 0), hence FILL; below `min` requests in a period the rate is 0 (two
  errors out of three requests are no evidence), so a quiet canary neither fires nor blocks.
- `latency-p99`: p99 of TargetResponseTime. EvaluateLowSampleCountPercentile is `evaluate`: a canary never gets
  the 1000 samples per period CloudWatch calls significant for a p99, and `ignore` would never fire during one.
- `unhealthy-hosts`: Maximum of UnHealthyHostCount.

TreatMissingData is notBreaching for all three: a period without requests is not a failure.

Pure Python (the filter and the module use it; the report reads CloudWatch with the client it is given).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

# Kinds an earlier version of the project provisioned: provisioning deletes them.
RETIRED_KINDS = ("target-5xx",)
NAMESPACE = "AWS/ApplicationELB"

DEFAULTS = {
    "period_seconds": 60,
    "evaluation_periods": 3,
    "datapoints_to_alarm": 2,
    "error_rate_percent": 5.0,
    "error_rate_min_requests": 20,
    "latency_p99_seconds": 1.0,
    "unhealthy_hosts": 0,
    "actions": [],
}


class AlarmError(ValueError):
    """A setting that cannot make a sensible alarm."""


def _settings(given: dict) -> dict:
    settings = {**DEFAULTS, **{k: v for k, v in (given or {}).items() if v is not None}}
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise AlarmError(f"unknown alarm settings {unknown}: the settings are {sorted(DEFAULTS)}")
    if int(settings["period_seconds"]) < 60 or int(settings["period_seconds"]) % 60:
        raise AlarmError(
            f"period_seconds {settings['period_seconds']}: ALB metrics are published per minute, use a multiple of 60"
        )
    if not 1 <= int(settings["datapoints_to_alarm"]) <= int(settings["evaluation_periods"]):
        raise AlarmError(
            f"datapoints_to_alarm {settings['datapoints_to_alarm']} must be between 1 and evaluation_periods "
            f"({settings['evaluation_periods']})"
        )
    if not 0 < float(settings["error_rate_percent"]) < 100:
        raise AlarmError(f"error_rate_percent {settings['error_rate_percent']} must be above 0 and below 100")
    if float(settings["latency_p99_seconds"]) <= 0:
        raise AlarmError(f"latency_p99_seconds {settings['latency_p99_seconds']} must be above 0")
    return settings


def _metric(qid: str, name: str, dimensions: list[dict], period: int, stat: str = "Sum") -> dict:
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": dimensions},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": False,
    }


def alarm_specs(names: dict, load_balancer: str, target_groups: list[str], settings: dict | None = None) -> list[dict]:
    """PutMetricAlarm requests for a service's alarms. `load_balancer` and `target_groups` (blue, green) are the
    CloudWatch dimensions (ARN suffixes `app/...` and `targetgroup/...`); `settings` overrides DEFAULTS."""
    s = _settings(settings or {})
    if not str(load_balancer).startswith("app/") or len(target_groups) != 2:
        raise AlarmError(
            "the alarms need the load balancer's ARN suffix (app/...) and the blue and green target groups' "
            f"(targetgroup/...): got {load_balancer!r} and {target_groups!r}"
        )
    period = int(s["period_seconds"])
    common = {
        "EvaluationPeriods": int(s["evaluation_periods"]),
        "DatapointsToAlarm": int(s["datapoints_to_alarm"]),
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": list(s["actions"]),
        "OKActions": [],
        "InsufficientDataActions": [],
    }
    specs = []
    for color, target_group in zip(("blue", "green"), target_groups, strict=True):
        dimensions = [{"Name": "LoadBalancer", "Value": load_balancer}, {"Name": "TargetGroup", "Value": target_group}]
        alarm = names["alarm_names"]
        minimum = int(s["error_rate_min_requests"])
        specs.append(
            {
                "AlarmName": alarm["error-rate"][color],
                "AlarmDescription": (
                    f"More than {float(s['error_rate_percent']):g} % of the {color} target group's requests answered "
                    f"5XX or refused (periods with at least {minimum} requests)"
                ),
                "Metrics": [
                    _metric("errors", "HTTPCode_Target_5XX_Count", dimensions, period),
                    _metric("refused", "TargetConnectionErrorCount", dimensions, period),
                    _metric("requests", "RequestCount", dimensions, period),
                    {
                        "Id": "rate",
                        "Expression": (
                            f"IF(FILL(requests, 0) >= {minimum}, "
                            "100 * (FILL(errors, 0) + FILL(refused, 0)) / requests, 0)"
                        ),
                        "Label": "Error rate (%)",
                        "ReturnData": True,
                    },
                ],
                "Threshold": float(s["error_rate_percent"]),
                **common,
            }
        )
        specs.append(
            {
                "AlarmName": alarm["latency-p99"][color],
                "AlarmDescription": (
                    f"p99 response time of the {color} target group's targets above "
                    f"{float(s['latency_p99_seconds']):g} s"
                ),
                "Namespace": NAMESPACE,
                "MetricName": "TargetResponseTime",
                "Dimensions": dimensions,
                "ExtendedStatistic": "p99",
                "EvaluateLowSampleCountPercentile": "evaluate",
                "Period": period,
                "Threshold": float(s["latency_p99_seconds"]),
                **common,
            }
        )
        specs.append(
            {
                "AlarmName": alarm["unhealthy-hosts"][color],
                "AlarmDescription": (
                    f"More than {int(s['unhealthy_hosts'])} of the {color} target group's targets fail their health "
                    "checks"
                ),
                "Namespace": NAMESPACE,
                "MetricName": "UnHealthyHostCount",
                "Dimensions": dimensions,
                "Statistic": "Maximum",
                "Period": period,
                "Threshold": float(s["unhealthy_hosts"]),
                **common,
            }
        )
    return specs


def retired_alarm_names(names: dict) -> list[str]:
    """Alarms of kinds this project no longer provisions, named as it named them (provisioning deletes them)."""
    prefix = names["resource_prefix"]
    return [f"{prefix}-{kind}-{color}" for kind in RETIRED_KINDS for color in ("blue", "green")]


def _canonical(value):
    """A request or DescribeAlarms answer in one form: dimensions sorted, numbers as floats, defaults filled."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if items and all(isinstance(i, dict) and set(i) == {"Name", "Value"} for i in items):
            items.sort(key=lambda d: d["Name"])
        return items
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return float(value)


def differences(existing: dict | None, desired: dict) -> list[str]:
    """The fields of `desired` (a PutMetricAlarm request) that the alarm as DescribeAlarms gives it differs in;
    ["(missing)"] when there is no such alarm. Only what the request sets is compared (AWS adds the state,
    ARNs and timestamps); a metric math query compares its Id, MetricStat, Expression, Label and ReturnData."""
    if existing is None:
        return ["(missing)"]
    changed = []
    for key, wanted in desired.items():
        have = existing.get(key)
        if key == "Metrics":
            have = [{k: q.get(k) for k in w} for q, w in zip(have or [], wanted, strict=False)]
            if len(existing.get("Metrics") or []) != len(wanted):
                changed.append(key)
                continue
        if key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            have = have or []
        if _canonical(have) != _canonical(wanted):
            changed.append(key)
    return changed


# --- What CloudWatch says about a deployment that alarms stopped --------------------------------------------

_ACTIVATED = re.compile(r"Activated alarms: <([^>]*)>")


def activated_alarms(error_message: str) -> list[str]:
    """The alarm names in CodeDeploy's ALARM_ACTIVE message ("... Activated alarms: <a, b>")."""
    match = _ACTIVATED.search(error_message or "")
    return [n.strip() for n in match.group(1).split(",") if n.strip()] if match else []


def _dimensions(alarm: dict) -> dict:
    dims = alarm.get("Dimensions") or []
    for query in alarm.get("Metrics") or []:
        dims = dims or (query.get("MetricStat") or {}).get("Metric", {}).get("Dimensions") or []
    return {d["Name"]: d["Value"] for d in dims}


def _window(start: datetime, end: datetime) -> tuple[datetime, datetime, int]:
    """Whole minutes around [start, end] and one period covering them (GetMetricStatistics: a multiple of 60)."""
    first = start.replace(second=0, microsecond=0)
    last = end.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return first, last, max(60, int((last - first).total_seconds()))


def _sum(cloudwatch, name: str, dimensions: dict, start: datetime, end: datetime) -> float:
    first, last, period = _window(start, end)
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=first,
        EndTime=last,
        Period=period,
        Statistics=["Sum"],
    ).get("Datapoints", [])
    return sum(p.get("Sum", 0.0) for p in points)


def alarm_report(cloudwatch, names: list[str], start: datetime, end: datetime | None = None) -> str | None:
    """Why each alarm fired (its transition to ALARM since `start`, from DescribeAlarmHistory: its state may be
    OK again now that traffic is back on the original task set) and the requests its target group had in the
    window, as CloudWatch holds them now (ALB metrics arrive about a minute after the requests)."""
    end = end or datetime.now(UTC)
    parts = []
    described = cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", []) if names else []
    for alarm in described:
        name = alarm["AlarmName"]
        reason = alarm.get("StateReason", "")
        history = cloudwatch.describe_alarm_history(
            AlarmName=name, HistoryItemType="StateUpdate", StartDate=start, EndDate=end + timedelta(minutes=1)
        ).get("AlarmHistoryItems", [])
        for item in history:  # newest first: the last time it went to ALARM
            data = json.loads(item.get("HistoryData") or "{}")
            if (data.get("newState") or {}).get("stateValue") == "ALARM":
                reason = data["newState"].get("stateReason", reason)
                break
        line = f"{name}: {reason}"
        dimensions = _dimensions(alarm)
        if "TargetGroup" in dimensions:
            requests = _sum(cloudwatch, "RequestCount", dimensions, start, end)
            errors = _sum(cloudwatch, "HTTPCode_Target_5XX_Count", dimensions, start, end) + _sum(
                cloudwatch, "TargetConnectionErrorCount", dimensions, start, end
            )
            share = f" ({100 * errors / requests:.1f} %)" if requests else ""
            group = (
                dimensions["TargetGroup"].split("/")[1]
                if "/" in dimensions["TargetGroup"]
                else dimensions["TargetGroup"]
            )
            line += (
                f" Target group {group} since {start:%H:%M:%S} UTC: {requests:g} requests, {errors:g} answered 5XX or "
                f"refused{share} (CloudWatch's figures so far)."
            )
        parts.append(line)
    return " ".join(parts) or None
