#!/usr/bin/env bash
# Regenerate the Python client's stubs (clients/python/envoy_client/gen) from proto/ with the pinned
# grpcio-tools and mypy-protobuf of the dev environment: scripts/clients/python.sh [OUT_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="${1:-$ROOT/clients/python/envoy_client/gen}"
"$PYTHON" "$ROOT/scripts/gen_proto.py" "$OUT" envoy_client.gen.
# The server keeps a descriptor set for /openapi.json; the client has no use for it.
rm -f "$OUT/envoy_v1.binpb"
