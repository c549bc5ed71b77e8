"""What IAM authorizes for one API request: its action, each resource it names (as an ARN) and the request
context, plus the actions AWS checks alongside it (iam:PassRole for the roles a task or function is given,
ecs:TagResource for tags applied at creation).

Which actions take which resource types comes from the Service Authorization Reference (sandbox/iam/reference.py);
the request's resources and context from its service's extractor (sandbox/iam/requests.py). The names follow the
reference's ARN formats.
"""

from __future__ import annotations

import logging
import uuid

from sandbox.iam.reference import resource_types
from sandbox.iam.requests import EXTRACTORS, Authorizations, Request

log = logging.getLogger("sandbox.iam")
_unmapped: set[str] = set()

# A creating call that carries tags is authorized a second time, for the service's tag action on the new resource,
# with the request's tags (aws:RequestTag/<key>, aws:TagKeys) and, where the service has one, its CreateAction key
# naming the creating operation. Each row as the service documents it: the Service Authorization Reference's
# "dependent actions" (EC2 CreateSecurityGroup -> ec2:CreateTags; Elastic Load Balancing's creates -> AddTags); the
# ECS developer guide, "Grant permission to tag resources on creation"; the Lambda developer guide, "Using tags on
# Lambda functions" (lambda:TagResource "to call TagResource or perform tagging on create"); the IAM user guide,
# "Permissions required to tag IAM entities" (CreateRole with tags needs iam:TagRole). CodeDeploy, CloudWatch Logs
# and CloudWatch document no second authorization: none here (the project's creates there are checked by the first).
# creating action -> (tag action, the request parameter holding the tags, the CreateAction condition key or "")
TAG_ON_CREATE = {
    **{
        f"ecs:{name}": ("ecs:TagResource", "tags", "ecs:CreateAction")
        for name in (
            "CreateCapacityProvider",
            "CreateCluster",
            "CreateService",
            "CreateTaskSet",
            "RegisterContainerInstance",
            "RegisterTaskDefinition",
            "RunTask",
            "StartTask",
        )
    },
    **{
        f"ec2:{name}": ("ec2:CreateTags", "TagSpecifications", "ec2:CreateAction")
        for name in (
            "CreateSecurityGroup",
            "AuthorizeSecurityGroupIngress",
            "CreateVpc",
            "CreateSubnet",
            "CreateRouteTable",
            "CreateInternetGateway",
            "AllocateAddress",
            "CreateNatGateway",
            "CreateNetworkInterface",
        )
    },
    **{
        f"elasticloadbalancing:{name}": ("elasticloadbalancing:AddTags", "Tags", "elasticloadbalancing:CreateAction")
        for name in ("CreateLoadBalancer", "CreateTargetGroup", "CreateListener", "CreateRule")
    },
    "lambda:CreateFunction": ("lambda:TagResource", "Tags", ""),
    "ecr:CreateRepository": ("ecr:TagResource", "tags", ""),
    "iam:CreateRole": ("iam:TagRole", "Tags", ""),
}


def tags_of(value) -> dict[str, str]:
    """The tags a request carries, in any of the services' shapes: a map (Lambda), a list of {key, value} (ECS) or
    {Key, Value} (IAM, Elastic Load Balancing), or EC2's TagSpecification with its Tag list."""
    if isinstance(value, dict) and ("Key" in value or "key" in value):
        return {str(value.get("Key", value.get("key"))): str(value.get("Value", value.get("value", "")))}
    if isinstance(value, dict) and not any(isinstance(v, dict | list) for v in value.values()):
        return {str(k): str(v) for k, v in value.items() if k != "ResourceType"}
    found: dict[str, str] = {}
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else []:
        found.update(tags_of(item))
    return found


def _created(action: str, found: Authorizations, request: Request) -> str:
    """The ARN of what a creating call makes (for a listener or a rule, the request's own resource is its parent)."""
    resource = found[0][1][0][0]
    if action == "elasticloadbalancing:CreateListener":
        return resource.replace(":loadbalancer/", ":listener/") + "/*"
    if action == "elasticloadbalancing:CreateRule":
        return resource.replace(":listener/", ":listener-rule/") + "/*"
    if action == "ec2:AuthorizeSecurityGroupIngress":  # the new rules are tagged, not their group
        return request.arn("ec2", "security-group-rule/*")
    if action in {"ecs:RunTask", "ecs:StartTask"}:
        return request.arn("ecs", f"task/{request.cluster}/{uuid.uuid4().hex}")
    return resource


def _tag_on_create(action: str, found: Authorizations, request: Request) -> Authorizations:
    tag_action, parameter, create_key = TAG_ON_CREATE[action]
    tags = tags_of(request.params.get(parameter) or {})
    if not tags or not found or not found[0][1]:
        return []
    context = dict(found[0][1][0][1])
    context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    context["aws:TagKeys"] = sorted(tags)
    if create_key:
        context[create_key] = action.partition(":")[2]
    return [(tag_action, [(_created(action, found, request), context)])]


def authorizations(action: str, request: Request) -> Authorizations:
    """The (action, [(resource, context)]) pairs IAM authorizes for a request, the request's own action first."""
    prefix, _, name = action.partition(":")
    extractor = EXTRACTORS.get(prefix)
    found = None
    if resource_types(action):
        try:
            found = extractor(request, name) if extractor else None
        except (KeyError, TypeError) as e:
            log.warning("%s: the request names no resource the sandbox could read (%s): authorized on *", action, e)
        if found is None and action not in _unmapped:
            _unmapped.add(action)
            log.info("%s supports resource-level permissions the sandbox does not name yet: authorized on *", action)
    found = found or [(action, [("*", {})])]
    if action in TAG_ON_CREATE:
        found = [*found, *_tag_on_create(action, found, request)]
    return [(a, pairs) for a, pairs in found if pairs]
