"""An offline AWS in which the project's playbooks perform a real ECS blue/green deployment (docs/sandbox.md)."""
