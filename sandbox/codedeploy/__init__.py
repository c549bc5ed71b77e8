"""The sandbox's CodeDeploy: the JSON protocol (server.py), its state in SQLite (store.py) and the ECS
blue/green deployment engine (engine.py: the threads; lifecycle.py, state.py, effects.py, views.py)."""
