"""The preflight's reasoning (module_utils/bluegreen_verify.py) on AWS's answers: certificate names, the context a
conditioned statement needs in a simulation, security group rules, refusals. The checks themselves run against
the sandbox in tests/e2e/test_preflight.py."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from module_utils import bluegreen_verify as v
from module_utils.bluegreen_model import names


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

        if name == "get_paginator":
            return lambda _: type("P", (), {"paginate": lambda self, **_: answer})()
        return call


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
