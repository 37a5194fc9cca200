#!/usr/bin/env bash
# smtp-bench.sh — message acceptance throughput: SecureMx vs Postfix vs smtp-sink (same machine,
# same run). A benchmark, not a test: it never fails on "slow", only on broken set-up.
#
# Targets (all on loopback, each on its own 127.0.2.x address):
#   smtp-sink   Postfix's smtp-sink: accepts and throws away, no storage — an upper bound for
#               what the client (smtp-source) and the loopback can do.
#   postfix     a private Postfix (tests/peers/postfix-peer.sh, role sink-durable): queues each
#               message with fsync before its 250, then discards it.
#   securemx    SecureMx built in Release and run with `securemx serve` (stores into a mailbox),
#               with the embedded SQLite store.
#   securemx-pg the same build with the PostgreSQL store (store.connectionString) of a private
#               PostgreSQL 15 that the script starts (initdb/pg_ctl as user postgres in the work
#               directory, loopback only, scram-sha-256) and stops at exit.
#
# Load: smtp-source (postfix package), messages of BENCH_SIZE bytes (-l), one message per SMTP
# session (smtp-source's default; BENCH_SOURCE_OPTS=-d reuses connections), BENCH_SESSIONS
# parallel sessions (-s), a fixed message count per run (-m), every configuration BENCH_RUNS
# times, targets interleaved run by run. Rate = messages / wall time of the smtp-source run
# (date +%s.%N around it); the table shows the median of the runs, [min..max], and the ratio
# SecureMx/Postfix, and PostgreSQL/SQLite when both SecureMx targets run. At the end: VmRSS of the
# SecureMx server processes, idle before and after.
#
# Usage:  bench/smtp-bench.sh            (as root; needs postfix, smtp-source, python3, dotnet;
#                                         securemx-pg also PostgreSQL 15 and psql)
# Environment (defaults):
#   BENCH_SESSIONS="1 20 100"   session counts
#   BENCH_MSGS=2000             messages per run for sessions > 1
#   BENCH_MSGS_1=500            messages per run for 1 session
#   BENCH_RUNS=3                runs per target and session count (>= 1, <= 20)
#   BENCH_SIZE=4096             message size (smtp-source -l)
#   BENCH_WARMUP=200            warm-up messages per target at 20 sessions (0: none), not counted
#   BENCH_TARGETS="smtp-sink postfix securemx"
#   BENCH_SOURCE_OPTS=""        extra smtp-source options (e.g. -d)
#   BENCH_SECUREMX_ADDR=127.0.2.60:2525  BENCH_POSTFIX_ADDR=127.0.2.61:2525
#   BENCH_SINK_ADDR=127.0.2.62:2525      BENCH_SECUREMX_PG_ADDR=127.0.2.63:2525
#   BENCH_PG_ADDR=127.0.2.64:5432        (the private PostgreSQL of securemx-pg)
#   BENCH_PG_BIN=/usr/lib/postgresql/15/bin
#   BENCH_SECUREMX_PROJECT=src/SecureMx/SecureMx.csproj   (relative to the repository root)
#   BENCH_WORK=<temp dir>       work directory (deleted at exit unless BENCH_KEEP=1)
# Output goes to the terminal and to bench/results/<timestamp>.txt (+ <timestamp>-runs.csv with
# every single run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peer=$repo/tests/peers/postfix-peer.sh
export PATH=$PATH:/usr/sbin:/sbin DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

sessions_list=${BENCH_SESSIONS:-"1 20 100"}
msgs_n=${BENCH_MSGS:-2000}
msgs_1=${BENCH_MSGS_1:-500}
runs=${BENCH_RUNS:-3}
size=${BENCH_SIZE:-4096}
warmup=${BENCH_WARMUP:-200}
targets=${BENCH_TARGETS:-"smtp-sink postfix securemx"}
source_opts=${BENCH_SOURCE_OPTS:-}
smx_addr=${BENCH_SECUREMX_ADDR:-127.0.2.60:2525}
pf_addr=${BENCH_POSTFIX_ADDR:-127.0.2.61:2525}
sink_addr=${BENCH_SINK_ADDR:-127.0.2.62:2525}
smx_pg_addr=${BENCH_SECUREMX_PG_ADDR:-127.0.2.63:2525}
pg_addr=${BENCH_PG_ADDR:-127.0.2.64:5432}
pg_bin=${BENCH_PG_BIN:-/usr/lib/postgresql/15/bin}
smx_project=${BENCH_SECUREMX_PROJECT:-src/SecureMx/SecureMx.csproj}
[[ $smx_project == /* ]] || smx_project=$repo/$smx_project
rcpt=user@bench.test sender=sender@bench.test

die() { echo "smtp-bench: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (private Postfix instance, smtp-sink -u postfix)"
for t in smtp-source smtp-sink postfix python3 ss; do
  command -v "$t" >/dev/null || die "$t missing (scripts/install-test-deps.sh installs postfix)"
done
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1 || runs > 20)); then die "BENCH_RUNS must be 1..20"; fi
for n in $msgs_n $msgs_1 $size $warmup $sessions_list; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
for a in "$smx_addr" "$pf_addr" "$sink_addr" "$smx_pg_addr" "$pg_addr"; do
  [[ $a =~ ^127\.0\.2\.[0-9]+:[0-9]+$ ]] || die "addresses must be 127.0.2.x:port (got $a)"
done
want() { [[ " $targets " == *" $1 "* ]]; }

# ---- work directory, results, clean-up ----
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$here/results"
out=$here/results/$stamp.txt csv=$here/results/$stamp-runs.csv
work=${BENCH_WORK:-$(mktemp -d /tmp/smtp-bench.XXXXXX)}
mkdir -p "$work"; chmod 755 "$work"          # the postfix user must reach the Postfix peer dir
exec > >(tee "$out") 2>&1
tee_pid=$!

# Per SecureMx target (securemx, securemx-pg): server pid, why it was skipped, VmRSS figures.
declare -A smx_pid=() smx_skip=() smx_rss_before=() smx_rss_after=() smx_hwm=()
sink_pid="" pf_started="" pg_started=""
cleanup() {
  local rc=$? i t p
  trap - EXIT INT TERM
  for t in "${!smx_pid[@]}"; do
    p=${smx_pid[$t]}
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && { echo "$t did not stop in 10 s: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; }
    wait "$p" 2>/dev/null || true
  done
  # after the servers, so that none of them sees its store go away
  if [[ -n $pg_started ]]; then su postgres -s /bin/sh -c "$pg_bin/pg_ctl -D $work/pg/data -m fast -w stop" >/dev/null 2>&1 || true; fi
  if [[ -n $sink_pid ]]; then
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
  fi
  if [[ -n $pf_started ]]; then "$peer" stop "$work/postfix" || true; fi
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
  exec >&- 2>&-
  wait "$tee_pid" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_use() { ss -Hltn "sport = :${1##*:}" | awk '{print $4}' | grep -qxF "$1"; }
wait_port() {  # ADDR:PORT SECONDS [PID]: wait until it accepts a TCP connection
  local a=${1%:*} p=${1##*:} i
  for ((i = 0; i < $2 * 10; i++)); do
    timeout 2 bash -c "exec 3<>/dev/tcp/$a/$p" 2>/dev/null && return 0
    [[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }

echo "# smtp-bench $stamp"
echo "# host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), fs of $work: $(df -T "$work" | awk 'NR==2 {print $2}')"
echo "# postfix $(postconf -dh mail_version 2>/dev/null), dotnet $(dotnet --version 2>/dev/null || echo n/a), git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo n/a)"
echo "# load average (1/5/15 min) at start: $(cut -d" " -f1-3 /proc/loadavg); other work on the machine skews the figures"
echo "# smtp-source -l $size -f $sender -t $rcpt $source_opts; runs=$runs; messages: $msgs_1 (1 session) / $msgs_n; warm-up $warmup"
echo

# ---- smtp-sink ----
if want smtp-sink; then
  in_use "$sink_addr" && die "$sink_addr already in use"
  smtp-sink -u postfix -4 "$sink_addr" 1024 >"$work/smtp-sink.log" 2>&1 &
  sink_pid=$!
  wait_port "$sink_addr" 10 "$sink_pid" || die "smtp-sink did not start: $(cat "$work/smtp-sink.log")"
  echo "smtp-sink   listening on $sink_addr (pid $sink_pid)"
fi

# ---- Postfix (sink-durable) ----
if want postfix; then
  in_use "$pf_addr" && die "$pf_addr already in use"
  "$peer" start "$work/postfix" --listen "$pf_addr" --role sink-durable --hostname bench-postfix.test \
    || die "Postfix peer did not start"
  pf_started=1
  echo "postfix     listening on $pf_addr ($work/postfix)"
fi

# ---- SecureMx (securemx: SQLite store; securemx-pg: PostgreSQL store) ----
smx_bin=$work/securemx-bin smx_built=""
smx_skip_because() { smx_skip[$1]=$2; printf '%-11s SKIPPED: %s\n' "$1" "$2"; }
smx_cli() { dotnet "$smx_bin/securemx.dll" "$@"; }
smx_build() {  # once for both targets; prints the reason on failure
  [[ -n $smx_built ]] && { [[ $smx_built == ok ]]; return; }
  smx_built=failed
  command -v dotnet >/dev/null || { echo "dotnet not installed"; return 1; }
  mkdir -p "$smx_bin"
  if ! dotnet build -c Release "$smx_project" -o "$smx_bin" >"$work/securemx-build.log" 2>&1; then
    echo "build failed (dotnet build -c Release ${smx_project#"$repo"/}); errors:"
    { grep -E ' error |error MSB|: error' "$work/securemx-build.log" || tail -n 8 "$work/securemx-build.log"; } | sort -u | tail -n 8 | sed 's/^/    /'
    return 1
  fi
  [[ -f $smx_bin/securemx.dll ]] || { echo "build produced no securemx.dll in $smx_bin"; return 1; }
  smx_built=ok
}

# The private PostgreSQL of securemx-pg: a cluster in $work/pg owned by postgres (initdb and pg_ctl
# refuse root), password authentication on one loopback address; prints the reason on failure.
pg_password="" pg_uri=""
pg_start() {
  local host=${pg_addr%:*} port=${pg_addr##*:}
  [[ -x $pg_bin/initdb ]] || { echo "PostgreSQL 15 not installed ($pg_bin)"; return 1; }
  command -v psql >/dev/null || { echo "psql not installed"; return 1; }
  in_use "$pg_addr" && { echo "$pg_addr already in use"; return 1; }
  pg_password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$work/pg/sock"
  (umask 077; printf '%s\n' "$pg_password" >"$work/pg/initdb-password"; printf '%s\n' "$pg_password" >"$work/pg-password")
  chown -R postgres: "$work/pg"
  if ! su postgres -s /bin/sh -c "$pg_bin/initdb -D $work/pg/data -A scram-sha-256 -U postgres --pwfile=$work/pg/initdb-password -E UTF8 --locale=C.UTF-8" >"$work/pg-init.log" 2>&1; then
    echo "initdb failed:"; tail -n 5 "$work/pg-init.log" | sed 's/^/    /'; return 1
  fi
  rm -f "$work/pg/initdb-password"
  if ! su postgres -s /bin/sh -c "$pg_bin/pg_ctl -D $work/pg/data -o '-h $host -p $port -k $work/pg/sock' -l $work/pg/postgres.log -w -t 30 start" >>"$work/pg-init.log" 2>&1; then
    echo "pg_ctl start failed:"; tail -n 5 "$work/pg/postgres.log" 2>/dev/null | sed 's/^/    /'; return 1
  fi
  pg_started=1
  # As README's "Running several nodes" sets it up: a role of its own that owns the database (no superuser).
  if ! PGPASSWORD=$pg_password psql -X -q -h "$host" -p "$port" -U postgres -d postgres \
         -c "CREATE ROLE securemx LOGIN PASSWORD '$pg_password'" -c "CREATE DATABASE securemx OWNER securemx" >>"$work/pg-init.log" 2>&1; then
    echo "CREATE ROLE/DATABASE failed:"; tail -n 3 "$work/pg-init.log" | sed 's/^/    /'; return 1
  fi
  pg_uri=postgresql://securemx@$host:$port/securemx
}

# smx_start TARGET ADDR [STORE_URI]: init, the bench domain and mailbox, serve; skips the target with the reason
smx_start() {
  local t=$1 addr=$2 store=${3:-} dir=$work/$1 data=$work/$1/data why
  local -a store_args=()
  mkdir -p "$dir"
  if in_use "$addr"; then smx_skip_because "$t" "$addr already in use"; return; fi
  if ! why=$(smx_build); then smx_skip_because "$t" "$why"; return; fi
  smx_built=ok
  # init reaches and migrates the store; the password stays in its file (store.passwordFile)
  if [[ -n $store ]]; then store_args=(--store "$store" --store-password-file "$work/pg-password" --node bench); fi
  if ! dotnet "$smx_bin/securemx.dll" init --data "$data" --hostname bench.securemx.test --mx "$addr" "${store_args[@]}" \
         --securemx off --submission off --submissions off --dashboard off >"$dir/init.log" 2>&1; then
    smx_skip_because "$t" "securemx init failed; last lines:"
    tail -n 8 "$dir/init.log" | sed 's/^/    /'
    return
  fi
  if ! python3 - "$data/securemx.json" >>"$dir/init.log" 2>&1 <<'EOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    cfg = json.load(f)
limits = cfg.setdefault("limits", {})
limits["maxConnections"] = 1000
limits["maxConnectionsPerIp"] = 1000
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
    f.write("\n")
EOF
  then
    smx_skip_because "$t" "could not set limits in $data/securemx.json"
    tail -n 4 "$dir/init.log" | sed 's/^/    /'
    return
  fi
  if ! smx_cli domain add bench.test --data "$data" >>"$dir/init.log" 2>&1 \
     || ! echo "bench-password-$RANDOM$RANDOM" | smx_cli mailbox add "$rcpt" --data "$data" --password-stdin >>"$dir/init.log" 2>&1; then
    smx_skip_because "$t" "securemx domain add/mailbox add failed; last lines:"
    tail -n 8 "$dir/init.log" | sed 's/^/    /'
    return
  fi
  dotnet "$smx_bin/securemx.dll" serve --data "$data" >"$dir/serve.log" 2>&1 &
  smx_pid[$t]=$!
  if ! wait_port "$addr" 60 "${smx_pid[$t]}"; then
    smx_skip_because "$t" "securemx serve did not listen on $addr within 60 s; last lines:"
    tail -n 8 "$dir/serve.log" | sed 's/^/    /'
    kill -TERM "${smx_pid[$t]}" 2>/dev/null || true
    return
  fi
  sleep 3
  smx_rss_before[$t]=$(rss_kb "${smx_pid[$t]}" VmRSS)
  printf '%-11s listening on %s (pid %s), idle VmRSS %s kB\n' "$t" "$addr" "${smx_pid[$t]}" "${smx_rss_before[$t]}"
}

want securemx && smx_start securemx "$smx_addr"
if want securemx-pg; then
  if pg_start >"$work/pg-start.out"; then
    echo "postgresql  listening on $pg_addr (store of securemx-pg)"
    smx_start securemx-pg "$smx_pg_addr" "$pg_uri"
  else
    smx_skip_because securemx-pg "no PostgreSQL: $(cat "$work/pg-start.out")"
  fi
fi
echo

addr_of() { case $1 in smtp-sink) echo "$sink_addr" ;; postfix) echo "$pf_addr" ;; securemx) echo "$smx_addr" ;; securemx-pg) echo "$smx_pg_addr" ;; esac; }
active=()
for t in smtp-sink postfix securemx securemx-pg; do
  want "$t" || continue
  [[ -n ${smx_skip[$t]:-} ]] && continue
  active+=("$t")
done
((${#active[@]})) || die "no target available"

# Postfix queues asynchronously to discard:; let the queue drain so every run starts alike.
postfix_drain() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -z $(find "$work/postfix/spool/incoming" "$work/postfix/spool/active" -type f -print -quit 2>/dev/null) ]] && return 0
    sleep 0.1
  done
}

# one smtp-source run: TARGET SESSIONS MESSAGES -> prints msgs/s, or FAIL
one_run() {
  local addr t0 t1 rc=0
  addr=$(addr_of "$1")
  [[ $1 == postfix ]] && postfix_drain
  sleep 0.5
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  timeout --foreground 600 smtp-source $source_opts -s "$2" -m "$3" -l "$size" -f "$sender" -t "$rcpt" "$addr" \
    >"$work/source.out" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  if ((rc != 0)); then
    echo "FAIL"
    { echo "  $1 s=$2 m=$3: smtp-source exit $rc:"; tail -n 3 "$work/source.out" | sed 's/^/    /'; } >&2
  else
    python3 -c "import sys; print('%.1f' % ($3 / ($t1 - $t0)))"
  fi
}

if ((warmup > 0)); then
  for t in "${active[@]}"; do
    r=$(one_run "$t" 20 "$warmup")
    echo "warm-up     $t: $warmup messages, 20 sessions: $r msg/s"
  done
  echo
fi

echo "target,sessions,messages,run,msgs_per_s" >"$csv"
for s in $sessions_list; do
  ((s == 1)) && m=$msgs_1 || m=$msgs_n
  for ((r = 1; r <= runs; r++)); do
    line="sessions $s, run $r/$runs:"
    for t in "${active[@]}"; do
      v=$(one_run "$t" "$s" "$m")
      echo "$t,$s,$m,$r,$v" >>"$csv"
      line+=" $t $v"
    done
    echo "$line msg/s"
  done
done

((${#smx_pid[@]})) && sleep 3
for t in "${!smx_pid[@]}"; do
  [[ -n ${smx_skip[$t]:-} ]] && continue
  if kill -0 "${smx_pid[$t]}" 2>/dev/null; then
    smx_rss_after[$t]=$(rss_kb "${smx_pid[$t]}" VmRSS)
    smx_hwm[$t]=$(rss_kb "${smx_pid[$t]}" VmHWM)
  else
    echo "WARNING: the $t server process exited during the benchmark; see $work/$t/serve.log"
    tail -n 8 "$work/$t/serve.log" 2>/dev/null | sed 's/^/    /'
  fi
done

echo
python3 - "$csv" "$sessions_list" "${active[*]}" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sessions = sys.argv[2].split()
targets = sys.argv[3].split()
def cell(t, s):
    vals = [float(r["msgs_per_s"]) for r in rows
            if r["target"] == t and r["sessions"] == s and r["msgs_per_s"] != "FAIL"]
    fails = sum(1 for r in rows if r["target"] == t and r["sessions"] == s and r["msgs_per_s"] == "FAIL")
    return (statistics.median(vals) if vals else None, min(vals, default=None), max(vals, default=None), fails)
w = 24
hdr = f"{'sessions':>8} {'msgs':>6} " + " ".join(f"{t + ' msg/s':>{w}}" for t in targets)
if "securemx" in targets and "postfix" in targets:
    hdr += f" {'SecureMx/Postfix':>17}"
if "securemx" in targets and "securemx-pg" in targets:
    hdr += f" {'PostgreSQL/SQLite':>18}"
print("Messages per second: median of runs [min..max]")
print(hdr)
print("-" * len(hdr))
for s in sessions:
    m = next((r["messages"] for r in rows if r["sessions"] == s), "?")
    line = f"{s:>8} {m:>6} "
    meds = {}
    for t in targets:
        med, lo, hi, fails = cell(t, s)
        meds[t] = med
        txt = "FAIL" if med is None else f"{med:.0f} [{lo:.0f}..{hi:.0f}]"
        if fails and med is not None:
            txt += f" {fails}F"
        line += f" {txt:>{w}}"
    if "securemx" in targets and "postfix" in targets:
        a, b = meds.get("securemx"), meds.get("postfix")
        line += f" {('%.2f' % (a / b)) if a and b else 'n/a':>17}"
    if "securemx" in targets and "securemx-pg" in targets:
        a, b = meds.get("securemx-pg"), meds.get("securemx")
        line += f" {('%.2f' % (a / b)) if a and b else 'n/a':>18}"
    print(line)
EOF

echo
for t in securemx securemx-pg; do
  want "$t" || continue
  if [[ -n ${smx_skip[$t]:-} ]]; then
    echo "$t: skipped (${smx_skip[$t]%%;*})"
  else
    echo "$t server VmRSS: idle before runs ${smx_rss_before[$t]:-?} kB, idle after runs ${smx_rss_after[$t]:-?} kB (peak VmHWM ${smx_hwm[$t]:-?} kB)"
  fi
done
echo "load average (1/5/15 min) at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $out, $csv"
