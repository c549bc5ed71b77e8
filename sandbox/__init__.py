"""An offline AWS in which a whole ECS blue/green deployment really happens on one machine (docs/dev/sandbox.md).

Laid out like the AWS it imitates, a package per service, each with the patches of moto's model of it beside it:
`iam`, `ec2`, `elbv2`, `ecs`, `codedeploy`, `awslambda`, `cloudwatch`, `acm`, `servicequotas`. The core: `aws` (the
AWS process: moto's server, the patches applied in order), `dataplane` (the loop of what runs), `config`, `cli`
(`python -m sandbox up | down | status | logs | restart`), `api_calls`. It computes what AWS computes from AWS's
documentation and imports none of the project's code; `drivers` (the harness, the demo, load, faults, the IAM
analysis, the ledger) is the only part that knows the project (tests/unit/test_sandbox_layout.py holds both).
"""
