"""HTTP probes through a listener, with the standard library (the Lambda runtime has no requests)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from hooks.common import Budget


@dataclass
class ProbeResult:
    method: str
    url: str
    status: int | None
    seconds: float
    body: str = ""
    error: str | None = None

    def json(self) -> dict:
        try:
            loaded = json.loads(self.body)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def describe(self) -> str:
        if self.error:
            return f"{self.method} {self.url}: {self.error}"
        return f"{self.method} {self.url} answered {self.status} in {self.seconds * 1000:.0f} ms"


class _ServerNameHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one address (the load balancer's DNS name) for another name (the service's hostname): SNI and
    certificate verification use `server_name`. An ACM certificate never covers *.elb.amazonaws.com, so a
    production probe must name the service's own hostname, through the load balancer. (urllib cannot connect
    to one host while verifying another: this is the smallest standard-library way.)"""

    def __init__(self, host: str, port: int | None, server_name: str, timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.server_name = server_name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.server_name)


def _request_for(method, url, *, server_name, data, headers, timeout) -> ProbeResult:
    parts = urllib.parse.urlsplit(url)
    started = time.monotonic()
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _ServerNameHTTPSConnection(parts.hostname, parts.port, server_name, timeout)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        connection.request(method, path + (f"?{parts.query}" if parts.query else ""), body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read(65536).decode("utf-8", "replace")
        return ProbeResult(method, url, response.status, time.monotonic() - started, payload)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        return ProbeResult(method, url, None, time.monotonic() - started, error=f"TLS failed for {server_name} ({exc})")
    except (TimeoutError, ConnectionError, OSError, http.client.HTTPException) as exc:
        return ProbeResult(method, url, None, time.monotonic() - started, error=f"no answer ({exc})")
    finally:
        connection.close()


def request(
    method: str,
    url: str,
    budget: Budget,
    timeout: float,
    *,
    body: object = None,
    headers: dict | None = None,
    server_name: str | None = None,
) -> ProbeResult:
    """One request, never longer than `timeout` nor than what is left of the budget. With `server_name`, the
    request goes to the URL's host but names `server_name` (Host header; over HTTPS also SNI and the name the
    certificate must cover)."""
    timeout = max(0.1, min(timeout, budget.ensure(f"calling {method} {url}")))
    data = None
    all_headers = {"User-Agent": "bluegreen-hooks", "Accept": "application/json", **(headers or {})}
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if server_name:
        return _request_for(
            method,
            url,
            server_name=server_name,
            data=data,
            headers={**all_headers, "Host": server_name},
            timeout=timeout,
        )
    started = time.monotonic()
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310 - URLs come from our config
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            payload = response.read(65536).decode("utf-8", "replace")
            return ProbeResult(method, url, response.status, time.monotonic() - started, payload)
    except urllib.error.HTTPError as exc:
        payload = exc.read(65536).decode("utf-8", "replace") if exc.fp else ""
        return ProbeResult(method, url, exc.code, time.monotonic() - started, payload)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ProbeResult(method, url, None, time.monotonic() - started, error=f"no answer ({reason})")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
