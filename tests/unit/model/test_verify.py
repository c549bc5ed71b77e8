"""The preflight's reasoning (module_utils/verify/) on AWS's answers: certificate names, the context a
conditioned statement needs in a simulation, security group rules, refusals. The checks themselves run against
the sandbox in tests/e2e/test_preflight.py."""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from filter_plugins.bluegreen import FilterModule
from module_utils.iam import operator_policies, role_policies
from module_utils.model.names import names
from module_utils.verify import FAILED, NOT_CHECKED, OK, Finding, Verify, summary
from module_utils.verify.core import failed, ok
from module_utils.verify.deployments import ECS_ACTIVE_STATUSES
from module_utils.verify.network import SECRET_ENDPOINTS, endpoint_service_names
from module_utils.verify.reachability import _admits
from module_utils.verify.simulation import _context_entries
from module_utils.verify.tls import _tls_name_matches
from sandbox.iam import policy as iam_policy


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
    assert _tls_name_matches(pattern, hostname) is covers


def test_a_conditioned_statement_is_simulated_with_its_own_context_values():
    """Without ContextEntries, the simulator leaves a conditioned statement unmatched (MissingContextValues): a
    false denial. The entries are the condition's own keys and values, typed as the API wants them."""
    entries = _context_entries(
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
    assert _admits([NAT_RULE], 8443, "54.1.2.3", set())
    assert not _admits([NAT_RULE], 8080, "54.1.2.3", set()), "another port"
    assert not _admits([NAT_RULE], 8443, "54.1.2.4", set()), "another address"
    assert _admits([GROUP_RULE], 8443, "10.0.1.0/24", {"sg-hooks"}), "an internal balancer: by the hooks' group"
    assert not _admits([GROUP_RULE], 8443, "10.0.1.0/24", {"sg-other"})
    assert _admits([ALL], 1234, "10.0.1.0/24", set())
    udp = {**NAT_RULE, "IpProtocol": "udp"}
    assert not _admits([udp], 8443, "54.1.2.3", set())


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


def verify(clients, **params) -> Verify:
    return Verify(clients, {"names": names("orders", "prod"), "region": "eu-west-1", **params})


def traffic(value, environment: str = "prod") -> dict:
    """The deploy's traffic plan as the bluegreen_traffic_plan filter gives it (under the environment's names)."""
    return FilterModule().filters()["bluegreen_traffic_plan"](value, names("orders", environment))


CONFIGS = [{"deploymentConfigsList": ["CodeDeployDefault.ECSAllAtOnce", "orders-prod-canary-10-then-1", "x"]}]


def test_a_deployment_config_outside_the_environment_is_not_one_this_deploy_can_use():
    """The deploy credential may read the environment's configs and CodeDeployDefault.*; a name outside both is
    refused by IAM before CodeDeploy could say it does not exist: either way, the finding names the configs."""
    check = verify(
        Clients(get_deployment_config=denied("GetDeploymentConfig"), get_paginator=CONFIGS),
        traffic=traffic("linear-10-every-5", "staging"),  # orders-staging-linear-10-every-5
    )
    (finding,) = check.inputs()
    assert finding.status == FAILED
    assert finding.subject == "traffic=linear-10-every-5"
    assert finding.message == (
        "no such deployment config in this account and region (orders-staging-linear-10-every-5)"
    )
    assert finding.fix == (
        "use a plan whose config is one of CodeDeployDefault.ECSAllAtOnce, orders-prod-canary-10-then-1, or provision "
        "this plan as the inventory's bluegreen_traffic"
    )


def test_a_plan_whose_config_was_not_provisioned_names_the_configs_there_are():
    missing = ClientError(
        {"Error": {"Code": "DeploymentConfigDoesNotExistException", "Message": "no such config"}},
        "GetDeploymentConfig",
    )
    listed = [{"deploymentConfigsList": [*CONFIGS[0]["deploymentConfigsList"], "orders-production-canary-5-then-5"]}]
    check = verify(Clients(get_deployment_config=missing, get_paginator=listed), traffic=traffic("canary-20-then-2"))
    (finding,) = check.inputs()
    assert (finding.status, finding.subject) == (FAILED, "traffic=canary-20-then-2")
    assert finding.message == "no such deployment config in this account and region (orders-prod-canary-20-then-2)"
    # Another environment's configs (orders-production-*) are not this one's.
    assert "one of CodeDeployDefault.ECSAllAtOnce, orders-prod-canary-10-then-1, or provision" in finding.fix
    # Inside the environment, a refusal is not a missing config: it is an error the preflight reports as such.
    refused = verify(Clients(get_deployment_config=denied("GetDeploymentConfig")), traffic=traffic("canary-20-then-2"))
    with pytest.raises(ClientError):
        refused.inputs()


def test_a_plan_whose_config_exists_for_ecs_is_ok():
    answer = {
        "deploymentConfigInfo": {
            "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
            "computePlatform": "ECS",
            "trafficRoutingConfig": {"type": "TimeBasedCanary"},
        }
    }
    (finding,) = verify(Clients(get_deployment_config=answer), traffic=traffic("canary-10-then-5")).inputs()
    assert (finding.status, finding.subject) == (OK, "traffic=canary-10-then-5")
    assert finding.message == "CodeDeployDefault.ECSCanary10Percent5Minutes, traffic TimeBasedCanary"
    server = {"deploymentConfigInfo": {"computePlatform": "Server"}}
    (finding,) = verify(Clients(get_deployment_config=server), traffic=traffic("linear-10-every-5")).inputs()
    assert finding.status == FAILED
    assert finding.message == "orders-prod-linear-10-every-5 is a Server config: an ECS deployment needs an ECS one"


def test_no_plan_given_is_not_checked():
    assert verify(Clients()).inputs() == []


def test_under_the_ecs_controller_the_plan_is_an_ecs_strategy_without_asking_codedeploy():
    (finding,) = verify(Clients(), controller="ecs", traffic=traffic("canary-10-then-5")).inputs()
    assert (finding.status, finding.subject, finding.message) == (
        OK,
        "traffic=canary-10-then-5",
        "ECS strategy CANARY",
    )


def test_under_the_ecs_controller_a_plan_ecs_refuses_fails_naming_why():
    (finding,) = verify(Clients(), controller="ecs", traffic=traffic("linear-2-every-5")).inputs()
    assert finding.status == FAILED
    assert finding.subject == "traffic=linear-2-every-5"
    assert finding.message == "traffic percentage 2: an ECS LINEAR step is 3 to 100 percent"
    assert finding.fix == "choose a plan ECS takes (docs/controllers.md)"


def test_a_refused_read_is_not_checked_and_the_other_checks_go_on():
    check = verify(Clients(describe_log_groups=denied("DescribeLogGroups")))
    (finding,) = check.guarded(check.log_groups)
    assert finding.status == NOT_CHECKED
    assert "a read was refused" in finding.message
    assert finding.check == "log groups"
    with pytest.raises(ClientError):  # anything else is an error, not a finding
        check.guarded(lambda: (_ for _ in ()).throw(ClientError({"Error": {"Code": "Throttling"}}, "X")))


def test_a_finding_reads_as_one_line_with_its_fix():
    finding = failed("secrets", "orders-prod/api", "no such secret", "create it")
    assert finding.line() == "FAILED      secrets: orders-prod/api: no such secret FIX: create it"
    assert summary([finding, ok("logs", "/ecs/x", "exists")])["counts"] == {"ok": 1, "failed": 1, "not checked": 0}


def test_both_task_sets_must_fit_the_fargate_vcpu_quota():
    """During a deployment the original and the replacement task sets run together: twice the service's vCPU."""
    quota = {"Quota": {"QuotaName": "Fargate On-Demand vCPU resource count", "Value": 6.0}}
    check = verify(Clients(get_service_quota=quota))
    check.facts.task_definition = {"cpu": "1024"}
    check.facts.service = {"desiredCount": 4}
    (finding,) = check.quotas()
    assert finding.status == FAILED
    assert finding.message == "a deployment runs both task sets: 8 vCPU, above the account's quota of 6"
    check.facts.service = {"desiredCount": 3}
    (finding,) = check.quotas()
    assert finding.status == OK
    unanswered = verify(Clients(get_service_quota=ClientError({"Error": {"Code": "NoSuchResourceException"}}, "Q")))
    unanswered.facts = check.facts
    (finding,) = unanswered.quotas()
    assert finding.status == NOT_CHECKED


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

    assert states("healthy", "healthy") == OK
    assert states("healthy", "initial") == NOT_CHECKED
    assert states("healthy", "draining") == NOT_CHECKED
    assert states("healthy", "unhealthy") == FAILED
    assert states("initial", "initial") == FAILED
    assert states() == FAILED


def test_the_alarms_the_group_stops_on_exist_and_none_is_in_alarm():
    model = names("orders", "prod")
    group = {"alarmConfiguration": {"enabled": True, "alarms": [{"name": a} for a in model["alarms"]]}}

    def check(alarms):
        found = verify(Clients(describe_alarms={"MetricAlarms": alarms}))
        found.facts.group = group
        return found.alarms()

    everything = [{"AlarmName": a, "StateValue": "OK"} for a in model["alarms"]]
    (finding,) = check(everything)
    assert (finding.status, finding.message) == (OK, "6 alarm(s), none in ALARM (OK)")
    firing = [*everything[1:], {"AlarmName": model["alarms"][0], "StateValue": "ALARM", "StateReason": "Threshold"}]
    (finding,) = check(firing)
    assert finding.status == FAILED
    assert finding.subject == "orders-prod-error-rate-blue"
    assert finding.message == "in ALARM now (Threshold): the deployment would be stopped at once"
    (finding,) = check(everything[1:])
    assert (finding.status, finding.subject) == (FAILED, "orders-prod-error-rate-blue")
    assert "does not exist" in finding.message
    group["alarmConfiguration"] = {"enabled": False, "alarms": []}
    (finding,) = check([])
    assert finding.status == OK
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
    check = Verify(
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
    assert finding.status == FAILED
    assert finding.message.endswith(
        f"no VPC endpoint for: {needed} ({SECRET_ENDPOINTS[needed]}): images do not pull, secrets and logs fail"
    )
    assert private_subnet([logs, endpoint(f"com.amazonaws.eu-west-1.{needed}")], secrets=secrets).status == OK


def test_a_task_with_both_kinds_of_secret_needs_both_endpoints():
    logs, ssm = endpoint("com.amazonaws.eu-west-1.logs"), endpoint("com.amazonaws.eu-west-1.ssm")
    finding = private_subnet([logs, ssm], secrets=[SECRET, PARAMETER])
    assert finding.status == FAILED
    assert "no VPC endpoint for: secretsmanager (Secrets Manager (the task's secrets)):" in finding.message
    everything = [logs, ssm, endpoint("com.amazonaws.eu-west-1.secretsmanager")]
    assert private_subnet(everything, secrets=[SECRET, PARAMETER]).status == OK


def test_endpoint_service_names_follow_the_partition():
    """The partition's DNS suffix reversed; in China and the ISO partitions, some services kept com.amazonaws."""
    assert endpoint_service_names("aws", "eu-west-1", "ecr.api") == {"com.amazonaws.eu-west-1.ecr.api"}
    assert endpoint_service_names("aws-us-gov", "us-gov-west-1", "logs") == {"com.amazonaws.us-gov-west-1.logs"}
    assert endpoint_service_names("aws-cn", "cn-north-1", "ecr.api") == {
        "cn.com.amazonaws.cn-north-1.ecr.api",
        "com.amazonaws.cn-north-1.ecr.api",
    }
    assert "gov.ic.hci.csp.us-isof-south-1.ebs" in endpoint_service_names("aws-iso-f", "us-isof-south-1", "ebs")


def test_a_china_region_s_endpoints_serve_by_their_china_names():
    """In cn-north-1 (as DescribeVpcEndpointServices lists them there) CloudWatch is cn.com.amazonaws.*, CloudWatch
    Logs, ECS, Elastic Load Balancing, CodeDeploy and Secrets Manager com.amazonaws.*: all of them serve."""
    endpoints = [endpoint("cn.com.amazonaws.cn-north-1.monitoring")] + [
        endpoint(f"com.amazonaws.cn-north-1.{service}")
        for service in ("logs", "secretsmanager", "codedeploy", "ecs", "elasticloadbalancing")
    ]
    china = {"region": "cn-north-1", "partition": "aws-cn", "users": ("tasks", "hooks"), "secrets": [SECRET]}
    finding = private_subnet(endpoints, **china)
    assert (finding.status, finding.message) == (OK, "the tasks and hooks reach AWS through VPC endpoints")
    finding = private_subnet(endpoints[1:], **china)
    assert finding.status == FAILED
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

    request = {"cluster": model["cluster"], "service": model["ecs_service"], "status": list(ECS_ACTIVE_STATUSES)}
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
    assert finding.status == FAILED
    assert (
        finding.message
        == f"service deployment {prefix}Newest is still IN_PROGRESS: a new one would stop it where it is"
    )


class SimulatingIam:
    """iam:SimulatePrincipalPolicy as AWS answers it (one result per action, each resource's decision in
    ResourceSpecificResults: the sandbox's evaluator, sandbox/iam/policy.py) for the statements each principal holds;
    it keeps the requests."""

    def __init__(self, statements: dict[str, list[dict]]):
        self.statements, self.requests = statements, []  # principal ARN -> its statements

    def __call__(self, service, region=None):
        return self

    def get_paginator(self, operation):
        def paginate(PolicySourceArn, **request):
            self.requests.append(request)
            context = {e["ContextKeyName"]: e["ContextKeyValues"] for e in request["ContextEntries"]}
            results = iam_policy.simulation_results(
                request["ActionNames"],
                request["ResourceArns"],
                context,
                {"policy": {"Version": "2012-10-17", "Statement": self.statements[PolicySourceArn]}},
                source_types={"policy": "role"},
                arn_template=lambda action: "arn:${Partition}:service:${Region}:${Account}:type/${Name}",
            )
            return [{"EvaluationResults": results[first : first + 100]} for first in range(0, len(results), 100)]

        return type("Paginator", (), {"paginate": staticmethod(paginate)})()


def test_the_roles_and_the_caller_are_simulated_in_few_requests_and_each_denied_pair_is_named():
    """IAM's API is account-wide and throttled: the statements whose conditions give the same context share one
    request (a typical environment's 47 statements, one request each before, in 15). A statement taken away is
    still named with each of its actions on each of its resources; the pairs a shared request evaluates for other
    statements' resources deny no one."""
    account, partition = "123456789012", "aws"
    model = names("orders", "prod")
    secret = f"arn:aws:secretsmanager:eu-west-1:{account}:secret:orders-prod/api-token-AbCdEf"
    params = {
        "access": "deploy",
        "secrets": ["orders-prod/api-token", f"arn:aws:ssm:eu-west-1:{account}:parameter/orders-prod/flags"],
        "image_repository": f"{account}.dkr.ecr.eu-west-1.amazonaws.com/orders",
        "image_tag": "1.0.0",
    }
    roles = role_policies(
        model,
        partition=partition,
        account=account,
        region="eu-west-1",
        secret_arns=[secret],
        ssm_parameter_arns=[params["secrets"][1]],
        image_repository=params["image_repository"],
    )
    operators = operator_policies(model, partition=partition, account=account, region="eu-west-1")
    deploy = {arn.rsplit("/", 1)[-1] for arn in operators["attach"]["deploy"]}
    caller = f"arn:aws:iam::{account}:user/deployer"
    held = {f"arn:aws:iam::{account}:role/{role['name']}": role["statements"] for role in roles.values()}
    held[caller] = [s for p in operators["policies"].values() if p["name"] in deploy for s in p["statements"]]

    def simulate(taken_away=()) -> tuple[list[Finding], SimulatingIam]:
        iam = SimulatingIam({arn: [s for s in held[arn] if s.get("Sid") not in taken_away] for arn in held})
        check = verify(iam, **params)
        check.facts.account, check.facts.partition, check.facts.caller_arn = account, partition, caller
        check.secret_arns = {"orders-prod/api-token": secret}
        return check.iam_roles() + check.iam_caller(), iam

    findings, iam = simulate()
    assert [f.status for f in findings] == [OK] * len(held), [f.line() for f in findings if f.status != OK]
    statements = sum(len(s) for s in held.values())
    assert len(iam.requests) <= statements // 2, (len(iam.requests), statements)

    taken_away = ("ReportAndListTargets", "RunTheMigrationTask", "PassTheTaskRoles")
    findings, _ = simulate(taken_away)
    by_subject = {f.subject: f for f in findings}
    for arn, statements_held in held.items():
        subject = "caller deployer" if arn == caller else f"role {arn.rsplit('/', 1)[-1]}"
        gone = [s for s in statements_held if s.get("Sid") in taken_away]
        pairs = [
            f"{action} on {resource} ({s['Sid']}: implicitDeny)"
            for s in gone
            for action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
            for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        ]
        finding = by_subject[subject]
        assert finding.status == (FAILED if pairs else OK), finding.line()
        if pairs:
            assert finding.message == f"{len(pairs)} needed permission(s) denied: " + "; ".join(pairs), finding.line()
