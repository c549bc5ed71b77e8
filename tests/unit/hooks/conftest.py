"""An AWS emulator (moto, in-process) with one blue/green environment, a real HTTP server standing in for
the listeners, and overrides (validated against the real service models) for what moto cannot do."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
import yaml
from moto import mock_aws

from hooks import common
from tests.botocore_fake import Answers, AwsError

REGION = "eu-west-1"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:2.0.0"


@dataclass
class LambdaContext:
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class Overrides(Answers):
    """Answers for chosen operations, in place of the emulator (tests/botocore_fake.py: requests and answers
    are checked against the service models); the emulator answers the rest."""

    def __init__(self) -> None:
        super().__init__(fallthrough=True)
        # Whether Install created the deployment's replacement (Green) task set (as_aws_answers).
        self.installed = True

    def requests(self, operation: str) -> list[dict]:
        return self.called(operation)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Overrides]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "TEST_LISTENER_URL", "PRODUCTION_LISTENER_URL", "SMOKE_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    overrides = Overrides()
    overrides.handlers["PutLifecycleEventHookExecutionStatus"] = lambda p: {
        "lifecycleEventHookExecutionId": p["lifecycleEventHookExecutionId"]
    }
    with mock_aws():
        common._clients.clear()
        for service in ("codedeploy", "ecs", "elbv2", "cloudwatch"):
            overrides.install(common.client(service))
        yield overrides
    common._clients.clear()


@dataclass
class Environment:
    deployment_id: str
    task_definition_arn: str
    target_group_arns: dict
    listener_arns: dict
    cluster: str = "prod"
    service: str = "orders"
    subnets: list = field(default_factory=list)
    security_groups: list = field(default_factory=list)
    port: int = 8000


def create_environment(
    version: str = "2.0.0", image: str = IMAGE, port: int = 8000, sha256: bool = True, appspec_format: str = "json"
) -> Environment:
    """One ECS service behind an ALB with two target groups, a CodeDeploy group and a deployment, created as the
    bluegreen_deployment module's CodeDeploy controller creates it (the AppSpec in JSON with its sha256), or as
    another client may (without `sha256`, in YAML)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="orders", Description="orders", VpcId=vpc)["GroupId"]
    elbv2 = boto3.client("elbv2", region_name=REGION)
    balancer = elbv2.create_load_balancer(Name="orders", Subnets=subnets, SecurityGroups=[group])["LoadBalancers"][0]
    target_groups = {
        color: elbv2.create_target_group(
            Name=f"orders-{color}", Protocol="HTTP", Port=port, VpcId=vpc, TargetType="ip", HealthCheckPath="/ready"
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    }
    listeners = {
        name: elbv2.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"],
            Protocol="HTTP",
            Port=listener_port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_groups[color]}],
        )["Listeners"][0]["ListenerArn"]
        for name, listener_port, color in (("prod", 80, "blue"), ("test", 8443, "green"))
    }
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="prod")
    task_definition = ecs.register_task_definition(
        family="orders",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "web",
                "image": image,
                "memory": 512,
                "portMappings": [{"containerPort": port}],
                "environment": [{"name": "APP_VERSION", "value": version}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    codedeploy = boto3.client("codedeploy", region_name=REGION)
    codedeploy.create_application(applicationName="orders", computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName="orders",
        deploymentGroupName="orders-prod",
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        ecsServices=[{"clusterName": "prod", "serviceName": "orders"}],
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        loadBalancerInfo={
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": "orders-blue"}, {"name": "orders-green"}],
                    "prodTrafficRoute": {"listenerArns": [listeners["prod"]]},
                    "testTrafficRoute": {"listenerArns": [listeners["test"]]},
                }
            ]
        },
    )
    appspec = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": task_definition,
                        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": port},
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "Subnets": subnets,
                                "SecurityGroups": [group],
                                "AssignPublicIp": "DISABLED",
                            }
                        },
                    },
                }
            }
        ],
    }
    content = json.dumps(appspec) if appspec_format == "json" else yaml.safe_dump(appspec)
    revision = {"content": content, **({"sha256": hashlib.sha256(content.encode()).hexdigest()} if sha256 else {})}
    deployment_id = codedeploy.create_deployment(
        applicationName="orders",
        deploymentGroupName="orders-prod",
        revision={"revisionType": "AppSpecContent", "appSpecContent": revision},
    )["deploymentId"]
    return Environment(
        deployment_id, task_definition, target_groups, listeners, subnets=subnets, security_groups=[group], port=port
    )


BLUE_TASK_SET, GREEN_TASK_SET = "ecs-svc/111", "ecs-svc/222"


def task_sets(environment: Environment, installed: bool) -> list[dict]:
    """The service's task sets as DescribeServices shows them: the original (Blue), and once Install created it the
    replacement (Green), made by CodeDeploy from the deployment's AppSpec."""
    arn = f"arn:aws:ecs:{REGION}:123456789012:task-set/{environment.cluster}/{environment.service}/"

    def task_set(task_set_id: str, status: str, task_definition: str, color: str) -> dict:
        return {
            "id": task_set_id,
            "taskSetArn": arn + task_set_id,
            "status": status,
            "taskDefinition": task_definition,
            "computedDesiredCount": 2,
            "runningCount": 2,
            "pendingCount": 0,
            "stabilityStatus": "STEADY_STATE",
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": environment.subnets,
                    "securityGroups": environment.security_groups,
                    "assignPublicIp": "DISABLED",
                }
            },
            "loadBalancers": [
                {
                    "targetGroupArn": environment.target_group_arns[color],
                    "containerName": "web",
                    "containerPort": environment.port,
                }
            ],
        }

    found = [task_set(BLUE_TASK_SET, "PRIMARY", environment.task_definition_arn.rsplit(":", 1)[0] + ":0", "blue")]
    if installed:
        found.append(task_set(GREEN_TASK_SET, "ACTIVE", environment.task_definition_arn, "green"))
    return found


def as_aws_answers(aws: Overrides, environment: Environment) -> None:
    """What moto answers more kindly than AWS, answered as AWS does: GetDeployment's AppSpec content is always
    null (only the sha256 comes back: the one the deployment was created with, none without, as the sandbox
    answers), GetApplicationRevision returns it by that sha256; and the deployment targets and task sets moto
    lacks: the original (Blue) task set, and once `aws.installed` the replacement (Green) GREEN_TASK_SET."""
    emulator = boto3.client("codedeploy", region_name=REGION)  # not overridden: moto's own answers
    revisions: dict[str, dict] = {}

    def get_deployment(params):
        info = emulator.get_deployment(deploymentId=params["deploymentId"])["deploymentInfo"]
        sent = info["revision"]["appSpecContent"]  # moto keeps the revision as it was sent
        info["revision"] = {"revisionType": "AppSpecContent", "appSpecContent": {}}
        if sent.get("sha256"):
            revisions[sent["sha256"]] = {"revisionType": "AppSpecContent", "appSpecContent": sent}
            info["revision"]["appSpecContent"]["sha256"] = sent["sha256"]
        return {"deploymentInfo": json.loads(json.dumps(info, default=str))}

    def get_application_revision(params):
        digest = params["revision"]["appSpecContent"]["sha256"]
        if digest not in revisions:
            raise AwsError("RevisionDoesNotExistException", f"No application revision found for sha256 {digest}")
        return {"applicationName": params["applicationName"], "revision": revisions[digest]}

    def batch_get_deployment_targets(params):
        labels = {BLUE_TASK_SET: "Blue", GREEN_TASK_SET: "Green"}
        return {
            "deploymentTargets": [
                {
                    "deploymentTargetType": "ECSTarget",
                    "ecsTarget": {
                        "deploymentId": params["deploymentId"],
                        "targetId": f"{environment.cluster}:{environment.service}",
                        "taskSetsInfo": [
                            {
                                "identifer": ts["id"],
                                "desiredCount": ts["computedDesiredCount"],
                                "pendingCount": ts["pendingCount"],
                                "runningCount": ts["runningCount"],
                                "status": ts["status"],
                                "trafficWeight": 100.0 if ts["status"] == "PRIMARY" else 0.0,
                                "targetGroup": {"name": ts["loadBalancers"][0]["targetGroupArn"].split("/")[1]},
                                "taskSetLabel": labels[ts["id"]],
                            }
                            for ts in task_sets(environment, aws.installed)
                        ],
                    },
                }
            ]
        }

    aws.handlers["GetDeployment"] = get_deployment
    aws.handlers["GetApplicationRevision"] = get_application_revision
    aws.handlers["ListDeploymentTargets"] = lambda p: {"targetIds": [f"{environment.cluster}:{environment.service}"]}
    aws.handlers["BatchGetDeploymentTargets"] = batch_get_deployment_targets
    aws.handlers["DescribeServices"] = lambda p: {
        "services": [
            {
                "serviceName": environment.service,
                "deploymentController": {"type": "CODE_DEPLOY"},
                "taskSets": task_sets(environment, aws.installed),
            }
        ],
        "failures": [],
    }


@pytest.fixture
def environment(aws) -> Environment:
    """The deployment after Install: its replacement (Green) task set runs (most hooks run then)."""
    created = create_environment()
    as_aws_answers(aws, created)
    return created


@pytest.fixture
def before_install(aws, environment) -> Environment:
    """The deployment at BeforeInstall: Install has not created the replacement task set yet."""
    aws.installed = False
    return environment


def event(environment: Environment, execution_id: str = "exec-0001") -> dict:
    """The real event CodeDeploy sends: PascalCase keys."""
    return {"DeploymentId": environment.deployment_id, "LifecycleEventHookExecutionId": execution_id}


def reported(aws: Overrides) -> list[tuple[str, str]]:
    return [(r["deploymentId"], r["status"]) for r in aws.requests("PutLifecycleEventHookExecutionStatus")]


class FakeListener:
    """A real HTTP server standing in for a listener: `routes[(method, path)] = (status, json body)`."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.delay = 0.0
        self.before_answer = None  # optional callable, run before each answer (to change routes over time)
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                listener.requests.append((self.command, self.path))
                if listener.before_answer:
                    listener.before_answer()
                if listener.delay:
                    threading.Event().wait(listener.delay)
                status, body = listener.routes.get((self.command, self.path), (404, {"detail": "not found"}))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve_version(self, version: str, ready: int = 200) -> None:
        self.routes[("GET", "/health")] = (200, {"status": "healthy", "version": version})
        self.routes[("GET", "/ready")] = (
            (ready, {"status": "ready", "version": version})
            if ready == 200
            else (ready, {"status": "not ready", "reason": "database: no answer within 2s"})
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[FakeListener]:
    fake = FakeListener()
    yield fake
    fake.close()
