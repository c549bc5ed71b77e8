# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait both deployment controllers share: poll, report what changed, back off while nothing does.

`Watcher.wait` polls `poll()` every `min_interval` to `max_interval` seconds: quickly after a change, backing off
while nothing happens, never slower than `max_interval` (2 s), and at most a second apart once the deployment is
`ending` (its last lifecycle step done), so its end is seen within a second (the AWS
CLI's waiters poll every 15 s). Each change becomes progress lines (`lines(previous, current)`), stamped with the
seconds since the wait began. An endpoint that cannot be reached (a network blip, a restart) is ridden out for
OUTAGE_TOLERANCE_SECONDS, saying so, since the deployment goes on without us. Subclasses say how to read a
deployment, how its changes read, and when it is over: module_utils/codedeploy/deployments.py (DeploymentWatcher) and
module_utils/ecs/deployments.py (ServiceDeploymentWatcher).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime

from .aws import iso

try:
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as _ConnectionError

    # Refused, reset, timed out: the endpoint was not reached, which says nothing about the deployment.
    BotoConnectionError: tuple[type[Exception], ...] = (_ConnectionError, HTTPClientError)
    AwsErrors: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:  # pragma: no cover - AnsibleAWSModule reports a missing botocore
    BotoConnectionError = (OSError,)
    AwsErrors = (OSError,)

# How long a wait rides out an endpoint it cannot reach before failing.
OUTAGE_TOLERANCE_SECONDS = 120.0


class Watcher(ABC):
    """Polls one deployment and reports its changes; see the module docstring."""

    # Named in the lines about an unreachable endpoint.
    service = "the API"

    def __init__(self, *, clock=None, sleep=None, min_interval=0.5, max_interval=2.0):
        # Looked up at run time, so tests can drive the wait with a simulated clock.
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.api_calls = 0

    @abstractmethod
    def poll(self, force=False):
        """A snapshot of the deployment; `force`: read everything afresh (the first poll after a report)."""

    @abstractmethod
    def lines(self, previous, current):
        """What changed between two snapshots, as lines an operator reads in a job log."""

    def ending(self, snap):
        """The deployment has nothing left but to end (its last lifecycle step is done): polled at most every
        second then, so its end is seen within one."""
        return False

    @abstractmethod
    def settled(self, snap):
        """The deployment is over for us (terminal, and any rollback of it too)."""

    def _line(self, started, message):
        return {"elapsed_seconds": round(self.clock() - started, 1), "time": iso(datetime.now(UTC)), "message": message}

    def wait(self, condition, timeout, previous=None, tell=None, quiet_every=None):
        """Poll until `condition(snapshot, timeline)`, the deployment is settled, or the timeout.

        Returns (snapshot, timeline, reached, timed_out). The timeline holds every progress line seen since
        `previous` (a snapshot reported earlier; None = since the first poll). `tell(entries, snapshot)`, when
        given, hears each change as it is seen, and every `quiet_every` seconds without one (entries empty).
        """
        started = self.clock()
        timeline: list[dict] = []
        told_at, told = started, 0

        def told_now(current):
            nonlocal told_at, told
            if tell is None:
                return
            if len(timeline) > told or (quiet_every and self.clock() - told_at >= quiet_every):
                tell(timeline[told:], current)
                told_at, told = self.clock(), len(timeline)

        interval = self.min_interval
        # Compared with a snapshot reported earlier, the first poll needs fresh details too.
        force = previous is not None
        outage_since = None
        while True:
            try:
                current = self.poll(force=force)
            except BotoConnectionError as e:
                now = self.clock()
                if outage_since is None:
                    outage_since = now
                    timeline.append(self._line(started, f"{self.service} unreachable ({type(e).__name__}): retrying"))
                if now - outage_since > OUTAGE_TOLERANCE_SECONDS or now - started >= timeout:
                    raise
                self.sleep(self.max_interval)
                continue
            if outage_since is not None:
                timeline.append(
                    self._line(started, f"{self.service} reachable again after {self.clock() - outage_since:.0f}s")
                )
                outage_since = None
            force = False
            lines = self.lines(previous, current) if previous is not None else []
            if lines:
                elapsed = round(self.clock() - started, 1)
                now = iso(datetime.now(UTC))
                timeline.extend({"elapsed_seconds": elapsed, "time": now, "message": line} for line in lines)
                interval = self.min_interval
            else:
                interval = min(interval * 1.5, 2 * self.min_interval if self.ending(current) else self.max_interval)
            previous = current
            told_now(current)
            if condition(current, timeline):
                return current, timeline, True, False
            if self.settled(current):
                return current, timeline, False, False
            remaining = timeout - (self.clock() - started)
            if remaining <= 0:
                return current, timeline, False, True
            self.sleep(min(interval, remaining))


def condition_for(wait_for, own=None):
    """A predicate over snapshots for a module's `wait_for` option, and its description: the controller's own points
    (`own(wait_for)`: a lifecycle event, a stage, a pause; None when wait_for names none of them), the new
    revision's share of production traffic, the next change, or (nothing asked) a terminal status."""
    wait_for = wait_for or {}
    found = own(wait_for) if own else None
    if found:
        return found
    if wait_for.get("replacement_traffic_percent") is not None:
        percent = float(wait_for["replacement_traffic_percent"])
        return (
            lambda snap, timeline: (snap["traffic"].get("replacement") or 0) >= percent,
            f"the new revision at {percent:g}% of production traffic",
        )
    if wait_for.get("progress"):
        return (lambda snap, timeline: len(timeline) > 0), "the next change"
    return (lambda snap, timeline: False), "a terminal status"


def wait_as_asked(module, watch, deployment_id, result, *, wait_for, what, roll_back, failure_message):
    """The deployment module's wait (bluegreen_deployment, whichever controller): wait as the module's options
    say (`wait_timeout`, `report_every`, `progress_since`, `on_timeout`), fill `result`, return the last snapshot.

    With `report_every` the wait returns at the first change for the action plugin to print, and the module exits
    unfinished (the plugin calls again with `deployment_id`). At the timeout: `on_timeout=return` returns,
    `rollback` calls `roll_back()`, waits for the rollback and fails with `failure_message(snapshot)`, `fail` fails
    saying the deployment was left running. `wait_for` is (condition, its description), `what` names the
    deployment in messages ("deployment d-123").
    """
    params = module.params
    condition, description = wait_for
    timeout, report_every = params["wait_timeout"], params["report_every"]
    # With a progress file (the action plugin reads it as it grows) the whole wait is one run; without, each change
    # ends a step and the plugin runs the module again.
    tell = _progress_writer(params.get("progress_file"), deployment_id)
    interim = bool(report_every) and report_every < timeout and tell is None
    wait_until = (lambda snap, timeline: condition(snap, timeline) or len(timeline) > 0) if interim else condition
    try:
        snap, timeline, reached, timed_out = watch.wait(
            wait_until,
            report_every if interim else timeout,
            previous=params["progress_since"],
            tell=tell,
            quiet_every=report_every,
        )
    except AwsErrors as e:
        module.fail_json_aws(e, msg=f"Unable to follow {what}", deployment_id=deployment_id)
    finished = True
    if interim:
        # Returned for a progress report: the wait is over only at its point or at the end of the deployment.
        reached = condition(snap, timeline)
        finished = reached or watch.settled(snap)
        timed_out = False
    result.update(
        deployment_id=deployment_id,
        status=snap["status"],
        deployment=snap,
        progress=timeline,
        reached=reached,
        timed_out=timed_out,
        finished=finished,
        api_calls=watch.api_calls,
    )
    if not finished:
        module.exit_json(**result)  # the action plugin calls again with deployment_id
    if timed_out:
        if params["on_timeout"] == "return":
            return snap
        if params["on_timeout"] == "rollback":
            roll_back()
            result["changed"] = True
            snap, more, _reached, _timed_out = watch.wait(lambda s, t: False, params["wait_timeout"])
            result.update(status=snap["status"], deployment=snap, progress=timeline + more)
            module.fail_json(
                msg=f"Timed out after {params['wait_timeout']}s waiting for {description}; stopped {what} with "
                "rollback. " + failure_message(snap),
                **result,
            )
        module.fail_json(
            msg=f"Timed out after {params['wait_timeout']}s waiting for {description}; {what} is {snap['status']} "
            "and was left running (on_timeout=fail)",
            **result,
        )
    return snap


def _progress_writer(path, deployment_id):
    """`tell` for Watcher.wait that appends each change, and a line when nothing changed for a while, to the file
    the action plugin prints from as it grows (one JSON object a line); None without a file."""
    if not path:
        return None

    def tell(entries, snapshot):
        traffic = (snapshot or {}).get("traffic") or {}
        lines = [{"deployment_id": deployment_id, **entry} for entry in entries] or [
            {
                "deployment_id": deployment_id,
                "still": (snapshot or {}).get("status"),
                "replacement": traffic.get("replacement"),
                "time": iso(datetime.now(UTC)),
            }
        ]
        with open(path, "a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line, default=str) + "\n" for line in lines)

    return tell
