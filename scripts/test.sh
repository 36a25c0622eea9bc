#!/usr/bin/env bash
# The whole test suite, as the README's quick start and CI run it (`npm test`).
# Installs what it needs: npm dependencies, and Debian's nats-server/etcd/redis-server
# when missing (as root). The real-server tests start private servers on free ports
# and stop them at the end (test/real/global-setup.ts). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1 FORCE_COLOR=0

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm install"
  npm install --no-audit --no-fund --loglevel=error || exit 1
fi

echo "== real servers (nats-server, etcd, redis-server), OpenStack peers (openstack CLI, placement-api), chromium"
node --import tsx cli/main.ts services install --openstack || exit 1

status=0
echo "== typecheck (tsc --noEmit)"
npx tsc --noEmit -p . || status=1
echo "== lint (biome)"
npx biome check --max-diagnostics=50 . || status=1

echo "== vitest"
mkdir -p .cellplane
results=.cellplane/test-results.json
rm -f "$results"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=1

if [ -f "$results" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$results"
else
  echo "0 passed, 1 failed"
  status=1
fi
exit $status
