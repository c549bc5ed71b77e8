"""The Application Load Balancer's data plane: HAProxy reconciled from the ELBv2 API's state (sandbox/elbv2/haproxy.py
renders it), the security groups that admit its clients, the HTTPS listeners' certificates, its targets' health as
its checks see it (DescribeTargetHealth) and its CloudWatch metrics (sandbox/elbv2/metrics.py)."""

from __future__ import annotations

import ipaddress
import logging
import time

from sandbox.acm import tls
from sandbox.cloudwatch.metrics import AWS_PERIOD
from sandbox.ec2 import network
from sandbox.elbv2.haproxy import Desired, HAProxy, HealthCheck, Rule, frontend_name, server_name, target_health
from sandbox.elbv2.metrics import AlbMetrics, Topology, arn_suffix

log = logging.getLogger("sandbox.elbv2")


class LoadBalancers:
    """Every load balancer of the account, as HAProxy serves them; `plane` is the data plane (sandbox/dataplane.py)."""

    def __init__(self, plane):
        self.plane = plane
        cfg = plane.cfg
        self.haproxy = HAProxy(cfg.state, cfg.state / "logs" / "haproxy.log", cfg.health_check_scale)
        self.addresses = iter(ipaddress.ip_network(cfg.balancer_network).hosts())
        self.stats: dict = {}
        self.in_use: set[str] = set()
        # target group name -> when a listener began forwarding to it: an ALB health-checks a target group's
        # targets only while a listener forwards to it, so a target's checks start at the later of this and
        # its registration.
        self.in_use_since: dict[str, float] = {}
        self.metrics = AlbMetrics(
            cfg.state / "logs" / "haproxy.log",
            AWS_PERIOD * cfg.time_scale,
            lambda namespace, data: plane.backend("cloudwatch").put_metric_data(namespace, data),
        )
        self.topology = Topology()

    def desired(self) -> Desired:
        elbv2 = self.plane.backend("elbv2")
        desired = Desired()
        in_use: set[str] = set()
        by_arn = dict(elbv2.target_groups)
        clients = self.plane.clients() if elbv2.load_balancers else []

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
                    Rule(
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
                self.topology.frontends[frontend_name(key)] = arn_suffix(balancer.arn)
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
                    server = (backend, server_name(name, ip, port))
                    self.topology.servers[server] = arn_suffix(by_name[name].arn)
        return desired

    def publish_metrics(self) -> None:
        """The ALB's metrics for each period that has ended, with its target groups' health now (CloudWatch evaluates
        its alarms right after: sandbox/dataplane.py)."""
        if self.metrics.due():
            elbv2 = self.plane.backend("elbv2")
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
                    counts[arn_suffix(arn)] = (states.count("healthy"), states.count("unhealthy"))
                health[arn_suffix(balancer.arn)] = counts
            self.topology.health = health
            self.metrics.publish(self.topology)

    def _admitted(self, balancer, port: int, clients: list[network.Client]) -> list[str]:
        """The loopback addresses whose connections the load balancer's security groups admit on `port`."""
        ec2 = self.plane.backend("ec2")
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
            certificate = self.plane.backend("acm").get_certificate(arn)
        except CertificateNotFound:
            log.warning("listener %s: ACM certificate %s not found", listener.arn, arn)
            return None
        if certificate.status != "ISSUED":
            return None
        return tls.listener_pem(self.plane.cfg.state, [certificate.common_name, *certificate.sans])

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
        state = target_health(
            self.stats,
            group.name,
            target,
            age=time.time() - started,
            check=check,
            scale=self.plane.cfg.health_check_scale,
        )
        # A healthy target stays healthy until its checks fail (ModifyTargetGroup's new settings, or HAProxy
        # reloading them, do not send it back to "initial"); a target group taken out of use and put back in
        # starts over, as its targets' health does on AWS.
        if state[0] == "healthy":
            registered["_healthy_during"] = in_use
        elif state[0] == "initial" and registered.get("_healthy_during") == in_use:
            return "healthy", None, None
        return state

    def reconcile(self) -> None:
        desired = self.desired()
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
        draining = self.plane.agent.draining_target(group.arn, target["Id"])

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

    def allocate_address(self) -> str:
        with self.plane.address_lock:
            return str(next(self.addresses))


def _health_check(group) -> HealthCheck:
    """A target group's health check settings, as HAProxy runs them."""
    return HealthCheck(
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
    """A rule's conditions as haproxy.Rule takes them; None (the rule is left out, and logged) for a condition the
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
