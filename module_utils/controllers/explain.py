# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a failed hook logged for a deployment (both controllers' hooks log one JSON line per invocation)."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime

from ..aws import paginated

# CloudWatch Logs receives a function's output asynchronously: the failed hook's line can arrive after the
# deployment has ended (Lambda sends it once the invocation that reported the failure returns). A reason not there
# yet is looked for again, every second, for this long.
LOG_DELIVERY_SECONDS = 15


def hook_logged_reason(logs_client, function: str, deployment_id: str, started: str | None = None):
    """`<function>: <reason>` from the last line a hook logged for this deployment with a reason (hooks/common.py
    logs one JSON line per invocation with deployment_id and reason), or None once LOG_DELIVERY_SECONDS have passed
    without one. The ECS controller's hooks log the service deployment's id (the last part of its ARN)."""
    deadline = time.monotonic() + LOG_DELIVERY_SECONDS
    while True:
        reason = _logged_reason(logs_client, function, deployment_id, started)
        if reason or time.monotonic() >= deadline:
            return f"{function}: {reason}" if reason else None
        time.sleep(1)


def _logged_reason(logs_client, function: str, deployment_id: str, started: str | None) -> str | None:
    request: dict[str, object] = {
        "logGroupName": f"/aws/lambda/{function}",
        "filterPattern": f'"{deployment_id}"',
    }
    # Only the deployment's own time: a log group keeps months of invocations.
    # Without a known start time: the whole group, filtered by the deployment id.
    if started:
        with contextlib.suppress(TypeError, ValueError):
            request["startTime"] = int(datetime.fromisoformat(started).timestamp() * 1000)
    reason = None
    for log_event in paginated(logs_client, "filter_log_events", "events", **request):
        # The Lambda runtime prefixes each line (level, time, request id): the JSON starts at "{".
        message = log_event.get("message", "")
        try:
            line = json.loads(message[message.find("{") :]) if "{" in message else None
        except ValueError:
            continue
        if isinstance(line, dict) and line.get("deployment_id") == deployment_id and line.get("reason"):
            reason = line["reason"]
    return reason
