"""The sandbox's drivers: what runs the project against it and looks at it as a user would (the harness, the demo,
the load generator and listener watcher, the bad canary and its fault switch, the IAM analysis, the fidelity ledger).
The only part of sandbox/ that knows the project: its code, its names, its inventories and playbooks."""
