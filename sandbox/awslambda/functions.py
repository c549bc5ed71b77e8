"""Lambda's data plane: a function's invocation runs its zip's handler in a subprocess (sandbox/awslambda/runner.py)
with its environment, its execution role's credentials and the sandbox's endpoints; its output goes to CloudWatch
Logs as the execution role may write it; its connections leave from an address of its own, from its network
interfaces in a VPC (created and removed by sandbox/awslambda/patches.py), which decide what it reaches."""

from __future__ import annotations

import functools
import io
import ipaddress
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

from sandbox.acm import tls
from sandbox.api_calls import LAMBDA_APP_ID
from sandbox.awslambda import runner
from sandbox.config import ACCOUNT_ID as ACCOUNT
from sandbox.ec2 import network
from sandbox.iam.authority import Denied, RoleNotAssumable

log = logging.getLogger("sandbox.lambda")


class Functions:
    """Every function's runs, logs, addresses and network interfaces; `plane` is the data plane
    (sandbox/dataplane.py)."""

    def __init__(self, plane):
        self.plane = plane
        self.cfg = plane.cfg
        # Lambda's network interfaces: function name -> ENI ids; ENI id -> when it goes (after DeleteFunction)
        self.enis: dict[str, list[str]] = {}
        self.eni_expiry: dict[str, float] = {}
        # Lambda function name -> the loopback address its connections come from (sandbox/awslambda/runtime)
        self.wires: dict[str, str] = {}
        self._wire_addresses = iter(ipaddress.ip_network(plane.cfg.lambda_network).hosts())

    @functools.cached_property
    def ca_bundle(self) -> Path:
        """The CA bundle Lambda runs trust (public CAs + the sandbox's), written once per sandbox process."""
        return tls.bundle(self.cfg.state)

    def wire_address(self, function_name: str) -> str:
        with self.plane.address_lock:
            if function_name not in self.wires:
                self.wires[function_name] = str(next(self._wire_addresses))
            return self.wires[function_name]

    def clients(self) -> list[network.Client]:
        """Where each function's connections come from: its own loopback address, seen from its network interface's
        private address (with its security groups, and its subnet's NAT gateway for public addresses) in a VPC, from
        Lambda's public address outside any."""
        ec2 = self.plane.backend("ec2")
        found = []
        for name, wire in list(self.wires.items()):
            enis = [ec2.enis[e] for e in self.enis.get(name, []) if e in ec2.enis]
            if not enis:
                found.append(network.Client(wire=wire, public_ip=self.cfg.lambda_public_address))
                continue
            eni = enis[0]
            found.append(
                network.Client(
                    wire=wire,
                    private_ip=eni.private_ip_address,
                    group_ids=frozenset(group.id for group in eni.group_set),
                    nat_public_ip=network.nat_public_ip(ec2, eni.subnet.id),
                )
            )
        return found

    def unreachable_environment(self, function_name: str) -> dict[str, str]:
        """The endpoints a VPC function cannot reach from its network interface's subnet, sent nowhere."""
        ec2 = self.plane.backend("ec2")
        enis = [e for e in self.enis.get(function_name, []) if e in ec2.enis]
        if not enis:
            return {}
        path = network.aws_path(ec2, ec2.enis[enis[0]].subnet.id, self.plane.region)
        unreachable = network.unreachable_environment(path, self.cfg.aws_port)
        if unreachable:
            log.info(
                "%s: no path to %s from its subnet (no NAT route, no VPC endpoint)", function_name, sorted(unreachable)
            )
            unreachable["SANDBOX_UNREACHABLE_ADDRESS"] = network.UNREACHABLE
        return unreachable

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
            credentials = self.plane.authority.assume_for_service(
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
            # sandbox/awslambda/runtime/sitecustomize.py binds the function's connections to its own address.
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
        environment.update(self.unreachable_environment(function.function_name))
        body = payload if isinstance(payload, str) else payload.decode()

        def run() -> tuple[str, bool, str]:
            started = time.time()
            try:
                completed = subprocess.run(
                    [sys.executable, str(Path(runner.__file__))],
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
        logs = self.plane.backend("logs")
        group = f"/aws/lambda/{function_name}"
        stream = time.strftime("%Y/%m/%d") + f"/[$LATEST]{request_id.replace('-', '')}"
        arn = f"arn:aws:logs:{self.plane.region}:{ACCOUNT}:log-group:{group}"
        needed = [
            ("logs:CreateLogStream", f"{arn}:log-stream:{stream}"),
            ("logs:PutLogEvents", f"{arn}:log-stream:{stream}"),
        ]
        if group not in logs.groups:
            needed.insert(0, ("logs:CreateLogGroup", arn))
        caller = self.plane.authority.role_session(function.role, function_name)
        try:
            for action, resource in needed:
                self.plane.authority.require(caller, action, [(resource, {})], "lambda")
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

    def reap_network_interfaces(self) -> None:
        now = time.monotonic()
        for eni_id, expiry in list(self.eni_expiry.items()):
            if now >= expiry:
                del self.eni_expiry[eni_id]
                with self.plane.address_lock:
                    if eni_id in self.plane.backend("ec2").enis:
                        self.plane.backend("ec2").delete_network_interface(eni_id)
                log.info("Lambda network interface %s deleted", eni_id)


def _split_result(output: str) -> tuple[str, str]:
    """The runner prints the handler's output, then its JSON result after a marker line."""
    marker = "\n" + runner.RESULT_MARKER
    if marker in "\n" + output:
        logs, _, result = ("\n" + output).rpartition(marker)
        return result.strip(), logs.lstrip("\n")
    return "", output
