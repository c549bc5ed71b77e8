"""HTTP probes through a listener, with the standard library (the Lambda runtime has no requests)."""

from __future__ import annotations

import json
import time
import urllib.error
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


def request(
    method: str, url: str, budget: Budget, timeout: float, *, body: object = None, headers: dict | None = None
) -> ProbeResult:
    """One request, never longer than `timeout` nor than what is left of the budget."""
    timeout = max(0.1, min(timeout, budget.ensure(f"calling {method} {url}")))
    data = None
    all_headers = {"User-Agent": "bluegreen-hooks", "Accept": "application/json", **(headers or {})}
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
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
