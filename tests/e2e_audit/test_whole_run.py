"""Audits of a whole end-to-end run, from what its sandbox recorded (E2E_SANDBOX_HOME, default .e2e/sandbox): every
AWS operation the project called has its row in the fidelity ledger, every authorization follows the declared table,
every statement of every role and operator policy was needed by a scenario. They read the run's logs, so they come
after it: `make test` runs them once tests/e2e is over; alone, `pytest tests/e2e_audit` audits the last run."""

from __future__ import annotations

import json

from module_utils.iam import OPERATOR_ACCESS, UNEXERCISED, UNEXERCISED_ON_THE_ECS_PATH
from module_utils.model.names import names
from sandbox.drivers import ledger
from sandbox.drivers.harness import APP
from sandbox.drivers.iam_analysis import needs, project_operator_policies, project_roles, read, table, unneeded
from sandbox.iam.table import unlike

ENV = APP.split("-", 1)[1]  # local
ECS_ENV = "ecs"  # inventories/local-ecs (tests/e2e/test_ecs_controller.py)


def test_every_aws_operation_the_project_called_is_in_the_fidelity_ledger(run):
    """After the whole run: each operation the playbooks, the hooks and the CodeDeploy engine called (the
    sandbox's API call counter) has its row in docs/dev/fidelity-ledger.md."""
    called = ledger.project_operations(run.api_calls())
    assert len(called) > 40, "the counter recorded the run"
    missing = sorted(called - ledger.ledger_rows())
    assert missing == [], f"operations called but not in docs/dev/fidelity-ledger.md: {missing}"


def test_every_authorization_of_the_run_follows_its_row_of_the_declared_table(run):
    """Every decision of the whole run (every principal, every environment; logs/iam-decisions.jsonl) against the
    sandbox's declared table of authorization (sandbox/iam/table.py, itself held against the Service Authorization
    Reference by tests/unit/sandbox/test_iam_table.py): the action has its row, the resource is of one of the row's
    resource types by the reference's ARN formats ("*" only where the row says so), and the request context carries
    no service condition key the row does not declare. An operation the sandbox authorized on "*" for want of an
    extractor fails here by name."""
    decisions = [
        json.loads(line)
        for line in (run.home / "logs" / "iam-decisions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    checked = [d for d in decisions if d["source"] != "trust"]  # sts:AssumeRole of a service principal
    assert len({d["action"] for d in checked}) > 80, "the decision log recorded the run"
    departures = sorted({found for d in checked if (found := unlike(d))})
    assert departures == [], f"authorizations unlike their row: {departures[:20]}"


def test_every_statement_of_every_role_and_operator_policy_was_needed_by_a_scenario(run):
    """From the decision log of the whole run (every call of every principal, with the statements that allowed
    it): each action of each statement of the application's roles and of its environment's operator policies was
    the only grant of some call, except the few module_utils/iam/ keeps for an AWS path the sandbox
    cannot take. A service's roles are the same statements under its own names: a call of the worker's role (the
    scenarios of test_worker_service.py run there) counts for the statement it shares with the application's. The
    table, with the first scenario and call that needed each, is written to the sandbox's logs/iam-analysis.md."""
    assert_every_statement_needed(
        run, ENV, "codedeploy", "iam-analysis.md", UNEXERCISED, groups=("local", "worker"), services=(None, "worker")
    )


def test_every_statement_of_the_ecs_controllers_roles_and_operator_policies_was_needed(run):
    """The same for the ECS controller's environment (`orders-ecs`, tests/e2e/test_ecs_controller.py): its roles
    (the ECS roles among them) and its operator policies for the ECS controller, each statement the only grant of
    some call of its scenarios. Its table: logs/iam-analysis-ecs.md."""
    assert_every_statement_needed(
        run, ECS_ENV, "ecs", "iam-analysis-ecs.md", UNEXERCISED_ON_THE_ECS_PATH, groups=("ecs",)
    )


def assert_every_statement_needed(
    run, env: str, controller: str, table_name: str, unexercised: dict, *, groups: tuple, services: tuple = (None,)
) -> None:
    logs = run.home / "logs"
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
    timeline = read(run.home / "scenarios.jsonl")
    # Each environment's calls belong to its scenarios, whichever other environment's ran meanwhile.
    timeline = [entry for entry in timeline if entry["group"] in groups]
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
