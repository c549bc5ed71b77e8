"""Drive a sandbox of one's own from Python, as an operator would: start it, run the playbooks against it with
inventories/local, and look at it through the AWS APIs and the load balancer. Used by the end-to-end tests
and the benchmarks (each with its own folder, ports and loopback networks, so a developer's sandbox or demo
can run beside them)."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx2 as httpx

from module_utils.model.listener_rules import served_from
from module_utils.model.names import names
from sandbox import cli as sandbox_cli
from sandbox import config as sandbox_config

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# inventories/local: the application's own service and the environment's further services (services/*.yml).
NAMES = names("orders", "local")
APP = NAMES["name"]
PROD_PORT, TEST_PORT = 8080, 8443


def _threads(pid: int) -> list[int]:
    try:
        return [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    except FileNotFoundError:
        return []


def _descendants(pid: int) -> list[int]:
    """Every living process below `pid` (from /proc: no psutil in the sandbox's dependencies)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop()
        found.append(child)
        queue.extend(children.get(child, []))
    return found


class Sandbox:
    def __init__(
        self,
        home: Path,
        *,
        ports: tuple[int, int] = (4766, 4767),
        network: int = 11,
        iam_propagation_seconds: float | None = None,
        lambda_eni_linger_seconds: float | None = None,
    ):
        self.home = home
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SANDBOX_"))},
            "SANDBOX_HOME": str(home),
            "SANDBOX_AWS_PORT": str(ports[0]),
            "SANDBOX_CODEDEPLOY_PORT": str(ports[1]),
            "SANDBOX_BALANCER_NETWORK": f"127.{network}.0.0/16",
            "SANDBOX_TASK_NETWORK": f"127.{network + 1}.0.0/16",
            "SANDBOX_LAMBDA_NETWORK": f"127.{network + 2}.0.0/16",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "ANSIBLE_FORCE_COLOR": "0",
        }
        if iam_propagation_seconds is not None:
            self.env["SANDBOX_IAM_PROPAGATION_SECONDS"] = str(iam_propagation_seconds)
        if lambda_eni_linger_seconds is not None:
            self.env["SANDBOX_LAMBDA_ENI_LINGER_SECONDS"] = str(lambda_eni_linger_seconds)
        self.control_plane_cpus: set[int] = set()  # where playbooks run (isolate_control_plane), if not anywhere
        self.niceness = 0  # the playbooks' CPU priority (niceness 0: as the caller's; see deprioritized())
        self.provisioned: subprocess.CompletedProcess[str] | None = None  # the first provision, for the tests
        # Which of the sandbox's environments the playbooks and names are about (environment() gives another), and
        # which of its services (None: the application's own; service() gives another).
        self.inventory, self.env_name = "inventories/local", "local"
        self.service_name: str | None = None

    def environment(self, inventory: str, env_name: str) -> Sandbox:
        """The same sandbox seen through another of its inventories (e.g. inventories/local-ecs, environment `ecs`):
        its playbooks run with that inventory, its names are that environment's."""
        view = copy.copy(self)
        view.inventory, view.env_name = inventory, env_name
        return view

    def service(self, name: str) -> Sandbox:
        """The same environment seen as its service `name` (inventories/local/services/<name>.yml): its playbooks run
        with `-e service=<name>`, and its names, load balancer, deployments and task sets are that service's."""
        view = copy.copy(self)
        view.service_name = name
        return view

    def deprioritized(self, niceness: int = 10) -> Sandbox:
        """The same sandbox whose playbooks run at a lower CPU priority (`nice`): work with slack yields the CPU
        to work on the critical path (the e2e session's main sequence of scenarios, tests/e2e/conftest.py). The
        sandbox's own processes (its AWS, tasks, HAProxy, hook functions) keep theirs."""
        view = copy.copy(self)
        view.niceness = niceness
        return view

    # --- the sandbox ----------------------------------------------------------------------------------------

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"python -m sandbox {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result

    @property
    def config(self) -> dict:
        return json.loads((self.home / "config.json").read_text())

    def add_image(self, key: str, spec: dict) -> None:
        """Teach the sandbox a new image (read by the agent each time a task starts). Scenarios of several
        environments, in several processes, teach it images at the same time: one read-modify-write at a time."""
        with self.lock("config"):
            config = self.config
            config["images"][key] = spec
            (self.home / "config.json").write_text(json.dumps(config, indent=2))

    # --- what several processes driving one sandbox share ---------------------------------------------------

    @contextlib.contextmanager
    def lock(self, name: str, *, shared: bool = False) -> Iterator[None]:
        """A lock on something of this sandbox that several processes driving it use (fcntl.flock on a file of its
        home): shared, many hold it at once; exclusive, one alone, once no one holds it shared."""
        folder = self.home / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / name).open("a") as f:
            fcntl.flock(f, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def once(self, name: str, make: Callable[[], Any]) -> Any:
        """What make() returns, made by the first process that asks and kept in the sandbox's home for the others
        (JSON); a make() that fails leaves nothing, and the next one to ask tries again."""
        kept = self.home / "once" / f"{name}.json"
        with self.lock(f"once-{name}"):
            if kept.exists():
                return json.loads(kept.read_text())
            made = make()
            kept.parent.mkdir(exist_ok=True)
            kept.write_text(json.dumps(made))
            return made

    def client_environment(self) -> dict[str, str]:
        """The environment of a process that talks to this sandbox as to AWS (the AWS CLI, a script)."""
        return {
            **self.env,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.env['SANDBOX_AWS_PORT']}",
            "AWS_ENDPOINT_URL_CODEDEPLOY": f"http://127.0.0.1:{self.env['SANDBOX_CODEDEPLOY_PORT']}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }

    def client(self, service: str):
        endpoint = (
            f"http://127.0.0.1:{self.env['SANDBOX_CODEDEPLOY_PORT' if service == 'codedeploy' else 'SANDBOX_AWS_PORT']}"
        )
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # --- playbooks ------------------------------------------------------------------------------------------

    def isolate_control_plane(self) -> tuple[set[int], set[int]]:
        """Give the control plane CPUs of its own, as AWS runs it on other machines than the tasks.

        On one machine, ansible-playbook, moto, the CodeDeploy engine and the hook functions compete with the
        service's tasks, HAProxy and the clients for the same cores; on AWS they never do. A lower priority
        does not separate them (measured with nice 10 and with SCHED_IDLE: bench/sandbox_bench.py's note),
        CPU affinity does: the data plane keeps the first CPU (the AWS endpoint's main thread, which starts
        HAProxy, so a new one inherits it; the tasks and HAProxy running now; this process, the clients'; a new
        task once it serves: it starts on the control plane's, as a new task's start on AWS takes no CPU from
        the tasks that serve, and a one-off task such as the migration stays there), the control plane gets the
        others (every other thread of the AWS endpoint: its API, whose Lambda runs inherit them; the CodeDeploy
        endpoint; the playbooks started from now on).
        Returns (data plane CPUs, control plane CPUs).
        """
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise RuntimeError("isolating the control plane needs at least two CPUs")
        data, control = {cpus[0]}, set(cpus[1:])
        cfg = sandbox_config.load(self.home)
        aws_pid, codedeploy_pid = sandbox_cli.pid_of(cfg, "aws"), sandbox_cli.pid_of(cfg, "codedeploy")
        if aws_pid is None or codedeploy_pid is None:
            raise RuntimeError(f"the sandbox is not running: aws {aws_pid}, codedeploy {codedeploy_pid}")
        for tid in _threads(aws_pid):
            os.sched_setaffinity(tid, data if tid == aws_pid else control)
        for tid in _threads(codedeploy_pid):
            os.sched_setaffinity(tid, control)
        for pid in [os.getpid(), *_descendants(aws_pid)]:
            for tid in _threads(pid):
                os.sched_setaffinity(tid, data)
        self.control_plane_cpus = control
        # The ECS agent places tasks by these from now on: a starting task and a one-off task on the control
        # plane's CPUs, a serving task on the data plane's (sandbox/ecs/agent.py, place).
        run = self.home / "run"
        run.mkdir(exist_ok=True)
        (run / "cpu-sets.json").write_text(json.dumps({"data": sorted(data), "control": sorted(control)}))
        return data, control

    def _ansible_playbook(self, name: str, extra: tuple[str, ...]) -> list[str]:
        service = ("-e", f"service={self.service_name}") if self.service_name else ()
        command = [str(BIN / "ansible-playbook"), name, "-i", self.inventory, *service, *extra]
        if self.niceness:
            command = ["nice", "-n", str(self.niceness), *command]
        if self.control_plane_cpus:
            return ["taskset", "--cpu-list", ",".join(map(str, sorted(self.control_plane_cpus))), *command]
        return command

    def _server_logs(self) -> dict[Path, int]:
        return {path: path.stat().st_size for path in (self.home / "logs").glob("*.log") if path.name != "haproxy.log"}

    def _server_errors(self, since: dict[Path, int]) -> str:
        """What the sandbox's servers logged as errors while a playbook ran: a 500 from moto shows only as
        botocore's retry in the playbook (say, ResourceConflictException on a call that had worked)."""
        found = []
        for path, size in since.items():
            with path.open("rb") as log:
                log.seek(size)
                lines = log.read().decode(errors="replace").splitlines()
            first = next((i for i, line in enumerate(lines) if " ERROR " in line or line.startswith("Traceback")), None)
            if first is not None:
                found.append(f"--- {path.name}, from its first error during the playbook:\n" + "\n".join(lines[first:]))
        return "\n".join(found)[-4000:]

    def playbook(self, name: str, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        logs = self._server_logs()
        result = subprocess.run(
            self._ansible_playbook(name, extra),
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{name} {extra} failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}\n"
                + self._server_errors(logs)
            )
        return result

    def grant_operator_access(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """What an administrator does once per environment: the operator policies, attached to the sandbox's
        user of each access (inventories/local), so each playbook signs with exactly its own access."""
        return self.playbook("playbooks/operator_access.yml", *extra)

    def start_playbook(self, name: str, *extra: str, new_session: bool = False) -> subprocess.Popen[str]:
        """The playbook running (new_session: in a process group of its own, to be killed whole, as a lost
        terminal or a cancelled AWX job would stop it)."""
        return subprocess.Popen(
            self._ansible_playbook(name, extra),
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=new_session,
        )

    def next_version(self) -> str:
        """A version no one has deployed in this sandbox yet (2.1.0, 2.2.0, ...), whichever process asks."""
        counter = self.home / "run" / "versions"
        with self.lock("versions"):
            number = int(counter.read_text()) + 1 if counter.exists() else 1
            counter.parent.mkdir(exist_ok=True)
            counter.write_text(str(number))
        return f"2.{number}.0"

    # --- what a user sees -----------------------------------------------------------------------------------

    def names(self, service: str | None = None) -> dict:
        """Every name of a service of this environment (this view's service by default: service()), as the playbooks
        compute them (the model)."""
        return names("orders", self.env_name, service or self.service_name)

    @property
    def balancer(self) -> dict:
        return self.balancer_of()

    def balancer_of(self, service: str | None = None) -> dict:
        name = self.names(service)["load_balancer"]
        return self.client("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]

    def listener_arn(self, port: int, service: str | None = None) -> str:
        listeners = self.client("elbv2").describe_listeners(
            LoadBalancerArn=self.balancer_of(service)["LoadBalancerArn"]
        )["Listeners"]
        return next(listener["ListenerArn"] for listener in listeners if listener["Port"] == port)

    def listener_rules(self, service: str | None = None) -> dict[int, list[dict]]:
        """Each listener's rules other than its default one, by port."""
        elbv2 = self.client("elbv2")
        listeners = elbv2.describe_listeners(LoadBalancerArn=self.balancer_of(service)["LoadBalancerArn"])["Listeners"]
        return {
            listener["Port"]: [
                rule
                for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
                if not rule["IsDefault"]
            ]
            for listener in listeners
        }

    def serving_target_group(self, service: str | None = None) -> str | None:
        """The name of the target group production is served from: the group the production listener's rule to the
        pair gives the most weight (the ECS controller), else the one its default action forwards to (CodeDeploy)."""
        elbv2 = self.client("elbv2")
        pair = [
            g["TargetGroupArn"]
            for g in elbv2.describe_target_groups(Names=self.names(service)["target_groups"])["TargetGroups"]
        ]
        (listener,) = elbv2.describe_listeners(ListenerArns=[self.listener_arn(PROD_PORT, service)])["Listeners"]
        arn = served_from(listener, elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"], pair)
        return arn.split(":targetgroup/")[1].split("/")[0] if arn else None

    def url(self, port: int = PROD_PORT, service: str | None = None) -> str:
        return f"http://{self.balancer_of(service)['DNSName']}:{port}"

    def versions_served(self, requests: int = 20, port: int = PROD_PORT, service: str | None = None) -> Counter:
        seen: Counter = Counter()
        url = self.url(port, service) + "/health"
        for _ in range(requests):
            response = httpx.get(url, timeout=5, headers={"Connection": "close"})
            seen[response.json()["version"] if response.status_code == 200 else response.status_code] += 1
        return seen

    def deployments(self, service: str | None = None) -> list[dict]:
        codedeploy = self.client("codedeploy")
        model = self.names(service)
        ids = codedeploy.list_deployments(
            applicationName=model["codedeploy_application"], deploymentGroupName=model["deployment_group"]
        )["deployments"]
        # BatchGetDeployments takes at most 25 ids.
        return [
            info
            for start in range(0, len(ids), 25)
            for info in codedeploy.batch_get_deployments(deploymentIds=ids[start : start + 25])["deploymentsInfo"]
        ]

    def latest(self, creator: str = "user", service: str | None = None) -> dict:
        infos = [d for d in self.deployments(service) if d["creator"] == creator]
        return max(infos, key=lambda d: d["createTime"])

    def target(self, deployment_id: str) -> dict:
        codedeploy = self.client("codedeploy")
        ids = codedeploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
        return codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=ids)["deploymentTargets"][
            0
        ]["ecsTarget"]

    def task_sets(self, service: str | None = None) -> list[dict]:
        model = self.names(service)
        return self.client("ecs").describe_services(cluster=model["cluster"], services=[model["ecs_service"]])[
            "services"
        ][0]["taskSets"]

    def wait_for(self, what: str, predicate: Callable[[], object], timeout: float = 120) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def api_calls(self, reset: bool = False) -> list[dict]:
        """The API calls both endpoints answered, by caller, service and operation (reset: and start again)."""
        calls = []
        for port in (self.env["SANDBOX_AWS_PORT"], self.env["SANDBOX_CODEDEPLOY_PORT"]):
            response = httpx.request(
                "DELETE" if reset else "GET", f"http://127.0.0.1:{port}/_sandbox/api-calls", timeout=5
            )
            calls += response.json()
        return calls

    def active_deployment(self, service: str | None = None) -> dict | None:
        active = [d for d in self.deployments(service) if d["status"] in ("Created", "InProgress", "Ready")]
        return active[0] if active else None
