"""Benchmarks for envoy-grpc: a real server in a subprocess, driven by a closed-loop load generator.

Figures are reported as ratios to the `grpc.health.v1` Check rate measured in the same run, because
absolute throughput varies by up to ±20% between runs on the project's 2-core machines
(shared/reference/performance-anchors.md). Run with `make bench` or `python -m bench --help`.
"""
