"""Scenarios that run beside the others, in environments of their own, from the session's start: most of such a
scenario is waiting (IAM, tasks starting, a deployment's steps), and it shares nothing with the application's
environment but the sandbox. The test that owns one waits for its outcome and asserts on it
(tests/e2e/conftest.py starts them; CI time stays well under its limit as scenarios multiply)."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

from sandbox.harness import PROD_PORT

TLS_HOSTNAME = "orders-tls.sandbox.test"


def https_environment(sandbox, folder: Path) -> dict:
    """A second environment (`tls`) whose production listener is HTTPS with an ACM certificate for the service's
    hostname: provision, deploy, look at it through TLS as a client would, tear it down. Returns what was seen."""
    acm = sandbox.client("acm")
    arn = acm.request_certificate(DomainName=TLS_HOSTNAME, ValidationMethod="DNS")["CertificateArn"]
    sandbox.wait_for(
        "the certificate to be issued",
        lambda: acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED",
        timeout=30,
    )
    extra = folder / "tls.json"
    extra.write_text(
        json.dumps(
            {
                "bluegreen_env": "tls",
                "load_balancer_certificate_arn": arn,
                "load_balancer_public_hostname": TLS_HOSTNAME,
                "codedeploy_custom_traffic_routing": {},
                "codedeploy_deployment_config_name": "CodeDeployDefault.ECSAllAtOnce",
                "ecs_service_desired_count": 1,
                "ecs_service_environment": {
                    "LOG_LEVEL": "INFO",
                    "DRAIN_SECONDS": "2",
                    "SHUTDOWN_GRACE_SECONDS": "5",
                    "DATABASE_URL": f"sqlite:///{sandbox.home}/orders-tls.db",
                },
            }
        )
    )
    seen: dict = {}
    sandbox.grant_operator_access("-e", f"@{extra}")
    sandbox.playbook("playbooks/provision.yml", "-e", f"@{extra}")
    try:
        seen["version"] = version = sandbox.next_version()
        sandbox.playbook("deploy.yml", "-e", f"@{extra}", "-e", f"image_tag={version}")
        codedeploy = sandbox.client("codedeploy")
        ids = codedeploy.list_deployments(applicationName="orders-tls", deploymentGroupName="orders-tls")["deployments"]
        seen["deployments"] = codedeploy.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
        seen["probe_log"] = [
            e["message"]
            for e in sandbox.client("logs").filter_log_events(
                logGroupName="/aws/lambda/orders-tls-validate-production",
                filterPattern=f'"{seen["deployments"][0]["deploymentId"]}"',
            )["events"]
        ]
        address = sandbox.client("elbv2").describe_load_balancers(Names=["orders-tls"])["LoadBalancers"][0]["DNSName"]
        context = ssl.create_default_context(cafile=str(sandbox.home / "tls" / "bundle.pem"))

        def get_health(server_name: str) -> dict:
            with (
                socket.create_connection((address, PROD_PORT), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname=server_name) as tls,
            ):
                tls.sendall(f"GET /health HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
                response = b""
                while chunk := tls.recv(65536):
                    response += chunk
            return json.loads(response.split(b"\r\n\r\n", 1)[1])

        seen["health_by_hostname"] = get_health(TLS_HOSTNAME)
        # The preflight on this environment: the certificate covers the probe's hostname. Then a certificate for
        # another name on the production listener: the preflight says so, before a deployment fails on it.
        seen["verify"] = sandbox.playbook("playbooks/verify.yml", "-e", f"@{extra}").stdout
        elbv2 = sandbox.client("elbv2")
        (balancer,) = elbv2.describe_load_balancers(Names=["orders-tls"])["LoadBalancers"]
        production = next(
            x
            for x in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
            if x["Protocol"] == "HTTPS"
        )
        other = acm.request_certificate(DomainName="elsewhere.sandbox.test", ValidationMethod="DNS")["CertificateArn"]
        sandbox.wait_for(
            "the other certificate to be issued",
            lambda: acm.describe_certificate(CertificateArn=other)["Certificate"]["Status"] == "ISSUED",
            timeout=30,
        )
        elbv2.modify_listener(ListenerArn=production["ListenerArn"], Certificates=[{"CertificateArn": other}])
        try:
            wrong = sandbox.playbook("playbooks/verify.yml", "-e", f"@{extra}", check=False)
        finally:
            elbv2.modify_listener(ListenerArn=production["ListenerArn"], Certificates=[{"CertificateArn": arn}])
        seen["verify_wrong_certificate"] = (wrong.returncode, wrong.stdout)
        try:
            get_health(address)  # the load balancer's own name: no certificate covers it
            seen["by_balancer_name"] = "answered"
        except ssl.SSLCertVerificationError as e:
            seen["by_balancer_name"] = f"refused: {e.verify_message}"
    finally:
        sandbox.playbook("playbooks/teardown.yml", "-e", f"@{extra}")
    return seen
