#!/usr/bin/env sh
# Build scripts/roles-creds (operator-mode JWTs and .creds files from nats.roles.conf) into
# .tools/roles-creds/<hash of its sources>/ with `go build`, once: a second run finds the binary
# and does nothing, a change of its sources builds a new one. Prints the binary's path.
# nsc, the usual tool, is not served by the Go module proxy; this uses the libraries nsc uses.
# Without Go it says so on stderr and exits 1 (the operator-mode test then fails with that line).
set -eu
cd "$(dirname "$0")/.."
src=scripts/roles-creds
hash=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)
dir="$(pwd)/.tools/roles-creds/$hash"
if [ -x "$dir/roles-creds" ]; then
  echo "$dir/roles-creds"
  exit 0
fi
[ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
  echo "roles-creds: Go is not installed, so it was not built; install Go and run scripts/install-roles-creds.sh" >&2
  exit 1
fi
echo "building roles-creds with go build (once; cached in $dir)" >&2
mkdir -p "$dir"
(cd "$src" && GOFLAGS=-mod=mod go build -o "$dir/roles-creds.tmp" . && mv "$dir/roles-creds.tmp" "$dir/roles-creds")
echo "$dir/roles-creds"
