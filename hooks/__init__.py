"""Lambda handlers for the five lifecycle hooks of an ECS blue/green deployment (stdlib + boto3 only)."""
