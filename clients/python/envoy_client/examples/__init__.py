"""Runnable examples of the client: `python -m envoy_client.examples.runner --help`."""
