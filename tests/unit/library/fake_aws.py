"""A scriptable CodeDeploy and ECS for module tests, checked against the real service models
(tests/botocore_fake.py)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import boto3

from tests.botocore_fake import Answers, AwsError

T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)


class FakeClock:
    """Replaces time.monotonic and time.sleep: sleeping advances the clock at once."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def at(self, seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)


class FakeService(Answers):
    """A boto3 client of its own whose every call is answered by `handlers[operation](params)`."""

    def __init__(self, service: str = "codedeploy") -> None:
        super().__init__(fallthrough=False)
        self.client = boto3.client(
            service, region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.install(self.client)


def fired_alarm_cloudwatch(requests: float = 100.0, errors: float = 15.0) -> tuple[FakeService, list]:
    """CloudWatch after an error-rate alarm of the green target group fired and went back to OK: its history says
    why, its target group's metrics say what it served. Returns the fake and the (start, end) of each history read."""
    cloudwatch = FakeService("cloudwatch")
    dims = [
        {"Name": "LoadBalancer", "Value": "app/orders-prod/50dc6c495c0c9188"},
        {"Name": "TargetGroup", "Value": "targetgroup/orders-prod-green/4a1b2c3d4e5f6a7b"},
    ]
    cloudwatch.handlers["DescribeAlarms"] = lambda p: {
        "MetricAlarms": [{"AlarmName": p["AlarmNames"][0], "Dimensions": dims, "StateValue": "OK", "StateReason": "x"}]
    }
    windows: list = []

    def history(params):
        windows.append((params["StartDate"], params["EndDate"]))
        fired = {"newState": {"stateValue": "ALARM", "stateReason": "Threshold Crossed: 1 datapoint [30]"}}
        return {"AlarmHistoryItems": [{"HistoryData": json.dumps(fired), "HistoryItemType": "StateUpdate"}]}

    cloudwatch.handlers["DescribeAlarmHistory"] = history
    # errors counts twice (5XX and refused): 15 + 15 of 100.
    cloudwatch.handlers["GetMetricStatistics"] = lambda p: {
        "Datapoints": [{"Sum": {"RequestCount": requests}.get(p["MetricName"], errors)}]
    }
    return cloudwatch, windows


EVENTS = (
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
)


class ScriptedDeployment:
    """A deployment whose state at each moment comes from a script of (seconds, changes) steps."""

    def __init__(self, clock: FakeClock, deployment_id: str, steps: list[tuple[float, dict]], **info) -> None:
        self.clock = clock
        self.deployment_id = deployment_id
        self.steps = sorted(steps, key=lambda step: step[0])
        self.info = info

    def state(self) -> dict:
        state: dict = {"status": "Created", "events": {}, "weights": None, "started": {}, "ended": {}}
        for at, changes in self.steps:
            if at > self.clock.now:
                break
            for event, status in changes.get("events", {}).items():
                if status == "InProgress":
                    state["started"][event] = at
                elif status in ("Succeeded", "Failed"):
                    state["started"].setdefault(event, at)
                    state["ended"][event] = at
            state["events"] = {**state["events"], **changes.get("events", {})}
            state.update({k: v for k, v in changes.items() if k != "events"})
            state["changed_at"] = at
        return state

    def deployment_info(self) -> dict:
        state = self.state()
        info = {
            "deploymentId": self.deployment_id,
            "applicationName": "orders",
            "deploymentGroupName": "orders-prod",
            "deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            "status": state["status"],
            "createTime": self.clock.at(0),
            "computePlatform": "ECS",
            "creator": "user",
            "deploymentOverview": {
                "Pending": 0 if state["status"] != "Created" else 1,
                "InProgress": 1 if state["status"] in ("InProgress", "Baking", "Ready") else 0,
                "Succeeded": 1 if state["status"] == "Succeeded" else 0,
                "Failed": 1 if state["status"] in ("Failed", "Stopped") else 0,
                "Skipped": 0,
                "Ready": 1 if state["status"] == "Ready" else 0,
            },
        }
        info.update(copy.deepcopy(self.info))
        if state["status"] != "Created":
            info["startTime"] = self.clock.at(0.5)
        if state["status"] in ("Succeeded", "Failed", "Stopped"):
            info["completeTime"] = self.clock.at(state["changed_at"])
        for key in ("errorInformation", "rollbackInfo", "instanceTerminationWaitTimeStarted", "creator"):
            if key in state:
                info[key] = state[key]
        return info

    def ecs_target(self) -> dict:
        state = self.state()
        events = []
        for name in EVENTS:
            status = state["events"].get(name, "Pending")
            event = {"lifecycleEventName": name, "status": status}
            if name in state["started"]:
                event["startTime"] = self.clock.at(state["started"][name])
            if name in state["ended"]:
                event["endTime"] = self.clock.at(state["ended"][name])
            if status == "Failed" and "diagnostics" in state:
                event["diagnostics"] = state["diagnostics"]
            events.append(event)
        target = {
            "deploymentId": self.deployment_id,
            "targetId": "prod:orders",
            "targetArn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/orders",
            "lastUpdatedAt": self.clock.at(state.get("changed_at", 0)),
            "lifecycleEvents": events,
            "status": state["status"] if state["status"] in ("Succeeded", "Failed", "Ready") else "InProgress",
        }
        if state["weights"] is not None:
            blue, green = state["weights"]
            target["taskSetsInfo"] = [
                {
                    "identifer": "ecs-svc/111",
                    "taskSetLabel": "Blue",
                    "trafficWeight": float(blue),
                    "desiredCount": 2,
                    "runningCount": 2,
                    "pendingCount": 0,
                    "status": "PRIMARY",
                    "targetGroup": {"name": "orders-prod-blue"},
                },
                {
                    "identifer": "ecs-svc/222",
                    "taskSetLabel": "Green",
                    "trafficWeight": float(green),
                    "desiredCount": 2,
                    "runningCount": 2,
                    "pendingCount": 0,
                    "status": "ACTIVE",
                    "targetGroup": {"name": "orders-prod-green"},
                },
            ]
        return target


APPSPEC_SHA_FIELD = "appSpecContent"


class FakeCodeDeploy(FakeService):
    """CodeDeploy with one application `orders`, one group `orders-prod` and scripted deployments."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__("codedeploy")
        self.clock = clock
        self.deployments: dict[str, ScriptedDeployment] = {}
        self.revisions: dict[str, dict] = {}
        self.last_attempted: str | None = None
        self.next_script: list[tuple[float, dict]] = []
        self.group_exists = True
        self.handlers.update(
            GetDeployment=self._get_deployment,
            GetApplicationRevision=self._get_application_revision,
            BatchGetDeployments=self._batch_get_deployments,
            ListDeployments=self._list_deployments,
            ListDeploymentTargets=self._list_targets,
            BatchGetDeploymentTargets=self._batch_get_targets,
            GetDeploymentGroup=self._get_group,
            CreateDeployment=self._create_deployment,
            StopDeployment=self._stop_deployment,
            ContinueDeployment=self._continue_deployment,
        )

    def add(self, deployment_id: str, steps, sha256: str = "old", content: str = "{}", **info) -> ScriptedDeployment:
        # Created now, in the order added (a millisecond apart at the same moment): "newest first" is well defined.
        info.setdefault("createTime", self.clock.at(self.clock.now + len(self.deployments) / 1000))
        scripted = ScriptedDeployment(self.clock, deployment_id, steps, **info)
        self.deployments[deployment_id] = scripted
        self.revisions[deployment_id] = {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": sha256},
        }
        self.last_attempted = deployment_id
        return scripted

    def _info(self, deployment_id: str) -> dict:
        if deployment_id not in self.deployments:
            raise AwsError("DeploymentDoesNotExistException", f"{deployment_id} does not exist")
        info = self.deployments[deployment_id].deployment_info()
        # As on AWS, GetDeployment's appSpecContent carries the sha256 and never the content.
        revision = self.revisions[deployment_id]
        info["revision"] = {**revision, "appSpecContent": {"sha256": revision["appSpecContent"]["sha256"]}}
        return info

    def _get_application_revision(self, params):
        digest = params["revision"]["appSpecContent"]["sha256"]
        for revision in self.revisions.values():
            if revision["appSpecContent"]["sha256"] == digest:
                return {"applicationName": params["applicationName"], "revision": revision}
        raise AwsError("RevisionDoesNotExistException", f"No revision {digest}")

    def _get_deployment(self, params):
        return {"deploymentInfo": self._info(params["deploymentId"])}

    def _batch_get_deployments(self, params):
        return {"deploymentsInfo": [self._info(i) for i in params["deploymentIds"]]}

    def _list_deployments(self, params):
        wanted = set(params.get("includeOnlyStatuses") or [])
        ids = [i for i in self.deployments if not wanted or self._info(i)["status"] in wanted]
        return {"deployments": ids}

    def _list_targets(self, params):
        self._info(params["deploymentId"])
        return {"targetIds": ["prod:orders"]}

    def _batch_get_targets(self, params):
        target = self.deployments[params["deploymentId"]].ecs_target()
        return {"deploymentTargets": [{"deploymentTargetType": "ECSTarget", "ecsTarget": target}]}

    def _get_group(self, params):
        if not self.group_exists:
            raise AwsError("DeploymentGroupDoesNotExistException", "No such group")
        group = {
            "applicationName": params["applicationName"],
            "deploymentGroupName": params["deploymentGroupName"],
            "computePlatform": "ECS",
        }
        if self.last_attempted:
            info = self._info(self.last_attempted)
            group["lastAttemptedDeployment"] = {"deploymentId": self.last_attempted, "status": info["status"]}
        return {"deploymentGroupInfo": group}

    def _create_deployment(self, params):
        active = [i for i in self.deployments if self._info(i)["status"] not in ("Succeeded", "Failed", "Stopped")]
        if active:
            raise AwsError("DeploymentLimitExceededException", f"The deployment {active[0]} is already in progress")
        deployment_id = f"d-NEW{len(self.deployments):06d}"
        start = self.clock.now
        steps = [(start + at, changes) for at, changes in self.next_script]
        revision = params["revision"]["appSpecContent"]
        self.add(deployment_id, steps, sha256=revision["sha256"], content=revision["content"])
        return {"deploymentId": deployment_id}

    def _stop_deployment(self, params):
        scripted = self.deployments[params["deploymentId"]]
        now = self.clock.now
        if params.get("autoRollbackEnabled"):
            rollback_id = f"d-RB{len(self.deployments):07d}"
            # CodeDeploy's rollback deploys the group's last successful revision again.
            good = [
                i for i in self.deployments if i != params["deploymentId"] and self._info(i)["status"] == "Succeeded"
            ]
            last_good = max(good, key=lambda i: self._info(i)["createTime"], default=None)
            revision = (
                self.revisions[last_good]["appSpecContent"] if last_good else {"sha256": "rollback", "content": "{}"}
            )
            self.add(
                rollback_id,
                [
                    (now, {"status": "InProgress", "weights": (50, 50)}),
                    (now + 4, {"status": "Succeeded", "weights": (100, 0)}),
                ],
                sha256=revision["sha256"],
                content=revision["content"],
                creator="codeDeployRollback",
                rollbackInfo={"rollbackTriggeringDeploymentId": params["deploymentId"]},
            )
            self.last_attempted = rollback_id
            scripted.steps.append(
                (
                    now + 1,
                    {
                        "status": "Stopped",
                        "rollbackInfo": {
                            "rollbackDeploymentId": rollback_id,
                            "rollbackMessage": "Stopped on request",
                        },
                        "errorInformation": {"code": "MANUAL_STOP", "message": "Stopped on request"},
                    },
                )
            )
        else:
            scripted.steps.append(
                (
                    now + 1,
                    {
                        "status": "Stopped",
                        "errorInformation": {"code": "MANUAL_STOP", "message": "Stopped on request"},
                    },
                )
            )
        return {"status": "Pending", "statusMessage": "Stopping"}

    def _continue_deployment(self, params):
        scripted = self.deployments[params["deploymentId"]]
        now = self.clock.now
        scripted.steps.extend(
            [
                (
                    now,
                    {"status": "InProgress", "events": {"AllowTraffic": "InProgress"}, "weights": (0, 100)},
                ),
                (now + 2, {"events": {"AllowTraffic": "Succeeded", "AfterAllowTraffic": "Succeeded"}}),
                (now + 3, {"status": "Succeeded"}),
            ]
        )
        return {}


class FakeCodeDeployResources(FakeService):
    """Applications, deployment groups, deployment configs and tags, kept as CodeDeploy keeps them."""

    def __init__(self) -> None:
        super().__init__("codedeploy")
        self.applications: dict[str, dict] = {}
        self.groups: dict[tuple[str, str], dict] = {}
        self.configs: dict[str, dict] = {}
        self.tags: dict[str, list[dict]] = {}
        self.handlers.update(
            GetApplication=self._get_application,
            CreateApplication=self._create_application,
            DeleteApplication=self._delete_application,
            ListApplications=lambda p: {"applications": sorted(self.applications)},
            GetDeploymentGroup=self._get_group,
            CreateDeploymentGroup=self._create_group,
            UpdateDeploymentGroup=self._update_group,
            DeleteDeploymentGroup=self._delete_group,
            ListDeploymentGroups=lambda p: {
                "applicationName": p["applicationName"],
                "deploymentGroups": sorted(g for a, g in self.groups if a == p["applicationName"]),
            },
            BatchGetDeploymentGroups=lambda p: {
                "deploymentGroupsInfo": [self.groups[(p["applicationName"], g)] for g in p["deploymentGroupNames"]]
            },
            GetDeploymentConfig=self._get_config,
            CreateDeploymentConfig=self._create_config,
            DeleteDeploymentConfig=self._delete_config,
            ListTagsForResource=lambda p: {"Tags": self.tags.get(p["ResourceArn"], [])},
            TagResource=self._tag,
            UntagResource=self._untag,
        )

    def _get_application(self, params):
        name = params["applicationName"]
        if name not in self.applications:
            raise AwsError("ApplicationDoesNotExistException", f"No application {name}")
        return {"application": self.applications[name]}

    def _create_application(self, params):
        name = params["applicationName"]
        self.applications[name] = {
            "applicationId": f"app-{len(self.applications)}",
            "applicationName": name,
            "createTime": T0,
            "linkedToGitHub": False,
            "computePlatform": params.get("computePlatform", "Server"),
        }
        self.tags[f"arn:aws:codedeploy:eu-west-1:123456789012:application:{name}"] = params.get("tags", [])
        return {"applicationId": self.applications[name]["applicationId"]}

    def _delete_application(self, params):
        self.applications.pop(params["applicationName"])
        for key in [k for k in self.groups if k[0] == params["applicationName"]]:
            del self.groups[key]

    def _get_group(self, params):
        if params["applicationName"] not in self.applications:
            raise AwsError("ApplicationDoesNotExistException", "No application")
        key = (params["applicationName"], params["deploymentGroupName"])
        if key not in self.groups:
            raise AwsError("DeploymentGroupDoesNotExistException", "No group")
        return {"deploymentGroupInfo": copy.deepcopy(self.groups[key])}

    def _create_group(self, params):
        if params.get("deploymentConfigName", "").startswith("missing"):
            raise AwsError("DeploymentConfigDoesNotExistException", "No such config")
        group = copy.deepcopy({k: v for k, v in params.items() if k != "tags"})
        group.setdefault("deploymentConfigName", "CodeDeployDefault.OneAtATime")
        # AWS answers with its defaults filled in: the comparison must not take them for changes.
        group.setdefault("alarmConfiguration", {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []})
        group.setdefault("autoRollbackConfiguration", {"enabled": False, "events": []})
        group.setdefault("triggerConfigurations", [])
        group["blueGreenDeploymentConfiguration"].setdefault(
            "greenFleetProvisioningOption", {"action": "DISCOVER_EXISTING"}
        )
        group.update(deploymentGroupId=f"dg-{len(self.groups)}", computePlatform="ECS")
        self.groups[(params["applicationName"], params["deploymentGroupName"])] = group
        arn = (
            f"arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:{params['applicationName']}/"
            + params["deploymentGroupName"]
        )
        self.tags[arn] = params.get("tags", [])
        return {"deploymentGroupId": group["deploymentGroupId"]}

    def _update_group(self, params):
        key = (params["applicationName"], params["currentDeploymentGroupName"])
        changes = {k: v for k, v in params.items() if k not in ("applicationName", "currentDeploymentGroupName")}
        self.groups[key].update(copy.deepcopy(changes))
        return {"hooksNotCleanedUp": []}

    def _delete_group(self, params):
        del self.groups[(params["applicationName"], params["deploymentGroupName"])]
        return {"hooksNotCleanedUp": []}

    def _get_config(self, params):
        name = params["deploymentConfigName"]
        if name not in self.configs:
            raise AwsError("DeploymentConfigDoesNotExistException", f"No config {name}")
        return {"deploymentConfigInfo": self.configs[name]}

    def _create_config(self, params):
        name = params["deploymentConfigName"]
        if name in self.configs:
            raise AwsError("DeploymentConfigAlreadyExistsException", name)
        self.configs[name] = {
            "deploymentConfigId": f"cfg-{len(self.configs)}",
            "deploymentConfigName": name,
            "createTime": T0,
            "computePlatform": params["computePlatform"],
            "trafficRoutingConfig": params["trafficRoutingConfig"],
        }
        return {"deploymentConfigId": self.configs[name]["deploymentConfigId"]}

    def _delete_config(self, params):
        # "A deployment configuration cannot be deleted if it is currently in use."
        if any(g.get("deploymentConfigName") == params["deploymentConfigName"] for g in self.groups.values()):
            raise AwsError("DeploymentConfigInUseException", "The deployment configuration is in use.")
        del self.configs[params["deploymentConfigName"]]

    def _tag(self, params):
        existing = {t["Key"]: t["Value"] for t in self.tags.get(params["ResourceArn"], [])}
        existing.update({t["Key"]: t["Value"] for t in params["Tags"]})
        self.tags[params["ResourceArn"]] = [{"Key": k, "Value": v} for k, v in existing.items()]

    def _untag(self, params):
        self.tags[params["ResourceArn"]] = [
            t for t in self.tags.get(params["ResourceArn"], []) if t["Key"] not in params["TagKeys"]
        ]


# ---------------------------------------------------------------------------------------------
# ECS-native blue/green (the ECS controller)
# ---------------------------------------------------------------------------------------------

CLUSTER, SERVICE = "orders-prod", "orders-prod"
ECS_ARN = "arn:aws:ecs:eu-west-1:123456789012"
OLD_TD, NEW_TD = f"{ECS_ARN}:task-definition/orders-prod:41", f"{ECS_ARN}:task-definition/orders-prod:42"
OLD_REV = f"{ECS_ARN}:service-revision/{CLUSTER}/{SERVICE}/111"
NEW_REV = f"{ECS_ARN}:service-revision/{CLUSTER}/{SERVICE}/222"
HOOK = f"{ECS_ARN}:function:orders-prod-"
EPOCH = 1_795_000_000  # the fake clock's zero, as a time of day (deployments carry startedAt / finishedAt)
# What a service provisioned with bluegreen_controller: ecs keeps besides its strategy: hooks, alarms, percentages.
ECS_CONFIGURATION = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "bakeTimeInMinutes": 5,
    "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1},
    "lifecycleHooks": [
        {
            "hookTargetArn": "arn:aws:lambda:eu-west-1:123456789012:function:orders-prod-validate-test-traffic",
            "roleArn": "arn:aws:iam::123456789012:role/orders-prod-ecs-hooks",
            "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        }
    ],
    "alarms": {"alarmNames": ["orders-prod-error-rate-green"], "rollback": True, "enable": True},
}


def ecs_hook(name: str, status: str, kind: str = "AWS_LAMBDA") -> dict:
    hook = {"hookId": name, "targetType": kind, "status": status}
    if kind == "AWS_LAMBDA":
        hook["targetArn"] = HOOK + name
    return hook


# A LINEAR 50 % deployment, step by step: (seconds since UpdateService, what changed).
ECS_LINEAR = [
    (
        0.0,
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "PRE_SCALE_UP",
            "hooks": [ecs_hook("validate-before-install", "IN_PROGRESS")],
        },
    ),
    (2.0, {"lifecycleStage": "SCALE_UP", "hooks": []}),
    (6.0, {"lifecycleStage": "POST_SCALE_UP", "hooks": [ecs_hook("validate-deployment", "IN_PROGRESS")], "running": 2}),
    (9.0, {"lifecycleStage": "TEST_TRAFFIC_SHIFT", "hooks": [], "test": 100.0}),
    (
        11.0,
        {
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "hooks": [ecs_hook("validate-test-traffic", "IN_PROGRESS"), ecs_hook("run-migrations", "IN_PROGRESS")],
        },
    ),
    (15.0, {"hooks": [ecs_hook("validate-test-traffic", "SUCCEEDED"), ecs_hook("run-migrations", "SUCCEEDED")]}),
    (16.0, {"lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT", "hooks": [], "prod": 50.0}),
    (76.0, {"prod": 100.0}),
    (
        77.0,
        {"lifecycleStage": "POST_PRODUCTION_TRAFFIC_SHIFT", "hooks": [ecs_hook("validate-production", "IN_PROGRESS")]},
    ),
    (80.0, {"lifecycleStage": "BAKE_TIME", "hooks": []}),
    (140.0, {"lifecycleStage": "CLEAN_UP"}),
    (142.0, {"status": "SUCCESSFUL"}),
]


class FakeEcs(FakeService):
    """One ECS-native blue/green service; each deployment follows a script on the simulated clock."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__("ecs")
        self.clock = clock
        self.controller, self.strategy = "ECS", "LINEAR"
        self.configuration = copy.deepcopy(ECS_CONFIGURATION)
        self.task_definition = OLD_TD
        self.deployments: dict[str, dict] = {}
        self.next_script = ECS_LINEAR
        # ListServiceDeployments may answer fewer than maxResults (its reference says so) and pages of 20 without it.
        self.page_limit = 20
        self.handlers.update(
            DescribeServices=self._describe_services,
            UpdateService=self._update_service,
            ListServiceDeployments=self._list,
            DescribeServiceDeployments=self._describe,
            DescribeServiceRevisions=self._revisions,
            StopServiceDeployment=self._stop,
            ContinueServiceDeployment=self._continue,
        )

    def add(self, arn: str, task_definition: str, script, started: float = 0.0) -> None:
        self.deployments[arn] = {"task_definition": task_definition, "script": list(script), "started": started}

    def history(self, count: int) -> list[str]:
        """`count` finished deployments a minute apart, alternating the two task definitions, the last one OLD_TD
        (what the service runs); ECS lists them oldest first, two a page. Their ARNs, oldest first."""
        arns = []
        for index in range(count):
            arn = f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/H{index}"
            task_definition = OLD_TD if (count - index) % 2 else NEW_TD
            self.add(arn, task_definition, ECS_LINEAR, started=-60.0 * (count - index) - 500)
            arns.append(arn)
        self.page_limit = 2
        return arns

    def state(self, arn: str) -> dict:
        d = self.deployments[arn]
        state = {"status": "PENDING", "lifecycleStage": None, "hooks": [], "running": 0, "prod": 0.0, "test": 0.0}
        for at, changes in d["script"]:
            if d["started"] + at > self.clock.now:
                break
            state.update(copy.deepcopy(changes))
        return state

    def _describe_services(self, params):
        current = next(reversed(self.deployments), None)
        task_definition = self.task_definition
        if current and self.state(current)["status"] == "ROLLBACK_SUCCESSFUL":
            task_definition = OLD_TD  # rolled back: the service runs its source revision again
        service = {
            "serviceName": SERVICE,
            "status": "ACTIVE",
            "taskDefinition": task_definition,
            "deploymentController": {"type": self.controller},
            "deploymentConfiguration": {**self.configuration, "strategy": self.strategy},
        }
        if current:
            service["currentServiceDeployment"] = current
        return {"services": [service], "failures": []}

    def _update_service(self, params):
        arn = f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/D{len(self.deployments) + 1}"
        self.add(arn, params["taskDefinition"], self.next_script, started=self.clock.now)
        self.task_definition = params["taskDefinition"]
        if "deploymentConfiguration" in params:  # kept by the service, as UpdateService does
            configuration = copy.deepcopy(params["deploymentConfiguration"])
            self.strategy = configuration.pop("strategy", self.strategy)
            self.configuration = configuration
        return {"service": {"serviceName": SERVICE, "currentServiceDeployment": arn}}

    def _brief(self, arn: str) -> dict:
        revision = NEW_REV if self.deployments[arn]["task_definition"] == NEW_TD else OLD_REV
        # Created in the order added (a millisecond apart when added at the same moment of the clock).
        created = EPOCH + self.deployments[arn]["started"] + list(self.deployments).index(arn) / 1000
        return {
            "serviceDeploymentArn": arn,
            "status": self.state(arn)["status"],
            "targetServiceRevisionArn": revision,
            "createdAt": datetime.fromtimestamp(created, UTC),
        }

    def _list(self, params):
        """Oldest first, in pages of maxResults (20 by default), as the sandbox answers: ECS documents no order."""
        briefs = sorted((self._brief(arn) for arn in self.deployments), key=lambda b: b["createdAt"])
        briefs = [b for b in briefs if not params.get("status") or b["status"] in params["status"]]
        start, size = int(params.get("nextToken") or 0), min(params.get("maxResults", 20), self.page_limit)
        page = {"serviceDeployments": briefs[start : start + size]}
        if start + size < len(briefs):
            page["nextToken"] = str(start + size)
        return page

    def _describe(self, params):
        found = []
        for arn in params["serviceDeploymentArns"]:
            state = self.state(arn)
            deployment = {
                "serviceDeploymentArn": arn,
                "status": state["status"],
                "targetServiceRevision": {
                    "arn": self._brief(arn)["targetServiceRevisionArn"],
                    "requestedTaskCount": 2,
                    "runningTaskCount": state["running"],
                    "pendingTaskCount": 0,
                    "requestedProductionTrafficWeight": state["prod"],
                    "requestedTestTrafficWeight": state["test"],
                },
                "sourceServiceRevisions": [{"arn": OLD_REV}],
                "lifecycleHookDetails": state["hooks"],
                "startedAt": datetime.fromtimestamp(EPOCH + self.deployments[arn]["started"], UTC),
            }
            if state["status"] in ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"):
                deployment["finishedAt"] = datetime.fromtimestamp(EPOCH + self.clock.now, UTC)
            if state["lifecycleStage"]:
                deployment["lifecycleStage"] = state["lifecycleStage"]
            for key in ("rollback", "alarms", "statusReason"):
                if key in state:
                    deployment[key] = state[key]
            found.append(deployment)
        return {"serviceDeployments": found, "failures": []}

    def _revisions(self, params):
        return {
            "serviceRevisions": [
                {"serviceRevisionArn": a, "taskDefinition": NEW_TD if a == NEW_REV else OLD_TD}
                for a in params["serviceRevisionArns"]
            ],
            "failures": [],
        }

    def _stop(self, params):
        arn = params["serviceDeploymentArn"]
        now = self.clock.now - self.deployments[arn]["started"]
        self.deployments[arn]["script"] = [step for step in self.deployments[arn]["script"] if step[0] <= now] + [
            (now + 0.5, {"status": "ROLLBACK_IN_PROGRESS", "prod": 0.0}),
            (
                now + 4.0,
                {
                    "status": "ROLLBACK_SUCCESSFUL",
                    "rollback": {"reason": "Stopped by the user", "serviceRevisionArn": OLD_REV},
                },
            ),
        ]
        return {"serviceDeploymentArn": arn}

    def _continue(self, params):
        arn = params["serviceDeploymentArn"]
        now = self.clock.now - self.deployments[arn]["started"]
        self.deployments[arn]["script"] = [step for step in self.deployments[arn]["script"] if step[0] <= now] + [
            (now + 0.5, {"lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT", "hooks": [], "prod": 100.0}),
            (now + 2.0, {"status": "SUCCESSFUL", "lifecycleStage": "CLEAN_UP"}),
        ]
        return {"serviceDeploymentArn": arn}
