"""The sandbox's CloudWatch (sandbox/cloudwatch/alarms.py): the ALB's metrics from HAProxy's request log, metric math,
and alarm evaluation as the CloudWatch user guide describes it; through boto3 against moto with the sandbox's
patches (new alarms INSUFFICIENT_DATA, an update keeps the state, SetAlarmState lasts until the next evaluation,
DescribeAlarmHistory)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.cloudwatch.models import Alarm, CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse

from sandbox.cloudwatch.alarms import Alarms, evaluate
from sandbox.cloudwatch.expressions import MathError, evaluate_expression
from sandbox.cloudwatch.metrics import Series, statistic
from sandbox.cloudwatch.patches import patch_cloudwatch
from sandbox.elbv2.metrics import AlbMetrics, Topology, datapoints, parse

REGION = "eu-west-1"
LB = "app/orders-local/50dc6c495c0c9188"
BLUE = "targetgroup/orders-local-blue/73e2d6bc24d8a067"
GREEN = "targetgroup/orders-local-green/4a1b2c3d4e5f6a7b"


def line(at: float, server: str, status: int, *, tr: int, tc: int = 0, frontend: str = "ft_orders-local_80") -> str:
    """A HAProxy `option httplog` line, as the sandbox's HAProxy writes it (accept date in local time)."""
    accepted = datetime.fromtimestamp(at).strftime("%d/%b/%Y:%H:%M:%S.%f")[:-3]
    return (
        f"127.0.0.1:40000 [{accepted}] {frontend} lb_orders-local_80/{server} 0/0/{tc}/{tr}/{max(tr, 0) + 1} "
        f'{status} 180 - - ---- 1/1/0/0/0 0/0 "GET /items HTTP/1.1"'
    )


TOPOLOGY = Topology(
    frontends={"ft_orders-local_80": LB},
    servers={
        ("lb_orders-local_80", "orders-local-blue_127-2-0-5_8000"): BLUE,
        ("lb_orders-local_80", "orders-local-green_127-2-0-6_8000"): GREEN,
    },
)


def test_a_request_log_line_gives_the_target_response_time_and_who_answered():
    request = parse(line(1_800_000_000.0, "orders-local-blue_127-2-0-5_8000", 200, tr=12))
    assert request is not None
    assert (request.frontend, request.server, request.status, request.target_seconds) == (
        "ft_orders-local_80",
        "orders-local-blue_127-2-0-5_8000",
        200,
        0.012,
    )
    assert request.at == pytest.approx(1_800_000_000.013, abs=0.002)
    # A TLS frontend is logged with a "~"; no target chosen: <NOSRV>, no response time.
    tls = parse(line(1_800_000_000.0, "<NOSRV>", 503, tr=-1, tc=-1, frontend="ft_orders-local_443~"))
    assert tls is not None
    assert (tls.frontend, tls.target_seconds, tls.connected) == ("ft_orders-local_443", None, False)
    assert parse("[NOTICE] (1) : New worker (2) forked") is None


def test_metrics_count_what_the_targets_and_the_load_balancer_answered_and_never_publish_zeros():
    at = 1_800_000_000.0
    blue, green = "orders-local-blue_127-2-0-5_8000", "orders-local-green_127-2-0-6_8000"
    requests = [
        parse(line(at, blue, 200, tr=5)),
        parse(line(at, blue, 200, tr=7)),
        parse(line(at, green, 500, tr=3)),
        parse(line(at, green, 503, tr=-1, tc=-1)),  # the target refused the connection: the ALB's 503
        parse(line(at, "<NOSRV>", 503, tr=-1, tc=-1)),  # no target to choose: not a request of any group
    ]
    data = datapoints([r for r in requests if r], TOPOLOGY)

    def value(name: str, tg: str | None) -> float | None:
        dims = [{"Name": "LoadBalancer", "Value": LB}] + ([{"Name": "TargetGroup", "Value": tg}] if tg else [])
        found = [d for d in data if d["MetricName"] == name and d["Dimensions"] == dims]
        return found[0].get("Value", found[0].get("Values")) if found else None

    assert value("RequestCount", None) == 4  # "rejected before a target is chosen": not counted
    assert value("RequestCount", BLUE) == 2
    assert value("RequestCount", GREEN) == 2
    assert value("HTTPCode_Target_2XX_Count", BLUE) == 2
    assert value("HTTPCode_Target_5XX_Count", GREEN) == 1
    assert value("HTTPCode_Target_5XX_Count", BLUE) is None  # zero: not reported
    assert value("HTTPCode_ELB_5XX_Count", None) == 2
    assert value("HTTPCode_ELB_503_Count", None) == 2
    assert value("TargetConnectionErrorCount", GREEN) == 1
    assert value("TargetResponseTime", BLUE) == [0.005, 0.007]
    assert all(d["Unit"] == ("Seconds" if d["MetricName"] == "TargetResponseTime" else "Count") for d in data)
    assert datapoints([], TOPOLOGY) == []


def test_each_period_is_published_once_it_has_ended_with_the_health_of_the_groups_in_use(tmp_path):
    log_file = tmp_path / "haproxy.log"
    published: list[tuple[str, list]] = []
    metrics = AlbMetrics(log_file, period=3.0, put=lambda ns, data: published.append((ns, data)), origin=0.0)
    base = (int(time.time()) // 3 + 10) * 3.0  # a period boundary in the future
    metrics.published_through = metrics.index(base) - 1
    blue = "orders-local-blue_127-2-0-5_8000"
    log_file.write_text(line(base + 0.5, blue, 200, tr=4) + "\n" + line(base + 1.0, blue, 500, tr=9) + "\n")
    topology = Topology(TOPOLOGY.frontends, TOPOLOGY.servers, {LB: {BLUE: (2, 0), GREEN: (0, 1)}})

    assert metrics.publish(topology, now=base + 2.0) == 0  # the period has not ended
    assert metrics.publish(topology, now=base + 3.1) > 0
    namespace, data = published[-1]
    assert namespace == "AWS/ApplicationELB"
    stamp = datetime.fromtimestamp(base, UTC).replace(tzinfo=None)
    assert {d["Timestamp"] for d in data} == {stamp}
    names = {(d["MetricName"], len(d["Dimensions"])) for d in data}
    assert ("HTTPCode_Target_5XX_Count", 2) in names
    assert ("UnHealthyHostCount", 2) in names
    # A line written late (a long request) counts in the first period not yet published.
    with log_file.open("a") as f:
        f.write(line(base + 2.9, blue, 200, tr=4) + "\n")
    published.clear()
    metrics.publish(Topology(TOPOLOGY.frontends, TOPOLOGY.servers, {}), now=base + 6.1)
    assert [d["Value"] for _, data in published for d in data if d["MetricName"] == "RequestCount"] == [1, 1]
    assert published[0][1][0]["Timestamp"] == datetime.fromtimestamp(base + 3, UTC).replace(tzinfo=None)
    # A period without requests publishes nothing (no health either: no group in use).
    published.clear()
    assert metrics.publish(Topology(), now=base + 9.1) == 0
    assert published == []


def test_statistics_and_percentiles_of_one_period():
    entries = [("values", [(0.01, 98.0), (2.0, 2.0)])]
    assert statistic(entries, "Sum") == (pytest.approx(4.98), 100.0)
    assert statistic(entries, "p50")[0] == 0.01
    assert statistic(entries, "p99")[0] == 2.0
    assert statistic(entries, "Maximum")[0] == 2.0
    assert statistic([], "Sum") == (None, 0.0)
    # A percentile of statistic sets cannot be computed (no datapoint), as on CloudWatch.
    assert statistic([("stats", (10.0, 5.0, 0.1, 1.0))], "p99")[0] is None
    assert statistic([("stats", (10.0, 5.0, 0.1, 1.0))], "Average")[0] == 0.5


def test_metric_math_fills_gaps_only_where_asked_and_has_no_datapoint_for_a_division_by_zero():
    rate = "IF(FILL(requests, 0) >= 10, 100 * FILL(errors, 0) / requests, 0)"
    assert evaluate_expression(rate, {"requests": 40.0, "errors": 4.0}) == 10.0
    assert evaluate_expression(rate, {"requests": 40.0, "errors": None}) == 0.0
    assert evaluate_expression(rate, {"requests": 5.0, "errors": 5.0}) == 0.0  # too few requests to judge
    assert evaluate_expression(rate, {"requests": None, "errors": None}) == 0.0
    assert evaluate_expression("100 * errors / requests", {"requests": None, "errors": 1.0}) is None
    assert evaluate_expression("errors / requests", {"requests": 0.0, "errors": 0.0}) is None
    assert evaluate_expression("-(a + 2) * 3 == -9 AND 1", {"a": 1.0}) == 1.0
    assert evaluate_expression("MAX(a, b, 3)", {"a": None, "b": 7.0}) == 7.0
    with pytest.raises(MathError, match="does not evaluate ANOMALY_DETECTION_BAND"):
        evaluate_expression("ANOMALY_DETECTION_BAND(m1, 2)", {"m1": 1.0})
    with pytest.raises(MathError, match="'m9' is not the id"):
        evaluate_expression("m9 * 2", {"m1": 1.0})


def alarm(**fields) -> SimpleNamespace:
    """The fields of moto's Alarm that the evaluation reads."""
    defaults = {
        "name": "a",
        "namespace": "AWS/ApplicationELB",
        "metric_name": "HTTPCode_Target_5XX_Count",
        "dimensions": [
            SimpleNamespace(name="LoadBalancer", value=LB),
            SimpleNamespace(name="TargetGroup", value=GREEN),
        ],
        "statistic": "Sum",
        "extended_statistic": None,
        "period": 60,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
        "threshold": 5.0,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
        "evaluate_low_sample_count_percentile": None,
        "metric_data_queries": [],
    }
    return SimpleNamespace(**{**defaults, **fields})


def put(series: Series, name: str, at: float, value: float, tg: str = GREEN, **extra) -> None:
    dims = [{"Name": "LoadBalancer", "Value": LB}, {"Name": "TargetGroup", "Value": tg}]
    stamp = datetime.fromtimestamp(at, UTC)
    series.add(
        "AWS/ApplicationELB",
        [{"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": stamp, **extra}],
        now=at,
    )


def test_an_alarm_needs_datapoints_to_alarm_of_its_evaluation_periods_and_treats_missing_data_as_told():
    series, scale = Series(), 0.05  # 60-second periods of 3 seconds
    now = 1_800_000_000.0 - 1_800_000_000.0 % 3 + 0.1  # just after a period ended
    put(series, "HTTPCode_Target_5XX_Count", now - 3.1, 9.0)  # the newest period: breaching
    one = evaluate(alarm(), series, now, scale)
    assert one.state == "OK"  # 1 of 3, 2 needed
    assert "missing datapoint(s) were treated as [NonBreaching]" in one.reason
    put(series, "HTTPCode_Target_5XX_Count", now - 6.1, 7.0)
    two = evaluate(alarm(), series, now, scale)
    assert two.state == "ALARM"
    assert two.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [9 (")
    assert "were greater than the threshold (5)" in two.reason
    assert two.data["evaluatedDatapoints"][0]["value"] == 9.0
    # No datapoint at all: notBreaching is OK, breaching is ALARM, missing is INSUFFICIENT_DATA, ignore keeps.
    later = now + 30
    assert evaluate(alarm(), series, later, scale).state == "OK"
    assert evaluate(alarm(treat_missing_data="breaching"), series, later, scale).state == "ALARM"
    assert evaluate(alarm(treat_missing_data="missing"), series, later, scale).state == "INSUFFICIENT_DATA"
    assert evaluate(alarm(treat_missing_data=None), series, later, scale).state == "INSUFFICIENT_DATA"
    assert evaluate(alarm(treat_missing_data="ignore"), series, later, scale).state is None


def test_a_p99_alarm_with_too_few_samples_keeps_its_state_only_when_told_to_ignore_them():
    series, scale = Series(), 0.05
    now = 1_800_000_000.0 - 1_800_000_000.0 % 3 + 0.1
    dims = [{"Name": "LoadBalancer", "Value": LB}, {"Name": "TargetGroup", "Value": GREEN}]
    series.add(
        "AWS/ApplicationELB",
        [
            {
                "MetricName": "TargetResponseTime",
                "Dimensions": dims,
                "Values": [0.005, 1.5],
                "Counts": [30.0, 2.0],
                "Timestamp": datetime.fromtimestamp(now - 3.1, UTC),
            }
        ],
        now=now,
    )
    slow = {"metric_name": "TargetResponseTime", "statistic": None, "extended_statistic": "p99", "threshold": 1.0}
    assert evaluate(alarm(**slow, evaluation_periods=1, datapoints_to_alarm=1), series, now, scale).state == "ALARM"
    ignored = evaluate(
        alarm(**slow, evaluation_periods=1, datapoints_to_alarm=1, evaluate_low_sample_count_percentile="ignore"),
        series,
        now,
        scale,
    )
    assert ignored.state is None  # 32 samples: fewer than the 1000 a p99 needs


def test_an_error_rate_alarm_in_metric_math_fires_on_the_rate_not_the_count():
    series, scale = Series(), 0.05
    now = 1_800_000_000.0 - 1_800_000_000.0 % 3 + 0.1
    stat = {"Period": 60, "Stat": "Sum"}

    def query(qid: str, metric: str) -> SimpleNamespace:
        dims = [SimpleNamespace(name="LoadBalancer", value=LB), SimpleNamespace(name="TargetGroup", value=GREEN)]
        return SimpleNamespace(
            id=qid,
            return_data=False,
            expression=None,
            metric_stat=SimpleNamespace(
                metric=SimpleNamespace(namespace="AWS/ApplicationELB", metric_name=metric, dimensions=dims),
                stat=stat["Stat"],
            ),
        )

    queries = [
        query("errors", "HTTPCode_Target_5XX_Count"),
        query("requests", "RequestCount"),
        SimpleNamespace(
            id="rate",
            return_data=True,
            metric_stat=None,
            expression="IF(FILL(requests, 0) >= 10, 100 * FILL(errors, 0) / requests, 0)",
        ),
    ]
    rate = alarm(metric_name=None, namespace=None, statistic=None, metric_data_queries=queries, evaluation_periods=1)
    rate.datapoints_to_alarm = 1
    put(series, "RequestCount", now - 3.1, 1000.0)
    put(series, "HTTPCode_Target_5XX_Count", now - 3.1, 20.0)  # 2 %: 20 errors, above a count of 5
    assert evaluate(rate, series, now, scale).state == "OK"
    put(series, "HTTPCode_Target_5XX_Count", now - 3.1, 40.0)  # 6 %
    result = evaluate(rate, series, now, scale)
    assert result.state == "ALARM"
    assert result.data["statistic"] == "Expression"
    assert result.data["recentDatapoints"] == [6.0]


@pytest.fixture
def patched(monkeypatch) -> Alarms:
    """moto's CloudWatch with the sandbox's patches, undone after the test (other tests use moto's as it is)."""
    for cls, name in (
        (CloudWatchBackend, "get_metric_statistics"),
        (CloudWatchBackend, "put_metric_data"),
        (CloudWatchBackend, "put_metric_alarm"),
        (Alarm, "update_state"),
    ):
        monkeypatch.setattr(cls, name, getattr(cls, name))
    monkeypatch.setattr(CloudWatchResponse, "describe_alarm_history", None, raising=False)
    series = Series()
    alarms = Alarms(lambda: get_backend("cloudwatch")["123456789012"][REGION], series, scale=0.05)
    patch_cloudwatch(alarms, series)
    return alarms


@mock_aws
def test_new_alarms_are_insufficient_data_updates_keep_the_state_and_set_alarm_state_lasts_one_evaluation(patched):
    alarms = patched
    client = boto3.client("cloudwatch", region_name=REGION)
    spec = {
        "AlarmName": "orders-local-target-5xx-green",
        "Namespace": "AWS/ApplicationELB",
        "MetricName": "HTTPCode_Target_5XX_Count",
        "Dimensions": [{"Name": "LoadBalancer", "Value": LB}, {"Name": "TargetGroup", "Value": GREEN}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    client.put_metric_alarm(**spec)

    def state() -> str:
        return client.describe_alarms(AlarmNames=[spec["AlarmName"]])["MetricAlarms"][0]["StateValue"]

    assert state() == "INSUFFICIENT_DATA"
    alarms.tick()
    assert state() == "OK"
    client.set_alarm_state(AlarmName=spec["AlarmName"], StateValue="ALARM", StateReason="testing the rollback")
    client.put_metric_alarm(**{**spec, "Threshold": 6.0})  # an update leaves the state as it is
    assert state() == "ALARM"
    alarms.next_at = 0
    alarms.tick()
    assert state() == "OK"  # back to what the metric says, at the next evaluation
    # Datapoints put through the API are evaluated too.
    now = time.time()
    period_start = now - now % 3 - 3
    client.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Dimensions": spec["Dimensions"],
                "Value": 50.0,
                "Timestamp": datetime.fromtimestamp(period_start + 0.5, UTC),
            }
        ],
    )
    alarms.next_at = 0
    alarms.tick(now=period_start + 3.1)
    assert state() == "ALARM"

    history = client.describe_alarm_history(AlarmName=spec["AlarmName"])["AlarmHistoryItems"]
    summaries = [item["HistorySummary"] for item in history]
    assert summaries == [
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
        f'Alarm "{spec["AlarmName"]}" updated',
        "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK",
        f'Alarm "{spec["AlarmName"]}" created',
    ]
    first = client.describe_alarm_history(
        AlarmName=spec["AlarmName"], HistoryItemType="StateUpdate", ScanBy="TimestampAscending", MaxRecords=1
    )
    assert first["AlarmHistoryItems"][0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to OK"
    assert "NextToken" in first


@mock_aws
def test_statistics_are_for_the_exact_dimensions_the_metric_was_published_with(patched):
    client = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.now(UTC)
    balancer = [{"Name": "LoadBalancer", "Value": LB}]
    group = [*balancer, {"Name": "TargetGroup", "Value": GREEN}]
    client.put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": "RequestCount", "Dimensions": balancer, "Value": 100.0, "Timestamp": now},
            {"MetricName": "RequestCount", "Dimensions": group, "Value": 40.0, "Timestamp": now},
        ],
    )

    def total(dimensions) -> float:
        points = client.get_metric_statistics(
            Namespace="AWS/ApplicationELB",
            MetricName="RequestCount",
            Dimensions=dimensions,
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
            Period=600,
            Statistics=["Sum"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert total(balancer) == 100.0  # moto summed 140: every datapoint that has the LoadBalancer dimension
    assert total(group) == 40.0
    assert total([{"Name": "TargetGroup", "Value": GREEN}]) == 0.0  # a combination never published
