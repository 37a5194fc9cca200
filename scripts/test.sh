#!/usr/bin/env bash
# Runs every test of SecureMx: unit tests, then integration tests against the real server process
# and real peers (swaks, Postfix). Installs the Debian packages the tests need when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

dotnet build SecureMx.slnx -c Release -nologo -v quiet

status=0
summary=()
passed=0; failed=0; skipped=0
# CI shows only the tail of this output: the failures are repeated in the summary, each with the
# first lines of its message, so the tail names what failed and why.
failures=()
# The store's own tests run twice: on the embedded SQLite store, and again on a private PostgreSQL
# (SECUREMX_TEST_STORE=postgresql; tests/SecureMx.TestKit/PostgresServer.cs starts it).
runs=("tests/SecureMx.Tests" "tests/SecureMx.Tests|postgresql|SecureMx.Tests.Store" "tests/SecureMx.IntegrationTests")
for run in "${runs[@]}"; do
  IFS='|' read -r project backend namespace <<<"$run"
  echo "== $project${backend:+ (store: $backend, $namespace)}"
  log=$(mktemp)
  args=()
  [[ -n $namespace ]] && args=(--filter-namespace "$namespace")
  if SECUREMX_TEST_STORE=${backend:-} dotnet test --project "$project" -c Release --no-build "${args[@]}" 2>&1 | tee "$log"; then :; else status=1; fi
  count() { grep -E "^\s+$1:" "$log" | tail -1 | grep -oE '[0-9]+' || echo 0; }
  p=$(count succeeded); f=$(count failed); s=$(count skipped)
  [[ -n $(count total) && $(count total) -gt 0 ]] || { echo "no tests ran in $project"; status=1; }
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  summary+=("$(basename "$project")${backend:+ on $backend}: $p passed, $f failed, $s skipped")
  while IFS= read -r block; do failures+=("$block"); done < <(
    awk '/^[[:space:]]*failed [^:]/ { n = 10; sep = 1 } n > 0 { if (sep) { print "--"; sep = 0 } print; n-- }' "$log" | cut -c1-300)
  rm -f "$log"
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if ((${#failures[@]})); then
  echo "failed tests (first lines of each):"
  printf '%s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
