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

# 1. System packages the tests use: SoftHSM2 (PKCS#11 key custody), openssl (certificate interoperability),
#    iproute2 (the integration tests' network partition between namespaces) and PostgreSQL (the supervision index
#    tests start their own server; Debian keeps its binaries in /usr/lib/postgresql/<version>/bin).
missing=()
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
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

# 3. Run every test project (in parallel, one test host each). Each prints one summary line
#    "Passed!  - Failed: F, Passed: P, Skipped: S, Total: T, ... - <assembly>.dll", which is what is counted.
results="$root/.build/test-results"
rm -rf "$results"
mkdir -p "$results"
projects=$(grep -l '' tests/*/*.csproj | while read -r p; do
  name=$(basename "$p" .csproj)
  case "$name" in *.Tests|Custos.IntegrationTests|Custos.BrowserTests) echo "$name" ;; esac
done)
expected=$(printf '%s\n' "$projects" | sed '/^$/d' | wc -l)
echo "test.sh: running $expected test projects"
log="$results/console.log"
dotnet test Custos.slnx -c Release --no-build -nologo \
  --logger "console;verbosity=minimal" --logger "trx;LogFilePrefix=tests" --results-directory "$results" \
  --blame-hang-timeout 15m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Skipped tests and why (the TRX reports carry the reason).
find "$results" -name '*.trx' -print0 | xargs -0 -r awk '
  /outcome="NotExecuted"/ { match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; next }
  want && /<Message>/ { sub(/.*<Message>/, ""); sub(/<\/Message>.*/, ""); print "test.sh: skipped " name ": " $0; want = 0 }
' || true

# 4. Count.
passed=0; failed=0; skipped=0; reported=0
while read -r f p s; do
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s)); reported=$((reported + 1))
done < <(sed -nE 's/^(Passed|Failed|Skipped)! +- +Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+),.*/\2 \3 \4/p' "$log")
if [ "$reported" -lt "$expected" ]; then
  echo "test.sh: only $reported of $expected test projects reported results (a test host crashed or hung)"
  failed=$((failed + expected - reported))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "test.sh: dotnet test exited with $status without a failed test"
  failed=1
fi
if [ $((passed + failed + skipped)) -eq 0 ]; then
  echo "test.sh: no test ran"
fi
finish "$passed" "$failed" "$skipped"
