# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module's AWS calls share: the retry policy, whole paginated reads, batches, times as ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime

try:
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
    from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
except ImportError:  # pragma: no cover - the collection is a declared dependency
    AWSRetry = paginated_query_with_retries = None

# BatchGet* calls take at most 25 ids.
BATCH_SIZE = 25


def retry_decorator():
    """Jittered back-off for every call that opts in with aws_retry=True.

    CodeDeploy throttles with ThrottlingException, which AWSRetry's default list does not name.
    """
    return AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=15, catch_extra_error_codes=["ThrottlingException"])


def chunks(items, size=BATCH_SIZE):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def seconds_between(start, end):
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds(), 3)
    return None


def iso(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return value


def paginated(client, operation, result_key, **params):
    """A whole paginated read under the retry policy: a throttled page is retried, not fatal."""
    return paginated_query_with_retries(client, operation, retry_decorator=retry_decorator(), **params).get(
        result_key, []
    )
