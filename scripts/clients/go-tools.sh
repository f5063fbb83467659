#!/usr/bin/env bash
# Install pinned Go tools with `go install` into a cache under the repo and print each binary's path.
#   scripts/clients/go-tools.sh protoc-gen-go protoc-gen-go-grpc grpcurl grpc-health-probe
# Each version gets its own folder (.cache/go-bin/NAME@VERSION/NAME), so bumping a pin below installs
# the new one and an installed binary is never rebuilt. ENVOY_GO_BIN overrides the cache folder.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${ENVOY_GO_BIN:-$ROOT/.cache/go-bin}"

declare -A PINNED=(
  [protoc-gen-go]=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
  [protoc-gen-go-grpc]=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
  [grpcurl]=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4
  [grpc-health-probe]=github.com/grpc-ecosystem/grpc-health-probe@v0.4.62
)

command -v go >/dev/null || { echo "go-tools.sh: the go toolchain is not on PATH" >&2; exit 3; }
for name in "$@"; do
  package="${PINNED[$name]:-}"
  [[ -n "$package" ]] || { echo "go-tools.sh: no pinned version for $name" >&2; exit 2; }
  dir="$CACHE/$name@${package##*@}"
  if [[ ! -x "$dir/$name" ]]; then
    # Outside any module, so the pin alone decides the version (go.sum of the tool's own module).
    (cd / && GOBIN="$dir" GOFLAGS=-mod=mod go install "$package") >&2
  fi
  echo "$dir/$name"
done
