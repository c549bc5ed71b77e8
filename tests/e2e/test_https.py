"""An environment (`tls`) whose production listener is HTTPS with an ACM certificate for the service's hostname: the
load balancer serves a certificate for that name only (no ACM certificate covers *.elb.amazonaws.com), so the
AfterAllowTraffic probe and the preflight must use the hostname (SNI, Host)."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator

import pytest

from sandbox.drivers.harness import PROD_PORT, Sandbox

pytestmark = pytest.mark.xdist_group("https")

TLS_HOSTNAME = "orders-tls.sandbox.test"


def issued_certificate(box: Sandbox, domain: str) -> str:
    acm = box.client("acm")
    arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]
    box.wait_for(
        f"the certificate for {domain} to be issued",
        lambda: acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED",
        timeout=30,
    )
    return arn


@pytest.fixture(scope="module")
def tls(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The `tls` environment, provisioned with an issued certificate for the service's hostname; torn down after."""
    with sandbox.lock("shared", shared=True):
        box = sandbox.deprioritized()
        box.certificate_arn = issued_certificate(box, TLS_HOSTNAME)
        extra = tmp_path_factory.mktemp("tls") / "tls.json"
        extra.write_text(
            json.dumps(
                {
                    "bluegreen_env": "tls",
                    "load_balancer_certificate_arn": box.certificate_arn,
                    "load_balancer_public_hostname": TLS_HOSTNAME,
                    "bluegreen_traffic": {"type": "all_at_once", "bake_minutes": 1},
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
        box.extra = ("-e", f"@{extra}")
        box.grant_operator_access(*box.extra)
        try:  # a provision that fails half-way is torn down too
            box.playbook("playbooks/provision.yml", *box.extra)
            yield box
        finally:
            teardown = box.playbook("playbooks/teardown.yml", *box.extra, check=False)
        assert teardown.returncode == 0, teardown.stdout[-4000:]


def get_health(box: Sandbox, server_name: str) -> dict:
    """GET /health over TLS to the load balancer, naming server_name (SNI and Host), trusting the sandbox's CAs."""
    address = box.client("elbv2").describe_load_balancers(Names=["orders-tls"])["LoadBalancers"][0]["DNSName"]
    context = ssl.create_default_context(cafile=str(box.home / "tls" / "bundle.pem"))
    with (
        socket.create_connection((address, PROD_PORT), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as connection,
    ):
        connection.sendall(f"GET /health HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while chunk := connection.recv(65536):
            response += chunk
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def test_production_over_https_is_probed_by_the_service_hostname(tls):
    """A deploy through the HTTPS production listener: AfterAllowTraffic's probe passes because it sends the
    hostname; a client naming the load balancer's own DNS name is refused (no certificate covers it)."""
    version = tls.next_version()
    tls.playbook("deploy.yml", *tls.extra, "-e", f"image_tag={version}")
    codedeploy = tls.client("codedeploy")
    ids = codedeploy.list_deployments(applicationName="orders-tls", deploymentGroupName="orders-tls")["deployments"]
    (deployment,) = codedeploy.batch_get_deployments(deploymentIds=ids)["deploymentsInfo"]
    assert deployment["status"] == "Succeeded"
    probe_log = [
        e["message"]
        for e in tls.client("logs").filter_log_events(
            logGroupName="/aws/lambda/orders-tls-validate-production",
            filterPattern=f'"{deployment["deploymentId"]}"',
        )["events"]
    ]
    assert any('"message": "Succeeded"' in line for line in probe_log), probe_log
    assert get_health(tls, TLS_HOSTNAME)["version"] == version
    address = tls.client("elbv2").describe_load_balancers(Names=["orders-tls"])["LoadBalancers"][0]["DNSName"]
    with pytest.raises(ssl.SSLCertVerificationError):  # the load balancer's own name: no certificate covers it
        get_health(tls, address)


def test_the_preflight_checks_the_certificate_against_the_probes_hostname(tls):
    """verify.yml says the production listener's certificate covers the probe's hostname; with a certificate for
    another name on the listener, it names the mismatch and the fix, before a deployment fails on it."""
    verified = tls.playbook("playbooks/verify.yml", *tls.extra).stdout
    assert "OK tls: production listener :8080: certificate covers orders-tls.sandbox.test" in " ".join(
        verified.split()
    ), verified[-4000:]
    elbv2 = tls.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers(Names=["orders-tls"])["LoadBalancers"]
    production = next(
        x
        for x in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if x["Protocol"] == "HTTPS"
    )
    other = issued_certificate(tls, "elsewhere.sandbox.test")
    elbv2.modify_listener(ListenerArn=production["ListenerArn"], Certificates=[{"CertificateArn": other}])
    try:
        wrong = tls.playbook("playbooks/verify.yml", *tls.extra, check=False)
    finally:
        elbv2.modify_listener(
            ListenerArn=production["ListenerArn"], Certificates=[{"CertificateArn": tls.certificate_arn}]
        )
    assert wrong.returncode == 2
    text = " ".join(wrong.stdout.replace("''", "'").split())
    assert "FAILED tls: production listener :8080: the production probe checks orders-tls.sandbox.test" in text
    assert "it is for ['elsewhere.sandbox.test'], not orders-tls.sandbox.test" in text
