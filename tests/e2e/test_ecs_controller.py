"""The ECS controller (bluegreen_controller: ecs, inventories/local-ecs) through the same playbooks as CodeDeploy's:
each scenario of tests/e2e/test_bluegreen.py where the ECS path differs. They ran one after another in an
environment of their own (`orders-ecs`), beside the other scenarios, from the session's start
(tests/e2e/background.py); each test here asserts on what its scenario saw."""

from __future__ import annotations

import re

import pytest

from sandbox.canary import blast_radius
from sandbox.observe import LoadGenerator
from tests.e2e.background import ECS_ENV
from tests.e2e.test_alarms import assert_blast_radius_as_predicted


@pytest.fixture(scope="module")
def seen(sandbox) -> dict:
    return sandbox.background["ecs"].result(timeout=1500)


def words(text: str) -> str:
    return " ".join(text.replace("''", "'").split())


def test_provision_makes_an_ecs_native_service_with_listener_rules_and_no_codedeploy(seen):
    output = seen["provision"]

    def result_of(task: str) -> str:
        found = re.search(re.escape(task) + r"[^\n]*\n(\w+):", output)
        assert found, f"no task {task!r} in the provision's output"
        return found.group(1)

    assert result_of("TASK [load_balancer : Listener rules of a new load balancer") == "changed"
    assert result_of("TASK [ecs_service : The service, deploying itself blue/green") == "changed"
    # The ECS controller's provider of the service role ran; CodeDeploy's (present_codedeploy.yml) was not included.
    assert "TASK [ecs_service : The service as its deployment controller has it - ecs]" in output
    assert "TASK [ecs_service : The service, blue/green through CodeDeploy" not in output
    assert result_of("TASK [codedeploy : CodeDeploy, present]") == "skipping"  # no CodeDeploy resources
    assert seen["served_first"] == {"1.0.0": 10}


def test_a_new_services_first_deployment_runs_every_hook_and_its_migrations_create_the_schema(seen):
    """ECS invokes the lifecycle hooks for CreateService too (AWS's sample hooks tell a first deployment from an
    update): provisioning follows that deployment instead of migrating beside it, the migration hook creates the
    schema before the test-traffic hook's smoke requests (the reverse of a later deployment's order), and the
    service starts without its manual-promote pause, which nothing would continue."""
    output = words(seen["provision"])
    assert "Follow the new service's first deployment" in output
    assert "deployment SUCCESSFUL" in output, output[-3000:]
    # Every hook was invoked for it and succeeded (each function's own log, by the deployment's id).
    for hook, lines in seen["first_hooks"].items():
        assert any('"message": "Succeeded"' in line for line in lines), (hook, lines[-3:])
    first = seen["first_deployment"]
    assert first["sourceServiceRevisions"] == []
    assert first["status"] == "SUCCESSFUL"
    # The migration hook ran the first schema's migration: one task, which exited 0; provisioning ran none itself.
    assert seen["first_migrations"] == [0], seen["first_migrations"]


def test_a_linear_deploy_and_the_rollback_after_it_under_load_lose_no_request(seen):
    load = seen["load"]
    assert load["failed"] == [], load["failed"][:5]
    assert load["samples"] > load["during_deploy"] > 200
    assert load["by_version"][load["version"]] > 0
    output = words(seen["deploy"])
    # Each traffic step of the LINEAR strategy (20 % a step), reported as it happened, then the bake time.
    for share in (20, 40, 60, 80, 100):
        assert f"replacement {share}%" in output, output[-3000:]
    assert "stage BAKE_TIME" in output
    assert "deployment SUCCESSFUL" in output
    assert "Seconds per lifecycle stage:" in output
    assert seen["served_deployed"] == {load["version"]: 10}
    assert "redeployed" in seen["rollback_after"]
    assert load["version"] not in seen["served_rolled_back"]


def test_describe_services_follows_an_ecs_native_deployment_and_services_stable_waits_for_its_end(seen):
    """DescribeServices' deployments during a LINEAR deployment as AWS is observed to show them: the new revision
    PRIMARY (IN_PROGRESS) and the previous ACTIVE, both running, until the deployment ends, bake time included; then
    one PRIMARY, COMPLETED, of the new task definition. The AWS CLI's services-stable waiter returns only after the
    service deployment finished."""
    view = seen["service_view"]
    assert view["code"] == 0, view["output"]
    assert view["status"] == "SUCCESSFUL"
    assert view["finished"] is not None, view
    assert view["returned"] >= view["finished"], view
    during = [v for v in view["views"] if v["at"] < view["finished"]]
    assert any(len(v["deployments"]) == 2 for v in during), during[-5:]
    for v in during:
        if len(v["deployments"]) == 2:
            (primary, active) = v["deployments"]
            assert (primary[0], primary[1], active[0]) == ("PRIMARY", "IN_PROGRESS", "ACTIVE"), v
    last = view["views"][-1]
    ((status, rollout, definition, running),) = last["deployments"]
    assert (status, rollout) == ("PRIMARY", "COMPLETED"), last
    assert definition == last["task_definition"], last
    assert running == last["desired"], last


def test_readiness_failure_rolls_back_at_post_test_traffic_shift(seen):
    readiness = seen["readiness"]
    output = words(readiness["output"])
    assert readiness["code"] != 0
    assert "ended ROLLBACK_SUCCESSFUL" in output, output[-3000:]
    assert "validate-test-traffic" in output
    assert "Production is served by the previous revision" in output
    # Why, from the hook's own log (ECS only says it FAILED).
    assert "The hook said: orders-ecs-validate-test-traffic: GET /ready on the test listener" in output, output[-3000:]
    assert len(readiness["served"]) == 1
    assert sum(readiness["served"].values()) == 20


def test_a_failing_migration_rolls_back_and_production_keeps_serving(seen):
    migration = seen["migration"]
    output = words(migration["output"])
    assert migration["code"] != 0
    assert "ended ROLLBACK_SUCCESSFUL" in output, output[-3000:]
    assert "run-migrations" in output
    assert migration["served"] == seen["readiness"]["served"]
    assert migration["item"]["name"] == "kept"  # the data written before the failed migration is there


def test_manual_promote_waits_at_the_pause_hook_until_promote(seen):
    promoted = seen["promoted"]
    assert promoted["paused"]
    assert len(seen["paused_served"]) == 1  # production unchanged while paused
    assert "waiting for promote.yml" in words(promoted["output"])
    assert "Promoted" in words(seen["promote"])
    assert promoted["code"] == 0, promoted["output"][-3000:]
    assert seen["served_promoted"] != seen["paused_served"]


def test_another_revisions_deploy_is_refused_then_replaces_the_active_one_with_replace_active(seen):
    """While a deployment waits at its PAUSE hook, a deploy of another revision changes nothing and says how to go
    on; with replace_active the deploy access stops the waiting one with rollback and deploys its own."""
    replaced = seen["replaced"]
    code, output = replaced["refused"]
    assert code != 0
    assert "of another revision is IN_PROGRESS" in words(output), words(output)[-2000:]
    assert "set replace_active" in words(output)
    assert replaced["still_paused"], "the refused deploy changed the deployment in progress"
    code, output, _ = replaced["first"]
    assert code != 0, "the replaced deployment's own deploy must fail"
    assert "ended ROLLBACK_SUCCESSFUL" in words(output), words(output)[-2000:]
    assert replaced["first_status"] == "ROLLBACK_SUCCESSFUL"
    code, output, replacing = replaced["second"]
    assert code == 0, words(output)[-3000:]
    assert replaced["served"] == {replacing: 20}


def test_rollback_during_a_deployment_stops_it_and_the_deploy_fails_saying_where_production_is(seen):
    stopped = seen["stopped"]
    output = words(stopped["output"])
    assert stopped["code"] != 0
    assert "ROLLBACK_SUCCESSFUL" in output, output[-3000:]
    assert stopped["served"] == {stopped["before"]: 20}
    assert "stopped" in seen["rollback_during"]


def test_a_deploy_killed_mid_deployment_is_followed_when_run_again(seen):
    resumed = seen["resumed"]
    assert resumed["code"] == 0, resumed["output"][-3000:]
    assert resumed["new_deployments"] == 0, "the second run started another deployment"
    assert "this run follows it" in words(resumed["output"])
    assert resumed["served"] == {resumed["version"]: 20}


def test_a_version_failing_real_requests_is_rolled_back_by_its_alarm_during_the_canary(seen):
    """The alarm scenario of tests/e2e/test_alarms.py on the ECS path: the error-rate alarm of the canary's target
    group fires from the load balancer's metrics of real requests, ECS rolls back, and the play fails naming the
    alarm, why it fired (from CloudWatch: ECS only names it) and where production is."""
    run, latest = seen["alarm"]["run"], seen["alarm"]["latest"]
    alarm = f"orders-{ECS_ENV}-error-rate-{run.color}"
    output = words(run.result.stdout)
    assert run.result.returncode != 0, output[-3000:]
    assert latest["status"] == "ROLLBACK_SUCCESSFUL"
    assert alarm in latest["alarms"]["triggeredAlarmNames"]
    assert f"alarm(s) {alarm} in ALARM" in output, output[-3000:]
    assert f"CloudWatch says: {alarm}: Threshold Crossed:" in output
    assert "Production is served by the previous revision" in output
    # Caught while a canary: the rule's weights never went past 10 %, and all went back.
    shares = [weights.get(run.canary_group, 0) for _, weights in run.changes]
    assert max(shares) == 10, run.changes
    assert shares[-1] == 0
    assert alarm in run.alarms
    assert set(seen["alarm"]["served"]) == set(run.old)
    failed = LoadGenerator.failed(run.samples)
    assert failed, "no request met the fault: the alarm cannot have fired from real traffic"
    assert {s.status for s in failed} == {500}
    assert_blast_radius_as_predicted(blast_radius(run, fault_share=0.3))


def test_provision_and_the_drift_check_after_deployments_change_nothing(seen):
    assert "changed=0" in seen["provision_again"], seen["provision_again"][-3000:]
    code, output = seen["drift"]
    assert code == 0, output[-3000:]
    assert "changed=0" in output
    assert f"orders-{ECS_ENV}" in seen["status"]
    assert "Production answers version" in seen["status"]
    assert "is torn down" in seen["teardown"]


@pytest.fixture(scope="module")
def migration(sandbox) -> dict:
    return sandbox.background["migration"].result(timeout=1500)


def test_the_move_to_ecs_is_refused_while_a_codedeploy_deployment_is_active(migration):
    refused = migration["refused"]
    assert refused["code"] != 0
    assert "Not moved, nothing changed: CodeDeploy deployment" in words(refused["output"])
    # The deployment went on under CodeDeploy and ended with one task set serving it.
    before = migration["before"]
    assert before["served"] == {before["version"]: 10}
    assert len(before["task_sets"]) == 1
    # CodeDeploy left production on green: the move must keep serving from there.
    assert ":targetgroup/orders-mig-green/" in before["task_sets"][0]["loadBalancers"][0]["targetGroupArn"]


def test_migrate_controller_moves_a_live_service_under_load_without_a_failed_request(migration):
    moved = migration["moved"]
    assert moved["code"] == 0, moved["output"][-4000:]
    assert moved["failed"] == [], moved["failed"][:5]
    assert moved["samples"] > 100
    version = migration["before"]["version"]
    assert moved["by_version"] == {version: moved["samples"]}  # the same version throughout
    # UpdateService with loadBalancers starts a service deployment: the move followed it through its hooks.
    assert "deployment SUCCESSFUL" in words(moved["output"]), moved["output"][-4000:]
    assert "orders-mig-run-migrations" in words(moved["output"])
    assert moved["served"] == {version: 20}
    assert migration["service"]["controller"] == "ECS"
    assert migration["service"]["strategy"] == "LINEAR"
    assert migration["service"]["task_sets"] == []
    assert "orders-mig" not in migration["service"]["applications"]  # CodeDeploy's application went


def test_a_moved_service_deploys_through_ecs_and_a_second_move_changes_nothing(migration):
    deployed = migration["deployed"]
    assert deployed["code"] == 0, deployed["output"][-4000:]
    assert "deployment SUCCESSFUL" in words(deployed["output"])
    assert deployed["served"] == {deployed["version"]: 20}
    assert "is deployed by ECS itself already, as inventories/mig says: nothing to move" in words(migration["again"])
    assert "is torn down" in migration["teardown"], migration["teardown"][-4000:]


def test_the_way_back_replaces_the_service_under_load_without_a_failed_request(migration):
    """ECS -> CodeDeploy (AWS documents no in-place move back): a bridge serves the group ECS left production on
    while the service is replaced under its name as a CODE_DEPLOY service in that group. The first run is killed
    once the ECS service is gone; the second goes on from there. The load ran across both."""
    interrupted = migration["interrupted"]
    assert interrupted["code"] == -9, interrupted["output"][-3000:]  # killed, not ended
    assert interrupted["listed"] == ["orders-mig-bridge"]  # the service deleted, the bridge serving alone
    back = migration["back"]
    assert back["code"] == 0, back["output"][-4000:]
    assert back["failed"] == [], back["failed"][:5]
    assert back["samples"] > 100
    version = migration["deployed"]["version"]
    assert back["by_version"] == {version: back["samples"]}  # the same version throughout: nothing was deployed
    assert back["served"] == {version: 20}
    # Production stays on the group ECS left it on, now through the listeners' default actions: no rule is left.
    assert back["serving"] == migration["serving_before_back"]
    assert back["rules"] == {8080: [], 8443: []}
    service = back["service"]
    assert service["controller"] == "CODE_DEPLOY"
    (task_set,) = service["task_sets"]
    assert f":targetgroup/{back['serving']}/" in task_set["loadBalancers"][0]["targetGroupArn"]
    assert service["listed"] == ["orders-mig"]  # the bridge is gone
    assert "orders-mig" in service["applications"]
    output = words(back["output"])
    assert "is deployed by CodeDeploy again" in output


def test_a_service_moved_back_deploys_through_codedeploy_and_a_second_move_changes_nothing(migration):
    redeployed = migration["redeployed"]
    assert redeployed["code"] == 0, redeployed["output"][-4000:]
    assert redeployed["served"] == {redeployed["version"]: 20}
    assert "is deployed by CodeDeploy already, as inventories/mig says: nothing to move" in words(
        migration["back_again"]
    )
