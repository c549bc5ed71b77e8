"""Each resource one API request names, as IAM sees it: an ARN in the Service Authorization Reference's format, and
the request context of its condition keys (sandbox/iam/reference.py gives the resource types an action supports).

For an action that supports a resource type, the extractor of its service below names the resource; an action without
an extractor is authorized on "*", which only a `"Resource": "*"` statement allows: stricter than AWS, never kinder
(a scoped statement is refused until an extractor is added here).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandbox.config import ACCOUNT_ID
from sandbox.iam.reference import ACTION_NAMES, resource_types

Authorizations = list[tuple[str, list[tuple[str, dict]]]]  # (action, [(resource, context)])


def service_arn_cluster(service: object) -> str | None:
    """The cluster a long service ARN names (`arn:<partition>:ecs:<region>:<account>:service/<cluster>/<name>`);
    None for a name or a short ARN (`service/<name>`, the format before long ARNs), which name none."""
    parts = str(service or "").split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "ecs":
        return None
    path = parts[5].split("/")
    return path[1] if len(path) == 3 and path[0] == "service" else None


class Request:
    """One API request, seen by the extractors: the region, the parameters, the URL path, the moto backends."""

    def __init__(self, region: str, params: dict, path: str, backend: Callable[[str], Any]):
        self.region, self.params, self.path, self.backend = region, params or {}, path, backend

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{ACCOUNT_ID}:{resource}"

    # --- ECS --------------------------------------------------------------------------------------------
    @property
    def cluster(self) -> str:
        # A service named by its long ARN and no cluster is the ARN's service, in the ARN's cluster: the resource IAM
        # sees, whether ECS then finds it (ListServiceDeployments) or refuses the request (UpdateService). Ledger:
        # "A service named by its ARN alone".
        named = self.params.get("cluster") or service_arn_cluster(self.params.get("service"))
        return str(named or "default").rsplit("/", 1)[-1]

    @property
    def cluster_context(self) -> dict:
        return {"ecs:cluster": self.arn("ecs", f"cluster/{self.cluster}")}

    def service_arn(self, service: str) -> str:
        return self.arn("ecs", f"service/{self.cluster}/{service.rsplit('/', 1)[-1]}")

    def task_definition_arn(self, reference: str) -> str:
        """family, family:revision or an ARN -> the full ARN (the latest ACTIVE revision for a family)."""
        if reference.startswith("arn:"):
            return reference
        try:
            return self.backend("ecs").describe_task_definition(reference).arn
        except Exception:
            return self.arn("ecs", f"task-definition/{reference}")

    def task_definition(self, reference: str):
        try:
            return self.backend("ecs").describe_task_definition(reference)
        except Exception:
            return None

    def task_context(self, task_arn: str) -> dict:
        context = dict(self.cluster_context)
        ecs = self.backend("ecs")
        task = (ecs.tasks.get(self.cluster) or {}).get(task_arn)
        for tag in getattr(task, "tags", None) or []:
            context[f"aws:ResourceTag/{tag['key']}"] = tag["value"]
        return context

    def task_arn(self, task: str) -> str:
        return task if task.startswith("arn:") else self.arn("ecs", f"task/{self.cluster}/{task}")

    def request_tags(self, tags: list[dict], key: str = "key", value: str = "value") -> dict:
        context: dict[str, str | list[str]] = {f"aws:RequestTag/{t[key]}": t[value] for t in tags}
        if tags:
            context["aws:TagKeys"] = [t[key] for t in tags]
        return context

    def passed_roles(self, definition, overrides: dict | None, service: str) -> list[tuple[str, dict]]:
        """iam:PassRole for the roles a task gets (task role, execution role), to ECS tasks."""
        roles = {
            (overrides or {}).get("taskRoleArn") or getattr(definition, "task_role_arn", None),
            (overrides or {}).get("executionRoleArn") or getattr(definition, "execution_role_arn", None),
        }
        return [(role, {"iam:PassedToService": service}) for role in sorted(r for r in roles if r)]

    # --- Lambda -----------------------------------------------------------------------------------------
    def function_arn(self) -> str:
        parts = self.path.split("/functions/", 1)
        name = unquote(parts[1].split("/", 1)[0]) if len(parts) == 2 else str(self.params.get("FunctionName", ""))
        if name.startswith("arn:"):
            return ":".join(name.split(":")[:7])
        return self.arn("lambda", f"function:{name.split(':')[0]}")

    # --- Secrets Manager --------------------------------------------------------------------------------
    def secret_arn(self, secret_id: str) -> str:
        """A secret's full ARN (IAM sees the ARN with its random suffix, whatever the request named it by)."""
        try:
            backend = self.backend("secretsmanager")
            return backend.describe_secret(secret_id).arn
        except Exception:
            return secret_id if secret_id.startswith("arn:") else self.arn("secretsmanager", f"secret:{secret_id}")


def _ecs_service(request: Request, name: str) -> Authorizations:
    p = request.params
    service = str(p.get("service") or p.get("serviceName"))
    found: Authorizations = [(f"ecs:{name}", [(request.service_arn(service), request.cluster_context)])]
    definition = request.task_definition(p.get("taskDefinition") or "") if name == "CreateService" else None
    if definition is not None:
        found.append(("iam:PassRole", request.passed_roles(definition, None, "ecs-tasks.amazonaws.com")))
    # ECS-native blue/green: the roles the service gives ECS itself (the load balancer role, each hook's role).
    # Passing a role to a service needs iam:PassRole on it (IAM user guide, "Granting a user permissions to pass a
    # role to an AWS service").
    balancers = p.get("loadBalancers") or []
    hooks = (p.get("deploymentConfiguration") or {}).get("lifecycleHooks") or []
    ecs_roles = sorted(
        (
            {str((b.get("advancedConfiguration") or {}).get("roleArn") or "") for b in balancers}
            | {str(h.get("roleArn") or "") for h in hooks}
        )
        - {""}
    )
    if ecs_roles:
        found.append(("iam:PassRole", [(role, {"iam:PassedToService": "ecs.amazonaws.com"}) for role in ecs_roles]))
    return found


def _ecs_task_sets(request: Request, name: str) -> Authorizations:
    p = request.params
    service = str(p["service"]).rsplit("/", 1)[-1]
    context = {**request.cluster_context, "ecs:service": request.service_arn(service)}
    if name == "CreateTaskSet":
        definition_arn = request.task_definition_arn(p["taskDefinition"])
        context.update({"ecs:task-definition": definition_arn, **request.request_tags(p.get("tags") or [])})
        new = request.arn("ecs", f"task-set/{request.cluster}/{service}/ecs-svc/{uuid.uuid4().int % 10**19}")
        definition = request.task_definition(definition_arn)
        return [
            (f"ecs:{name}", [(new, context)]),
            ("iam:PassRole", request.passed_roles(definition, None, "ecs-tasks.amazonaws.com")),
        ]
    sets = [str(t).rsplit("/", 1)[-1] for t in (p.get("taskSets") or [p.get("taskSet") or "*"])]
    arns = [request.arn("ecs", f"task-set/{request.cluster}/{service}/{t}") for t in sets]
    return [(f"ecs:{name}", [(arn, context) for arn in arns])]


def _ecs_run_task(request: Request, name: str) -> Authorizations:
    p = request.params
    definition_arn = request.task_definition_arn(p["taskDefinition"])
    tags = p.get("tags") or []
    definition = request.task_definition(definition_arn)
    return [
        (f"ecs:{name}", [(definition_arn, {**request.cluster_context, **request.request_tags(tags)})]),
        ("iam:PassRole", request.passed_roles(definition, p.get("overrides"), "ecs-tasks.amazonaws.com")),
    ]


def _ecs_tasks(request: Request, name: str) -> Authorizations:
    p = request.params
    if name == "ListTasks":
        instance = p.get("containerInstance")
        if not instance:  # AUTHORIZED_ON_STAR_WITHOUT
            return [(f"ecs:{name}", [("*", request.cluster_context)])]
        arn = (
            instance
            if instance.startswith("arn:")
            else request.arn("ecs", f"container-instance/{request.cluster}/{instance}")
        )
        return [(f"ecs:{name}", [(arn, request.cluster_context)])]
    tasks = [request.task_arn(t) for t in (p.get("tasks") or [p.get("task")]) if t]
    return [(f"ecs:{name}", [(arn, request.task_context(arn)) for arn in tasks])]


def _ecs_clusters(request: Request, name: str) -> Authorizations:
    p = request.params
    clusters = p.get("clusters") or [p.get("clusterName") or p.get("cluster") or "default"]
    return [(f"ecs:{name}", [(request.arn("ecs", f"cluster/{str(c).rsplit('/', 1)[-1]}"), {}) for c in clusters])]


def _ecs_register_task_definition(request: Request, name: str) -> Authorizations:
    """The new revision of the family; and iam:PassRole for the roles the definition names (ECS developer guide,
    task IAM role: registering a definition with a task or execution role needs PassRole on it)."""
    p = request.params
    family = str(p["family"])
    revisions = getattr(request.backend("ecs"), "task_definitions", {}).get(family) or {}
    found: Authorizations = [
        (f"ecs:{name}", [(request.arn("ecs", f"task-definition/{family}:{len(revisions) + 1}"), {})])
    ]
    roles = sorted({r for r in (p.get("taskRoleArn"), p.get("executionRoleArn")) if r})
    found.append(("iam:PassRole", [(role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}) for role in roles]))
    return found


_ECS = {
    "DescribeServices": lambda r, n: [
        (f"ecs:{n}", [(r.service_arn(s), r.cluster_context) for s in r.params.get("services", [])])
    ],
    "CreateService": _ecs_service,
    "UpdateService": _ecs_service,
    "DeleteService": _ecs_service,
    "UpdateServicePrimaryTaskSet": _ecs_service,
    "CreateTaskSet": _ecs_task_sets,
    "DeleteTaskSet": _ecs_task_sets,
    "UpdateTaskSet": _ecs_task_sets,
    "DescribeTaskSets": _ecs_task_sets,
    "RunTask": _ecs_run_task,
    "DescribeTasks": _ecs_tasks,
    "StopTask": _ecs_tasks,
    "ListTasks": _ecs_tasks,
    "DescribeClusters": _ecs_clusters,
    "CreateCluster": _ecs_clusters,
    "DeleteCluster": _ecs_clusters,
    "UpdateCluster": _ecs_clusters,
    "PutClusterCapacityProviders": _ecs_clusters,
    "RegisterTaskDefinition": _ecs_register_task_definition,
    # ECS-native blue/green: a service's deployments (Service Authorization Reference: service, service-deployment
    # and service-revision resource types).
    "ListServiceDeployments": lambda r, n: [(f"ecs:{n}", [(r.service_arn(r.params["service"]), r.cluster_context)])],
    "DescribeServiceDeployments": lambda r, n: [
        (f"ecs:{n}", [(arn, {}) for arn in r.params.get("serviceDeploymentArns", [])])
    ],
    "DescribeServiceRevisions": lambda r, n: [
        (f"ecs:{n}", [(arn, {}) for arn in r.params.get("serviceRevisionArns", [])])
    ],
    "StopServiceDeployment": lambda r, n: [(f"ecs:{n}", [(r.params["serviceDeploymentArn"], {})])],
    "ContinueServiceDeployment": lambda r, n: [(f"ecs:{n}", [(r.params["serviceDeploymentArn"], {})])],
    "TagResource": lambda r, n: [(f"ecs:{n}", [(r.params["resourceArn"], {})])],
    "UntagResource": lambda r, n: [(f"ecs:{n}", [(r.params["resourceArn"], {})])],
    "ListTagsForResource": lambda r, n: [(f"ecs:{n}", [(r.params["resourceArn"], {})])],
}


def _ecs(request: Request, name: str) -> Authorizations | None:
    handler = _ECS.get(name)
    return handler(request, name) if handler else None


def _elbv2(request: Request, name: str) -> Authorizations | None:
    p = request.params
    # Creation: the new resource's ARN, its id not yet known (a policy scoped by name matches it, one scoped to an
    # id does not); a listener is created on its load balancer (Service Authorization Reference).
    if name == "CreateLoadBalancer":
        kind = {"network": "net", "gateway": "gwy"}.get(str(p.get("Type", "application")), "app")
        return [
            (
                f"elasticloadbalancing:{name}",
                [(request.arn("elasticloadbalancing", f"loadbalancer/{kind}/{p['Name']}/*"), {})],
            )
        ]
    if name == "CreateTargetGroup":
        return [
            (f"elasticloadbalancing:{name}", [(request.arn("elasticloadbalancing", f"targetgroup/{p['Name']}/*"), {})])
        ]
    # A listener is created on its load balancer, a rule on its listener (Service Authorization Reference).
    parent = {"CreateListener": "LoadBalancerArn", "CreateRule": "ListenerArn"}.get(name)
    if parent:
        return [(f"elasticloadbalancing:{name}", [(p[parent], {})])]
    for key in ("ListenerArn", "RuleArn", "TargetGroupArn", "LoadBalancerArn"):
        if key in p and name.startswith(("Modify", "Delete", "Register", "Deregister", "Set")):
            return [(f"elasticloadbalancing:{name}", [(p[key], {})])]
    if name in ("AddTags", "RemoveTags"):
        return [(f"elasticloadbalancing:{name}", [(arn, {}) for arn in p.get("ResourceArns", [])])]
    return None


# EC2 names a resource by its id: the security group actions the provisioning uses.
_SECURITY_GROUP_ACTIONS = {
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "DeleteSecurityGroup",
    "ModifySecurityGroupRules",
    "UpdateSecurityGroupRuleDescriptionsIngress",
    "UpdateSecurityGroupRuleDescriptionsEgress",
}


_EC2_ID_TYPES = {
    "sg-": "security-group",
    "vpc-": "vpc",
    "subnet-": "subnet",
    "rtb-": "route-table",
    "igw-": "internet-gateway",
    "eipalloc-": "elastic-ip",
    "nat-": "natgateway",
}


# A network baseline's creations (the sandbox's account baseline; playbooks that build one): the new resource (its id
# not yet known) and the resources the request names by id, each authorized (Service Authorization Reference).
_EC2_CREATES = {
    "CreateVpc": "vpc",
    "CreateSubnet": "subnet",
    "CreateRouteTable": "route-table",
    "CreateInternetGateway": "internet-gateway",
    "AllocateAddress": "elastic-ip",
    "CreateNatGateway": "natgateway",
}


_EC2_ID_PARAMETERS = ("VpcId", "SubnetId", "RouteTableId", "InternetGatewayId", "AllocationId", "NatGatewayId")


def _ec2_id_arn(request: Request, resource_id: str) -> str | None:
    for prefix, kind in _EC2_ID_TYPES.items():
        if resource_id.startswith(prefix):
            return request.arn("ec2", f"{kind}/{resource_id}")
    return None


def _ec2(request: Request, name: str) -> Authorizations | None:
    p = request.params
    if name == "CreateSecurityGroup":
        # The new group (its id not yet known) in the VPC it is created in; both are authorized.
        return [
            (
                f"ec2:{name}",
                [(request.arn("ec2", "security-group/*"), {}), (request.arn("ec2", f"vpc/{p['VpcId']}"), {})],
            )
        ]
    if name == "DescribeVpcAttribute":
        return [(f"ec2:{name}", [(request.arn("ec2", f"vpc/{p['VpcId']}"), {})])]
    if name in _SECURITY_GROUP_ACTIONS and p.get("GroupId"):
        return [(f"ec2:{name}", [(request.arn("ec2", f"security-group/{p['GroupId']}"), {})])]
    if name in ("CreateTags", "DeleteTags"):
        ids = p.get("ResourceId") or [v for k, v in sorted(p.items()) if k.startswith("ResourceId.")]
        arns = [_ec2_id_arn(request, str(i)) for i in (ids if isinstance(ids, list) else [ids])]
        if arns and all(arns):
            return [(f"ec2:{name}", [(arn, {}) for arn in arns if arn])]
    if name in _EC2_CREATES or name in ("CreateRoute", "DeleteRoute", "AssociateRouteTable", "AttachInternetGateway"):
        # Only the resources the reference authorizes the action on (CreateRoute: its route table, not its target).
        supported = resource_types(f"ec2:{name}")
        named = [arn for k in _EC2_ID_PARAMETERS if p.get(k) and (arn := _ec2_id_arn(request, str(p[k])))]
        created = [request.arn("ec2", f"{_EC2_CREATES[name]}/*")] if name in _EC2_CREATES else []
        authorized = [arn for arn in [*created, *named] if arn.split(":", 5)[5].split("/")[0] in supported]
        return [(f"ec2:{name}", [(arn, {}) for arn in authorized])]
    return None


def _cloudwatch(request: Request, name: str) -> Authorizations | None:
    p = request.params
    names = p.get("AlarmNames") or ([p["AlarmName"]] if p.get("AlarmName") else [])
    if name in ("DescribeAlarms", "DescribeAlarmHistory", "PutMetricAlarm", "DeleteAlarms", "SetAlarmState"):
        resources = [request.arn("cloudwatch", f"alarm:{n}") for n in names] or [request.arn("cloudwatch", "alarm:*")]
        return [(f"cloudwatch:{name}", [(r, {}) for r in resources])]
    return None


def _logs(request: Request, name: str) -> Authorizations | None:
    p = request.params
    group = p.get("logGroupName")
    if not group:
        return None
    if name in ("CreateLogStream", "PutLogEvents", "GetLogEvents"):
        stream = p.get("logStreamName", "*")
        return [(f"logs:{name}", [(request.arn("logs", f"log-group:{group}:log-stream:{stream}"), {})])]
    return [(f"logs:{name}", [(request.arn("logs", f"log-group:{group}"), {})])]


def _lambda(request: Request, name: str) -> Authorizations | None:
    action = ACTION_NAMES.get(("lambda", name), name)
    if name == "CreateFunction":
        return [
            (f"lambda:{action}", [(request.function_arn(), {})]),
            ("iam:PassRole", [(request.params["Role"], {"iam:PassedToService": "lambda.amazonaws.com"})]),
        ]
    if "/tags/" in request.path:  # ListTags, TagResource, UntagResource: the function's ARN in the path
        resource = unquote(request.path.split("/tags/", 1)[1])
        return [(f"lambda:{action}", [(":".join(resource.split(":")[:7]), {})])]
    if "/functions/" in request.path:
        found: Authorizations = [(f"lambda:{action}", [(request.function_arn(), {})])]
        if name == "UpdateFunctionConfiguration" and request.params.get("Role"):
            found.append(("iam:PassRole", [(request.params["Role"], {"iam:PassedToService": "lambda.amazonaws.com"})]))
        return found
    return None


def _secretsmanager(request: Request, name: str) -> Authorizations | None:
    secret = request.params.get("SecretId")
    if secret:
        return [(f"secretsmanager:{name}", [(request.secret_arn(secret), {})])]
    if name == "CreateSecret":
        return [(f"secretsmanager:{name}", [(request.arn("secretsmanager", f"secret:{request.params['Name']}-*"), {})])]
    return None


def _iam(request: Request, name: str) -> Authorizations | None:
    p = request.params
    if name == "SimulatePrincipalPolicy":  # the principal whose policies are simulated
        return [(f"iam:{name}", [(p["PolicySourceArn"], {})])]
    from sandbox.iam.authority import global_backend

    if p.get("UserName"):  # a user's ARN carries its path
        try:
            user = global_backend("iam").get_user(p["UserName"]).arn
        except Exception:
            user = f"arn:aws:iam::{ACCOUNT_ID}:user{p.get('Path', '/')}{p['UserName']}"
        return [(f"iam:{name}", [(user, {})])]
    if name == "CreatePolicy":
        return [(f"iam:{name}", [(f"arn:aws:iam::{ACCOUNT_ID}:policy{p.get('Path', '/')}{p['PolicyName']}", {})])]
    if p.get("PolicyArn") and not p.get("RoleName"):
        return [(f"iam:{name}", [(p["PolicyArn"], {})])]
    if not p.get("RoleName"):
        return None

    try:  # an existing role's ARN carries its path
        arn = global_backend("iam").get_role(p["RoleName"]).arn
    except Exception:  # CreateRole: the path the request gives
        arn = f"arn:aws:iam::{ACCOUNT_ID}:role{p.get('Path', '/')}{p['RoleName']}"
    return [(f"iam:{name}", [(arn, {})])]


def _ssm(request: Request, name: str) -> Authorizations | None:
    """A parameter by its name (a name that starts with / has no second slash in its ARN)."""
    p = request.params
    names = p.get("Names") or ([p["Name"]] if p.get("Name") else [])
    if not names:
        return None
    return [(f"ssm:{name}", [(request.arn("ssm", f"parameter/{str(n).lstrip('/')}"), {}) for n in names])]


def _ecr(request: Request, name: str) -> Authorizations | None:
    p = request.params
    if not p.get("repositoryName"):
        return None
    account = p.get("registryId") or ACCOUNT_ID
    return [(f"ecr:{name}", [(f"arn:aws:ecr:{request.region}:{account}:repository/{p['repositoryName']}", {})])]


def _acm(request: Request, name: str) -> Authorizations | None:
    arn = request.params.get("CertificateArn")
    return [(f"acm:{name}", [(arn, {})])] if arn else None


def _servicequotas(request: Request, name: str) -> Authorizations | None:
    # arn:${Partition}:servicequotas:${Region}:${Account}:${ServiceCode}/${QuotaCode}
    p = request.params
    if not (p.get("ServiceCode") and p.get("QuotaCode")):
        return None
    return [(f"servicequotas:{name}", [(request.arn("servicequotas", f"{p['ServiceCode']}/{p['QuotaCode']}"), {})])]


EXTRACTORS: dict[str, Callable[[Request, str], Authorizations | None]] = {
    "ecr": _ecr,
    "ssm": _ssm,
    "acm": _acm,
    "servicequotas": _servicequotas,
    "ecs": _ecs,
    "elasticloadbalancing": _elbv2,
    "ec2": _ec2,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
    "lambda": _lambda,
    "secretsmanager": _secretsmanager,
    "iam": _iam,
}
