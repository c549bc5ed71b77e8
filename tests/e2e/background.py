"""Scenarios that run beside the others, in environments of their own, from the session's start: most of such a
scenario is waiting (IAM, tasks starting, a deployment's steps), and it shares nothing with the application's
environment but the sandbox. The test that owns one waits for its outcome and asserts on it
(tests/e2e/conftest.py starts them; CI time stays well under its limit as scenarios multiply)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx

from module_utils.ecs.deployments import newest_first, service_deployment_briefs
from sandbox.canary import bad_canary
from sandbox.harness import PROD_PORT, REPO
from sandbox.observe import LoadGenerator

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
    seen: dict = {}
    sandbox.grant_operator_access("-e", f"@{extra}")
    try:  # a provision that fails half-way is torn down too: the run's last checks count every environment
        sandbox.playbook("playbooks/provision.yml", "-e", f"@{extra}")
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
        sandbox.playbook("playbooks/teardown.yml", "-e", f"@{extra}", check=False)
    return seen


# --- the ECS controller's environment ----------------------------------------------------------------------------

ECS_INVENTORY, ECS_ENV = "inventories/local-ecs", "ecs"
ECS_TERMINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


def app_with_a_failing_migration(folder: Path) -> Path:
    """The application with one more migration, which cannot apply: a NOT NULL column without a default."""
    app = folder / "app"
    shutil.copytree(REPO / "service", app / "service", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "service" / "migrations" / "versions" / "0002_broken.py").write_text(
        '"""A migration that fails: a NOT NULL column without a default on a table with rows."""\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        'revision = "0002"\ndown_revision = "0001"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade():\n"
        '    op.add_column("items", sa.Column("price", sa.Integer(), nullable=False))\n\n\n'
        "def downgrade():\n"
        '    op.drop_column("items", "price")\n'
    )
    return app


def _deploy_until_shifting(box, version: str):
    """A deploy started in the background, once its service deployment shifts production traffic."""
    deploy = box.start_playbook("deploy.yml", "-e", f"image_tag={version}")
    box.wait_for(
        "the production traffic shift",
        lambda: (_active(box) or {}).get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT",
        timeout=180,
    )
    return deploy


def _ecs_deployments(box) -> list[dict]:
    """Every service deployment of the environment's service, newest first (ListServiceDeployments names no order
    and pages; DescribeServiceDeployments takes 20 ARNs a call)."""
    ecs, model = box.client("ecs"), box.names()
    briefs = service_deployment_briefs(
        ecs.list_service_deployments, cluster=model["cluster"], service=model["ecs_service"], maxResults=100
    )
    arns = [b["serviceDeploymentArn"] for b in briefs]
    found = []
    for start in range(0, len(arns), 20):
        found += ecs.describe_service_deployments(serviceDeploymentArns=arns[start : start + 20])["serviceDeployments"]
    return newest_first(found)


def _watch_service(box):
    """Start the AWS CLI's `ecs wait services-stable` on the environment's service and poll DescribeServices each
    second beside it; the returned function waits for the waiter and gives what was seen."""
    model = box.names()
    started = time.time()
    waiter = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "aws"),
            *("ecs", "wait", "services-stable"),
            *("--cluster", model["cluster"], "--services", model["ecs_service"]),
        ],
        env=box.client_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    views: list[dict] = []
    ecs = box.client("ecs")

    def poll() -> None:
        while waiter.poll() is None:
            (service,) = ecs.describe_services(cluster=model["cluster"], services=[model["ecs_service"]])["services"]
            views.append(
                {
                    "at": time.time(),
                    "deployments": [
                        (d["status"], d.get("rolloutState"), d["taskDefinition"].rsplit("/", 1)[-1], d["runningCount"])
                        for d in service["deployments"]
                    ],
                    "task_definition": service["taskDefinition"].rsplit("/", 1)[-1],
                    "running": service["runningCount"],
                    "desired": service["desiredCount"],
                }
            )
            time.sleep(1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()

    def seen() -> dict:
        output, _ = waiter.communicate(timeout=900)
        returned = time.time()
        poller.join(timeout=10)
        deployment = _ecs_deployments(box)[0]
        return {
            "code": waiter.returncode,
            "output": output,
            "started": started,
            "returned": returned,
            "finished": deployment["finishedAt"].timestamp() if deployment.get("finishedAt") else None,
            "status": deployment["status"],
            "views": views,
        }

    return seen


def _hooks_invoked(box, deployment_arn: str) -> dict[str, list[str]]:
    """Each hook function's log lines about a service deployment (its id), by function suffix."""
    logs, model = box.client("logs"), box.names()
    deployment_id = deployment_arn.rsplit("/", 1)[-1]
    return {
        suffix: [
            e["message"]
            for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"{deployment_id}"')[
                "events"
            ]
        ]
        for suffix, name in model["hook_functions"].items()
    }


def _migration_exit_codes(box) -> list:
    """The exit codes of the environment's migration tasks so far (tagged as migrations by whoever started them)."""
    ecs, model = box.client("ecs"), box.names()
    arns = ecs.list_tasks(cluster=model["cluster"], family=model["task_family"], desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=model["cluster"], tasks=arns, include=["TAGS"])["tasks"] if arns else []
    return [
        task["containers"][0].get("exitCode")
        for task in tasks
        if {"key": "bluegreen:purpose", "value": "migration"} in (task.get("tags") or [])
    ]


def _active(box) -> dict | None:
    return next((d for d in _ecs_deployments(box) if d["status"] not in ECS_TERMINAL), None)


def _paused(box) -> str | None:
    """The active service deployment's ARN when it waits at its PAUSE hook (for promote.yml), else None."""
    active = _active(box) or {}
    waiting = any(
        h.get("targetType") == "PAUSE" and h["status"] == "AWAITING_ACTION"
        for h in active.get("lifecycleHookDetails", [])
    )
    return active["serviceDeploymentArn"] if waiting else None


def _served(box, requests: int = 10) -> dict:
    return dict(box.versions_served(requests))


def ecs_environment(sandbox, folder: Path) -> dict:
    """The ECS controller's environment (inventories/local-ecs, `orders-ecs`) through the same playbooks, each scenario
    of the CodeDeploy one where its path differs: provision; a deploy and a rollback under load; readiness and
    migration failures; a bad canary rolled back by its alarm; manual promote; another revision's deploy refused,
    then replacing the waiting one; rollback during a deployment; the operator's deploy killed mid-deployment and run
    again; provision and the drift check after deployments; teardown. Returns what each scenario saw."""
    box = sandbox.environment(ECS_INVENTORY, ECS_ENV)
    seen: dict = {}
    box.grant_operator_access()
    try:
        seen["provision"] = box.playbook("playbooks/provision.yml").stdout
        seen["served_first"] = _served(box)
        (seen["first_deployment"],) = _ecs_deployments(box)
        seen["first_migrations"] = _migration_exit_codes(box)
        seen["first_hooks"] = _hooks_invoked(box, seen["first_deployment"]["serviceDeploymentArn"])
        # Zero downtime: a LINEAR deploy (20 % a step) and the rollback after it, under load.
        version = box.next_version()
        load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=30).start()
        try:
            deploy = box.start_playbook("deploy.yml", "-e", f"image_tag={version}")
            box.wait_for("the service deployment", lambda: _active(box) is not None, timeout=180)
            # A client that follows the service, not its deployment: the AWS CLI's services-stable waiter, and what
            # DescribeServices shows meanwhile.
            watched = _watch_service(box)
            output, _ = deploy.communicate(timeout=900)
            assert deploy.returncode == 0, output[-4000:]
            seen["deploy"] = output
            seen["service_view"] = watched()
            seen["served_deployed"] = _served(box)
            during_deploy = len(load.samples)
            seen["rollback_after"] = box.playbook("playbooks/rollback.yml").stdout
            time.sleep(1)
        finally:
            samples = load.stop()
        seen["load"] = {
            "samples": len(samples),
            "during_deploy": during_deploy,
            "failed": [repr(s) for s in LoadGenerator.failed(samples)],
            "by_version": dict(LoadGenerator.by_version(samples)),
            "version": version,
        }
        seen["served_rolled_back"] = _served(box)

        # Readiness failure: /ready fails on the test listener; ECS rolls back at POST_TEST_TRAFFIC_SHIFT.
        bad = box.next_version()
        spec = json.loads(json.dumps(box.config["images"]["orders"]))
        spec["environment"].update({"READY_DEPENDENCIES": '["tcp://127.0.0.1:9"]'})
        box.add_image(f"orders:{bad}", spec)
        result = box.playbook("deploy.yml", "-e", f"image_tag={bad}", check=False)
        seen["readiness"] = {"code": result.returncode, "output": result.stdout, "served": _served(box, 20)}

        # A failing migration: rolled back at POST_TEST_TRAFFIC_SHIFT, the data kept. The table has a row (SQLite
        # refuses a NOT NULL column without a default only on a table with rows, as PostgreSQL does).
        item = httpx.post(box.url() + "/items", json={"sku": "ECS-1", "name": "kept", "quantity": 3}, timeout=5).json()
        app = app_with_a_failing_migration(folder)
        broken = box.next_version()
        spec = json.loads(json.dumps(box.config["images"]["orders"]))
        spec.update(workdir=str(app))
        spec["environment"].update({"PYTHONPATH": str(app)})
        box.add_image(f"orders:{broken}", spec)
        result = box.playbook("deploy.yml", "-e", f"image_tag={broken}", check=False)
        seen["migration"] = {
            "code": result.returncode,
            "output": result.stdout,
            "served": _served(box, 20),
            "item": httpx.get(box.url() + f"/items/{item['id']}", timeout=5).json(),
        }

        # Alarms from real traffic: a version failing 30 % of real requests (each task's first few well, so every
        # hook passes) deployed through a canary under load; ECS rolls it back on the error-rate alarm
        # (deploymentConfiguration.alarms, rollback on) while it is still a canary. (Its canary plan stays the
        # service's strategy until the next provision or deploy: the provisions below put the inventory's back.)
        run = bad_canary(box, {"SANDBOX_FAULT_ERROR_PERCENT": "30"})
        latest = max(_ecs_deployments(box), key=lambda d: d["createdAt"])
        seen["alarm"] = {"run": run, "latest": latest, "served": _served(box, 20)}

        # Manual promote: the service provisioned with a PAUSE hook; the deploy waits until promote.yml.
        # 60 minutes: 3 s each at the sandbox's time scale, so the PAUSE outlives a deploy playbook run beside it on a
        # busy machine (with 10, the replace_active scenario's PAUSE timed out first and rolled back by itself).
        promote_minutes = ["-e", "codedeploy_manual_promote_minutes=60"]
        box.playbook("playbooks/provision.yml", *promote_minutes)
        version = box.next_version()
        deploy = box.start_playbook("deploy.yml", "-e", f"image_tag={version}")
        paused = box.wait_for("the PAUSE hook", lambda: _paused(box), timeout=180)
        seen["paused_served"] = _served(box)
        seen["promote"] = box.playbook("playbooks/promote.yml").stdout
        output, _ = deploy.communicate(timeout=300)
        seen["promoted"] = {"paused": bool(paused), "code": deploy.returncode, "output": output}
        seen["served_promoted"] = _served(box)

        # Another revision's deploy while one waits at the PAUSE: refused, nothing changed; with replace_active the
        # deploy access stops the waiting one with rollback (StopServiceDeployment) and deploys its own.
        waiting = box.next_version()
        first = box.start_playbook("deploy.yml", "-e", f"image_tag={waiting}")
        first_arn = box.wait_for("the PAUSE hook", lambda: _paused(box), timeout=180)
        replacing = box.next_version()
        refused = box.playbook("deploy.yml", "-e", f"image_tag={replacing}", check=False)
        still = _paused(box)
        second = box.start_playbook("deploy.yml", "-e", f"image_tag={replacing}", "-e", "replace_active=true")
        box.wait_for("the replacing one's PAUSE hook", lambda: _paused(box) not in (None, first_arn), timeout=240)
        box.playbook("playbooks/promote.yml")
        first_output, _ = first.communicate(timeout=300)
        second_output, _ = second.communicate(timeout=300)
        seen["replaced"] = {
            "refused": (refused.returncode, refused.stdout),
            "still_paused": still == first_arn,
            "first": (first.returncode, first_output, waiting),
            "second": (second.returncode, second_output, replacing),
            "first_status": next(d["status"] for d in _ecs_deployments(box) if d["serviceDeploymentArn"] == first_arn),
            "served": _served(box, 20),
        }
        box.playbook("playbooks/provision.yml")  # the inventory's own plan again (no PAUSE)

        # Rollback during a deployment: rollback.yml stops it with ROLLBACK; the deploy fails, naming why.
        before = next(iter(_served(box)))
        deploy = _deploy_until_shifting(box, box.next_version())
        seen["rollback_during"] = box.playbook("playbooks/rollback.yml").stdout
        output, _ = deploy.communicate(timeout=300)
        seen["stopped"] = {"code": deploy.returncode, "output": output, "before": before, "served": _served(box, 20)}

        # The operator's deploy killed mid-deployment (a laptop closed, an AWX node lost): ECS goes on; the same
        # deploy run again follows the same deployment instead of starting another.
        version = box.next_version()
        deploy = _deploy_until_shifting(box, version)
        deploy.kill()
        deploy.communicate(timeout=30)
        count = len(_ecs_deployments(box))
        again = box.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)
        seen["resumed"] = {
            "code": again.returncode,
            "output": again.stdout,
            "new_deployments": len(_ecs_deployments(box)) - count,
            "served": _served(box, 20),
            "version": version,
        }

        # After all that: provision changes nothing, and the drift check finds nothing.
        seen["provision_again"] = box.playbook("playbooks/provision.yml").stdout
        seen["drift"] = box.playbook("playbooks/drift_check.yml", check=False)
        seen["status"] = box.playbook("playbooks/status.yml").stdout
    finally:
        seen["teardown"] = box.playbook("playbooks/teardown.yml", check=False).stdout
    seen["drift"] = (seen["drift"].returncode, seen["drift"].stdout) if "drift" in seen else None
    return seen


def _under_load(box, run, samples: list) -> dict:
    """What a playbook run under load saw: its exit code and output, the requests (failed, by version) and what
    production serves afterwards."""
    return {
        "code": run.returncode,
        "output": run.stdout,
        "samples": len(samples),
        "failed": [repr(s) for s in LoadGenerator.failed(samples)],
        "by_version": dict(LoadGenerator.by_version(samples)),
        "served": _served(box, 20),
    }


def _deployed(box, flags: list[str]) -> dict:
    """A deploy of the next version with these flags: its exit code and output, what production serves after it."""
    version = box.next_version()
    run = box.playbook("deploy.yml", *flags, "-e", f"image_tag={version}", check=False)
    return {"code": run.returncode, "output": run.stdout, "served": _served(box, 20), "version": version}


def migration_environment(sandbox, folder: Path) -> dict:
    """A CodeDeploy environment of its own (`mig`, inventories/local's settings) moved to the ECS controller by
    playbooks/migrate_controller.yml under steady load: refused while a CodeDeploy deployment is active, then moved
    with production on the group CodeDeploy left it on; deployed through ECS afterwards; moved again: nothing to do.
    Then the way back under load: the service replaced under its name while a bridge serves the group ECS left
    production on; deployed through CodeDeploy afterwards; moved back again: nothing to do. Returns what each step
    saw."""
    sandbox.client("secretsmanager").create_secret(Name="orders-mig/api-token", SecretString="mig-token-not-a-secret")
    extra = folder / "mig.json"
    extra.write_text(
        json.dumps(
            {
                "bluegreen_env": "mig",
                # The local plan (linear 20 % every minute): its own deployment config, orders-mig-linear-20-every-1
                # (the environment's operators may manage only theirs).
                "ecs_service_secrets": {"API_TOKEN": "orders-mig/api-token"},
                "ecs_service_environment": {"DATABASE_URL": f"sqlite:///{sandbox.home}/orders-mig.db"},
            }
        )
    )
    ecs = ["-e", f"@{extra}", "-e", "bluegreen_controller=ecs"]
    box = sandbox.environment("inventories/local", "mig")
    seen: dict = {}
    box.grant_operator_access("-e", f"@{extra}")
    try:
        box.playbook("playbooks/provision.yml", "-e", f"@{extra}")
        # A CodeDeploy deployment in progress: the move is refused, nothing changed.
        version = box.next_version()
        deploy = box.start_playbook("deploy.yml", "-e", f"@{extra}", "-e", f"image_tag={version}")
        box.wait_for("the CodeDeploy deployment", lambda: box.active_deployment() is not None, timeout=120)
        refused = box.playbook("playbooks/migrate_controller.yml", *ecs, check=False)
        seen["refused"] = {"code": refused.returncode, "output": refused.stdout}
        output, _ = deploy.communicate(timeout=600)
        assert deploy.returncode == 0, output[-4000:]
        seen["before"] = {"served": _served(box), "version": version, "task_sets": box.task_sets()}

        # The move, under load: production keeps being served by the same tasks.
        load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=30).start()
        try:
            time.sleep(2)
            moved = box.playbook("playbooks/migrate_controller.yml", *ecs, check=False)
            time.sleep(2)
        finally:
            samples = load.stop()
        seen["moved"] = _under_load(box, moved, samples)
        service = box.client("ecs").describe_services(cluster="orders-mig", services=["orders-mig"])["services"][0]
        seen["service"] = {
            "controller": service["deploymentController"]["type"],
            "strategy": service["deploymentConfiguration"]["strategy"],
            "task_sets": service.get("taskSets", []),
            "applications": box.client("codedeploy").list_applications()["applications"],
        }

        # Deployed through ECS afterwards; a second move changes nothing.
        seen["deployed"] = _deployed(box, ecs)
        seen["again"] = box.playbook("playbooks/migrate_controller.yml", *ecs).stdout

        # The way back, under load: the inventory says codedeploy again.
        codedeploy = ["-e", f"@{extra}", "-e", "bluegreen_controller=codedeploy"]
        seen["serving_before_back"] = box.serving_target_group()
        client = box.client("ecs")
        load = LoadGenerator(box.balancer["DNSName"], PROD_PORT, rate=30).start()
        try:
            time.sleep(2)
            # Killed once the ECS service is gone, the bridge serving alone (a lost terminal, a cancelled job)...
            first = box.start_playbook("playbooks/migrate_controller.yml", *codedeploy, new_session=True)
            box.wait_for(
                "the ECS service deleted by the way back",
                lambda: (
                    first.poll() is not None
                    or client.describe_services(cluster="orders-mig", services=["orders-mig"])["services"][0]["status"]
                    == "INACTIVE"
                ),
                timeout=600,
            )
            os.killpg(first.pid, signal.SIGKILL)
            output, _ = first.communicate(timeout=60)
            seen["interrupted"] = {
                "code": first.returncode,
                "output": output,
                "listed": [arn.rsplit("/", 1)[1] for arn in client.list_services(cluster="orders-mig")["serviceArns"]],
            }
            # ... then run again: it goes on where it stopped.
            back = box.playbook("playbooks/migrate_controller.yml", *codedeploy, check=False)
            time.sleep(2)
        finally:
            samples = load.stop()
        ecs = codedeploy if back.returncode == 0 else ecs  # what the teardown below is told
        seen["back"] = {
            **_under_load(box, back, samples),
            "serving": box.serving_target_group(),
            "rules": box.listener_rules(),
        }
        service = client.describe_services(cluster="orders-mig", services=["orders-mig"])["services"][0]
        seen["back"]["service"] = {
            "controller": service["deploymentController"]["type"],
            "task_sets": service.get("taskSets", []),
            "listed": [arn.rsplit("/", 1)[1] for arn in client.list_services(cluster="orders-mig")["serviceArns"]],
            "applications": box.client("codedeploy").list_applications()["applications"],
        }
        seen["redeployed"] = _deployed(box, codedeploy)
        seen["back_again"] = box.playbook("playbooks/migrate_controller.yml", *codedeploy).stdout
    finally:
        seen["teardown"] = box.playbook("playbooks/teardown.yml", *ecs, check=False).stdout
    return seen
