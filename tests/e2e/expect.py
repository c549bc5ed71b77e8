"""What the scenarios of several environments assert alike: what production serves, a rollback's end, a canary's
blast radius."""

from __future__ import annotations

from sandbox.drivers.observe import BlastRadius


def serving(sandbox) -> str:
    served = sandbox.versions_served(10)
    assert len(served) == 1, f"production serves a mix: {served}"
    return next(iter(served))


def assert_rolled_back(sandbox, failed: dict, old_version: str) -> None:
    rollback_id = failed["rollbackInfo"]["rollbackDeploymentId"]
    rollback = sandbox.client("codedeploy").get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == failed["deploymentId"]
    assert rollback["status"] == "Succeeded"
    assert sandbox.versions_served(20) == {old_version: 20}
    assert len(sandbox.task_sets()) == 1, "the replacement task set was not removed"


def assert_blast_radius_as_predicted(radius: BlastRadius) -> None:
    """The bad requests are what the canary's share, the fault's share and the seconds the canary had traffic
    predict (within the noise of a few requests): nothing else failed or slowed down."""
    predicted = radius.predicted
    assert predicted is not None, radius.changes
    bad = len(radius.bad_samples)
    assert 0.5 * predicted - 3 <= bad <= 1.5 * predicted + 3, "\n".join(radius.lines())
