"""The service's alarms (module_utils/model/alarms.py) and the module that converges them
(library/cloudwatch_alarms.py), against moto's CloudWatch: an alarm in metric math that did not change is not
rewritten (amazon.aws.cloudwatch_metric_alarm would rewrite it every run), check mode predicts, retired kinds go;
and the report a deploy stopped by alarms prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import cloudwatch_alarms as module
import pytest
from ansible.module_utils.model.alarms import (
    AlarmError,
    activated_alarms,
    alarm_report,
    alarm_specs,
    differences,
    retired_alarm_names,
)
from moto import mock_aws

from module_utils.model.names import names

LB = "app/orders-prod/50dc6c495c0c9188"
GROUPS = ["targetgroup/orders-prod-blue/73e2d6bc24d8a067", "targetgroup/orders-prod-green/4a1b2c3d4e5f6a7b"]
MODEL = names("orders", "prod")


def test_three_alarms_on_each_target_group_with_the_error_rate_in_metric_math():
    specs = {s["AlarmName"]: s for s in alarm_specs(MODEL, LB, GROUPS)}
    assert sorted(specs) == sorted(MODEL["alarms"])
    rate = specs["orders-prod-error-rate-green"]
    assert "MetricName" not in rate  # a math alarm names its metrics in Metrics only
    assert [q["Id"] for q in rate["Metrics"]] == ["errors", "refused", "requests", "rate"]
    assert rate["Metrics"][-1]["Expression"] == (
        "IF(FILL(requests, 0) >= 20, 100 * (FILL(errors, 0) + FILL(refused, 0)) / requests, 0)"
    )
    assert [q["ReturnData"] for q in rate["Metrics"]] == [False, False, False, True]
    green = {"Name": "TargetGroup", "Value": GROUPS[1]}
    assert all(green in q["MetricStat"]["Metric"]["Dimensions"] for q in rate["Metrics"][:3])
    latency = specs["orders-prod-latency-p99-blue"]
    assert (latency["ExtendedStatistic"], latency["EvaluateLowSampleCountPercentile"]) == ("p99", "evaluate")
    assert {s["TreatMissingData"] for s in specs.values()} == {"notBreaching"}
    assert {(s["EvaluationPeriods"], s["DatapointsToAlarm"]) for s in specs.values()} == {(3, 2)}
    assert retired_alarm_names(MODEL) == ["orders-prod-target-5xx-blue", "orders-prod-target-5xx-green"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"period_seconds": 30}, "use a multiple of 60"),
        ({"datapoints_to_alarm": 4}, "must be between 1 and evaluation_periods"),
        ({"error_rate_percent": 0}, "above 0 and below 100"),
        ({"error_threshold": 5}, "unknown alarm settings ['error_threshold']"),
    ],
)
def test_settings_that_cannot_make_a_sensible_alarm_are_refused(settings, message):
    with pytest.raises(AlarmError, match=message.replace("[", r"\[").replace("]", r"\]")):
        alarm_specs(MODEL, LB, GROUPS, settings)
    with pytest.raises(AlarmError, match="ARN suffix"):
        alarm_specs(MODEL, "orders-prod", GROUPS)


@mock_aws
def test_what_describe_alarms_returns_compares_equal_to_the_request_that_made_it():
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    specs = alarm_specs(MODEL, LB, GROUPS)
    for spec in specs:
        client.put_metric_alarm(**spec)
    described = {a["AlarmName"]: a for a in client.describe_alarms()["MetricAlarms"]}
    assert {s["AlarmName"]: differences(described[s["AlarmName"]], s) for s in specs} == {
        s["AlarmName"]: [] for s in specs
    }
    changed = json.loads(json.dumps(specs[0]))
    changed["Metrics"][-1]["Expression"] = changed["Metrics"][-1]["Expression"].replace(">= 20", ">= 10")
    changed["Threshold"] = 2.0
    assert differences(described[changed["AlarmName"]], changed) == ["Metrics", "Threshold"]
    assert differences(None, changed) == ["(missing)"]


@mock_aws
def test_the_module_creates_then_changes_nothing_predicts_in_check_mode_and_deletes_retired_alarms(run_module):
    client = boto3.client("cloudwatch", region_name="eu-west-1")
    clients = {"cloudwatch": SimpleNamespace(client=client)}
    client.put_metric_alarm(
        AlarmName="orders-prod-target-5xx-green",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    args = {"alarms": alarm_specs(MODEL, LB, GROUPS), "absent": retired_alarm_names(MODEL)}

    predicted = run_module(module, args, clients, check_mode=True)
    assert predicted["changed"]
    assert sorted(predicted["created"]) == sorted(MODEL["alarms"])
    assert predicted["deleted"] == ["orders-prod-target-5xx-green"]
    assert [a["AlarmName"] for a in client.describe_alarms()["MetricAlarms"]] == ["orders-prod-target-5xx-green"]

    applied = run_module(module, args, clients)
    assert (applied["created"], applied["deleted"]) == (predicted["created"], predicted["deleted"])
    assert sorted(a["AlarmName"] for a in client.describe_alarms()["MetricAlarms"]) == sorted(MODEL["alarms"])

    again = run_module(module, args, clients)
    assert not again["changed"]

    stricter = alarm_specs(MODEL, LB, GROUPS, {"error_rate_percent": 2})
    diffed = run_module(module, {"alarms": stricter}, clients, diff=True)
    assert diffed["updated"] == {
        "orders-prod-error-rate-blue": ["AlarmDescription", "Threshold"],
        "orders-prod-error-rate-green": ["AlarmDescription", "Threshold"],
    }
    assert diffed["diff"]["after"]["orders-prod-error-rate-blue"]["Threshold"] == 2.0


def test_a_name_both_wanted_and_retired_is_refused_before_anything_changes(run_module):
    spec = alarm_specs(MODEL, LB, GROUPS)[0]
    result = run_module(module, {"alarms": [spec], "absent": [spec["AlarmName"]]}, {"cloudwatch": None})
    assert result.failed
    assert "both wanted (alarms) and to be deleted (absent)" in result["msg"]


class FakeCloudWatch:
    """What alarm_report reads: the alarm, its history (the state is OK again), the target group's sums."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def describe_alarms(self, **params):
        self.calls.append(("DescribeAlarms", params))
        spec = next(s for s in alarm_specs(MODEL, LB, GROUPS) if s["AlarmName"] == "orders-prod-error-rate-green")
        return {"MetricAlarms": [{**spec, "StateValue": "OK", "StateReason": "Threshold Crossed: 0 ..."}]}

    def describe_alarm_history(self, **params):
        self.calls.append(("DescribeAlarmHistory", params))
        fired = {"newState": {"stateValue": "ALARM", "stateReason": "Threshold Crossed: 1 out of the last 1 [30]"}}
        back = {"newState": {"stateValue": "OK", "stateReason": "Threshold Crossed: 0 ..."}}
        return {"AlarmHistoryItems": [{"HistoryData": json.dumps(back)}, {"HistoryData": json.dumps(fired)}]}

    def get_metric_statistics(self, **params):
        self.calls.append(("GetMetricStatistics", params))
        sums = {"RequestCount": 200.0, "HTTPCode_Target_5XX_Count": 57.0, "TargetConnectionErrorCount": 3.0}
        return {"Datapoints": [{"Sum": sums[params["MetricName"]]}]}


def test_the_report_names_why_the_alarm_fired_and_its_target_groups_failed_requests():
    message = (
        "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the "
        "affected deployments have been stopped. Activated alarms: <orders-prod-error-rate-green>"
    )
    assert activated_alarms(message) == ["orders-prod-error-rate-green"]
    cloudwatch = FakeCloudWatch()
    start = datetime(2026, 11, 29, 6, 40, 12, tzinfo=UTC)
    report = alarm_report(cloudwatch, activated_alarms(message), start, start + timedelta(seconds=50))
    assert report == (
        "orders-prod-error-rate-green: Threshold Crossed: 1 out of the last 1 [30] Target group orders-prod-green "
        "since 06:40:12 UTC: 200 requests, 60 answered 5XX or refused (30.0 %) (CloudWatch's figures so far)."
    )
    statistics = [params for call, params in cloudwatch.calls if call == "GetMetricStatistics"]
    # Whole minutes around the deployment, one period: one datapoint per metric.
    assert {(p["StartTime"], p["EndTime"], p["Period"]) for p in statistics} == {
        (datetime(2026, 11, 29, 6, 40, tzinfo=UTC), datetime(2026, 11, 29, 6, 42, tzinfo=UTC), 120)
    }
