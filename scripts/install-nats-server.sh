#!/usr/bin/env sh
# Build the pinned nats-server (package.json "natsServer") into .tools/nats-server/<version>/ with
# `go install`, once: a second run finds the binary and does nothing. Tests, CI and `drover up`
# prefer this binary to whatever nats-server is on PATH (Debian ships 2.9.10, which acknowledges
# writes before they are on disk and has no sync_interval).
# Without Go this prints how to get a current server and exits 0: the tests then run on the
# nats-server found on PATH (or NATS_SERVER_BIN) and say which version they use.
set -eu
cd "$(dirname "$0")/.."
version=$(node -p 'require("./package.json").natsServer')
dir=".tools/nats-server/$version"
if [ -x "$dir/nats-server" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "nats-server $version: Go is not installed, so it was not built; tests use the nats-server on PATH." >&2
  echo "  Install Go and run scripts/install-nats-server.sh, or set NATS_SERVER_BIN to a current nats-server." >&2
  exit 0
fi
echo "building nats-server $version with go install (once; cached in $dir)" >&2
mkdir -p "$dir"
GOBIN="$(pwd)/$dir" GOFLAGS=-mod=mod go install "github.com/nats-io/nats-server/v2@$version"
"$dir/nats-server" --version >&2
