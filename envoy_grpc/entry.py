"""The `envoy-grpc` console script. `envoy-grpc hook` runs the standard-library-only hook client without
loading the click CLI (Claude Code starts it once per hook event, so import time is its whole cost);
every other command goes to `envoy_grpc.cli`."""

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "hook":
        from envoy_grpc import hook_client

        sys.exit(hook_client.main(sys.argv[2:]))
    from envoy_grpc.cli import main as cli_main

    cli_main()
