"""What the API shows of a deployment (GetDeployment, BatchGetDeploymentTargets), from its recorded state:
pure functions, the live task sets passed in."""

from __future__ import annotations

from sandbox.codedeploy.model import EVENTS


def without_content(revision: dict) -> dict:
    """A revision as GetDeployment returns it: AppSpecContent keeps its sha256, never its content (botocore
    drops the null member, so clients see no `content` key at all)."""
    if (revision or {}).get("revisionType") != "AppSpecContent":
        return revision
    kept = {k: v for k, v in (revision.get("appSpecContent") or {}).items() if k != "content" and v is not None}
    return {**revision, "appSpecContent": kept}


def target_status(status: str) -> str:
    return {
        "Created": "Pending",
        "Queued": "Pending",
        "InProgress": "InProgress",
        "Baking": "InProgress",
        "Ready": "Ready",
        "Succeeded": "Succeeded",
        "Failed": "Failed",
        "Stopped": "Failed",
    }[status]


def deployment_info(body: dict) -> dict:
    info = {k: v for k, v in body.items() if not k.startswith("_")}
    # GetDeployment (API reference): "The content property of the appSpecContent object in the returned
    # revision is always null. Use GetApplicationRevision and the sha256 property ... to get the content."
    for key in ("revision", "previousRevision"):
        if key in info:
            info[key] = without_content(info[key])
    overview = dict.fromkeys(["Pending", "InProgress", "Succeeded", "Failed", "Skipped", "Ready"], 0)
    overview[target_status(body["status"])] += 1
    info["deploymentOverview"] = overview
    return info


def deployment_targets(body: dict, live: dict) -> list[dict]:
    """The deployment's one ECS target, `live` being the service's task sets by id (empty once it ended)."""
    engine = body["_engine"]
    if "target" not in engine:
        return []
    target = engine["target"]
    events = []
    for name in EVENTS:
        event = engine["events"][name]
        entry = {"lifecycleEventName": name, "status": event["status"]}
        for key in ("startTime", "endTime", "diagnostics"):
            if key in event:
                entry[key] = event[key]
        events.append(entry)
    return [
        {
            "deploymentTargetType": "ECSTarget",
            "ecsTarget": {
                "deploymentId": body["deploymentId"],
                "targetId": target["id"],
                "targetArn": target["arn"],
                "lastUpdatedAt": engine.get("updated", body["createTime"]),
                "lifecycleEvents": events,
                "status": target_status(body["status"]),
                "taskSetsInfo": task_sets_info(body, live),
            },
        }
    ]


def task_sets_info(body: dict, live: dict) -> list[dict]:
    engine = body["_engine"]
    recorded = engine.get("task_sets") or {}
    green_weight = engine.get("green_weight", 0)
    info = []
    for label in ("Blue", "Green"):
        task_set = recorded.get(label)
        if not task_set:
            continue
        current = live.get(task_set["id"], {})
        info.append(
            {
                "identifer": task_set["id"],
                "desiredCount": current.get("computedDesiredCount", task_set.get("desiredCount", 0)),
                "pendingCount": current.get("pendingCount", 0),
                "runningCount": current.get("runningCount", task_set.get("runningCount", 0)),
                "status": current.get("status", task_set.get("status", "DRAINING")),
                "trafficWeight": float(green_weight if label == "Green" else 100 - green_weight),
                "targetGroup": {"name": task_set["targetGroup"]},
                "taskSetLabel": label,
            }
        )
    return info
