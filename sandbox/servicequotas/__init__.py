"""Service Quotas: the account's quotas the sandbox sets (config.py)."""
