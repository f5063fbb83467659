"""Python client for envoy-grpc.

`EnvoyClient` holds one grpc.aio channel with a stub per service (`agents`, `messages`, `sessions`,
`knowledge`, ...), attaches the bearer token to every call, retries unary calls on UNAVAILABLE and
CANCELLED with jittered exponential backoff, and `subscribe()` turns `MessageService.Subscribe` into
an async iterator that resumes after a disconnect and drops messages it has already yielded.
The generated messages and stubs are in `envoy_client.gen.envoy.v1` (re-exported as `envoy_client.pb`).
"""

from envoy_client.client import DEFAULT_TARGET, EnvoyClient, target_from_env
from envoy_client.retry import RetryPolicy, is_retryable
from envoy_client.subscription import Subscription

__all__ = [
    "DEFAULT_TARGET",
    "EnvoyClient",
    "RetryPolicy",
    "Subscription",
    "is_retryable",
    "target_from_env",
]
