"""Whole blue/green deployments in the sandbox, driven by the real playbooks, observed as a user would:
through the load balancer, the AWS APIs, the AWS CLI and the hooks' CloudWatch logs.

The local environment's application service (orders-local), provisioned once for the run (conftest.py, `local`);
its scenarios (this module's and the other modules of the `local` group) run in order on one worker, each starting
from production serving a version that a deployment put there, and leaving it so. Each can run alone (`-k`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import threading

import httpx2 as httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import WaiterError

from sandbox.drivers.harness import APP, BIN, NAMES, PROD_PORT, TEST_PORT
from sandbox.drivers.observe import ListenerWatcher
from tests.e2e.expect import assert_rolled_back, serving
from tests.e2e.images import app_with_a_failing_migration
from tests.e2e.steps import a_version_to_roll_back_to

pytestmark = [pytest.mark.xdist_group("local"), pytest.mark.usefixtures("local")]

EVENTS = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]


def green_shares(changes, green: str) -> list[int]:
    shares = []
    for _, weights in changes:
        share = weights.get(green, 0)
        if not shares or shares[-1] != share:
            shares.append(share)
    return shares


def shifting(sandbox) -> bool:
    """Production traffic is split between the two target groups (a shift is under way)."""
    weights = ListenerWatcher(sandbox.client("elbv2"), sandbox.listener_arn(PROD_PORT)).weights()
    return len([w for w in weights.values() if 0 < w < 100]) == 2


def image_like_orders(sandbox, **changes) -> dict:
    spec = json.loads(json.dumps(sandbox.config["images"]["orders"]))
    for key, value in changes.items():
        if key == "environment":
            spec["environment"].update(value)
        else:
            spec[key] = value
    return spec


def test_first_provision_rode_out_iam_propagation(sandbox):
    """The sandbox's roles are assumable by Lambda only some seconds after their creation (IAM is eventually
    consistent): the first provision's CreateFunction met "cannot be assumed by Lambda" and retried it."""
    output = sandbox.provisioned
    hooks_task = output.split("TASK [lambda_hooks : The hook functions]", 1)[1].split("TASK [", 1)[0]
    assert "FAILED - RETRYING: [localhost]: The hook functions" in hooks_task, hooks_task[:3000]
    # This service's, and maybe the worker's (its module provisions it beside: test_worker_service.py).
    functions = {
        f["FunctionName"]
        for f in sandbox.client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith(f"{APP}-")
    }
    worker = sandbox.names("worker")["hook_functions"].values()
    assert set(NAMES["hook_functions"].values()) <= functions <= {*NAMES["hook_functions"].values(), *worker}


def test_happy_path_with_linear_shifting(sandbox):
    version = sandbox.next_version()
    before = sandbox.task_sets()
    assert len(before) == 1
    watcher = ListenerWatcher(sandbox.client("elbv2"), sandbox.listener_arn(PROD_PORT), interval=0.05).start()
    result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}")
    changes = watcher.stop()

    deployment = sandbox.latest()
    assert deployment["status"] == "Succeeded"
    assert f"Deployed {version} to {APP}: {deployment['deploymentId']} Succeeded" in result.stdout
    events = {
        e["lifecycleEventName"]: e["status"] for e in sandbox.target(deployment["deploymentId"])["lifecycleEvents"]
    }
    assert events == dict.fromkeys(EVENTS, "Succeeded")
    logs = sandbox.client("logs")
    for hook in NAMES["hook_functions"].values():
        lines = logs.filter_log_events(
            logGroupName=f"/aws/lambda/{hook}", filterPattern=f'"{deployment["deploymentId"]}"'
        )["events"]
        # The runtime's text format: level, time, request id, then the hook's JSON line.
        outcomes = [
            json.loads(e["message"][e["message"].find("{") :]).get("message") for e in lines if "{" in e["message"]
        ]
        assert "Succeeded" in outcomes, f"{hook} did not log Succeeded for the deployment: {outcomes}"

    green = next(name for name, weight in changes[-1][1].items() if weight == 100)
    assert green_shares(changes, green) == [0, 20, 40, 60, 80, 100]
    assert sandbox.versions_served(20) == {version: 20}
    after = sandbox.task_sets()
    assert [(ts["status"], ts["externalId"]) for ts in after] == [("PRIMARY", deployment["deploymentId"])]
    ecs = sandbox.client("ecs")
    still_running = ecs.list_tasks(cluster=APP, startedBy=before[0]["id"], desiredStatus="RUNNING")["taskArns"]
    assert still_running == [], "the original task set's tasks were not terminated"
    # status.yml, with the operate credential: production's own answer and the deployment it came from.
    status = " ".join(sandbox.playbook("playbooks/status.yml").stdout.split())
    assert f"Production answers version: {version}" in status
    assert f"Latest deployment: {deployment['deploymentId']} Succeeded" in status


def test_readiness_failure_rolls_back_at_after_allow_test_traffic(sandbox):
    old = serving(sandbox)
    version = sandbox.next_version()
    # This version's readiness check needs a dependency that is down: /health answers, /ready does not.
    sandbox.add_image(
        f"orders:{version}", image_like_orders(sandbox, environment={"READY_DEPENDENCIES": '["tcp://127.0.0.1:9"]'})
    )
    result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)

    assert result.returncode != 0
    assert "failed at lifecycle event AfterAllowTestTraffic" in result.stdout
    assert "The hook said: orders-local-validate-test-traffic: GET /ready on the test listener" in result.stdout
    assert "production traffic is back on the original task set" in result.stdout
    failed = sandbox.latest()
    assert failed["status"] == "Failed"
    assert failed["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert_rolled_back(sandbox, failed, old)


def test_failing_migration_rolls_back_at_before_allow_traffic_and_keeps_the_data(sandbox, tmp_path):
    old = serving(sandbox)
    created = httpx.post(sandbox.url() + "/items", json={"sku": "E2E-1", "name": "kept", "quantity": 3}, timeout=5)
    assert created.status_code == 201, created.text
    # A version whose migration fails: the application with one more migration, which cannot apply.
    app = app_with_a_failing_migration(tmp_path)
    version = sandbox.next_version()
    sandbox.add_image(
        f"orders:{version}", image_like_orders(sandbox, workdir=str(app), environment={"PYTHONPATH": str(app)})
    )
    result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)

    assert result.returncode != 0
    assert "failed at lifecycle event BeforeAllowTraffic" in result.stdout
    assert f"{NAMES['hook_functions']['BeforeAllowTraffic']}: migration task" in result.stdout
    assert "exited 1" in result.stdout
    failed = sandbox.latest()
    assert_rolled_back(sandbox, failed, old)
    item = httpx.get(sandbox.url() + f"/items/{created.json()['id']}", timeout=5)
    assert item.status_code == 200
    assert item.json()["name"] == "kept"
    with sqlite3.connect(sandbox.home / "orders.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        columns = [row[1] for row in db.execute("PRAGMA table_info(items)")]
    assert "price" not in columns


def test_a_crash_looping_version_fails_install_naming_why_and_is_throttled(sandbox):
    """A version whose container exits at once: ECS throttles the restarts (service throttle logic), Install
    fails after its (scaled) time, and the deploy names the stopped tasks' reason and exit code."""
    old = serving(sandbox)
    version = sandbox.next_version()
    sandbox.add_image(
        f"orders:{version}", image_like_orders(sandbox, command=["{python}", "-c", "raise SystemExit(1)"])
    )
    result = sandbox.playbook("deploy.yml", "-e", f"image_tag={version}", check=False)

    assert result.returncode != 0
    assert "failed at lifecycle event Install" in result.stdout
    assert "Essential container in task exited (exit code 1)" in result.stdout
    failed = sandbox.latest()
    assert_rolled_back(sandbox, failed, old)
    green = next(
        ts["identifer"]
        for ts in sandbox.target(failed["deploymentId"])["taskSetsInfo"]
        if ts["taskSetLabel"] == "Green"
    )
    crashed = sandbox.client("ecs").list_tasks(cluster=APP, startedBy=green, desiredStatus="STOPPED")["taskArns"]
    # Unthrottled, the agent restarted about four tasks a second for the whole Install wait (some 120 tasks).
    assert 2 <= len(crashed) <= 30, f"{len(crashed)} crashed tasks: the restarts were not throttled"


def test_rollback_playbook_during_and_after_a_deployment(sandbox):
    a_version_to_roll_back_to(sandbox)
    old = serving(sandbox)
    deploy = sandbox.start_playbook("deploy.yml", "-e", f"image_tag={sandbox.next_version()}")
    sandbox.wait_for("the production traffic shift", lambda: shifting(sandbox), timeout=120)
    rollback = sandbox.playbook("playbooks/rollback.yml")
    output, _ = deploy.communicate(timeout=300)
    assert deploy.returncode != 0
    assert "production traffic is back on the original task set" in output
    stopped = sandbox.latest()
    assert stopped["status"] == "Stopped"
    assert stopped["errorInformation"]["code"] == "MANUAL_STOP"
    assert_rolled_back(sandbox, stopped, old)
    assert stopped["deploymentId"] in rollback.stdout

    version = sandbox.next_version()
    sandbox.playbook("deploy.yml", "-e", f"image_tag={version}")
    assert serving(sandbox) == version
    sandbox.playbook("playbooks/rollback.yml")
    assert serving(sandbox) == old
    # The redeploy after a deployment goes all at once, not through the group's linear shift, and needed
    # the previous AppSpec, which only GetApplicationRevision returns.
    redeploy = sandbox.latest()
    assert redeploy["description"].startswith("rollback to ")
    assert redeploy["deploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"


def test_hooks_reach_an_internet_facing_test_listener_only_through_the_nat(sandbox):
    """From the private subnets, the internet-facing load balancer's name resolves to public addresses: the hooks'
    requests arrive from the NAT gateway's public IP, which the security group must admit (a reference to the
    hooks' group or 10.0.0.0/8 admits nothing). Without that rule, as before the fix, AfterAllowTestTraffic
    cannot reach the test listener and the deployment rolls back (deployed here without the preflight, which
    finds the missing rule first: tests/e2e/test_preflight.py)."""
    ec2 = sandbox.client("ec2")
    (nat,) = ec2.describe_nat_gateways()["NatGateways"]
    nat_ip = nat["NatGatewayAddresses"][0]["PublicIp"]
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [NAMES["security_groups"]["alb"]]}]
    )["SecurityGroups"]
    nat_rules = [
        permission
        for permission in group["IpPermissions"]
        if any(r["CidrIp"] == f"{nat_ip}/32" for r in permission.get("IpRanges", []))
    ]
    assert {p["FromPort"] for p in nat_rules} == {PROD_PORT, TEST_PORT}, group["IpPermissions"]
    # The operators' network (this machine, as the internet sees it) reaches the test listener; so the hooks do.
    assert sandbox.versions_served(2, port=TEST_PORT)

    old = serving(sandbox)
    (nat_range,) = [
        r for r in next(p for p in nat_rules if p["FromPort"] == TEST_PORT)["IpRanges"] if r["CidrIp"] == f"{nat_ip}/32"
    ]
    test_rule = {
        "IpProtocol": "tcp",
        "FromPort": TEST_PORT,
        "ToPort": TEST_PORT,
        "IpRanges": [{"CidrIp": nat_range["CidrIp"]}],
    }
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[test_rule])
    try:
        result = sandbox.playbook(
            "deploy.yml", "-e", f"image_tag={sandbox.next_version()}", "-e", "skip_verify=true", check=False
        )
    finally:
        # Put back as an operator would, then its description as provisioned (EC2 answers Return: true).
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[test_rule])
        described = {**test_rule, "IpRanges": [nat_range]}
        assert ec2.update_security_group_rule_descriptions_ingress(GroupId=group["GroupId"], IpPermissions=[described])[
            "Return"
        ]
    said = " ".join(result.stdout.split())  # the log wraps long lines wherever their length falls
    assert result.returncode != 0
    assert "failed at lifecycle event AfterAllowTestTraffic" in said
    # A security group drops: the hook's requests go unanswered until its budget is spent, nothing refuses them.
    # (Its last attempt may instead meet a reset: the sandbox's load balancer reloads when targets change, which
    # an ALB never does to a pending connection.)
    assert re.search(r"no answer \((timed out|\[Errno 104\] Connection reset by peer)\) \(still so after", said), said[
        -3000:
    ]
    assert "Connection refused" not in said
    assert_rolled_back(sandbox, sandbox.latest(), old)


def test_get_deployment_never_returns_the_appspec_as_on_aws(sandbox):
    """GetDeployment's API reference: the content of appSpecContent "is always null"; the AppSpec comes from
    GetApplicationRevision by the sha256 GetDeployment does return. Checked on the wire and with the AWS CLI."""
    deployment = sandbox.latest()
    url = f"http://127.0.0.1:{sandbox.env['SANDBOX_CODEDEPLOY_PORT']}/"
    body = json.dumps({"deploymentId": deployment["deploymentId"]})
    headers = {"X-Amz-Target": "CodeDeploy_20141006.GetDeployment", "Content-Type": "application/x-amz-json-1.1"}
    # Unsigned, it is refused as AWS refuses it; signed (SigV4, the operator's key), the raw answer.
    refused = httpx.post(url, headers=headers, content=body, timeout=10)
    assert (refused.status_code, refused.json()["__type"]) == (403, "MissingAuthenticationToken")
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(Credentials("testing", "testing"), "codedeploy", "eu-west-1").add_auth(request)
    raw = httpx.post(url, headers=dict(request.headers.items()), content=body, timeout=10).json()["deploymentInfo"]
    assert set(raw["revision"]["appSpecContent"]) == {"sha256"}
    digest = raw["revision"]["appSpecContent"]["sha256"]

    def aws(*args):
        result = subprocess.run(
            [str(BIN / "aws"), "deploy", *args, "--output", "json"],
            env=sandbox.client_environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout)

    shown = aws("get-deployment", "--deployment-id", deployment["deploymentId"])["deploymentInfo"]["revision"]
    assert shown["appSpecContent"] == {"sha256": digest}
    revision = aws(
        "get-application-revision",
        "--application-name",
        APP,
        "--revision",
        json.dumps({"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}),
    )
    content = revision["revision"]["appSpecContent"]["content"]
    assert hashlib.sha256(content.encode()).hexdigest() == digest
    assert json.loads(content)["Resources"][0]["TargetService"]["Type"] == "AWS::ECS::Service"
    assert APP in revision["revisionInfo"]["deploymentGroups"]


def test_a_deployment_created_without_sha256_passes_its_hooks(sandbox):
    """Tried as a new user would, with another client (boto3 here; the AWS SDK for JavaScript and ecspresso send the
    same): CreateDeployment with the AppSpec's content and no sha256, which the API allows. GetDeployment then gives
    no way to read the AppSpec back (the sandbox computes no sha256: the strictest reading,
    docs/dev/fidelity-ledger.md), so BeforeInstall checks what the deployment group tells and says what it could not
    check; the later hooks learn the task definition, container and port from the replacement task set. Redeploys the
    version production serves."""
    served = serving(sandbox)
    codedeploy = sandbox.client("codedeploy")
    application, group = NAMES["codedeploy_application"], NAMES["deployment_group"]
    # The AppSpec of the revision production serves: the newest deployment that succeeded (the one before may have
    # failed or been rolled back, and a rollback's revision is the one it returned to).
    succeeded = [d for d in sandbox.deployments() if d["status"] == "Succeeded"]
    digest = max(succeeded, key=lambda d: d["createTime"])["revision"]["appSpecContent"]["sha256"]
    content = codedeploy.get_application_revision(
        applicationName=application, revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}
    )["revision"]["appSpecContent"]["content"]
    created = codedeploy.create_deployment(
        applicationName=application,
        deploymentGroupName=group,
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
    )["deploymentId"]

    def ended():
        info = codedeploy.get_deployment(deploymentId=created)["deploymentInfo"]
        return info if info["status"] in ("Succeeded", "Failed", "Stopped") else None

    deployment = sandbox.wait_for("the deployment to end", ended, timeout=600)
    assert deployment["status"] == "Succeeded", deployment.get("errorInformation")
    assert deployment["revision"] == {"revisionType": "AppSpecContent", "appSpecContent": {}}
    events = {e["lifecycleEventName"]: e["status"] for e in sandbox.target(created)["lifecycleEvents"]}
    assert events == dict.fromkeys(EVENTS, "Succeeded")
    lines = sandbox.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{NAMES['hook_functions']['BeforeInstall']}", filterPattern=f'"{created}"'
    )["events"]
    assert any("task definition not checked before Install" in e["message"] for e in lines), lines
    assert sandbox.versions_served(20) == {served: 20}
    assert len(sandbox.task_sets()) == 1


def test_provision_changes_a_code_deploy_services_count_without_a_task_definition(sandbox):
    """UpdateService on a CODE_DEPLOY service refuses the task definition, network, platform version and load
    balancers, as on AWS; re-provisioning with another desired count sends only what may change."""
    ecs = sandbox.client("ecs")
    service = ecs.describe_services(cluster=APP, services=[APP])["services"][0]
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="Unable to update task definition"):
        ecs.update_service(cluster=APP, service=APP, taskDefinition=service["taskDefinition"], desiredCount=3)
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="Unable to update network parameters"):
        ecs.update_service(cluster=APP, service=APP, networkConfiguration=service["networkConfiguration"])
    version = serving(sandbox)

    result = sandbox.playbook("playbooks/provision.yml", "--tags", "ecs_service", "-e", "ecs_service_desired_count=3")
    assert "changed: [" in result.stdout.split("The existing service's desired count", 1)[1].split("TASK [", 1)[0]
    assert ecs.describe_services(cluster=APP, services=[APP])["services"][0]["desiredCount"] == 3
    assert serving(sandbox) == version
    # Back as the inventory says, through the same module (the next scenario provisions with changed=0).
    ecs.update_service(cluster=APP, service=APP, desiredCount=service["desiredCount"])


def test_secrets_named_in_the_inventory_reach_the_task_and_the_policy_by_full_arn(sandbox):
    """The inventory names the secret; its ARN carries Secrets Manager's random suffix (as on AWS), and IAM and
    the task definition's valueFrom need that full ARN: provisioning resolves it for both."""
    arn = sandbox.client("secretsmanager").describe_secret(SecretId="orders-local/api-token")["ARN"]
    assert re.fullmatch(r"arn:aws:secretsmanager:eu-west-1:\d{12}:secret:orders-local/api-token-[A-Za-z0-9]{6}", arn)
    ecs = sandbox.client("ecs")
    serving_definition = ecs.describe_services(cluster=APP, services=[APP])["services"][0]["taskDefinition"]
    container = ecs.describe_task_definition(taskDefinition=serving_definition)["taskDefinition"][
        "containerDefinitions"
    ][0]
    assert container["secrets"] == [{"name": "API_TOKEN", "valueFrom": arn}]
    policy = sandbox.client("iam").get_role_policy(
        RoleName=NAMES["roles"]["task-execution"], PolicyName="least-privilege"
    )
    statement = next(s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ReadTheTaskSecrets")
    assert statement["Resource"] in ([arn], arn)


def test_simulate_principal_policy_evaluates_the_hook_roles_statements_and_conditions(sandbox):
    """iam:SimulatePrincipalPolicy (moto has none) with the sandbox's evaluator: the provisioned hook role may run
    its own family's task in its own cluster only, names the context key a conditioned statement needs, and has no
    AWS managed policy's broad grants."""
    iam = sandbox.client("iam")
    role = iam.get_role(RoleName=NAMES["roles"]["hooks"])["Role"]["Arn"]
    ecs = "arn:aws:ecs:eu-west-1:123456789012"
    own_family = f"{ecs}:task-definition/{NAMES['task_family']}:1"
    cluster = [
        {
            "ContextKeyName": "ecs:cluster",
            "ContextKeyValues": [f"{ecs}:cluster/{NAMES['cluster']}"],
            "ContextKeyType": "string",
        }
    ]

    def decide(action: str, resource: str, context=()) -> tuple[str, list[str]]:
        (result,) = iam.simulate_principal_policy(
            PolicySourceArn=role, ActionNames=[action], ResourceArns=[resource], ContextEntries=list(context)
        )["EvaluationResults"]
        return result["EvalDecision"], result.get("MissingContextValues", [])

    assert decide("ecs:RunTask", own_family) == ("implicitDeny", ["ecs:cluster"])
    assert decide("ecs:RunTask", own_family, cluster) == ("allowed", [])
    assert decide("ecs:RunTask", f"{ecs}:task-definition/{NAMES['task_family']}-worker:1", cluster)[0] == "implicitDeny"
    passed_to = [
        {
            "ContextKeyName": "iam:PassedToService",
            "ContextKeyValues": ["ecs-tasks.amazonaws.com"],
            "ContextKeyType": "string",
        }
    ]
    task_role = iam.get_role(RoleName=NAMES["roles"]["task"])["Role"]["Arn"]
    assert decide("iam:PassRole", task_role, passed_to) == ("allowed", [])
    passed_to[0]["ContextKeyValues"] = ["lambda.amazonaws.com"]
    assert decide("iam:PassRole", task_role, passed_to)[0] == "implicitDeny"
    # No AWS managed policy: the network interfaces in this region only, logs in its own log groups only.
    assert decide("ec2:CreateNetworkInterface", "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-1")[0] == "allowed"
    assert decide("ec2:CreateNetworkInterface", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1")[0] == (
        "implicitDeny"
    )
    assert decide("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/other:log-stream:x")[0] == (
        "implicitDeny"
    )
    assert decide("s3:GetObject", "arn:aws:s3:::anything/x")[0] == "implicitDeny"


def test_provision_after_deployments_changes_nothing(sandbox):
    listener = ListenerWatcher(sandbox.client("elbv2"), sandbox.listener_arn(PROD_PORT))
    before, version = listener.weights(), serving(sandbox)
    result = sandbox.playbook("playbooks/provision.yml")
    recap = result.stdout[result.stdout.rindex("PLAY RECAP") :]
    assert "changed=0" in recap, result.stdout[-4000:]
    assert "failed=0" in recap
    assert listener.weights() == before
    assert serving(sandbox) == version


def test_drift_check_reports_a_difference_and_changes_nothing(sandbox):
    recap = lambda result: result.stdout[result.stdout.rindex("PLAY RECAP") :]  # noqa: E731
    clean = sandbox.playbook("playbooks/drift_check.yml")
    assert "changed=0" in recap(clean), clean.stdout[-4000:]
    elbv2 = sandbox.client("elbv2")
    group = elbv2.describe_target_groups(Names=[NAMES["target_groups"][1]])["TargetGroups"][0]
    elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], HealthCheckIntervalSeconds=30)  # by hand

    # The roles the drift is in (as an operator narrows a drift check down): the same check, fewer calls.
    drift = sandbox.playbook("playbooks/drift_check.yml", "--tags", "network,load_balancer")
    assert "changed=1" in recap(drift), drift.stdout[-4000:]
    assert "TASK [load_balancer : Blue and green target groups" in drift.stdout
    after = elbv2.describe_target_groups(Names=[NAMES["target_groups"][1]])["TargetGroups"][0]
    assert after["HealthCheckIntervalSeconds"] == 30, "the drift check changed the environment"

    sandbox.playbook("playbooks/provision.yml", "--tags", "network,load_balancer")
    assert (
        elbv2.describe_target_groups(Names=[NAMES["target_groups"][1]])["TargetGroups"][0]["HealthCheckIntervalSeconds"]
        == 5
    )


def test_aws_clients_waiters_end_as_on_aws(sandbox):
    deploy = sandbox.start_playbook("deploy.yml", "-e", f"image_tag={sandbox.next_version()}")
    active = sandbox.wait_for("the deployment to start", sandbox.active_deployment)
    environment = sandbox.client_environment()
    boto3_result: dict = {}

    def boto3_waiter():
        try:
            sandbox.client("codedeploy").get_waiter("deployment_successful").wait(deploymentId=active["deploymentId"])
            boto3_result["ok"] = True
        except WaiterError as e:
            boto3_result["error"] = e

    thread = threading.Thread(target=boto3_waiter)
    thread.start()
    cli = subprocess.run(
        [str(BIN / "aws"), "deploy", "wait", "deployment-successful", "--deployment-id", active["deploymentId"]],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    thread.join(600)
    output, _ = deploy.communicate(timeout=300)
    assert deploy.returncode == 0, output[-3000:]
    assert cli.returncode == 0, cli.stderr
    assert boto3_result == {"ok": True}

    failed = next((d for d in sandbox.deployments() if d["status"] == "Failed" and d["creator"] == "user"), None)
    if failed is None:  # run on its own: make one (a task definition that does not exist fails BeforeInstall)
        appspec = json.loads(
            sandbox.client("codedeploy").get_deployment(deploymentId=active["deploymentId"])["deploymentInfo"][
                "revision"
            ]["appSpecContent"]["content"]
        )
        properties = appspec["Resources"][0]["TargetService"]["Properties"]
        properties["TaskDefinition"] = properties["TaskDefinition"].rsplit(":", 1)[0] + ":999"
        created = sandbox.client("codedeploy").create_deployment(
            applicationName=APP,
            deploymentGroupName=APP,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
        )
        failed = sandbox.wait_for(
            "the deployment to fail",
            lambda: next(
                (
                    d
                    for d in sandbox.deployments()
                    if d["deploymentId"] == created["deploymentId"] and d["status"] == "Failed"
                ),
                None,
            ),
            timeout=120,
        )
    cli_failed = subprocess.run(
        [str(BIN / "aws"), "deploy", "wait", "deployment-successful", "--deployment-id", failed["deploymentId"]],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli_failed.returncode == 255
    assert "Waiter encountered a terminal failure state" in cli_failed.stderr
    with pytest.raises(WaiterError, match="terminal failure state"):
        sandbox.client("codedeploy").get_waiter("deployment_successful").wait(deploymentId=failed["deploymentId"])


def test_codedeploy_killed_mid_deployment_resumes_and_loses_nothing(sandbox):
    known = {d["deploymentId"]: d["status"] for d in sandbox.deployments()}
    version = sandbox.next_version()
    deploy = sandbox.start_playbook("deploy.yml", "-e", f"image_tag={version}")
    sandbox.wait_for("the production traffic shift", lambda: shifting(sandbox), timeout=120)
    sandbox.cli("restart", "codedeploy", "--kill")
    output, _ = deploy.communicate(timeout=300)

    assert deploy.returncode == 0, output[-3000:]
    after = {d["deploymentId"]: d["status"] for d in sandbox.deployments()}
    assert {k: after[k] for k in known} == known, "a deployment's record changed or disappeared"
    resumed = sandbox.latest()
    assert resumed["deploymentId"] not in known
    assert resumed["status"] == "Succeeded"
    events = {e["lifecycleEventName"]: e["status"] for e in sandbox.target(resumed["deploymentId"])["lifecycleEvents"]}
    assert events == dict.fromkeys(EVENTS, "Succeeded")
    assert sandbox.versions_served(20) == {version: 20}
    assert len(sandbox.task_sets()) == 1
