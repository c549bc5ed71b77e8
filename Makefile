# Entry points a person (and CI) runs. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
REQS   := requirements/service.txt requirements/ops.txt requirements/dev.txt requirements/constraints.txt \
          requirements/lambda-runtime.txt
# The SDK the sandbox's Lambda runtime bundles (sandbox/awslambda/runner.py's RUNTIME_SDK, inside the venv).
LAMBDA_RUNTIME := $(VENV)/lambda-runtime

.DEFAULT_GOAL := help
.PHONY: help venv haproxy lint test check test-unit demo sandbox-up sandbox-down serve migrate bench bench-sandbox bench-controllers bench-blast-radius lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required (found: $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=25,<26'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -r requirements/dev.txt
	# Older than the SDK above, as AWS's runtime SDK is: apart from the venv's site-packages, exact pins, no resolving.
	rm -rf $(LAMBDA_RUNTIME)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --target $(LAMBDA_RUNTIME) \
		-r requirements/lambda-runtime.txt
	touch $@

venv: $(STAMP)  ## create .venv with the pinned dependencies (quick when up to date)

haproxy:  ## install HAProxy (the sandbox's load balancer) when it is missing
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
	  echo "Installing HAProxy (Debian package haproxy), the sandbox's load balancer"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get install -y -qq haproxy >/dev/null || { $$sudo apt-get update -qq && $$sudo apt-get install -y -qq haproxy >/dev/null; }; }

demo: $(STAMP) haproxy  ## the main job: a blue/green deployment in the sandbox, under load, told as it happens
	$(BIN)/python -m sandbox.drivers.demo $(if $(SCENARIO),--scenario $(SCENARIO),) $(if $(CONTROLLER),--controller $(CONTROLLER),)

sandbox-up: $(STAMP) haproxy  ## start the sandbox (an offline AWS; inventories/local points at it)
	$(BIN)/python -m sandbox up

sandbox-down:  ## stop every process the sandbox started
	$(BIN)/python -m sandbox down

lint: $(STAMP)  ## ruff, mypy, yamllint, ansible-lint (production profile)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/yamllint --strict .
	# ansible-lint syntax-checks playbooks without an inventory: allow that for the lint only.
	ANSIBLE_INVENTORY_UNPARSED_FAILED=false PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ansible-lint --offline --profile production

test: lint haproxy  ## lint, then the whole test suite (PostgreSQL tests need 127.0.0.1:5432)
	# Two pytest runs side by side: the end-to-end scenarios against one sandbox, and the unit and integration tests
	# (their own moto servers on free ports), whose output follows the scenarios'. Either failing fails the target
	# (pytest exits 5 when it collects nothing: a failure too).
	# The end-to-end scenarios: each environment's module on a pytest-xdist worker of its own (-n 5 --dist loadgroup:
	# tests/e2e/conftest.py), mostly waiting on the sandbox's clock; then the audits of the whole run, from what the
	# sandbox recorded (tests/e2e_audit/). They are the critical path: the unit and integration tests run at a lower
	# CPU priority (nice 10) and take the CPU the scenarios leave while they wait.
	# --durations: each scenario's time (every test of 2 s or more), slowest first, after the results.
	@rm -f .test-rest.log; \
	nice -n 10 $(BIN)/pytest tests/unit tests/integration --durations=0 --durations-min=2 -p no:cacheprovider \
		> .test-rest.log 2>&1 & rest=$$!; \
	$(BIN)/pytest tests/e2e -n 5 --dist loadgroup --durations=0 --durations-min=2 \
		&& $(BIN)/pytest tests/e2e_audit; e2e=$$?; \
	wait $$rest; others=$$?; \
	echo; echo "=== unit and integration tests (run beside the end-to-end scenarios) ==="; cat .test-rest.log; \
	echo "end-to-end: exit $$e2e; unit and integration: exit $$others"; \
	test $$e2e -eq 0 && test $$others -eq 0

check: lint  ## the everyday loop: lint, unit and integration tests (no sandbox, no end-to-end scenarios)
	$(BIN)/pytest tests/unit tests/integration -n 2 -p no:cacheprovider

test-unit: $(STAMP)  ## only the unit tests, no lint
	$(BIN)/pytest tests/unit

serve: $(STAMP)  ## run the service locally on SQLite (http://127.0.0.1:8000)
	$(BIN)/python -m service migrate && $(BIN)/python -m service serve

bench: $(STAMP)  ## the service vs a bare Starlette app: interleaved medians, ratios, a py-spy profile
	$(BIN)/python bench/service_bench.py --profile

bench-sandbox: $(STAMP) haproxy  ## blue/green in the sandbox: report lag vs the AWS CLI, rollback time, load, API calls
	$(BIN)/python bench/sandbox_bench.py

bench-controllers: $(STAMP) haproxy  ## CodeDeploy vs ECS-native blue/green side by side: time to 100 %, API calls, p99
	$(BIN)/python bench/controllers_bench.py

bench-blast-radius: $(STAMP) haproxy  ## bad canaries rolled back by their alarms: bad requests vs predicted, time to detect
	$(BIN)/python bench/blast_radius.py

lock: $(STAMP)  ## re-lock every transitive version into requirements/constraints.txt
	{ echo '# Every transitive version, locked: pip install -c requirements/constraints.txt -r requirements/<group>.txt'; \
	  echo '# Regenerate with: make lock'; \
	  $(BIN)/python -m pip freeze --all --exclude pip --exclude setuptools --exclude wheel; } > requirements/constraints.txt

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache
