"""The sandbox's load balancer (HAProxy, sandbox/elbv2/haproxy.py) with listener rules, for real: conditions in priority
order before the default action, ALB's wildcards and case rules, weighted forwards per rule changed at run time,
fixed responses. Two real HTTP servers stand in for a blue and a green target."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox.elbv2 import haproxy as alb
from tests.support import free_port

ADDRESS = "127.77.0.1"


def _server(name: str, ip: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"served_by": name}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer((ip, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[tuple[alb.HAProxy, alb.Desired, int]]:
    if alb.HAProxy.available() is None:
        pytest.fail("HAProxy is not installed (make test installs it)")
    blue, green = _server("blue", "127.77.1.1"), _server("green", "127.77.2.1")
    check = alb.HealthCheck(path="/", codes="200", interval=1, timeout=1, healthy=2, unhealthy=2)
    port = free_port()
    key = ("orders", ADDRESS, port)
    desired = alb.Desired(
        listeners={key: [("orders-blue", 100)]},
        target_groups={
            "orders-blue": (check, [("127.77.1.1", blue.server_address[1])]),
            "orders-green": (check, [("127.77.2.1", green.server_address[1])]),
        },
        rules={
            key: [
                alb.Rule(5, (("path-pattern", ("/forbidden*",), None),), fixed=(403, "text/plain", "no")),
                alb.Rule(6, (("path-pattern", ("/gone",), None),), fixed=(410, None, None)),
                alb.Rule(10, (("http-header", ("yes",), "X-Canary"),), (("orders-green", 100), ("orders-blue", 0))),
                alb.Rule(
                    20,
                    (("path-pattern", ("/api/v?/*",), None), ("http-request-method", ("POST",), None)),
                    (("orders-green", 100),),
                ),
                alb.Rule(30, (("host-header", ("*.Example.COM",), None),), (("orders-blue", 50), ("orders-green", 50))),
            ]
        },
    )
    haproxy = alb.HAProxy(tmp_path, tmp_path / "haproxy.log", scale=0.5)
    try:
        haproxy.apply(desired)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            stats = haproxy.stats()
            up = [
                server
                for (backend, server), row in stats.items()
                if backend.startswith("tg_") and server != "BACKEND" and row["status"].startswith("UP")
            ]
            if len(up) == 2:
                break
            time.sleep(0.2)
        yield haproxy, desired, port
    finally:
        haproxy.stop()
        blue.shutdown()
        green.shutdown()


def _get(port: int, path: str, method: str = "GET", headers: dict | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection(ADDRESS, port, timeout=5)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    if response.status != 200:
        return response.status, body
    return response.status, json.loads(body)["served_by"]


def test_rules_route_by_their_conditions_in_priority_order(balancer) -> None:
    _haproxy, _desired, port = balancer
    assert _get(port, "/items") == (200, "blue")  # no rule matches: the default action
    assert _get(port, "/items", headers={"X-Canary": "YES"}) == (200, "green")  # header values: any case
    assert _get(port, "/api/v1/items", method="POST") == (200, "green")  # both conditions hold
    assert _get(port, "/api/v1/items") == (200, "blue")  # the method does not: no match
    assert _get(port, "/API/v1/items", method="POST") == (200, "blue")  # paths are case-sensitive
    assert _get(port, "/forbidden/x", headers={"X-Canary": "yes"}) == (403, "no")  # priority 5 before 10
    assert _get(port, "/gone")[0] == 410  # a fixed response without a body
    served = Counter(_get(port, "/items", headers={"Host": "shop.example.com"})[1] for _ in range(20))
    assert served == Counter({"blue": 10, "green": 10})  # host names: any case; weighted 50/50


def test_a_rules_weights_change_without_a_reload(balancer) -> None:
    haproxy, desired, port = balancer
    key = next(iter(desired.rules))
    structure = desired.structure()
    rules = desired.rules[key]
    rules[4] = alb.Rule(30, rules[4].conditions, (("orders-blue", 0), ("orders-green", 100)))
    assert desired.structure() == structure
    haproxy.apply(desired)
    served = Counter(_get(port, "/items", headers={"Host": "shop.example.com"})[1] for _ in range(10))
    assert served == Counter({"green": 10})
    assert _get(port, "/items") == (200, "blue")


def test_a_deleted_rule_no_longer_routes_and_the_default_action_serves(balancer) -> None:
    haproxy, desired, port = balancer
    key = next(iter(desired.rules))
    assert _get(port, "/items", headers={"X-Canary": "yes"}) == (200, "green")
    desired.rules[key] = [rule for rule in desired.rules[key] if rule.priority != 10]  # DeleteRule
    haproxy.apply(desired)
    # A reload: the new worker takes over shortly after (as an ELB change applies eventually), no request fails.
    deadline = time.monotonic() + 10
    while _get(port, "/items", headers={"X-Canary": "yes"}) == (200, "green") and time.monotonic() < deadline:
        time.sleep(0.05)
    served = Counter(_get(port, "/items", headers={"X-Canary": "yes"})[1] for _ in range(10))
    assert served == Counter({"blue": 10})  # the default action
    assert _get(port, "/forbidden/x") == (403, "no")  # the other rules stay
