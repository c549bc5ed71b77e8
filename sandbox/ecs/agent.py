"""The sandbox's ECS data plane: task sets and RunTask tasks become local processes.

For each task set of each service, the agent keeps ceil(desiredCount x scale%) tasks running. A task is a
process started from its task definition's container (image -> command through the sandbox's image
mapping; the task definition's environment; each task its own loopback IP, as awsvpc gives each task its
own ENI). Once the container port accepts connections the task is RUNNING and ECS registers it in the task
set's target group. A task that stops is deregistered first, kept for the target group's deregistration
delay (the load balancer drains it), then sent SIGTERM, and SIGKILL after the container's stopTimeout.
Task sets report computedDesiredCount, runningCount, pendingCount and stabilityStatus from this.

A task set whose tasks keep stopping before they reach RUNNING is throttled as ECS's service throttle logic
describes ("the time between subsequent restart attempts is incrementally increased up to a maximum of 27
minutes"; a task that reached RUNNING resets it). The increments are not documented: the sandbox doubles from
10 seconds (ledger: assumed), on the sandbox's time scale.

A RunTask task (a migration) runs to completion; its exit code and stop reason are what DescribeTasks
reports. StopTask stops the process.

IAM, as ECS uses it: the agent pulls an ECR image, reads the task's secrets and creates its log stream with the
task execution role, and a task that cannot start for want of a permission stops with the error ECS gives
(CannotPullContainerError, ResourceInitializationError naming the secret or the log group). The containers get
the task role's credentials from a credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI on loopback, with
AWS_CONTAINER_AUTHORIZATION_TOKEN), where the SDKs' credential chain finds them and refreshes them.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import math
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.ecs.containers import ContainerSetup, LaunchError

if TYPE_CHECKING:
    from moto.ecs.models import Task

log = logging.getLogger("sandbox.ecs")
START_TIMEOUT_SECONDS = 60
THROTTLE_FIRST_SECONDS = 10.0
THROTTLE_MAX_SECONDS = 27 * 60


def restart_delay(failures: int, time_scale: float) -> float:
    """Seconds before the next launch of a task set after `failures` tasks in a row stopped before RUNNING."""
    if failures <= 0:
        return 0.0
    return min(THROTTLE_FIRST_SECONDS * 2 ** (failures - 1), THROTTLE_MAX_SECONDS) * time_scale


@dataclass
class TaskProcess:
    task: Task  # moto's ECS task: the agent moves its status as ECS's agent reports it
    cluster: str
    ip: str
    port: int | None
    task_set_id: str | None = None
    target_group_arn: str | None = None
    process: subprocess.Popen | None = None
    state: str = "PENDING"  # PENDING RUNNING DEACTIVATING STOPPING STOPPED
    started: float = field(default_factory=time.monotonic)
    drain_until: float = 0.0
    kill_at: float = 0.0
    stop_timeout: float = 30.0
    reason: str = ""
    registered: bool = False
    log_path: Path | None = None  # the process's output file
    log_offset: int = 0
    awslogs: tuple | None = None  # (group, stream) from the container's awslogs configuration


class Agent(ContainerSetup):
    def __init__(self, cfg, plane):
        self.cfg, self.plane = cfg, plane
        self.tasks: dict[str, TaskProcess] = {}
        self.seen: set[str] = set()
        self.free = collections.deque(str(ip) for ip in ipaddress.ip_network(cfg.task_network).hosts())
        self.draining: dict[tuple[str, str], float] = {}
        # task set id -> (tasks in a row that stopped before RUNNING, no launch before this monotonic time)
        self.throttled: dict[str, tuple[int, float]] = {}
        (cfg.state / "logs" / "tasks").mkdir(parents=True, exist_ok=True)

    def draining_target(self, target_group_arn: str, target_id: str) -> bool:
        return self.draining.get((target_group_arn, target_id), 0) > time.monotonic()

    def _listening(self, ip: str, port: int) -> bool:
        try:
            with socket.create_connection((ip, port), timeout=0.2):
                return True
        except OSError:
            return False

    def tick(self) -> None:
        ecs = self.plane.backend("ecs")
        self.reconcile_task_sets(ecs)
        self.adopt_run_tasks(ecs)
        self.advance()
        self.report(ecs)
        self.ship_logs()

    def ship_logs(self) -> None:
        """The awslogs driver: each container's output to its log group, stream <prefix>/<container>/<task id>."""
        logs = self.plane.backend("logs")
        for task in list(self.tasks.values()):
            if task.awslogs is None or task.log_path is None:
                continue
            try:
                with open(task.log_path, "rb") as f:
                    f.seek(task.log_offset)
                    data = f.read()
            except OSError:
                continue
            cut = data.rfind(b"\n") + 1
            if not cut:
                if task.state == "STOPPED":
                    task.awslogs = None  # all shipped: stop reading a finished task's file every tick
                continue
            task.log_offset += cut
            group, stream = task.awslogs
            lines = [line for line in data[:cut].decode("utf-8", "replace").splitlines() if line]
            if group not in logs.groups or not lines:
                continue  # as on AWS, a missing group loses the output (the task definition's group must exist)
            if stream not in logs.groups[group].streams:
                logs.create_log_stream(group, stream)
            stamp = int(time.time() * 1000)
            logs.put_log_events(group, stream, [{"timestamp": stamp, "message": line} for line in lines])

    def reconcile_task_sets(self, ecs) -> None:
        live = set()
        for service in list(ecs.services.values()):
            if service.status != "ACTIVE":
                continue
            for task_set in [*service.task_sets, *self.plane.native.groups_of(service)]:
                live.add(task_set.id)
                desired = math.ceil(service.desired_count * float(task_set.scale.get("value", 100)) / 100)
                task_set.computed_desired_count = desired
                mine = [
                    t for t in self.tasks.values() if t.task_set_id == task_set.id and t.state in ("PENDING", "RUNNING")
                ]
                _failures, not_before = self.throttled.get(task_set.id, (0, 0.0))
                if time.monotonic() < not_before:
                    continue  # the service throttle logic: no new attempt yet
                for _ in range(desired - len(mine)):
                    self.launch(ecs, service, task_set)
                for extra in sorted(mine, key=lambda t: t.started, reverse=True)[: max(0, len(mine) - desired)]:
                    self.begin_stop(extra, "Scaling activity initiated by the task set's scale")
        for task in list(self.tasks.values()):
            if task.task_set_id and task.task_set_id not in live and task.state in ("PENDING", "RUNNING"):
                self.begin_stop(task, "Task set deleted (deployment clean-up)")

    def adopt_run_tasks(self, ecs) -> None:
        for cluster, tasks in list(ecs.tasks.items()):
            for task_arn, task in list(tasks.items()):
                if task_arn in self.seen:
                    continue
                self.seen.add(task_arn)
                if task.desired_status != "RUNNING":
                    # Stopped before it started (StopTask right after RunTask): its network interface goes with it.
                    self.release_network_interface(task)
                    continue
                self.start(ecs, task, cluster, task_set=None, service=None)

    def advance(self) -> None:
        now = time.monotonic()
        for task in list(self.tasks.values()):
            if task.state == "STOPPED":
                continue
            exited = task.process is not None and task.process.poll() is not None
            if (
                task.task_set_id is None
                and task.task.desired_status == "STOPPED"
                and task.state in ("PENDING", "RUNNING")
            ):
                self.begin_stop(task, task.task.stopped_reason or "Task stopped by user")
            if exited and task.process is not None:
                self.stopped(task, task.process.returncode)
            elif task.state == "PENDING":
                if task.port is None or self._listening(task.ip, task.port):
                    self.running(task)
                elif now - task.started > START_TIMEOUT_SECONDS:
                    self.begin_stop(task, f"Task failed to start: nothing listened on port {task.port}")
            elif task.state == "DEACTIVATING" and now >= task.drain_until:
                task.state = "STOPPING"
                task.task.last_status = "STOPPING"
                task.kill_at = now + task.stop_timeout
                if task.process is not None:
                    task.process.send_signal(signal.SIGTERM)
            elif task.state == "STOPPING" and now >= task.kill_at and task.process is not None:
                task.process.kill()

    def report(self, ecs) -> None:
        for service in list(ecs.services.values()):
            running_total = pending_total = 0
            for task_set in [*service.task_sets, *self.plane.native.groups_of(service)]:
                mine = [t for t in self.tasks.values() if t.task_set_id == task_set.id]
                running = sum(t.state == "RUNNING" for t in mine)
                pending = sum(t.state == "PENDING" for t in mine)
                desired = getattr(task_set, "computed_desired_count", 0)
                task_set.running_count, task_set.pending_count = running, pending
                steady = (
                    running == desired
                    and pending == 0
                    and not any(t.state in ("DEACTIVATING", "STOPPING") for t in mine)
                )
                status = "STEADY_STATE" if steady else "STABILIZING"
                if task_set.stabilityStatus != status:
                    task_set.stabilityStatus = status
                    task_set.stabilityStatusAt = _utcnow()
                running_total += running
                pending_total += pending
            service.running_count, service.pending_count = running_total, pending_total
            self.plane.native.show(service)
            if service.status == "DRAINING" and not any(
                t.cluster == service.cluster_name
                and t.task.group == f"service:{service.name}"
                and t.state in ("PENDING", "RUNNING", "DEACTIVATING")
                for t in self.tasks.values()
            ):
                service.status = "INACTIVE"  # DeleteService: all its tasks STOPPING or STOPPED

    def launch(self, ecs, service, task_set) -> None:
        from moto.ecs.models import Task

        definition = ecs.describe_task_definition(task_set.task_definition)
        cluster = ecs._get_cluster(service.cluster_name)
        task = Task(
            cluster,
            definition,
            None,
            None,
            backend=ecs,
            group=f"service:{service.name}",
            launch_type=task_set.launch_type or "",
            started_by=task_set.id,
            networking_configuration=task_set.network_configuration,
            platform_version=task_set.platform_version,
        )
        ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        self.seen.add(task.task_arn)
        self.start(ecs, task, cluster.name, task_set=task_set, service=service)

    def start(self, ecs, task, cluster: str, task_set, service) -> None:
        definition = ecs.describe_task_definition(task.task_definition_arn)
        container = definition.container_definitions[0]
        balancer = (task_set.load_balancers or [{}])[0] if task_set is not None else {}
        port = balancer.get("containerPort") or next(
            (m.get("containerPort") for m in container.get("portMappings") or []), None
        )
        ip = self.free.popleft()
        for attachment in task.attachments:
            for detail in attachment.get("details", []):
                if detail["name"] == "privateIPv4Address":
                    detail["value"] = ip
        proc = TaskProcess(
            task=task,
            cluster=cluster,
            ip=ip,
            port=int(port) if port and task_set is not None else None,
            task_set_id=task_set.id if task_set is not None else None,
            target_group_arn=balancer.get("targetGroupArn"),
            stop_timeout=float(container.get("stopTimeout") or 30),
        )
        self.tasks[task.task_arn] = proc
        task.last_status = "PENDING"
        task.containers[0].last_status = "PENDING"
        try:
            command, environment, workdir = self.container_process(container, task, ip, port)
        except LaunchError as e:
            proc.reason = str(e)
            self.stopped(proc, None)
            return
        name = (service.name if service is not None else definition.family) + "-" + task.id[:8]
        log_path = self.cfg.state / "logs" / "tasks" / f"{name}.log"
        proc.log_path, proc.log_offset = log_path, log_path.stat().st_size if log_path.exists() else 0
        options = (container.get("logConfiguration") or {}).get("options") or {}
        if (container.get("logConfiguration") or {}).get("logDriver") == "awslogs" and options.get("awslogs-group"):
            prefix = options.get("awslogs-stream-prefix")
            stream = f"{prefix}/{container.get('name')}/{task.id}" if prefix else task.id
            proc.awslogs = (options["awslogs-group"], stream)
        with log_path.open("ab") as out:
            proc.process = subprocess.Popen(
                command, cwd=workdir, env=environment, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.place(proc, serving=False)
        log.info("task %s started: %s at %s (%s) log %s", task.id, definition.family, ip, shlex.join(command), log_path)

    def place(self, task: TaskProcess, serving: bool) -> None:
        """With the control plane isolated (Sandbox.isolate_control_plane wrote the CPU sets), a task's process runs
        on the data plane's CPUs only once it serves: while it starts (a service's imports take about a second of
        CPU) and for the whole life of a task without a port (a one-off task such as the migration), it runs on
        the other CPUs. On AWS a task's CPUs are its own: its start never slows the tasks that serve. Without the
        file every process runs anywhere."""
        cpus = self.cfg.state / "run" / "cpu-sets.json"
        if task.process is None or not cpus.exists():
            return
        sets = json.loads(cpus.read_text())
        wanted = set(sets["data" if serving else "control"])
        try:
            for thread in (Path("/proc") / str(task.process.pid) / "task").iterdir():
                os.sched_setaffinity(int(thread.name), wanted)
        except OSError as e:  # the process has just exited: nothing to place
            log.debug("task %s not placed: %s", task.task.id, e)

    def running(self, task: TaskProcess) -> None:
        self.throttled.pop(task.task_set_id or "", None)
        task.state = "RUNNING"
        task.task.last_status = "RUNNING"
        task.task.containers[0].last_status = "RUNNING"
        if task.target_group_arn and task.port:
            elbv2 = self.plane.backend("elbv2")
            group = elbv2.target_groups.get(task.target_group_arn)
            # A blue/green service's tasks are registered as its load balancer role (sandbox/ecs/deployments.py).
            refused = self.plane.native.authorize_targets(task.task_set_id, "RegisterTargets", task.target_group_arn)
            if refused:
                log.info("task %s not registered: %s", task.task.id, refused)
            elif group is not None:
                group.register([{"Id": task.ip, "Port": task.port}])
                task.registered = True
        if task.port:
            self.place(task, serving=True)
        log.info("task %s RUNNING at %s:%s", task.task.id, task.ip, task.port)

    def begin_stop(self, task: TaskProcess, reason: str) -> None:
        task.reason = task.reason or reason
        task.task.desired_status = "STOPPED"
        delay = 0.0
        if task.registered:
            elbv2 = self.plane.backend("elbv2")
            group = elbv2.target_groups.get(task.target_group_arn)
            refused = (
                self.plane.native.authorize_targets(task.task_set_id, "DeregisterTargets", task.target_group_arn)
                if group is not None and task.target_group_arn and task.ip in group.targets
                else None
            )
            if refused:  # the target stays registered, and fails its health checks once the task stops
                log.info("task %s not deregistered: %s", task.task.id, refused)
            elif group is not None and task.target_group_arn and task.ip in group.targets:
                group.deregister([{"Id": task.ip}])
                delay = float(group.attributes.get("deregistration_delay.timeout_seconds", 300))
                self.draining[(task.target_group_arn, task.ip)] = time.monotonic() + delay
            task.registered = False
        task.state = "DEACTIVATING"
        task.task.last_status = "DEACTIVATING"
        task.drain_until = time.monotonic() + delay
        log.info("task %s stopping (%s); draining %.0fs", task.task.id, reason, delay)

    def stopped(self, task: TaskProcess, exit_code: int | None) -> None:
        if task.task_set_id and task.state == "PENDING":
            failures = self.throttled.get(task.task_set_id, (0, 0.0))[0] + 1
            delay = restart_delay(failures, self.cfg.time_scale)
            self.throttled[task.task_set_id] = (failures, time.monotonic() + delay)
            if failures > 1:
                log.info(
                    "task set %s is unable to consistently start tasks successfully: next attempt in %.1fs",
                    task.task_set_id,
                    delay,
                )
        if task.registered:
            self.begin_stop(task, "Essential container in task exited")
        task.state = "STOPPED"
        task.task.last_status = "STOPPED"
        task.task.desired_status = "STOPPED"
        task.task.stopped_reason = task.reason or "Essential container in task exited"
        container = task.task.containers[0]
        container.last_status = "STOPPED"
        # What ECS reports of a stopped container (moto's Container has no such attributes of its own).
        setattr(container, "exitCode", exit_code)  # noqa: B010
        setattr(container, "exit_code", exit_code)  # noqa: B010
        if exit_code is None:
            setattr(container, "reason", task.reason)  # noqa: B010
        self.free.append(task.ip)
        self.release_network_interface(task.task)
        log.info("task %s STOPPED (exit %s): %s", task.task.id, exit_code, task.task.stopped_reason)

    def release_network_interface(self, task: Task) -> None:
        """A stopped awsvpc task's network interface is deleted (moto keeps it, and it would hold the service's
        security group: DeleteSecurityGroup answers DependencyViolation while an interface uses the group)."""
        ec2 = self.plane.backend("ec2")
        attachments: list[dict] = list(task.attachments)  # moto annotates them as strings
        for attachment in attachments:
            for detail in attachment.get("details", []):
                if detail.get("name") == "networkInterfaceId" and detail.get("value") in ec2.enis:
                    ec2.delete_network_interface(detail["value"])

    def stop_all(self) -> None:
        for task in self.tasks.values():
            if task.process is not None and task.process.poll() is None:
                task.process.terminate()
        deadline = time.monotonic() + 10
        for task in self.tasks.values():
            if task.process is not None:
                try:
                    task.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    task.process.kill()


def _utcnow():
    from moto.core.utils import utcnow

    return utcnow()
