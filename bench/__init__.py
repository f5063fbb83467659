"""Benchmarks for envoy-grpc: a real server in a subprocess, driven by a load generator on another core.

Figures are reported as ratios to the `grpc.health.v1` Check rate measured in the same run, because
absolute throughput varies by up to ±20% between runs on the project's 2-core machines
(shared/reference/performance-anchors.md). Run with `make bench` or `python -m bench --help`.

Two suites (`--suite agents|messages|all`, default all): `agents` (identity: GetAgent, registration,
the gateway) and `messages` (issue 3: push latency, send and batch-send rates, the 1 s poll for
comparison, broadcast fan-out and idle streams; the last two each on a fresh server, run last).
Every run measures the health Check baseline first and states each target as met or not.
"""
