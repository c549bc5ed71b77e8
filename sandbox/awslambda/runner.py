"""Runs one Lambda invocation: `python sandbox/awslambda/runner.py` in the function's unpacked zip, the event on
stdin, the function's settings in the environment (as the Lambda runtime sets them). Prints what the handler
logs, then a marker line and the JSON result; exits 1 when the handler raised (an unhandled error).

Run by the sandbox's Lambda (aws.py) with only the zip, the runtime's SDK and the standard library on the path, so
a handler that imports something its zip lacks fails here as it would on AWS, and one that imports boto3 without
packaging it gets the runtime's older one.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import sysconfig
import time
import traceback

RESULT_MARKER = "__SANDBOX_RESULT__ "
# The AWS SDK the runtime bundles (/var/runtime on AWS): boto3 and botocore OLDER than the SDK the project pins, as
# AWS's runtime SDK lags PyPI ("depends on the runtime version and your AWS Region"; requirements/lambda-runtime.txt
# holds the version and why). The Makefile's venv target installs it inside the venv that runs the sandbox.
RUNTIME_SDK = os.path.join(sys.prefix, "lambda-runtime")


class Context:
    """The parts of the Lambda context object handlers use."""

    def __init__(self):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ.get('AWS_REGION', '')}:123456789012:function:{self.function_name}"
        )
        self._deadline = time.monotonic() + float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "")
        return True


def install_log_handler() -> None:
    """As the Lambda Python runtime does: a handler on the root logger, in its text format (tab-separated
    level, time, request id, message); the root level stays at WARNING, a logger may set its own."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(_RequestId())
    logging.getLogger().addHandler(handler)


def standard_library(path: list[str]) -> list[str]:
    """The entries of `path` that hold the interpreter's standard library (pythonXY.zip, lib/pythonX.Y, lib-dynload):
    under the base interpreter's lib folder, none of them a site-packages."""
    library = os.path.dirname(os.path.abspath(sysconfig.get_path("stdlib")))
    return [
        entry
        for entry in path
        if os.path.abspath(entry).startswith(library + os.sep)
        and not {"site-packages", "dist-packages"} & set(os.path.abspath(entry).split(os.sep))
    ]


def main() -> int:
    install_log_handler()
    # As Lambda sets the search path: the function's code ($LAMBDA_TASK_ROOT, /var/task) first, then the runtime's
    # bundled SDK, then the standard library (Lambda developer guide, python-image.html: "the runtime searches the
    # $LAMBDA_TASK_ROOT (/var/task) directory first"). Never the sandbox's venv: its boto3 is the project's new one,
    # which would hide from a zip without its own SDK what AWS's older runtime SDK lacks (operations, response
    # fields). Nothing of the venv is needed here: this runner and sitecustomize (already loaded) use the stdlib only.
    if not os.path.isdir(RUNTIME_SDK):
        print(f"The Lambda runtime's SDK is not installed at {RUNTIME_SDK}: run make venv", file=sys.stderr)
        return 1
    task_root = os.path.abspath(os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd())
    sys.path[:] = [task_root, RUNTIME_SDK, *standard_library(sys.path)]
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    event = json.loads(sys.stdin.read() or "{}")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        result = handler(event, Context())
        code = 0
    except Exception as e:  # the runtime reports any error of the handler
        traceback.print_exc()
        result = {"errorMessage": str(e), "errorType": type(e).__name__}
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    print("\n" + RESULT_MARKER + json.dumps(result, default=str), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
