"""HAProxy as the Application Load Balancer, reconciled from the ELBv2 API's state.

Each load balancer has its own loopback address (its DNSName); each listener is a frontend on that
address and port. Each target group is a backend that only health-checks its targets, with the target
group's path, matcher, interval, timeout and thresholds. A listener's backend holds one server per
target of each target group it forwards to, *tracking* that target's health check, weighted by the
listener's forward weights (a weight is split over the group's targets, as the ALB picks a target group
by weight, then a target within it).

A listener's rules (CreateRule) come before its default action, lowest priority first: each is an HAProxy ACL of
its conditions (path-pattern, host-header, http-header, http-request-method, source-ip; the values of one
condition ORed, the conditions ANDed; path and header patterns with ALB's `*` and `?` wildcards, paths matched
case-sensitively, host names and header values not) and a backend of its own, weighted by the rule's forward
weights; a fixed-response rule or default action answers with its status and body. A rule with a condition the
sandbox does not model (query-string) is left out and logged (ledger: simplified).

Weights change through HAProxy's runtime API (`set weight`), without a reload. A new listener, target
group or target changes the configuration: HAProxy's master reloads seamlessly (the listening sockets
pass to the new worker, in-flight requests finish on the old one), with the servers' health carried
over in a server-state file. Removing a target from the configuration is how deregistration drains it.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("sandbox.elbv2.haproxy")


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


@dataclass(frozen=True)
class HealthCheck:
    path: str
    codes: str
    interval: float
    timeout: float
    healthy: int
    unhealthy: int


@dataclass(frozen=True)
class Rule:
    """A listener rule: its priority, its conditions ((field, values, header name or None), ...), and what it does:
    forward to ((target group, weight), ...), or a fixed response (status, content type, body)."""

    priority: int
    conditions: tuple
    forwards: tuple = ()
    fixed: tuple | None = None

    def shape(self) -> tuple:
        """What a change of needs a reload (the weights change at run time)."""
        return self.priority, self.conditions, tuple(sorted(tg for tg, _ in self.forwards)), self.fixed


CONDITIONS = ("path-pattern", "host-header", "http-header", "http-request-method", "source-ip")


@dataclass
class Desired:
    """What HAProxy should look like: structure (needs a reload when it changes) and weights (runtime)."""

    listeners: dict = field(default_factory=dict)  # (lb name, address, port) -> [(target group, weight)]
    # listener key -> its rules, lowest priority first (evaluated before the default action)
    rules: dict = field(default_factory=dict)
    # listener key -> (status, content type, body) of a fixed-response default action
    fixed: dict = field(default_factory=dict)
    target_groups: dict = field(default_factory=dict)  # name -> (HealthCheck, [(ip, port)])
    # in-use target group name -> the targets a listener may route to (the healthy ones); a target group
    # missing here routes to all its targets
    routable: dict = field(default_factory=dict)
    # listener key -> the PEM file an HTTPS listener serves (its ACM certificate's names, the sandbox CA's)
    tls: dict = field(default_factory=dict)
    # listener key -> the loopback addresses its load balancer's security groups admit (sandbox/ec2/network.py)
    admitted: dict = field(default_factory=dict)

    def routes(self) -> list[tuple[str, list]]:
        """(HAProxy backend, [(target group, weight)]) of each listener's default action and each of its rules."""
        found = []
        for key, forwards in sorted(self.listeners.items()):
            found.append((listener_backend(key), list(forwards)))
            for rule in self.rules.get(key, []):
                found.append((rule_backend(key, rule.priority), list(rule.forwards)))
        return found

    def structure(self) -> tuple:
        return (
            tuple(sorted((key, tuple(addresses)) for key, addresses in self.admitted.items())),
            tuple(sorted((key, tuple(sorted(tg for tg, _ in forwards))) for key, forwards in self.listeners.items())),
            tuple(
                sorted(
                    (
                        key,
                        tuple(
                            (r.priority, r.conditions, tuple(sorted(tg for tg, _ in r.forwards)), r.fixed)
                            for r in rules
                        ),
                    )
                    for key, rules in self.rules.items()
                )
            ),
            tuple(sorted(self.fixed.items())),
            tuple(sorted((key, str(pem)) for key, pem in self.tls.items())),
            tuple(
                sorted((name, check, tuple(sorted(targets))) for name, (check, targets) in self.target_groups.items())
            ),
        )

    def weights(self) -> dict[tuple[str, str], int]:
        """(listener backend, server) -> HAProxy weight."""
        result = {}
        for backend, forwards in self.routes():
            for tg, weight in forwards:
                targets = self.target_groups.get(tg, (None, []))[1]
                serving = self.routable.get(tg, set(targets))
                for ip, port in targets:
                    share = 0 if weight == 0 else max(1, min(256, round(weight * 2 / max(1, len(serving)))))
                    result[(backend, server_name(tg, ip, port))] = share if (ip, port) in serving else 0
        return result


def listener_backend(key) -> str:
    lb, _address, port = key
    return f"lb_{_name(lb)}_{port}"


def rule_backend(key, priority: int) -> str:
    return f"{listener_backend(key)}_rule{priority}"


def _glob_regex(pattern: str) -> str:
    """An ALB wildcard pattern (`*` any characters, `?` one) as an anchored regex, spaces escaped for HAProxy."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return ("^" + body + "$").replace(" ", "\\ ")


def condition_acls(rule: Rule) -> list[str]:
    """One HAProxy ACL per condition (named for the rule), each ORing its values."""
    acls = []
    for index, (kind, values, header) in enumerate(rule.conditions):
        name = f"rule{rule.priority}_{index}"
        if kind == "path-pattern":
            acls += [f"acl {name} path -m reg {_glob_regex(v)}" for v in values]
        elif kind == "host-header":
            acls += [f"acl {name} req.hdr(host),field(1,:),lower -m reg {_glob_regex(v.lower())}" for v in values]
        elif kind == "http-header":
            acls += [f"acl {name} req.hdr({header}),lower -m reg {_glob_regex(v.lower())}" for v in values]
        elif kind == "http-request-method":
            acls.append(f"acl {name} method {' '.join(values)}")
        elif kind == "source-ip":
            acls.append(f"acl {name} src {' '.join(values)}")
    return acls


def _return(fixed: tuple) -> str:
    """A fixed response; without a body, the status alone (HAProxy refuses an empty `string`)."""
    status, content_type, body = fixed
    if not body:
        return f"http-request return status {status}"
    text = body.replace("\\", "\\\\").replace('"', '\\"')
    return f'http-request return status {status} content-type "{content_type or "text/plain"}" string "{text}"'


def frontend_name(key) -> str:
    """A listener's HAProxy frontend (its request log names it; a TLS one with a "~" after it)."""
    lb, _address, port = key
    return f"ft_{_name(lb)}_{port}"


def server_name(tg: str, ip: str, port: int) -> str:
    return f"{_name(tg)}_{_name(ip)}_{port}"


def _status_regex(codes: str) -> str:
    """An ALB matcher ("200", "200,202", "200-299") as a regex over the status code."""
    alternatives: list[str] = []
    for raw in codes.split(","):
        part = raw.strip()
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            alternatives.extend(str(code) for code in range(low, high + 1))
        elif part:
            alternatives.append(part)
    return "^(" + "|".join(alternatives or ["200"]) + ")$"


def render(desired: Desired, state: Path, scale: float) -> str:
    lines = [
        "global",
        f"  stats socket {state / 'haproxy.sock'} mode 600 level admin expose-fd listeners",
        f"  server-state-file {state / 'haproxy.state'}",
        "  log stdout format raw local0 info",
        "defaults",
        "  mode http",
        "  log global",
        "  option httplog",
        "  load-server-state-from-file global",
        "  timeout connect 2s",
        "  timeout client 60s",
        "  timeout server 60s",
        "  timeout http-keep-alive 5s",
        # An ALB does not retry a request on another target: neither does this one.
        "  retries 0",
        "",
    ]
    for name, (check, targets) in sorted(desired.target_groups.items()):
        interval = max(0.5, check.interval * scale)
        lines += [
            f"backend tg_{_name(name)}",
            f"  option httpchk GET {check.path}",
            f"  http-check expect rstatus {_status_regex(check.codes)}",
            f"  timeout check {int(max(0.5, min(check.timeout, check.interval) * scale) * 1000)}ms",
            f"  default-server inter {int(interval * 1000)}ms rise {check.healthy} fall {check.unhealthy}",
        ]
        lines += [f"  server {server_name(name, ip, port)} {ip}:{port} check" for ip, port in sorted(targets)]
        lines.append("")
    weights = desired.weights()
    for key, forwards in sorted(desired.listeners.items()):
        _lb, address, port = key
        backend = listener_backend(key)
        tls = f" ssl crt {desired.tls[key]}" if key in desired.tls else ""
        admitted = desired.admitted.get(key)
        lines += [f"frontend {frontend_name(key)}", f"  bind {address}:{port}{tls}"]
        if admitted is not None:
            # A security group drops what it does not admit: the client waits, it is never refused.
            if admitted:
                lines += [
                    f"  acl admitted src {' '.join(admitted)}",
                    "  tcp-request connection silent-drop if !admitted",
                ]
            else:
                lines.append("  tcp-request connection silent-drop")
        rules = desired.rules.get(key, [])
        for rule in rules:
            lines += [f"  {acl}" for acl in condition_acls(rule)]
            matched = " ".join(f"rule{rule.priority}_{i}" for i in range(len(rule.conditions)))
            lines.append(f"  use_backend {rule_backend(key, rule.priority)} if {matched}")
        lines += [f"  default_backend {backend}", ""]
        # A fixed response is answered by its route's backend, so the rules keep their order.
        route_backends = [(backend, forwards, desired.fixed.get(key))] + [
            (rule_backend(key, rule.priority), rule.forwards, rule.fixed) for rule in rules
        ]
        for route, route_forwards, fixed in route_backends:
            lines += [f"backend {route}", "  balance roundrobin"]
            if fixed is not None:
                lines.append(f"  {_return(fixed)}")
            for tg, _weight in route_forwards:
                for ip, p in sorted(desired.target_groups.get(tg, (None, []))[1]):
                    server = server_name(tg, ip, p)
                    lines.append(
                        f"  server {server} {ip}:{p} weight {weights[(route, server)]} track tg_{_name(tg)}/{server}"
                    )
            lines.append("")
    return "\n".join(lines) + "\n"


class HAProxy:
    def __init__(self, state: Path, log_path: Path, scale: float):
        self.state, self.log_path, self.scale = state, log_path, scale
        self.config = state / "haproxy.cfg"
        self.master_socket = state / "haproxy-master.sock"
        self.process: subprocess.Popen | None = None
        self.structure: tuple | None = None
        self.applied_weights: dict = {}

    @staticmethod
    def available() -> str | None:
        return shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)

    def command(self, text: str, master: bool = False) -> str:
        if master:
            return self._master_command(text)
        return self._command(self.state / "haproxy.sock", text)

    @staticmethod
    def _command(path: Path, text: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(text.encode() + b"\n")
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode()

    def apply(self, desired: Desired) -> None:
        structure = desired.structure()
        if structure != self.structure:
            self._write_state()
            self.config.write_text(render(desired, self.state, self.scale))
            if self.process is None or self.process.poll() is not None:
                self._start()
            else:
                self.command("reload", master=True)
                self._wait_for_worker()
            self.structure = structure
            self.applied_weights = desired.weights()
            log.info(
                "HAProxy configured: %d listener(s), %d target group(s)",
                len(desired.listeners),
                len(desired.target_groups),
            )
            return
        weights = desired.weights()
        for (backend, server), weight in weights.items():
            if self.applied_weights.get((backend, server)) != weight:
                self.command(f"set weight {backend}/{server} {weight}")
                log.info("weight %s/%s -> %s", backend, server, weight)
        self.applied_weights = weights

    def _write_state(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            (self.state / "haproxy.state").write_text(self.command("show servers state"))
        except OSError as e:
            log.warning("could not save server state before reload: %s", e)

    def _start(self) -> None:
        binary = self.available()
        if binary is None:
            raise RuntimeError(
                "HAProxy is not installed: apt-get install -y haproxy (it is the sandbox's load balancer)"
            )
        out = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [binary, "-W", "-S", str(self.master_socket), "-f", str(self.config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._wait_for_worker()

    def _master_command(self, text: str) -> str:
        """A command to the master CLI. Its socket refuses connections while the master re-executes itself: once
        after it starts (HAProxy's master re-executes into its wait mode once its first worker runs: on a loaded
        machine, after that worker already serves) and for each reload. So a refused or missing socket is tried
        again, for up to 10 s, while the master runs."""
        deadline = time.monotonic() + 10
        while True:
            try:
                return self._command(self.master_socket, text)
            except (ConnectionRefusedError, FileNotFoundError):
                if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _wait_for_worker(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise RuntimeError(f"HAProxy exited ({code}): see {self.log_path}")
            try:
                self.command("show info")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"HAProxy's runtime API did not answer: see {self.log_path}")

    def stats(self) -> dict[tuple[str, str], dict]:
        if self.process is None or self.process.poll() is not None:
            return {}
        try:
            text = self.command("show stat")
        except OSError:
            return {}
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {(row["pxname"], row["svname"]): row for row in rows}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            log.info("HAProxy stopped")
        self.process, self.structure, self.applied_weights = None, None, {}


def target_health(
    stats: dict, tg: str, target: tuple[str, int], *, age: float, check: HealthCheck, scale: float
) -> tuple:
    """(State, Reason, Description) as DescribeTargetHealth gives them, from HAProxy's view of the target.
    `age` is the seconds since the target was registered: it is "initial" until `rise` checks could pass."""
    row = stats.get((f"tg_{_name(tg)}", server_name(tg, *target)))
    status, check_status = (row or {}).get("status", ""), (row or {}).get("check_status", "")
    settled = age >= check.healthy * max(0.5, check.interval * scale)
    if row is None or check_status in ("INI", ""):
        return "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
    if status.startswith("UP"):
        if settled:
            return "healthy", None, None
        return "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
    if check_status.startswith("L7STS"):
        code = row.get("check_code") or "?"
        return "unhealthy", "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{code}]"
    if "TOUT" in check_status:
        return "unhealthy", "Target.Timeout", "Request timed out"
    return "unhealthy", "Target.FailedHealthChecks", row.get("check_desc") or "Health checks failed"
