"""The FastAPI service that the playbooks deploy blue/green to ECS."""
