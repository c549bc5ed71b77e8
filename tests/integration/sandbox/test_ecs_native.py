"""ECS-native blue/green in the sandbox (sandbox/ecs/deployments.py), through boto3 as AWS's clients see it: a service
with `deploymentController: ECS`, its revisions' tasks as real processes behind the real load balancer, its
listener rules modified as the load balancer role, the project's real hook code invoked with ECS's event (polled
with IN_PROGRESS), PAUSE and ContinueServiceDeployment, StopServiceDeployment, alarms, rollback. The resources are
made here with boto3; the playbooks' side of the ECS controller comes later (issue #15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hooks import build
from module_utils.iam import role_policies
from module_utils.model.names import names
from sandbox.drivers.harness import Sandbox
from tests.support import free_port

CLUSTER, SERVICE = "nat-local", "nat"
MODEL = names("nat", "local")
TERMINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
ECS_TRUST = {"Service": "ecs.amazonaws.com"}
LAMBDA_TRUST = {"Service": "lambda.amazonaws.com"}


def _trust(principal: dict) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _policy(actions: list[str], resource: str = "*") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}
    )


@dataclass
class Environment:
    box: Sandbox
    url: str
    test_url: str
    task_definition: dict
    elb_role: str
    invoke_role: str
    rules: dict
    target_groups: list
    functions: dict

    def client(self, service: str):
        return self.box.client(service)

    def versions(self, url: str | None = None, requests: int = 20) -> Counter:
        served: Counter = Counter()
        for _ in range(requests):
            try:
                with urllib.request.urlopen((url or self.url) + "/health", timeout=3) as answer:  # noqa: S310 - http only
                    served[json.loads(answer.read())["version"]] += 1
            except urllib.error.HTTPError as e:
                served[f"HTTP {e.code}"] += 1
        return served

    def register(self, version: str) -> str:
        definition = json.loads(json.dumps(self.task_definition))
        container = definition["containerDefinitions"][0]
        container["environment"] = [e for e in container["environment"] if e["name"] != "APP_VERSION"] + [
            {"name": "APP_VERSION", "value": version}
        ]
        return self.client("ecs").register_task_definition(**definition)["taskDefinition"]["taskDefinitionArn"]

    def configure(self, **configuration) -> None:
        self.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, deploymentConfiguration=configuration)

    def deploy(self, version: str) -> str:
        self.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=self.register(version))
        return self.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0][
            "currentServiceDeployment"
        ]

    def describe(self, arn: str) -> dict:
        return self.client("ecs").describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    def watch(self, arn: str, until=None, timeout: float = 90) -> tuple[dict, list[tuple]]:
        """Poll the deployment until `until(deployment)` or a terminal status; every change seen, in order."""
        seen: list[tuple] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            deployment = self.describe(arn)
            state = (
                deployment["status"],
                deployment.get("lifecycleStage"),
                deployment["targetServiceRevision"].get("requestedProductionTrafficWeight"),
                tuple(
                    (h.get("targetArn", "PAUSE").rsplit(":", 1)[-1], h["status"])
                    for h in deployment.get("lifecycleHookDetails", [])
                ),
            )
            if not seen or seen[-1] != state:
                seen.append(state)
            if (until and until(deployment)) or deployment["status"] in TERMINAL:
                return deployment, seen
            time.sleep(0.2)
        raise AssertionError(f"service deployment {arn} still {seen[-1]} after {timeout:g}s: {seen}")


def _function(box: Sandbox, iam, name: str, hook: str, actions: list[str]) -> str:
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=_trust(LAMBDA_TRUST))["Role"]["Arn"]
    # Every function may write its log (its log group made here, as provisioning makes the hooks'); the rest varies.
    box.client("logs").create_log_group(logGroupName=f"/aws/lambda/{name}")
    logs = ["logs:CreateLogStream", "logs:PutLogEvents"]
    iam.put_role_policy(RoleName=f"{name}-role", PolicyName="hook", PolicyDocument=_policy([*logs, *actions]))
    zipped = build.build_zip(hook)
    for _ in range(40):  # the role propagates (iam_propagation_seconds)
        try:
            return box.client("lambda").create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=role,
                Handler=build.handler_of(hook),
                Code={"ZipFile": zipped},
                Timeout=120,
                Environment={"Variables": {"POLL_INTERVAL_SECONDS": "1", "HOOK_TIME_BUDGET_SECONDS": "60"}},
            )["FunctionArn"]
        except box.client("lambda").exceptions.InvalidParameterValueException:
            time.sleep(0.25)
    raise AssertionError(f"Lambda never accepted the role of {name}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    home = tmp_path_factory.mktemp("ecs-native")
    box = Sandbox(home, ports=(free_port(), free_port()), network=41, iam_propagation_seconds=1)
    box.cli("up")
    try:
        yield _environment(box, home)
    finally:
        box.cli("down")


def _environment(box: Sandbox, home: Path) -> Environment:
    ec2, elbv2, ecs, iam = (box.client(s) for s in ("ec2", "elbv2", "ecs", "iam"))
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["sandbox"]}])["Vpcs"][0]["VpcId"]
    subnets = {
        tier: [
            s["SubnetId"]
            for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
            if {"Key": "Tier", "Value": tier} in s.get("Tags", [])
        ]
        for tier in ("public", "private")
    }
    alb_group = ec2.create_security_group(GroupName="nat-alb", Description="nat alb", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=alb_group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 1024, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    tasks_group = ec2.create_security_group(GroupName="nat-tasks", Description="nat tasks", VpcId=vpc)["GroupId"]
    # Named as the model names the load balancer of app "nat" in env "local": the load balancer role below is the
    # project's own (module_utils/iam/), scoped to that name.
    balancer = elbv2.create_load_balancer(
        Name=MODEL["load_balancer"], Subnets=subnets["public"], SecurityGroups=[alb_group]
    )["LoadBalancers"][0]
    groups = []
    for name in MODEL["target_groups"]:  # the project's load balancer role registers targets in these two only
        arn = elbv2.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=8000,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=2,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=arn, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "2"}]
        )
        groups.append(arn)
    ports = {"prod": free_port(), "test": free_port()}
    rules = {}
    for name, port in ports.items():
        listener = elbv2.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"],
            Protocol="HTTP",
            Port=port,
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        )["Listeners"][0]["ListenerArn"]
        rules[name] = elbv2.create_rule(
            ListenerArn=listener,
            Priority=10,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": groups[0], "Weight": 100},
                            {"TargetGroupArn": groups[1], "Weight": 0},
                        ]
                    },
                }
            ],
        )["Rules"][0]["RuleArn"]
    project_role = role_policies(MODEL, partition="aws", account="123456789012", region="eu-west-1", controller="ecs")[
        "ecs-load-balancer"
    ]
    elb_role = iam.create_role(
        RoleName=project_role["name"], AssumeRolePolicyDocument=json.dumps(project_role["trust"])
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=project_role["name"],
        PolicyName="least-privilege",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": project_role["statements"]}),
    )
    invoke_role = iam.create_role(RoleName="nat-ecs-hooks", AssumeRolePolicyDocument=_trust(ECS_TRUST))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="nat-ecs-hooks",
        PolicyName="invoke",
        PolicyDocument=_policy(["lambda:InvokeFunction"], "arn:aws:lambda:eu-west-1:123456789012:function:nat-*"),
    )
    reads = [
        "ecs:DescribeServiceRevisions",
        "ecs:DescribeServiceDeployments",
        "ecs:ListServiceDeployments",
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTargetGroups",
    ]
    functions = {
        "validate-deployment": _function(box, iam, "nat-validate-deployment", "validate-deployment", reads),
        "unauthorized": _function(box, iam, "nat-unauthorized", "validate-deployment", []),
        "run-migrations": _function(
            box,
            iam,
            "nat-run-migrations",
            "run-migrations",
            [*reads, "ecs:RunTask", "ecs:TagResource", "ecs:DescribeTasks", "ecs:ListTasks", "ecs:StopTask"],
        ),
    }
    task_definition = {
        "family": "nat",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": "web",
                "image": "sandbox.local/orders:1.0.0",
                "memory": 512,
                "portMappings": [{"containerPort": 8000}],
                "environment": [
                    {"name": "APP_VERSION", "value": "1.0.0"},
                    {"name": "DATABASE_URL", "value": f"sqlite:///{home}/nat.db"},
                    {"name": "DRAIN_SECONDS", "value": "1"},
                ],
            }
        ],
    }
    ecs.create_cluster(clusterName=CLUSTER)
    first = ecs.register_task_definition(**task_definition)["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=first,
        desiredCount=2,
        launchType="FARGATE",
        deploymentController={"type": "ECS"},
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0},
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets["private"],
                "securityGroups": [tasks_group],
                "assignPublicIp": "DISABLED",
            }
        },
        loadBalancers=[
            {
                "targetGroupArn": groups[0],
                "containerName": "web",
                "containerPort": 8000,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": groups[1],
                    "productionListenerRule": rules["prod"],
                    "testListenerRule": rules["test"],
                    "roleArn": elb_role,
                },
            }
        ],
    )
    address = balancer["DNSName"]
    return Environment(
        box,
        f"http://{address}:{ports['prod']}",
        f"http://{address}:{ports['test']}",
        task_definition,
        elb_role,
        invoke_role,
        rules,
        groups,
        functions,
    )


def _logged(env: Environment, function: str, *words: str) -> bool:
    """A line of the function's log (CloudWatch Logs, as Lambda writes it) has all the words."""
    logs = env.client("logs")
    group = f"/aws/lambda/{function}"
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]:
            if all(word in event["message"] for word in words):
                return True
    return False


def _first_deployment(env: Environment) -> dict:
    (brief,) = env.client("ecs").list_service_deployments(cluster=CLUSTER, service=SERVICE)["serviceDeployments"]
    return env.watch(brief["serviceDeploymentArn"])[0]


def test_a_new_service_serves_its_first_revision_when_its_targets_are_healthy(env: Environment) -> None:
    """A blue/green service's first deployment runs as any other (its stages, hooks and rules), from no source
    revision; DescribeServices then shows one PRIMARY deployment, COMPLETED, as the services-stable waiter needs."""
    first = _first_deployment(env)
    assert first["status"] == "SUCCESSFUL"
    assert first["sourceServiceRevisions"] == []
    assert env.versions() == Counter({"1.0.0": 20})
    service = env.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert service["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"  # kept, unlike moto
    assert service["deploymentController"] == {"type": "ECS"}
    (shown,) = service["deployments"]
    assert (shown["status"], shown["rolloutState"], shown["runningCount"]) == ("PRIMARY", "COMPLETED", 2)
    assert shown["taskDefinition"] == service["taskDefinition"]
    # The pair stays in both rules, the group production does not use at 0 (the next deployment's green).
    for rule in env.rules.values():
        (forward,) = env.client("elbv2").describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
        weights = {g["TargetGroupArn"]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]}
        assert weights == {env.target_groups[0]: 100, env.target_groups[1]: 0}


def test_a_linear_deployment_shifts_step_by_step_then_retires_the_old_revision(env: Environment) -> None:
    _first_deployment(env)
    env.configure(
        strategy="LINEAR", bakeTimeInMinutes=1, linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 2}
    )
    arn = env.deploy("2.0.0")
    halfway, _ = env.watch(
        arn, until=lambda d: d["targetServiceRevision"].get("requestedProductionTrafficWeight") == 50.0
    )
    assert halfway["lifecycleStage"] == "PRODUCTION_TRAFFIC_SHIFT"
    halves = env.versions(requests=40)
    assert set(halves) == {"1.0.0", "2.0.0"}
    assert 12 <= halves["2.0.0"] <= 28, halves  # round robin over equal weights: half each, give or take
    assert env.versions(env.test_url, 5) == Counter({"2.0.0": 5})  # the test listener rule: the new revision
    done, seen = env.watch(arn)
    stages = [stage for _status, stage, _weight, _hooks in seen]
    assert stages.index("PRODUCTION_TRAFFIC_SHIFT") < stages.index("BAKE_TIME") < stages.index("CLEAN_UP")
    assert done["status"] == "SUCCESSFUL"
    assert env.versions() == Counter({"2.0.0": 20})
    revision = env.client("ecs").describe_service_revisions(serviceRevisionArns=[done["targetServiceRevision"]["arn"]])
    (resolved,) = revision["serviceRevisions"][0]["resolvedConfiguration"]["loadBalancers"]
    assert resolved["targetGroupArn"] == env.target_groups[1]  # the alternate group of the pair
    rule = env.client("elbv2").describe_rules(RuleArns=[env.rules["prod"]])["Rules"][0]
    weights = {g["TargetGroupArn"]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]}
    assert weights == {env.target_groups[0]: 0, env.target_groups[1]: 100}


def test_a_failing_hook_rolls_back_and_production_keeps_its_version(env: Environment) -> None:
    """The hook's role may not read the service revision: the real hook code fails, ECS rolls back."""
    env.configure(
        strategy="BLUE_GREEN",
        bakeTimeInMinutes=0,
        lifecycleHooks=[
            {
                "targetType": "AWS_LAMBDA",
                "hookTargetArn": env.functions["unauthorized"],
                "roleArn": env.invoke_role,
                "lifecycleStages": ["POST_SCALE_UP"],
            }
        ],
    )
    before = env.versions()
    done, seen = env.watch(env.deploy("3.0.0-unchecked"))
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["rollback"]["reason"] == "Lifecycle hook nat-unauthorized FAILED at POST_SCALE_UP"
    assert ("IN_PROGRESS", "POST_SCALE_UP", 0.0, (("nat-unauthorized", "IN_PROGRESS"),)) in seen
    assert env.versions() == before
    assert _logged(env, "nat-unauthorized", "AccessDeniedException", '"stage": "POST_SCALE_UP"')


def test_hooks_are_polled_and_a_pause_waits_for_continue(env: Environment) -> None:
    """validate-deployment at POST_SCALE_UP; the migration task at POST_TEST_TRAFFIC_SHIFT, polled with IN_PROGRESS
    until it exits; a PAUSE there too, continued by ContinueServiceDeployment."""
    hooks = [
        {
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": env.functions["validate-deployment"],
            "roleArn": env.invoke_role,
            "lifecycleStages": ["POST_SCALE_UP"],
        },
        {
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": env.functions["run-migrations"],
            "roleArn": env.invoke_role,
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        },
        {
            "targetType": "PAUSE",
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"},
        },
    ]
    env.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=0, lifecycleHooks=hooks)
    arn = env.deploy("4.0.0")
    ecs = env.client("ecs")
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="nope", action="CONTINUE")
    paused, seen = env.watch(
        arn,
        until=lambda d: (
            d["status"] == "IN_PROGRESS"
            and d.get("lifecycleStage") == "POST_TEST_TRAFFIC_SHIFT"
            and [h["status"] for h in d["lifecycleHookDetails"]] == ["SUCCEEDED", "AWAITING_ACTION"]
        ),
    )
    assert paused["status"] == "IN_PROGRESS", seen
    assert ("IN_PROGRESS", "POST_SCALE_UP", 0.0, (("nat-validate-deployment", "IN_PROGRESS"),)) in seen
    assert _logged(env, "nat-validate-deployment", '"message": "Succeeded"', '"stage": "POST_SCALE_UP"')
    # The migration was polled: its hook answered IN_PROGRESS while the task ran.
    assert _logged(env, "nat-run-migrations", '"message": "InProgress"', "migration task")
    assert env.versions(env.test_url, 5) == Counter({"4.0.0": 5})
    assert "4.0.0" not in env.versions()
    tasks = ecs.list_tasks(cluster=CLUSTER, family="nat", desiredStatus="STOPPED")["taskArns"]
    migrations = [
        t
        for t in ecs.describe_tasks(cluster=CLUSTER, tasks=tasks)["tasks"]
        if t.get("startedBy", "").startswith("ecs-deployment-")
    ]
    assert len(migrations) == 1  # polled, never started twice
    assert migrations[0]["containers"][0]["exitCode"] == 0
    pause = paused["lifecycleHookDetails"][1]
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=pause["hookId"], action="CONTINUE")
    done, _ = env.watch(arn)
    assert done["status"] == "SUCCESSFUL"
    assert env.versions() == Counter({"4.0.0": 20})


def test_stop_and_alarms_roll_back_during_the_canary(env: Environment) -> None:
    cloudwatch = env.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="nat-errors",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    env.configure(
        strategy="CANARY",
        bakeTimeInMinutes=0,
        canaryConfiguration={"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 10},
        lifecycleHooks=[],
        alarms={"alarmNames": ["nat-errors"], "enable": True, "rollback": True},
    )
    canary = lambda d: d["targetServiceRevision"].get("requestedProductionTrafficWeight") == 10.0  # noqa: E731
    arn = env.deploy("5.0.0")
    env.watch(arn, until=canary)
    env.client("ecs").stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    stopped, _ = env.watch(arn)
    assert stopped["status"] == "ROLLBACK_SUCCESSFUL"
    assert stopped["rollback"]["reason"] == "Service deployment rolled back by StopServiceDeployment"
    assert env.versions() == Counter({"4.0.0": 20})

    arn = env.deploy("6.0.0")
    env.watch(arn, until=canary)
    cloudwatch.set_alarm_state(AlarmName="nat-errors", StateValue="ALARM", StateReason="a test says so")
    rolled, seen = env.watch(arn)
    assert rolled["status"] == "ROLLBACK_SUCCESSFUL", (rolled, seen)
    assert rolled["alarms"]["triggeredAlarmNames"] == ["nat-errors"]
    assert rolled["rollback"]["reason"] == "CloudWatch alarm(s) nat-errors in ALARM"
    assert env.versions() == Counter({"4.0.0": 20})
    briefs = env.client("ecs").list_service_deployments(
        cluster=CLUSTER, service=SERVICE, status=["ROLLBACK_SUCCESSFUL"]
    )
    assert len(briefs["serviceDeployments"]) == 3


def _playbook(env: Environment, name: str, *extra: str) -> dict:
    """Run one of ./playbooks against the sandbox; what it wrote to summary_path."""
    repo = Path(__file__).resolve().parents[3]
    summary = env.box.home / f"{name}.json"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(Path(__file__).parent / "playbooks" / f"{name}.yml"),
            "-i",
            "localhost,",
            "-e",
            f"summary_path={summary}",
            *extra,
        ],
        cwd=repo,
        env={**env.box.client_environment(), "ANSIBLE_CONFIG": str(repo / "ansible.cfg"), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return {"stdout": result.stdout, **json.loads(summary.read_text())}


def test_the_ecs_bluegreen_service_module_converges_the_service_in_place(env: Environment) -> None:
    service = env.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    balancer = service["loadBalancers"][0]
    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    configuration = {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 2,
        "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1},
    }
    settings = {
        "cluster": CLUSTER,
        "name": SERVICE,
        "task_definition": service["taskDefinition"],
        "subnets": awsvpc["subnets"],
        "security_groups": awsvpc["securityGroups"],
        "target_group_arn": balancer["targetGroupArn"],
        "alternate_target_group_arn": balancer["advancedConfiguration"]["alternateTargetGroupArn"],
        "production_listener_rule_arn": balancer["advancedConfiguration"]["productionListenerRule"],
        "test_listener_rule_arn": balancer["advancedConfiguration"]["testListenerRule"],
        "load_balancer_role_arn": balancer["advancedConfiguration"]["roleArn"],
        "deployment_configuration": configuration,
    }
    path = env.box.home / "settings.json"
    path.write_text(json.dumps({"settings": settings}))
    summary = _playbook(env, "ecs_bluegreen_service", "-e", f"@{path}")
    assert summary["first"] is True
    assert summary["differences"] == ["deploymentConfiguration"]
    assert summary["second"] is False
    after = env.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert after["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] == 20.0
    assert after["taskDefinition"] == service["taskDefinition"]  # no deployment started


def test_the_deployment_module_deploys_ecs_native_through_the_sandbox(env: Environment) -> None:
    """The module (and its action plugin, printing each change as it happens) against the sandbox's ECS."""
    env.configure(
        strategy="LINEAR",
        bakeTimeInMinutes=0,
        linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 1},
        lifecycleHooks=[],
        alarms={"alarmNames": [], "enable": False, "rollback": False},
    )
    definition = env.register("7.0.0")
    summary = _playbook(
        env,
        "bluegreen_deployment_ecs",
        "-e",
        f"cluster={CLUSTER}",
        "-e",
        f"service={SERVICE}",
        "-e",
        f"task_definition={definition}",
    )
    assert summary["deployed"] == "SUCCESSFUL"
    assert summary["changed"] is True
    assert summary["again"] is False
    assert summary["stopped"] is False
    assert "traffic: original 50% / replacement 50%" in summary["lines"]
    assert summary["history"][0] == definition  # bluegreen_deployment_info, newest first
    assert 2 <= len(summary["history"]) <= 3  # at most max_results
    assert summary["controller"] == "ECS"
    # The action plugin printed the lines while the deployment ran, with the deployment's id.
    assert "stage PRODUCTION_TRAFFIC_SHIFT" in summary["stdout"]
    assert env.versions() == Counter({"7.0.0": 20})


def test_the_service_deployment_apis_keep_the_api_references_limits(env: Environment) -> None:
    ecs = env.client("ecs")
    first = ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE, maxResults=2)
    assert len(first["serviceDeployments"]) == 2
    rest = ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE, maxResults=100, nextToken=first["nextToken"])
    assert "nextToken" not in rest
    paged = [b["serviceDeploymentArn"] for b in first["serviceDeployments"] + rest["serviceDeployments"]]
    whole = ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE, maxResults=100)["serviceDeployments"]
    assert paged == [b["serviceDeploymentArn"] for b in whole]
    created = [b["createdAt"] for b in whole]
    # Oldest first (assumed: no order is documented), so that a reader taking the first as the newest fails here.
    assert created == sorted(created)
    assert len(ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE)["serviceDeployments"]) == min(
        20, len(whole)
    )
    # Every deployment once over pages of one; a token is opaque, and one that is not ECS's is refused.
    token, one_by_one = None, []
    while True:
        page = ecs.list_service_deployments(
            cluster=CLUSTER, service=SERVICE, maxResults=1, **({"nextToken": token} if token else {})
        )
        one_by_one += [b["serviceDeploymentArn"] for b in page["serviceDeployments"]]
        token = page.get("nextToken")
        if not token:
            break
    assert one_by_one == paged
    for refused in ({"maxResults": 0}, {"maxResults": 101}, {"nextToken": "2"}):
        with pytest.raises(ecs.exceptions.InvalidParameterException):
            ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE, **refused)
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="maximum of 20"):
        ecs.describe_service_deployments(serviceDeploymentArns=paged[:1] * 21)
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="the valid values are ROLLBACK"):
        ecs.stop_service_deployment(serviceDeploymentArn=paged[0], stopType="ABORT")
    with pytest.raises(ecs.exceptions.ClientException, match="cannot be stopped"):
        ecs.stop_service_deployment(serviceDeploymentArn=paged[0], stopType="ROLLBACK")
    found = ecs.describe_service_deployments(serviceDeploymentArns=[paged[0], paged[0] + "-gone"])
    assert [f["reason"] for f in found["failures"]] == ["MISSING"]


def test_a_service_named_by_its_arn_alone_is_found_where_aws_finds_it(env: Environment) -> None:
    """Issue 31, defect 11: AWS's sample approval hook lists a service's deployments by the service's ARN alone, and
    ECS finds them in the ARN's cluster; DescribeServices (reported) and UpdateService (assumed) stay in the request's
    cluster, `default` when it names none, and refuse an ARN of another."""
    ecs = env.client("ecs")
    arn = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["serviceArn"]
    assert arn.endswith(f":service/{CLUSTER}/{SERVICE}")  # a long ARN: it names its cluster
    by_arn = ecs.list_service_deployments(service=arn)["serviceDeployments"]
    by_name = ecs.list_service_deployments(cluster=CLUSTER, service=SERVICE)["serviceDeployments"]
    assert by_arn
    assert [b["serviceDeploymentArn"] for b in by_arn] == [b["serviceDeploymentArn"] for b in by_name]
    refused = f"Invalid identifier: Identifier is for cluster {CLUSTER}. Your cluster is default"
    with pytest.raises(ecs.exceptions.InvalidParameterException, match=refused):
        ecs.describe_services(services=[arn])
    with pytest.raises(ecs.exceptions.InvalidParameterException, match=refused):
        ecs.update_service(service=arn, desiredCount=2)
    assert ecs.describe_services(cluster=CLUSTER, services=[arn])["services"][0]["serviceArn"] == arn


def test_a_target_group_no_listener_rule_forwards_to_rolls_the_deployment_back(env: Environment) -> None:
    """The ECS developer guide's migration prerequisite: both target groups behind the production or test rule."""
    elbv2 = env.client("elbv2")
    env.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=0)
    before = env.versions()
    kept = {arn: elbv2.describe_rules(RuleArns=[arn])["Rules"][0]["Actions"] for arn in env.rules.values()}
    for rule in env.rules.values():
        elbv2.modify_rule(RuleArn=rule, Actions=[{"Type": "forward", "TargetGroupArn": env.target_groups[1]}])
    try:
        done, _ = env.watch(env.deploy("8.0.0-unreachable"))
    finally:
        for arn, actions in kept.items():
            elbv2.modify_rule(RuleArn=arn, Actions=actions)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert done["rollback"]["reason"] == (
        "Service deployment rolled back because of invalid networking configuration. Both targetGroup and "
        "alternateTargetGroup must be associated with the productionListenerRule or testListenerRule."
    )
    time.sleep(1)  # the load balancer follows the restored rules
    assert env.versions() == before


def test_a_load_balancer_role_that_may_not_register_targets_rolls_the_deployment_back(env: Environment) -> None:
    """ECS registers the new revision's tasks as the load balancer role (ECS developer guide, "Troubleshooting Amazon
    ECS blue/green deployments"): a role that may read and modify the rules but not register targets fails the
    deployment with the AccessDenied the guide quotes, and production keeps its version."""
    iam = env.client("iam")
    name = env.elb_role.rsplit("/", 1)[-1]
    kept = iam.get_role_policy(RoleName=name, PolicyName="least-privilege")["PolicyDocument"]
    reads = ["DescribeRules", "DescribeListeners", "DescribeTargetGroups", "DescribeTargetHealth"]
    no_registration = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [f"elasticloadbalancing:{a}" for a in ["ModifyRule", *reads]],
                "Resource": "*",
            }
        ],
    }
    env.configure(strategy="BLUE_GREEN", bakeTimeInMinutes=0)
    before = env.versions()
    iam.put_role_policy(RoleName=name, PolicyName="least-privilege", PolicyDocument=json.dumps(no_registration))
    try:
        done, _ = env.watch(env.deploy("9.0.0-unregistered"))
    finally:
        iam.put_role_policy(RoleName=name, PolicyName="least-privilege", PolicyDocument=json.dumps(kept))
    assert done["status"] == "ROLLBACK_SUCCESSFUL", done
    reason = done["rollback"]["reason"]
    assert "is not authorized to perform: elasticloadbalancing:RegisterTargets on resource: " in reason, reason
    assert ":targetgroup/nat-local-" in reason, reason
    assert ":assumed-role/nat-local-ecs-load-balancer/ECSNetworkingWithELB" in reason, reason
    assert env.versions() == before


def _healthy(env: Environment, target_group: str) -> int:
    health = env.client("elbv2").describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]
    return sum(t["TargetHealth"]["State"] == "healthy" for t in health)


def _until(what: str, check, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not after {timeout:g}s")


def test_a_service_is_replaced_under_its_name_while_a_rolling_bridge_serves_its_target_group(env: Environment) -> None:
    """The way back from ECS to CODE_DEPLOY (docs/runbooks/migrate-controller.md) at the API: a rolling service on
    the target group production uses serves while the ECS service drains (DRAINING, not listed, its name refused)
    and, once INACTIVE, is created again under its name with the CODE_DEPLOY controller. Last in this module: the
    service is CODE_DEPLOY afterwards."""
    ecs, elbv2 = env.client("ecs"), env.client("elbv2")
    (action,) = elbv2.describe_rules(RuleArns=[env.rules["prod"]])["Rules"][0]["Actions"]
    serving = max(action["ForwardConfig"]["TargetGroups"], key=lambda g: g["Weight"])["TargetGroupArn"]
    current = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    version = env.versions(requests=1).most_common(1)[0][0]
    shape = {
        "cluster": CLUSTER,
        "taskDefinition": current["taskDefinition"],
        "launchType": "FARGATE",
        "networkConfiguration": current["networkConfiguration"],
        "loadBalancers": [{"targetGroupArn": serving, "containerName": "web", "containerPort": 8000}],
    }
    before = _healthy(env, serving)
    ecs.create_service(serviceName="nat-bridge", desiredCount=1, **shape)  # the default: ECS controller, ROLLING
    (bridge,) = ecs.list_service_deployments(cluster=CLUSTER, service="nat-bridge")["serviceDeployments"]
    assert env.watch(bridge["serviceDeploymentArn"])[0]["status"] == "SUCCESSFUL"
    # Its deployment succeeded once its own task was healthy, not the service's already there.
    assert _healthy(env, serving) == before + 1
    with pytest.raises(ecs.exceptions.InvalidParameterException, match=r"rolling updates .* are not modelled"):
        ecs.update_service(cluster=CLUSTER, service="nat-bridge", forceNewDeployment=True)

    ecs.delete_service(cluster=CLUSTER, service=SERVICE, force=True)
    assert ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["status"] == "DRAINING"
    listed = ecs.list_services(cluster=CLUSTER)["serviceArns"]
    assert [arn.rsplit("/", 1)[1] for arn in listed] == ["nat-bridge"]
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="still Draining"):
        ecs.create_service(serviceName=SERVICE, desiredCount=2, **shape)
    served: Counter = Counter()
    while ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["status"] == "DRAINING":
        served += env.versions(requests=2)
    assert set(served) <= {version}  # no failed request while the service's tasks drained: the bridge served
    assert _healthy(env, serving) == 1

    created = ecs.create_service(
        serviceName=SERVICE, desiredCount=2, deploymentController={"type": "CODE_DEPLOY"}, **shape
    )["service"]
    assert [t["loadBalancers"][0]["targetGroupArn"] for t in created["taskSets"]] == [serving]
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="not idempotent"):
        ecs.create_service(serviceName=SERVICE, desiredCount=2, **shape)
    _until("the new service's two tasks healthy", lambda: _healthy(env, serving) == 3)
    ecs.delete_service(cluster=CLUSTER, service="nat-bridge", force=True)
    _until(
        "the bridge INACTIVE",
        lambda: ecs.describe_services(cluster=CLUSTER, services=["nat-bridge"])["services"][0]["status"] == "INACTIVE",
    )
    assert env.versions() == Counter({version: 20})
    assert ecs.list_service_deployments(cluster=CLUSTER, service="nat-bridge")["serviceDeployments"][0]["status"] == (
        "SUCCESSFUL"
    )
