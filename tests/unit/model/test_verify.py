"""The preflight's reasoning (module_utils/verify/checks.py) on AWS's answers: certificate names, the context a
conditioned statement needs in a simulation, security group rules, refusals. The checks themselves run against
the sandbox in tests/e2e/test_preflight.py."""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from module_utils.model.names import names
from module_utils.verify import checks as v


@pytest.mark.parametrize(
    ("pattern", "hostname", "covers"),
    [
        ("orders.example.com", "orders.example.com", True),
        ("Orders.Example.com.", "orders.example.com", True),
        ("*.example.com", "orders.example.com", True),
        ("*.example.com", "example.com", False),  # a wildcard never covers the apex
        ("*.example.com", "a.orders.example.com", False),  # nor more than one label
        ("orders.example.com", "orders.example.org", False),
    ],
)
def test_a_certificate_name_covers_a_hostname_as_tls_clients_match_it(pattern, hostname, covers):
    assert v._tls_name_matches(pattern, hostname) is covers


def test_a_conditioned_statement_is_simulated_with_its_own_context_values():
    """Without ContextEntries, the simulator leaves a conditioned statement unmatched (MissingContextValues): a
    false denial. The entries are the condition's own keys and values, typed as the API wants them."""
    entries = v._context_entries(
        {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
            "ArnEquals": {"ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/orders-prod"},
            "StringLike": {"aws:TagKeys": ["purpose", "owner"]},
        }
    )
    assert {e["ContextKeyName"]: (e["ContextKeyValues"], e["ContextKeyType"]) for e in entries} == {
        "iam:PassedToService": (["ecs-tasks.amazonaws.com"], "string"),
        "ecs:cluster": (["arn:aws:ecs:eu-west-1:123456789012:cluster/orders-prod"], "string"),
        "aws:TagKeys": (["purpose", "owner"], "stringList"),
    }


NAT_RULE = {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "IpRanges": [{"CidrIp": "54.1.2.3/32"}]}
GROUP_RULE = {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443, "UserIdGroupPairs": [{"GroupId": "sg-hooks"}]}
ALL = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def test_security_group_rules_admit_by_address_port_protocol_or_group():
    assert v._admits([NAT_RULE], 8443, "54.1.2.3", set())
    assert not v._admits([NAT_RULE], 8080, "54.1.2.3", set()), "another port"
    assert not v._admits([NAT_RULE], 8443, "54.1.2.4", set()), "another address"
    assert v._admits([GROUP_RULE], 8443, "10.0.1.0/24", {"sg-hooks"}), "an internal balancer: by the hooks' group"
    assert not v._admits([GROUP_RULE], 8443, "10.0.1.0/24", {"sg-other"})
    assert v._admits([ALL], 1234, "10.0.1.0/24", set())
    udp = {**NAT_RULE, "IpProtocol": "udp"}
    assert not v._admits([udp], 8443, "54.1.2.3", set())


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, operation)


class Clients:
    """boto3-shaped clients for one check: a method raises its exception or returns its answer."""

    def __init__(self, **answers):
        self.answers = answers

    def __call__(self, service, region=None):
        return self

    def __getattr__(self, name):
        answer = self.answers[name]

        def call(**_):
            if isinstance(answer, Exception):
                raise answer
            return answer

        def paginator(operation):  # the answer is the pages, or operation -> its pages
            pages = answer[operation] if isinstance(answer, dict) else answer
            return type("P", (), {"paginate": lambda self, **_: pages})()

        return paginator if name == "get_paginator" else call


def verify(clients, **params) -> v.Verify:
    return v.Verify(clients, {"names": names("orders", "prod"), "region": "eu-west-1", **params})


def test_a_deployment_config_outside_the_environment_is_not_one_this_deploy_can_use():
    """The deploy credential may read the environment's configs and CodeDeployDefault.*; a name outside both is
    refused by IAM before CodeDeploy could say it does not exist: either way, the finding names the configs."""
    check = verify(
        Clients(
            get_deployment_config=denied("GetDeploymentConfig"),
            get_paginator=[{"deploymentConfigsList": ["CodeDeployDefault.ECSAllAtOnce", "orders-prod-canary", "x"]}],
        ),
        deployment_config="Typo",
    )
    (finding,) = check.inputs()
    assert finding.status == v.FAILED
    assert finding.message == "no such deployment config in this account and region"
    assert finding.fix == "use one of CodeDeployDefault.ECSAllAtOnce, orders-prod-canary, or none for the group's own"


def test_a_refused_read_is_not_checked_and_the_other_checks_go_on():
    check = verify(Clients(describe_log_groups=denied("DescribeLogGroups")))
    (finding,) = check.guarded(check.log_groups)
    assert finding.status == v.NOT_CHECKED
    assert "a read was refused" in finding.message
    assert finding.check == "log groups"
    with pytest.raises(ClientError):  # anything else is an error, not a finding
        check.guarded(lambda: (_ for _ in ()).throw(ClientError({"Error": {"Code": "Throttling"}}, "X")))


def test_a_finding_reads_as_one_line_with_its_fix():
    finding = v.failed("secrets", "orders-prod/api", "no such secret", "create it")
    assert finding.line() == "FAILED      secrets: orders-prod/api: no such secret FIX: create it"
    assert v.summary([finding, v.ok("logs", "/ecs/x", "exists")])["counts"] == {"ok": 1, "failed": 1, "not checked": 0}


def test_both_task_sets_must_fit_the_fargate_vcpu_quota():
    """During a deployment the original and the replacement task sets run together: twice the service's vCPU."""
    quota = {"Quota": {"QuotaName": "Fargate On-Demand vCPU resource count", "Value": 6.0}}
    check = verify(Clients(get_service_quota=quota))
    check.facts.task_definition = {"cpu": "1024"}
    check.facts.service = {"desiredCount": 4}
    (finding,) = check.quotas()
    assert finding.status == v.FAILED
    assert finding.message == "a deployment runs both task sets: 8 vCPU, above the account's quota of 6"
    check.facts.service = {"desiredCount": 3}
    (finding,) = check.quotas()
    assert finding.status == v.OK
    unanswered = verify(Clients(get_service_quota=ClientError({"Error": {"Code": "NoSuchResourceException"}}, "Q")))
    unanswered.facts = check.facts
    (finding,) = unanswered.quotas()
    assert finding.status == v.NOT_CHECKED


def test_the_original_targets_health():
    """All healthy: OK. Some still initial or draining and none unhealthy: not known yet, not a fault. Any
    unhealthy, or none healthy: production is not healthy now, and the deployment would start from it."""
    arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-prod-blue/abc"

    def states(*names):
        descriptions = [{"TargetHealth": {"State": name}} for name in names]
        (finding,) = verify(
            Clients(describe_target_health={"TargetHealthDescriptions": descriptions})
        )._targets_healthy(arn)
        return finding.status

    assert states("healthy", "healthy") == v.OK
    assert states("healthy", "initial") == v.NOT_CHECKED
    assert states("healthy", "draining") == v.NOT_CHECKED
    assert states("healthy", "unhealthy") == v.FAILED
    assert states("initial", "initial") == v.FAILED
    assert states() == v.FAILED


def test_the_alarms_the_group_stops_on_exist_and_none_is_in_alarm():
    model = names("orders", "prod")
    group = {"alarmConfiguration": {"enabled": True, "alarms": [{"name": a} for a in model["alarms"]]}}

    def check(alarms):
        found = verify(Clients(describe_alarms={"MetricAlarms": alarms}))
        found.facts.group = group
        return found.alarms()

    everything = [{"AlarmName": a, "StateValue": "OK"} for a in model["alarms"]]
    (finding,) = check(everything)
    assert (finding.status, finding.message) == (v.OK, "6 alarm(s), none in ALARM (OK)")
    firing = [*everything[1:], {"AlarmName": model["alarms"][0], "StateValue": "ALARM", "StateReason": "Threshold"}]
    (finding,) = check(firing)
    assert finding.status == v.FAILED
    assert finding.subject == "orders-prod-error-rate-blue"
    assert finding.message == "in ALARM now (Threshold): the deployment would be stopped at once"
    (finding,) = check(everything[1:])
    assert (finding.status, finding.subject) == (v.FAILED, "orders-prod-error-rate-blue")
    assert "does not exist" in finding.message
    group["alarmConfiguration"] = {"enabled": False, "alarms": []}
    (finding,) = check([])
    assert finding.status == v.OK
    assert "stops on no alarm" in finding.message


def endpoint(service_name: str) -> dict:
    """An interface endpoint with private DNS in the private subnet's zone."""
    return {
        "ServiceName": service_name,
        "VpcEndpointType": "Interface",
        "PrivateDnsEnabled": True,
        "SubnetIds": ["subnet-private"],
        "State": "available",
    }


def private_subnet(endpoints: list[dict], region="eu-west-1", partition="aws", users=("tasks",), secrets=()):
    """The network finding of one subnet without a NAT route, used by the tasks and/or the hooks."""
    subnet = {"SubnetId": "subnet-private", "VpcId": "vpc-1", "AvailabilityZone": f"{region}a"}
    table = {"RouteTableId": "rtb-private", "Associations": [{"SubnetId": "subnet-private"}], "Routes": []}
    pages = {
        "describe_route_tables": [{"RouteTables": [table]}],
        "describe_nat_gateways": [{"NatGateways": []}],
        "describe_vpc_endpoints": [{"VpcEndpoints": endpoints}],
    }
    check = v.Verify(
        Clients(describe_subnets={"Subnets": [subnet]}, get_paginator=pages),
        {"names": names("orders", "prod"), "region": region, "secrets": list(secrets)},
    )
    check.facts.partition = partition
    if "tasks" in users:
        vpc = {"awsvpcConfiguration": {"subnets": ["subnet-private"]}}
        check.facts.service = {"taskSets": [{"status": "PRIMARY", "networkConfiguration": vpc}]}
    if "hooks" in users:
        check.facts.functions = {"BeforeInstall": {"VpcConfig": {"SubnetIds": ["subnet-private"]}}}
    (finding,) = check.network()
    return finding


PARAMETER = "arn:aws:ssm:eu-west-1:123456789012:parameter/orders-prod/feature-flags"
SECRET = "orders-prod/api-token"  # a Secrets Manager secret by name, as the inventory gives it


@pytest.mark.parametrize(
    ("secrets", "needed", "not_needed"),
    [
        ([PARAMETER], "ssm", "secretsmanager"),
        ([SECRET], "secretsmanager", "ssm"),
        ([f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{SECRET}-AbCdEf"], "secretsmanager", "ssm"),
    ],
)
def test_the_tasks_read_each_secret_through_the_endpoint_of_the_service_that_holds_it(secrets, needed, not_needed):
    """The ECS agent reads an SSM parameter from SSM and a secret from Secrets Manager: without a NAT gateway, the
    subnet needs the endpoint of that service, and an endpoint of the other one does not serve it."""
    logs = endpoint("com.amazonaws.eu-west-1.logs")
    finding = private_subnet([logs, endpoint(f"com.amazonaws.eu-west-1.{not_needed}")], secrets=secrets)
    assert finding.status == v.FAILED
    assert finding.message.endswith(
        f"no VPC endpoint for: {needed} ({v.SECRET_ENDPOINTS[needed]}): images do not pull, secrets and logs fail"
    )
    assert private_subnet([logs, endpoint(f"com.amazonaws.eu-west-1.{needed}")], secrets=secrets).status == v.OK


def test_a_task_with_both_kinds_of_secret_needs_both_endpoints():
    logs, ssm = endpoint("com.amazonaws.eu-west-1.logs"), endpoint("com.amazonaws.eu-west-1.ssm")
    finding = private_subnet([logs, ssm], secrets=[SECRET, PARAMETER])
    assert finding.status == v.FAILED
    assert "no VPC endpoint for: secretsmanager (Secrets Manager (the task's secrets)):" in finding.message
    everything = [logs, ssm, endpoint("com.amazonaws.eu-west-1.secretsmanager")]
    assert private_subnet(everything, secrets=[SECRET, PARAMETER]).status == v.OK


def test_endpoint_service_names_follow_the_partition():
    """The partition's DNS suffix reversed; in China and the ISO partitions, some services kept com.amazonaws."""
    assert v.endpoint_service_names("aws", "eu-west-1", "ecr.api") == {"com.amazonaws.eu-west-1.ecr.api"}
    assert v.endpoint_service_names("aws-us-gov", "us-gov-west-1", "logs") == {"com.amazonaws.us-gov-west-1.logs"}
    assert v.endpoint_service_names("aws-cn", "cn-north-1", "ecr.api") == {
        "cn.com.amazonaws.cn-north-1.ecr.api",
        "com.amazonaws.cn-north-1.ecr.api",
    }
    assert "gov.ic.hci.csp.us-isof-south-1.ebs" in v.endpoint_service_names("aws-iso-f", "us-isof-south-1", "ebs")


def test_a_china_region_s_endpoints_serve_by_their_china_names():
    """In cn-north-1 (as DescribeVpcEndpointServices lists them there) CloudWatch is cn.com.amazonaws.*, CloudWatch
    Logs, ECS, Elastic Load Balancing, CodeDeploy and Secrets Manager com.amazonaws.*: all of them serve."""
    endpoints = [endpoint("cn.com.amazonaws.cn-north-1.monitoring")] + [
        endpoint(f"com.amazonaws.cn-north-1.{service}")
        for service in ("logs", "secretsmanager", "codedeploy", "ecs", "elasticloadbalancing")
    ]
    china = {"region": "cn-north-1", "partition": "aws-cn", "users": ("tasks", "hooks"), "secrets": [SECRET]}
    finding = private_subnet(endpoints, **china)
    assert (finding.status, finding.message) == (v.OK, "the tasks and hooks reach AWS through VPC endpoints")
    finding = private_subnet(endpoints[1:], **china)
    assert finding.status == v.FAILED
    assert "no VPC endpoint for: monitoring (CloudWatch (alarms)):" in finding.message


def test_the_active_service_deployment_named_is_the_newest_from_every_page():
    """ListServiceDeployments documents no order and pages: answered oldest first, on two pages, the check names the
    newest active deployment (the one a deploy would meet), not the first listed."""
    client = botocore.session.get_session().create_client(
        "ecs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    model = names("orders", "prod")
    prefix = f"arn:aws:ecs:eu-west-1:123456789012:service-deployment/{model['cluster']}/{model['ecs_service']}/"

    def brief(name, minute, status):
        created = datetime.datetime(2026, 11, 29, 13, minute, tzinfo=datetime.UTC)
        return {"serviceDeploymentArn": prefix + name, "status": status, "createdAt": created}

    request = {"cluster": model["cluster"], "service": model["ecs_service"], "status": list(v.ECS_ACTIVE_STATUSES)}
    with Stubber(client) as stub:
        stub.add_response(
            "list_service_deployments",
            {"serviceDeployments": [brief("Replaced", 1, "STOP_REQUESTED")], "nextToken": "t1"},
            request,
        )
        stub.add_response(
            "list_service_deployments",
            {"serviceDeployments": [brief("Newest", 2, "IN_PROGRESS")]},
            {**request, "nextToken": "t1"},
        )
        (finding,) = verify(lambda service, region=None: client, controller="ecs").service_deployments()
        stub.assert_no_pending_responses()
    assert finding.status == v.FAILED
    assert (
        finding.message
        == f"service deployment {prefix}Newest is still IN_PROGRESS: a new one would stop it where it is"
    )
