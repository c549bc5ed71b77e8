"""The fidelity ledger (docs/dev/fidelity-ledger.md): every AWS operation the project calls, what the API reference
says about it that matters here, how the sandbox follows it, and the test that proves it.

    python -m sandbox.drivers.ledger notes [SERVICE OPERATION]  # the API reference's notes and limits, from botocore
    python -m sandbox.drivers.ledger check CALLS.json           # operations recorded but not in the ledger

botocore's service models carry the API reference's documentation: `notes` prints every <note> and every
sentence about limits, nulls, refusals and ordering for the operations in the ledger (or the one named), so that
none is missed now or after a botocore upgrade. The end-to-end tests record the operations the project calls
(the sandbox's API call counter) and fail on any the ledger does not list.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import botocore.session

LEDGER = Path(__file__).resolve().parents[2] / "docs" / "dev" / "fidelity-ledger.md"
# SigV4 signing names (what the sandbox's counter records) -> botocore client names (what the ledger uses).
CLIENT_NAMES = {"elasticloadbalancing": "elbv2", "monitoring": "cloudwatch", "servicequotas": "service-quotas"}
# Callers whose calls are the project's (the tests' and the harness's own calls come as "other").
PROJECT_CALLERS = ("ansible", "hooks", "codedeploy-engine")
_ROW = re.compile(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*`([A-Za-z0-9]+)`\s*\|")
_NOTE = re.compile(r"<note>(.*?)</note>", re.S)
_TAG = re.compile(r"<[^>]+>")
_WORTH = re.compile(
    r"\b(null|maximum|minimum|at most|up to \d|limit|not supported|cannot|can't|must|only|eventual|asynchron|"
    r"order|throttl|deprecated)\b",
    re.I,
)
_session = botocore.session.get_session()


def ledger_rows(path: Path = LEDGER) -> set[tuple[str, str]]:
    """(client name, operation) of every row of the ledger's tables."""
    rows = set()
    for line in path.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            rows.add((match.group(1), match.group(2)))
    return rows


def operation_name(service: str, recorded: str) -> tuple[str, str]:
    """(client name, operation) of a recorded call; REST calls ("POST /2015-03-31/functions") are matched
    against the service model's HTTP method and request URI."""
    client = CLIENT_NAMES.get(service, service)
    if " " not in recorded:
        return client, recorded
    method, path = recorded.split(" ", 1)
    model = _session.get_service_model(client)
    for name in model.operation_names:
        http = model.operation_model(name).http
        template = http.get("requestUri", "").split("?")[0]
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template).rstrip("/") + "/?$"
        if http.get("method") == method and re.match(pattern, path.replace("{name}", "x")):
            return client, name
    return client, recorded


def project_operations(calls: list[dict]) -> set[tuple[str, str]]:
    return {operation_name(call["service"], call["operation"]) for call in calls if call["caller"] in PROJECT_CALLERS}


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def notes(client: str, operation: str) -> list[str]:
    """The API reference's notes about an operation: its <note> blocks, the sentences of its documentation and
    of its input and output members that speak of limits, nulls, refusals or order, and the model's min/max."""
    model = _session.get_service_model(client).operation_model(operation)
    found = [f"note: {_text(note)}" for note in _NOTE.findall(model.documentation or "")]
    body = _NOTE.sub(" ", model.documentation or "")
    found += [f"doc: {s}" for s in re.split(r"(?<=[.!?])\s+", _text(body)) if _WORTH.search(s)]
    for label, shape in (("input", model.input_shape), ("output", model.output_shape)):
        for member, member_shape in (getattr(shape, "members", None) or {}).items():
            documentation = member_shape.documentation or ""
            for note in _NOTE.findall(documentation):
                found.append(f"{label} {member} note: {_text(note)}")
            for sentence in re.split(r"(?<=[.!?])\s+", _text(_NOTE.sub(" ", documentation))):
                if _WORTH.search(sentence):
                    found.append(f"{label} {member}: {sentence}")
            limits = {k: v for k, v in member_shape.metadata.items() if k in ("min", "max")}
            if limits:
                found.append(f"{label} {member} limits: {limits}")
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["notes"]:
        targets = [tuple(argv[1:3])] if len(argv) >= 3 else sorted(ledger_rows())
        for client, operation in targets:
            print(f"## {client} {operation}")
            for line in notes(client, operation) or ["(no notes)"]:
                print(f"- {line}")
        return 0
    if argv[:1] == ["check"] and len(argv) == 2:
        missing = sorted(project_operations(json.loads(Path(argv[1]).read_text())) - ledger_rows())
        for client, operation in missing:
            print(f"not in the ledger: {client} {operation}")
        return 1 if missing else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
