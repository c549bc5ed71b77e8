"""CodeDeploy's operations, one method each, named as in the API (sandbox/codedeploy/server.py speaks the protocol):
the applications, deployment configs and groups kept in the store, the deployments the engine runs, their targets
and tags, and what IAM authorizes for each request."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import yaml

from sandbox.codedeploy import engine as deployment_engine
from sandbox.codedeploy import views
from sandbox.codedeploy.model import ACTIVE, HOOK_EVENTS, PREDEFINED_CONFIGS, ApiError, now
from sandbox.codedeploy.model import config as _config
from sandbox.codedeploy.store import Store

PAGE_SIZE = 100
BATCH_LIMIT = 25  # BatchGetDeployments, BatchGetDeploymentTargets


def paginate(items: list, request: dict) -> tuple[list, str | None]:
    start = int(request.get("nextToken") or 0)
    page = items[start : start + PAGE_SIZE]
    return page, (str(start + PAGE_SIZE) if start + PAGE_SIZE < len(items) else None)


class CodeDeploy:
    """One method per operation, named as in the API; each takes the request dict and returns the response."""

    def __init__(self, store: Store, engine: deployment_engine.Engine, region: str, account: str):
        self.store, self.engine, self.region, self.account = store, engine, region, account

    # --- helpers ------------------------------------------------------------------------------------

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:codedeploy:{self.region}:{self.account}:{kind}:{name}"

    def application(self, name: str | None) -> dict:
        if not name:
            raise ApiError("ApplicationNameRequiredException", "The application name must be specified.")
        application = self.store.get("application", name)
        if application is None:
            raise ApiError("ApplicationDoesNotExistException", f"No application found for name: {name}")
        return application

    def group(self, application: str, name: str | None) -> dict:
        self.application(application)
        if not name:
            raise ApiError("DeploymentGroupNameRequiredException", "The deployment group name must be specified.")
        group = self.store.get("group", f"{application}/{name}")
        if group is None:
            raise ApiError("DeploymentGroupDoesNotExistException", f"No Deployment Group found for name: {name}")
        return group

    def config(self, name: str) -> dict:
        found = PREDEFINED_CONFIGS.get(name) or self.store.get("config", name)
        if found is None:
            raise ApiError(
                "DeploymentConfigDoesNotExistException", f"No deployment configuration found for name: {name}"
            )
        return found

    def deployment(self, identifier: str | None) -> dict:
        if not identifier:
            raise ApiError("DeploymentIdRequiredException", "The deployment ID must be specified.")
        if not identifier.startswith("d-") or len(identifier) != 11:
            raise ApiError(
                "InvalidDeploymentIdException", f"Specified DeploymentId is not in the valid format: {identifier}"
            )
        found = self.store.get("deployment", identifier)
        if found is None:
            raise ApiError("DeploymentDoesNotExistException", f"The deployment {identifier} could not be found.")
        return found

    def active_deployment(self, application: str, group: str) -> dict | None:
        for deployment in self.store.all("deployment", f"{application}/{group}"):
            if deployment["status"] in ACTIVE:
                return deployment
        return None

    # --- IAM ---------------------------------------------------------------------------------------

    def authorizations(self, name: str, r: dict) -> list:
        """What IAM authorizes for a request: codedeploy:<Operation> on each resource it names (the Service
        Authorization Reference's resource types: application, deploymentgroup, deploymentconfig; "*" for an
        operation that supports none), and iam:PassRole for the service role a deployment group is given."""
        from sandbox.iam.reference import resource_types

        action = f"codedeploy:{name}"
        types = resource_types(action)
        resources: list[str] = []
        if "deploymentgroup" in types:
            pairs = []
            group = r.get("deploymentGroupName") or r.get("currentDeploymentGroupName")  # UpdateDeploymentGroup
            if group:
                pairs = [(r.get("applicationName"), group)]
            elif r.get("deploymentGroupNames"):
                pairs = [(r.get("applicationName"), g) for g in r["deploymentGroupNames"]]
            for identifier in [r.get("deploymentId"), *(r.get("deploymentIds") or [])]:
                deployment = self.store.get("deployment", identifier) if identifier else None
                if deployment is not None:
                    pairs.append((deployment["applicationName"], deployment["deploymentGroupName"]))
            if not pairs and r.get("applicationName"):
                pairs = [(r["applicationName"], "*")]
            resources += [self.arn("deploymentgroup", f"{a}/{g}") for a, g in pairs]
        if "application" in types and not resources:
            names = r.get("applicationNames") or ([r["applicationName"]] if r.get("applicationName") else [])
            resources += [self.arn("application", n) for n in names]
        if "deploymentconfig" in types and not resources and r.get("deploymentConfigName"):
            resources.append(self.arn("deploymentconfig", r["deploymentConfigName"]))
        if r.get("resourceArn") or r.get("ResourceArn"):
            resources = [r.get("resourceArn") or r["ResourceArn"]]
        found: list[list] = [[action, [[resource, {}] for resource in resources or ["*"]]]]
        if name in ("CreateDeploymentGroup", "UpdateDeploymentGroup") and r.get("serviceRoleArn"):
            found.append(["iam:PassRole", [[r["serviceRoleArn"], {"iam:PassedToService": "codedeploy.amazonaws.com"}]]])
        return found

    # --- applications -------------------------------------------------------------------------------

    def CreateApplication(self, r):
        name = r["applicationName"]
        if r.get("computePlatform", "Server") != "ECS":
            raise ApiError("InvalidComputePlatformException", "The sandbox runs ECS applications only.")
        with self.store.transaction():
            if self.store.get("application", name):
                raise ApiError("ApplicationAlreadyExistsException", f"The application {name} already exists.")
            application_id = str(uuid.uuid4())
            self.store.put(
                "application",
                name,
                {
                    "applicationId": application_id,
                    "applicationName": name,
                    "createTime": now(),
                    "linkedToGitHub": False,
                    "computePlatform": "ECS",
                },
            )
            self.store.tag(self.arn("application", name), r.get("tags", []))
        return {"applicationId": application_id}

    def GetApplication(self, r):
        return {"application": self.application(r["applicationName"])}

    def BatchGetApplications(self, r):
        return {"applicationsInfo": [self.application(name) for name in r["applicationNames"]]}

    def ListApplications(self, r):
        names = sorted(a["applicationName"] for a in self.store.all("application"))
        page, token = paginate(names, r)
        return {"applications": page, **({"nextToken": token} if token else {})}

    def DeleteApplication(self, r):
        name = r["applicationName"]
        with self.store.transaction():
            if not self.store.get("application", name):
                return {}
            for group in self.store.all("group", name):
                if self.active_deployment(name, group["deploymentGroupName"]):
                    raise ApiError(
                        "InvalidOperationException", f"Application {name} has an active deployment: stop it first."
                    )
            for group in self.store.all("group", name):
                self.store.delete("group", f"{name}/{group['deploymentGroupName']}")
                self.store.untag(self.arn("deploymentgroup", f"{name}/{group['deploymentGroupName']}"))
            self.store.delete("application", name)
            self.store.untag(self.arn("application", name))
        return {}

    # --- deployment configs ---------------------------------------------------------------------------

    def CreateDeploymentConfig(self, r):
        name = r["deploymentConfigName"]
        if r.get("computePlatform") != "ECS":
            raise ApiError("InvalidComputePlatformException", "The sandbox creates ECS deployment configs only.")
        routing = r.get("trafficRoutingConfig") or {"type": "AllAtOnce"}
        kind = routing.get("type")
        if kind == "TimeBasedCanary":
            canary = routing.get("timeBasedCanary") or {}
            if not (1 <= canary.get("canaryPercentage", 0) <= 99 and canary.get("canaryInterval", 0) >= 1):
                raise ApiError(
                    "InvalidTrafficRoutingConfigurationException", "Canary percentage must be 1-99, interval >= 1."
                )
        elif kind == "TimeBasedLinear":
            linear = routing.get("timeBasedLinear") or {}
            if not (1 <= linear.get("linearPercentage", 0) <= 99 and linear.get("linearInterval", 0) >= 1):
                raise ApiError(
                    "InvalidTrafficRoutingConfigurationException", "Linear percentage must be 1-99, interval >= 1."
                )
        elif kind != "AllAtOnce":
            raise ApiError("InvalidTrafficRoutingConfigurationException", f"Unknown traffic routing type {kind}.")
        with self.store.transaction():
            if name in PREDEFINED_CONFIGS or self.store.get("config", name):
                raise ApiError(
                    "DeploymentConfigAlreadyExistsException", f"The deployment config {name} already exists."
                )
            body = _config(name, "ECS", routing)
            body["deploymentConfigId"], body["createTime"] = str(uuid.uuid4()), now()
            self.store.put("config", name, body)
        return {"deploymentConfigId": body["deploymentConfigId"]}

    def GetDeploymentConfig(self, r):
        return {"deploymentConfigInfo": self.config(r["deploymentConfigName"])}

    def ListDeploymentConfigs(self, r):
        names = list(PREDEFINED_CONFIGS) + [c["deploymentConfigName"] for c in self.store.all("config")]
        page, token = paginate(names, r)
        return {"deploymentConfigsList": page, **({"nextToken": token} if token else {})}

    def DeleteDeploymentConfig(self, r):
        name = r["deploymentConfigName"]
        if name in PREDEFINED_CONFIGS:
            raise ApiError("InvalidOperationException", "The default deployment configurations cannot be deleted.")
        with self.store.transaction():
            # In use: by a group, or by a deployment still running (a per-deployment override), as on AWS.
            if any(g.get("deploymentConfigName") == name for g in self.store.all("group")) or any(
                d["status"] in ACTIVE and d.get("deploymentConfigName") == name for d in self.store.all("deployment")
            ):
                raise ApiError("DeploymentConfigInUseException", f"The deployment config {name} is in use.")
            self.store.delete("config", name)
        return {}

    # --- deployment groups ----------------------------------------------------------------------------

    def _check_group(self, body: dict) -> None:
        """What AWS checks when an ECS deployment group is created or updated."""
        style = body.get("deploymentStyle") or {}
        if style != {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}:
            raise ApiError(
                "InvalidDeploymentStyleException",
                "An ECS deployment group needs deploymentStyle BLUE_GREEN with WITH_TRAFFIC_CONTROL.",
            )
        services = body.get("ecsServices") or []
        if len(services) != 1:
            raise ApiError("InvalidECSServiceException", "An ECS deployment group needs exactly one ECS service.")
        if not services[0].get("clusterName") or not services[0].get("serviceName"):
            raise ApiError("InvalidECSServiceException", "The ECS service needs clusterName and serviceName.")
        pairs = (body.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []
        if len(pairs) != 1 or len(pairs[0].get("targetGroups") or []) != 2:
            raise ApiError(
                "InvalidTargetGroupPairException", "An ECS deployment group needs one pair of two target groups."
            )
        if not (pairs[0].get("prodTrafficRoute") or {}).get("listenerArns"):
            raise ApiError("InvalidTargetGroupPairException", "The target group pair needs a production listener.")
        if not (body.get("blueGreenDeploymentConfiguration") or {}).get("terminateBlueInstancesOnDeploymentSuccess"):
            body.setdefault("blueGreenDeploymentConfiguration", {})["terminateBlueInstancesOnDeploymentSuccess"] = {
                "action": "TERMINATE",
                "terminationWaitTimeInMinutes": 0,
            }
        body["blueGreenDeploymentConfiguration"].setdefault(
            "deploymentReadyOption", {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
        )
        self.engine.check_group_resources(body)

    def CreateDeploymentGroup(self, r):
        application = self.application(r["applicationName"])
        name = r["deploymentGroupName"]
        self.config(r.get("deploymentConfigName") or "CodeDeployDefault.OneAtATime")
        body = {k: v for k, v in r.items() if k not in ("tags",)}
        body.setdefault("deploymentConfigName", "CodeDeployDefault.OneAtATime")
        body["computePlatform"] = "ECS"
        body.setdefault("autoRollbackConfiguration", {"enabled": False, "events": []})
        body.setdefault("alarmConfiguration", {"enabled": False, "ignorePollAlarmFailure": False, "alarms": []})
        body.setdefault("triggerConfigurations", [])
        body.setdefault("outdatedInstancesStrategy", "UPDATE")
        self._check_group(body)
        with self.store.transaction():
            if self.store.get("group", f"{name and application['applicationName']}/{name}"):
                raise ApiError("DeploymentGroupAlreadyExistsException", f"The deployment group {name} already exists.")
            body["deploymentGroupId"] = str(uuid.uuid4())
            self.store.put(
                "group", f"{application['applicationName']}/{name}", body, parent=application["applicationName"]
            )
            self.store.tag(self.arn("deploymentgroup", f"{application['applicationName']}/{name}"), r.get("tags", []))
        return {"deploymentGroupId": body["deploymentGroupId"]}

    def _group_info(self, group: dict) -> dict:
        info = dict(group)
        for deployment in reversed(
            self.store.all("deployment", f"{group['applicationName']}/{group['deploymentGroupName']}")
        ):
            summary = {
                "deploymentId": deployment["deploymentId"],
                "status": deployment["status"],
                "endTime": deployment.get("completeTime"),
                "createTime": deployment["createTime"],
            }
            if "lastAttemptedDeployment" not in info:
                info["lastAttemptedDeployment"] = summary
            if deployment["status"] == "Succeeded" and "lastSuccessfulDeployment" not in info:
                info["lastSuccessfulDeployment"] = summary
                info["targetRevision"] = views.without_content(deployment["revision"])
        return info

    def GetDeploymentGroup(self, r):
        return {"deploymentGroupInfo": self._group_info(self.group(r["applicationName"], r["deploymentGroupName"]))}

    def BatchGetDeploymentGroups(self, r):
        found, errors = [], []
        for name in r["deploymentGroupNames"]:
            try:
                found.append(self._group_info(self.group(r["applicationName"], name)))
            except ApiError as e:
                if e.code != "DeploymentGroupDoesNotExistException":
                    raise
                errors.append(name)
        return {
            "deploymentGroupsInfo": found,
            **({"errorMessage": f"Deployment groups not found: {', '.join(errors)}"} if errors else {}),
        }

    def ListDeploymentGroups(self, r):
        self.application(r["applicationName"])
        names = [g["deploymentGroupName"] for g in self.store.all("group", r["applicationName"])]
        page, token = paginate(names, r)
        return {
            "applicationName": r["applicationName"],
            "deploymentGroups": page,
            **({"nextToken": token} if token else {}),
        }

    def UpdateDeploymentGroup(self, r):
        application = r["applicationName"]
        with self.store.transaction():
            group = self.group(application, r["currentDeploymentGroupName"])
            new_name = r.get("newDeploymentGroupName") or group["deploymentGroupName"]
            if "deploymentConfigName" in r:
                self.config(r["deploymentConfigName"])
            body = dict(group)
            for key, value in r.items():
                if key not in ("applicationName", "currentDeploymentGroupName", "newDeploymentGroupName"):
                    body[key] = value
            body["deploymentGroupName"] = new_name
            self._check_group(body)
            if new_name != group["deploymentGroupName"]:
                if self.store.get("group", f"{application}/{new_name}"):
                    raise ApiError(
                        "DeploymentGroupAlreadyExistsException", f"The deployment group {new_name} already exists."
                    )
                self.store.delete("group", f"{application}/{group['deploymentGroupName']}")
            self.store.put("group", f"{application}/{new_name}", body, parent=application)
        return {"hooksNotCleanedUp": []}

    def DeleteDeploymentGroup(self, r):
        application, name = r["applicationName"], r["deploymentGroupName"]
        with self.store.transaction():
            self.group(application, name)
            if self.active_deployment(application, name):
                raise ApiError("InvalidOperationException", f"Deployment group {name} has an active deployment.")
            self.store.delete("group", f"{application}/{name}")
            self.store.untag(self.arn("deploymentgroup", f"{application}/{name}"))
        return {"hooksNotCleanedUp": []}

    # --- deployments ----------------------------------------------------------------------------------

    def _appspec(self, revision: dict) -> dict:
        if (revision or {}).get("revisionType") != "AppSpecContent":
            raise ApiError("InvalidRevisionException", "An ECS deployment needs revisionType AppSpecContent.")
        content = (revision.get("appSpecContent") or {}).get("content") or ""
        declared = (revision.get("appSpecContent") or {}).get("sha256")
        if declared and declared != hashlib.sha256(content.encode()).hexdigest():
            raise ApiError("InvalidRevisionException", "The AppSpec content does not match its sha256.")
        try:
            appspec = yaml.safe_load(content)
        except yaml.YAMLError as e:
            raise ApiError("InvalidRevisionException", f"The AppSpec content is not valid YAML or JSON: {e}") from None
        resources = (appspec or {}).get("Resources") if isinstance(appspec, dict) else None
        target = ((resources or [{}])[0] or {}).get("TargetService") or {}
        properties = target.get("Properties") or {}
        balancer = properties.get("LoadBalancerInfo") or {}
        if target.get("Type") != "AWS::ECS::Service" or not properties.get("TaskDefinition"):
            raise ApiError(
                "InvalidRevisionException",
                "The AppSpec needs a TargetService of Type AWS::ECS::Service with a TaskDefinition.",
            )
        if not balancer.get("ContainerName") or not balancer.get("ContainerPort"):
            raise ApiError(
                "InvalidRevisionException", "The AppSpec's LoadBalancerInfo needs ContainerName and ContainerPort."
            )
        for hook in appspec.get("Hooks") or []:
            for event in hook:
                if event not in HOOK_EVENTS:
                    raise ApiError(
                        "InvalidRevisionException", f"The AppSpec hook {event} is not an ECS lifecycle event."
                    )
        return appspec

    def CreateDeployment(self, r):
        application, group_name = r["applicationName"], r.get("deploymentGroupName")
        group = self.group(application, group_name)
        self._appspec(r.get("revision") or {})
        config_name = r.get("deploymentConfigName") or group["deploymentConfigName"]
        if self.config(config_name)["computePlatform"] != "ECS":
            raise ApiError("InvalidDeploymentConfigNameException", f"{config_name} is not an ECS deployment config.")
        with self.store.transaction():
            active = self.active_deployment(application, group_name)
            if active:
                raise ApiError(
                    "DeploymentLimitExceededException",
                    f"The Deployment Group '{group_name}' already has an active Deployment '{active['deploymentId']}'",
                )
            body = self.engine.create(group, r, config_name)
        self.engine.start(body["deploymentId"])
        return {"deploymentId": body["deploymentId"]}

    def GetDeployment(self, r):
        return {"deploymentInfo": self.engine.public(self.deployment(r["deploymentId"]))}

    def BatchGetDeployments(self, r):
        # API reference: "The maximum number of deployment IDs you can specify is 25."
        if len(r["deploymentIds"]) > BATCH_LIMIT:
            raise ApiError(
                "BatchLimitExceededException", f"The maximum number of deployment IDs ({BATCH_LIMIT}) was exceeded."
            )
        found = []
        for identifier in r["deploymentIds"]:
            try:
                found.append(self.engine.public(self.deployment(identifier)))
            except ApiError as e:
                if e.code != "DeploymentDoesNotExistException":
                    raise
        return {"deploymentsInfo": found}

    def ListDeployments(self, r):
        statuses = r.get("includeOnlyStatuses") or []
        if r.get("deploymentGroupName") and not r.get("applicationName"):
            raise ApiError("ApplicationNameRequiredException", "The application name must be specified.")
        parent = None
        if r.get("applicationName"):
            self.application(r["applicationName"])
            if r.get("deploymentGroupName"):
                self.group(r["applicationName"], r["deploymentGroupName"])
                parent = f"{r['applicationName']}/{r['deploymentGroupName']}"
        window = r.get("createTimeRange") or {}
        start, end = _epoch(window.get("start")), _epoch(window.get("end"))
        deployments = [
            d
            for d in self.store.all("deployment", parent)
            if (not statuses or d["status"] in statuses)
            and (not r.get("applicationName") or d["applicationName"] == r["applicationName"])
            and (start is None or d["createTime"] >= start)
            and (end is None or d["createTime"] <= end)
        ]
        ids = [d["deploymentId"] for d in reversed(deployments)]  # newest first, as AWS lists them
        page, token = paginate(ids, r)
        return {"deployments": page, **({"nextToken": token} if token else {})}

    def GetApplicationRevision(self, r):
        """The AppSpec a deployment used, by its sha256: the way to read it back, as GetDeployment's note says.
        Deployments of AppSpecContent revisions are the application's revisions (the sandbox registers no
        others). Only the sha256 is matched; content sent with the request is ignored, as it is on AWS
        (assumed, ledger)."""
        application = self.application(r["applicationName"])["applicationName"]
        revision = r.get("revision") or {}
        if revision.get("revisionType") != "AppSpecContent":
            raise ApiError(
                "InvalidRevisionException", "The sandbox keeps AppSpecContent revisions only (ECS deployments)."
            )
        digest = (revision.get("appSpecContent") or {}).get("sha256")
        if not digest:
            raise ApiError("InvalidRevisionException", "An AppSpecContent revision is identified by its sha256.")
        used = [
            d
            for d in self.store.all("deployment")
            if d["applicationName"] == application
            and ((d.get("revision") or {}).get("appSpecContent") or {}).get("sha256") == digest
        ]
        if not used:
            raise ApiError(
                "RevisionDoesNotExistException", f"No application revision found for sha256 {digest} in {application}."
            )
        first, last = min(used, key=lambda d: d["createTime"]), max(used, key=lambda d: d["createTime"])
        return {
            "applicationName": application,
            "revision": last["revision"],
            "revisionInfo": {
                **({"description": last["description"]} if last.get("description") else {}),
                "deploymentGroups": sorted({d["deploymentGroupName"] for d in used}),
                "firstUsedTime": first["createTime"],
                "lastUsedTime": last["createTime"],
                "registerTime": first["createTime"],
            },
        }

    def StopDeployment(self, r):
        return self.engine.request_stop(self.deployment(r["deploymentId"]), r.get("autoRollbackEnabled"))

    def ContinueDeployment(self, r):
        return self.engine.request_continue(
            self.deployment(r.get("deploymentId")), r.get("deploymentWaitType", "READY_WAIT")
        )

    def PutLifecycleEventHookExecutionStatus(self, r):
        return self.engine.hook_status(
            self.deployment(r.get("deploymentId")), r.get("lifecycleEventHookExecutionId"), r.get("status")
        )

    def ListDeploymentTargets(self, r):
        deployment = self.deployment(r.get("deploymentId"))
        wanted = (r.get("targetFilters") or {}).get("TargetStatus")
        targets = [
            t["ecsTarget"]["targetId"]
            for t in self.engine.targets(deployment)
            if not wanted or t["ecsTarget"]["status"] in wanted
        ]
        page, token = paginate(targets, r)
        return {"targetIds": page, **({"nextToken": token} if token else {})}

    def BatchGetDeploymentTargets(self, r):
        deployment = self.deployment(r.get("deploymentId"))
        # API reference: "The maximum number of deployment target IDs you can specify is 25."
        if len(r.get("targetIds") or []) > BATCH_LIMIT:
            raise ApiError(
                "DeploymentTargetListSizeExceededException",
                f"The maximum number of targets that can be requested ({BATCH_LIMIT}) was exceeded.",
            )
        by_id = {t["ecsTarget"]["targetId"]: t for t in self.engine.targets(deployment)}
        missing = [t for t in r.get("targetIds") or [] if t not in by_id]
        if missing:
            raise ApiError("DeploymentTargetDoesNotExistException", f"Deployment target {missing[0]} does not exist.")
        return {"deploymentTargets": [by_id[t] for t in r.get("targetIds") or []]}

    def GetDeploymentTarget(self, r):
        return {
            "deploymentTarget": self.BatchGetDeploymentTargets({**r, "targetIds": [r["targetId"]]})[
                "deploymentTargets"
            ][0]
        }

    # --- tags -----------------------------------------------------------------------------------------

    def _tagged(self, arn: str) -> None:
        kind, _, name = arn.split(":", 5)[-1].partition(":")
        if kind == "application" and self.store.get("application", name):
            return
        if kind == "deploymentgroup" and self.store.get("group", name):
            return
        raise ApiError("ResourceArnRequiredException" if not arn else "ArnNotSupportedException", f"No resource {arn}.")

    def ListTagsForResource(self, r):
        self._tagged(r["ResourceArn"])
        return {"Tags": self.store.tags(r["ResourceArn"])}

    def TagResource(self, r):
        self._tagged(r["ResourceArn"])
        self.store.tag(r["ResourceArn"], r["Tags"])
        return {}

    def UntagResource(self, r):
        self._tagged(r["ResourceArn"])
        self.store.untag(r["ResourceArn"], r["TagKeys"])
        return {}


def _epoch(value) -> float | None:
    """A timestamp of a JSON request (botocore sends epoch seconds) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
