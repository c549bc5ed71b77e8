"""The actions the project grants that no scenario of the sandbox needs, each with the AWS path that does
(tests/e2e/test_teardown.py holds the end-to-end run's decision log to these; docs/iam.md lists them)."""

from __future__ import annotations

# (role suffix, Sid, action) that no scenario of the sandbox needs, kept because an AWS path the sandbox cannot
# take needs it (tests/e2e/test_teardown.py fails on any other unneeded action, and on an entry here that a
# scenario does need).
UNEXERCISED = {
    ("codedeploy", "ReadTheLoadBalancer", "elasticloadbalancing:DescribeRules"): (
        "AWS documents DescribeRules and ModifyRule among CodeDeploy's ECS permissions (AWSCodeDeployRoleForECS): "
        "CodeDeploy reads and modifies the listener rules that forward to the target groups. The project's "
        "listeners forward by their default action, and the sandbox's CodeDeploy routes by the default action only."
    ),
    ("codedeploy", "ShiftTraffic", "elasticloadbalancing:ModifyRule"): "As DescribeRules.",
}

# The same for the ECS controller's environment (`orders-ecs` in the end-to-end run): actions its scenarios do not
# need, which the same code needs on a path the CodeDeploy environment's scenarios take (the analysis proves them
# there, role for role). A statement that names no environment (ECR repositories, ACM certificates) is granted by
# each environment's policy attached to the sandbox's operator users: the other environments' calls count for it.
UNEXERCISED_ON_THE_ECS_PATH = {
    ("hooks", "StopOnlyTheMigrationTask", "ecs:StopTask"): (
        "The migration hook stops its task when it outlives its budget: the same hook code, proven by "
        "tests/e2e/test_iam.py on the CodeDeploy environment; no ECS scenario's migration hangs."
    ),
    ("provision", "ManageTheLoadBalancers", "elasticloadbalancing:ModifyTargetGroup"): (
        "Provision puts back a target group setting that drifted from the inventory: the same role, proven by the "
        "CodeDeploy environment's drift scenario."
    ),
}
