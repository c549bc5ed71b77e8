"""Last (pytest runs the files in name order): the environment goes away with teardown.yml."""

from __future__ import annotations

import json
import socket

from module_utils.iam import OPERATOR_ACCESS, UNEXERCISED, UNEXERCISED_ON_THE_ECS_PATH
from module_utils.model.names import names
from sandbox import ledger
from sandbox.harness import APP, NAMES, PROD_PORT
from sandbox.iam_analysis import needs, project_operator_policies, project_roles, read, table, unneeded
from sandbox.iam_table import unlike
from tests.e2e.background import ECS_ENV

ENV = APP.split("-", 1)[1]  # local


def test_teardown_removes_everything_and_stops_the_tasks(sandbox):
    """Last: the environment goes away, its tasks stop and the load balancer stops listening. The further
    service first (test_services.py): the cluster stays for the other, which keeps serving."""
    worker = sandbox.playbook("playbooks/teardown.yml", "-e", "service=worker")
    assert "Cluster orders-local stays: other services of the environment are in it (orders-local)." in worker.stdout
    assert sandbox.client("elbv2").describe_load_balancers()["LoadBalancers"] == [sandbox.balancer]
    assert len(sandbox.versions_served(5)) == 1

    address = sandbox.balancer["DNSName"]
    elbv2 = sandbox.client("elbv2")
    tasks = [
        (d["Target"]["Id"], d["Target"]["Port"])
        for group in elbv2.describe_target_groups(Names=NAMES["target_groups"])["TargetGroups"]
        for d in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    ]
    assert len(tasks) == 2

    def lambda_interfaces() -> list[dict]:
        return [
            eni
            for eni in sandbox.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
            if eni.get("Description", "").startswith(f"AWS Lambda VPC ENI-{APP}-")
        ]

    assert lambda_interfaces(), "the hook functions (in the VPC) have network interfaces, as on AWS"
    result = sandbox.playbook("playbooks/teardown.yml")
    assert "failed=0" in result.stdout[result.stdout.rindex("PLAY RECAP") :]
    # Lambda's network interfaces outlived their functions and held the hooks' security group: teardown said so
    # and waited for them instead of failing with DependencyViolation.
    assert "network interface(s) of the deleted hook functions remain" in result.stdout
    assert "FAILED - RETRYING: [localhost]: Wait for the hook functions' network interfaces to go" in result.stdout
    assert lambda_interfaces() == []
    codedeploy = sandbox.client("codedeploy")
    assert codedeploy.list_applications()["applications"] == []
    # The last service took the environment's cluster with it.
    assert sandbox.client("ecs").describe_clusters(clusters=[APP])["clusters"][0]["status"] == "INACTIVE"
    assert not [r for r in sandbox.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(f"{APP}-")]
    assert sandbox.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    alarms = sandbox.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{APP}-")["MetricAlarms"]
    assert [a["AlarmName"] for a in alarms] == []

    def nothing_listens(host: str, port: int) -> bool:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return True
        return False

    for host, port in tasks:
        sandbox.wait_for(f"the task at {host}:{port} to stop", lambda h=host, p=port: nothing_listens(h, p), timeout=60)
    sandbox.wait_for("the load balancer to stop listening", lambda: nothing_listens(address, PROD_PORT), timeout=30)
    again = sandbox.playbook("playbooks/teardown.yml")
    assert "changed=0" in again.stdout[again.stdout.rindex("PLAY RECAP") :]
    # An environment whose cluster AWS has already forgotten (or that never was): nothing to do, no failure
    # (its operator policies exist: the provisioner may look, and finds nothing).
    sandbox.grant_operator_access("-e", "bluegreen_env=never")
    never = sandbox.playbook("playbooks/teardown.yml", "-e", "bluegreen_env=never")
    assert "changed=0" in never.stdout[never.stdout.rindex("PLAY RECAP") :]


def test_every_aws_operation_the_project_called_is_in_the_fidelity_ledger(sandbox):
    """After the whole run: each operation the playbooks, the hooks and the CodeDeploy engine called (the
    sandbox's API call counter) has its row in docs/fidelity-ledger.md."""
    called = ledger.project_operations(sandbox.api_calls())
    assert len(called) > 40, "the counter recorded the run"
    missing = sorted(called - ledger.ledger_rows())
    assert missing == [], f"operations called but not in docs/fidelity-ledger.md: {missing}"


def test_every_authorization_of_the_run_follows_its_row_of_the_declared_table(sandbox):
    """Every decision of the whole run (every principal, every environment; logs/iam-decisions.jsonl) against the
    sandbox's declared table of authorization (sandbox/iam_table.py, itself held against the Service Authorization
    Reference by tests/unit/sandbox/test_iam_table.py): the action has its row, the resource is of one of the row's
    resource types by the reference's ARN formats ("*" only where the row says so), and the request context carries
    no service condition key the row does not declare. An operation the sandbox authorized on "*" for want of an
    extractor fails here by name."""
    sandbox.background["ecs"].result(timeout=1500)
    decisions = [
        json.loads(line)
        for line in (sandbox.home / "logs" / "iam-decisions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    checked = [d for d in decisions if d["source"] != "trust"]  # sts:AssumeRole of a service principal
    assert len({d["action"] for d in checked}) > 80, "the decision log recorded the run"
    departures = sorted({found for d in checked if (found := unlike(d))})
    assert departures == [], f"authorizations unlike their row: {departures[:20]}"


def test_every_statement_of_every_role_and_operator_policy_was_needed_by_a_scenario(sandbox):
    """From the decision log of the whole run (every call of every principal, with the statements that allowed
    it): each action of each statement of the application's roles and of its environment's operator policies was
    the only grant of some call, except the few module_utils/iam/ keeps for an AWS path the sandbox
    cannot take. A service's roles are the same statements under its own names: a call of the worker's role (the
    lane's scenarios run there) counts for the statement it shares with the application's. The table, with the
    first scenario and call that needed each, is written to the sandbox's logs/iam-analysis.md."""
    assert_every_statement_needed(sandbox, ENV, "codedeploy", "iam-analysis.md", UNEXERCISED, services=(None, "worker"))


def test_every_statement_of_the_ecs_controllers_roles_and_operator_policies_was_needed(sandbox):
    """The same for the ECS controller's environment (`orders-ecs`, tests/e2e/test_ecs_controller.py): its roles
    (the ECS roles among them) and its operator policies for the ECS controller, each statement the only grant of
    some call of its scenarios. Its table: logs/iam-analysis-ecs.md."""
    sandbox.background["ecs"].result(timeout=1500)  # its scenarios and its teardown are over
    assert_every_statement_needed(sandbox, ECS_ENV, "ecs", "iam-analysis-ecs.md", UNEXERCISED_ON_THE_ECS_PATH)


def assert_every_statement_needed(
    sandbox, env: str, controller: str, table_name: str, unexercised: dict, *, services: tuple = (None,)
) -> None:
    logs = sandbox.home / "logs"
    secret = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{sandbox_secret_name(logs, env)}"
    operator = project_operator_policies(env=env, controller=controller)
    roles = {s: project_roles(service=s, env=env, controller=controller, secret_arns=[secret]) for s in services}
    holders = {**roles[None], **operator}
    # Each service's role name -> the application's own service's role of the same statements.
    own = names(APP.split("-")[0], env)
    same_as = {}
    for service in services:
        model = names(APP.split("-")[0], env, service)
        for kind in ("roles", "ecs_roles"):
            same_as.update({model[kind][suffix]: own[kind][suffix] for suffix in model[kind]})
    every_role = {name: statements for listed in roles.values() for name, statements in listed.items()}
    timeline = read(sandbox.home / "scenarios.jsonl")
    if env != ENV:  # a background environment's calls belong to it, whichever test ran meanwhile
        timeline = [entry for entry in timeline if entry["test"] == f"background: {env}"]
    found: dict = {}
    for (holder, sid, action), need in needs(
        read(logs / "iam-decisions.jsonl"), {**every_role, **operator}, timeline
    ).items():
        found.setdefault((same_as.get(holder, holder), sid, action), need)  # the first call that needed it
    (logs / table_name).write_text(table(holders, found) + "\n")
    holder = {**own["roles"], **own["ecs_roles"]}
    holder.update({access: f"{own['name']}-{access}" for access in OPERATOR_ACCESS})
    statements = {(name, statement["Sid"]) for name, listed in holders.items() for statement in listed}
    kept = {(holder[key], sid, action) for key, sid, action in unexercised if (holder[key], sid) in statements}
    missing = set(unneeded(holders, found))
    assert missing - kept == set(), (
        "statements nothing needed: remove them, or say in module_utils/iam/ (UNEXERCISED, "
        "UNEXERCISED_ON_THE_ECS_PATH) which path needs them\n" + table(holders, found)
    )
    assert kept - missing == set(), "the list of unexercised actions has one a scenario needed: take it off"


def sandbox_secret_name(logs, env: str) -> str:
    """The API token secret's name with its random suffix, as the decision log saw it."""
    name = f"{APP.split('-')[0]}-{env}/api-token"
    for line in (logs / "iam-decisions.jsonl").read_text().splitlines():
        decision = json.loads(line)
        if decision["action"] == "secretsmanager:GetSecretValue" and name in decision["resource"]:
            return decision["resource"].rsplit(":", 1)[1]
    return name
