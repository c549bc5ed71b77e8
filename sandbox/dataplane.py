"""The data plane moto does not have, in the AWS process (sandbox/aws.py): what runs and answers once the control plane
said so. Four times a second, under one lock: the ECS agent runs the tasks of every task set and service revision
(sandbox/ecs/agent.py), the load balancers follow the ELBv2 state (sandbox/elbv2/balancers.py) and publish their
metrics, CloudWatch evaluates its alarms (sandbox/cloudwatch/alarms.py), and a deleted function's network
interfaces go once they have lingered (sandbox/awslambda/functions.py). ECS-native deployments run in threads of
their own (sandbox/ecs/deployments.py)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from moto.backends import get_backend

from sandbox import config as sandbox_config
from sandbox.awslambda.functions import Functions
from sandbox.cloudwatch.alarms import Alarms
from sandbox.cloudwatch.metrics import Series
from sandbox.ec2 import network
from sandbox.ecs.agent import Agent
from sandbox.ecs.deployments import Native
from sandbox.elbv2.balancers import LoadBalancers
from sandbox.iam.authority import Authority
from sandbox.iam.enforcement import Endpoints

log = logging.getLogger("sandbox.aws")
ACCOUNT = sandbox_config.ACCOUNT_ID


class DataPlane:
    def __init__(self, cfg: sandbox_config.Config):
        self.cfg = cfg
        self.region = cfg.region
        # moto is not thread-safe, and its server answers each request in a thread of its own: addresses come from
        # generators (a subnet's hosts, the load balancers' and the functions' loopback addresses:
        # sandbox/elbv2/balancers.py, sandbox/awslambda/functions.py), and a generator entered by two threads at
        # once raises "generator already executing". Two environments provisioned at once did that inside
        # CreateFunction, after the function was made: a 500, botocore's retry, and ResourceConflictException
        # "Function already exist". This leaf lock (nothing holding it calls the sandbox over HTTP) serializes the
        # addresses.
        self.address_lock = threading.Lock()
        self.stopping = threading.Event()
        self.lock = threading.RLock()
        self.authority = Authority(cfg.state / "logs" / "iam-decisions.jsonl", cfg.iam_enforcement)
        self.endpoints: Endpoints | None = None  # the authority's endpoints (main sets them)
        # CloudWatch: every datapoint put into it, and the alarms evaluated on them
        self.series = Series()
        self.alarms = Alarms(lambda: self.backend("cloudwatch"), self.series, cfg.time_scale)
        self.balancers = LoadBalancers(self)
        self.functions = Functions(self)
        self.agent = Agent(cfg, self)
        # ECS-native blue/green deployments (deploymentController ECS, strategy BLUE_GREEN / LINEAR / CANARY)
        self.native = Native(self)

    def backend(self, service: str) -> Any:
        return get_backend(service)[ACCOUNT][self.region]  # type: ignore[call-overload]  # a name, not a literal

    def clients(self) -> list[network.Client]:
        """Every origin of connections the sandbox knows: this machine (the internet), and each function."""
        return [network.Client(wire="127.0.0.1", public_ip=self.cfg.internet_address), *self.functions.clients()]

    def loop(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                with self.lock:
                    self.agent.tick()
                    self.balancers.reconcile()
                    self.balancers.publish_metrics()
                    # CloudWatch evaluates its alarms every minute (scaled), right after the datapoints of a period
                    self.alarms.tick()
                    self.functions.reap_network_interfaces()
            except Exception:
                log.exception("data plane tick failed")
            self.stopping.wait(max(0.05, 0.25 - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopping.set()
        self.agent.stop_all()
        self.balancers.haproxy.stop()
