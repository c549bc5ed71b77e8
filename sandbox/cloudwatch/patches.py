"""Where moto's CloudWatch stops short of AWS's (sandbox/cloudwatch/alarms.py evaluates the alarms)."""

from __future__ import annotations

from sandbox.cloudwatch.alarms import Alarms
from sandbox.cloudwatch.metrics import Series


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
