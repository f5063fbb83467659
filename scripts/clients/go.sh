#!/usr/bin/env bash
# Regenerate the Go client's code (clients/go/envoy/v1) from proto/ with pinned protoc-gen-go and
# protoc-gen-go-grpc (installed by go-tools.sh) and the protoc bundled in the pinned grpcio-tools.
#   scripts/clients/go.sh [OUT_DIR]    (OUT_DIR receives envoy/v1/*.go; default clients/go)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="${1:-$ROOT/clients/go}"
MODULE=github.com/envoy-grpc/envoy-grpc/clients/go

mapfile -t plugins < <(bash "$ROOT/scripts/clients/go-tools.sh" protoc-gen-go protoc-gen-go-grpc)
WKT="$("$PYTHON" -c 'from importlib import resources; print(resources.files("grpc_tools") / "_proto")')"

rm -rf "$OUT/envoy/v1"
mkdir -p "$OUT"
cd "$ROOT/proto"
# Only envoy/v1 is generated: the google/api and google/rpc types come from the genproto module.
"$PYTHON" -m grpc_tools.protoc -I. -Ithird_party -I"$WKT" \
  --plugin=protoc-gen-go="${plugins[0]}" --plugin=protoc-gen-go-grpc="${plugins[1]}" \
  --go_out="$OUT" --go_opt=module="$MODULE" \
  --go-grpc_out="$OUT" --go-grpc_opt=module="$MODULE" \
  envoy/v1/*.proto
