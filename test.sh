#!/usr/bin/env bash
# Runs the whole Custos test suite. Installs what the tests need first (as root, from Debian's packages), builds
# once in Release, runs every test project, and ends with one line: "tests: N passed, N failed, N skipped".
# Exits non-zero on any failure, and also when no test ran at all.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

finish() { # passed failed skipped
  echo "tests: $1 passed, $2 failed, $3 skipped"
  if [ "$2" -eq 0 ] && [ "$1" -gt 0 ]; then exit 0; else exit 1; fi
}

# 1. System packages the tests use: SoftHSM2 (PKCS#11 key custody) and openssl (certificate interoperability).
missing=()
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || echo "test.sh: could not install ${missing[*]}; the tests that need them will report it"
  else
    echo "test.sh: not root, so not installing ${missing[*]}; the tests that need them skip with the reason"
  fi
fi

# 2. Build everything once.
echo "test.sh: building (Release)"
mkdir -p "$root/.build"
if ! dotnet build Custos.slnx -c Release -nologo -v quiet >"$root/.build/test-build.log" 2>&1; then
  grep -E ' error ' "$root/.build/test-build.log" | sort -u | head -n 40 || tail -n 40 "$root/.build/test-build.log"
  echo "test.sh: the build failed"
  finish 0 1 0
fi

# 3. Run every test project; each writes a TRX report that is counted afterwards.
results="$root/.build/test-results"
rm -rf "$results"
mkdir -p "$results"
echo "test.sh: running tests"
dotnet test Custos.slnx -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" \
  --blame-hang-timeout 15m
status=$?

# 4. Count outcomes from the TRX files (one per test project): their <Counters> element.
passed=0; failed=0; skipped=0
for trx in $(find "$results" -name '*.trx'); do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { printf '%s' "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted) + $(get inconclusive)))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "test.sh: dotnet test exited with $status without a failed test (a test host crashed or hung)"
  failed=1
fi
if [ $((passed + failed + skipped)) -eq 0 ]; then
  echo "test.sh: no test ran"
fi
finish "$passed" "$failed" "$skipped"
