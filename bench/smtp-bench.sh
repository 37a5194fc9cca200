#!/usr/bin/env bash
# smtp-bench.sh — message acceptance throughput: SecureMx vs Postfix vs smtp-sink (same machine,
# same run). A benchmark, not a test: it never fails on "slow", only on broken set-up.
#
# Targets (all on loopback, each on its own 127.0.2.x address):
#   smtp-sink   Postfix's smtp-sink: accepts and throws away, no storage — an upper bound for
#               what the client (smtp-source) and the loopback can do.
#   postfix     a private Postfix (tests/peers/postfix-peer.sh, role sink-durable): queues each
#               message with fsync before its 250, then discards it.
#   securemx    SecureMx built in Release and run with `securemx serve` (stores into a mailbox).
#
# Load: smtp-source (postfix package), messages of BENCH_SIZE bytes (-l), one message per SMTP
# session (smtp-source's default; BENCH_SOURCE_OPTS=-d reuses connections), BENCH_SESSIONS
# parallel sessions (-s), a fixed message count per run (-m), every configuration BENCH_RUNS
# times, targets interleaved run by run. Rate = messages / wall time of the smtp-source run
# (date +%s.%N around it); the table shows the median of the runs, [min..max], and the ratio
# SecureMx/Postfix. At the end: VmRSS of the SecureMx server process, idle before and after.
#
# Usage:  bench/smtp-bench.sh            (as root; needs postfix, smtp-source, python3, dotnet)
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
#   BENCH_SINK_ADDR=127.0.2.62:2525
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
smx_project=${BENCH_SECUREMX_PROJECT:-src/SecureMx/SecureMx.csproj}
[[ $smx_project == /* ]] || smx_project=$repo/$smx_project
rcpt=user@bench.test sender=sender@bench.test

die() { echo "smtp-bench: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (private Postfix instance, smtp-sink -u postfix)"
for t in smtp-source smtp-sink postfix python3 ss; do
  command -v "$t" >/dev/null || die "$t missing (scripts/install-test-deps.sh installs postfix)"
done
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1 && runs <= 20)) || die "BENCH_RUNS must be 1..20"
for n in $msgs_n $msgs_1 $size $warmup $sessions_list; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
for a in "$smx_addr" "$pf_addr" "$sink_addr"; do
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

smx_pid="" sink_pid="" pf_started=""
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  if [[ -n $smx_pid ]] && kill -0 "$smx_pid" 2>/dev/null; then
    kill -TERM "$smx_pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$smx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$smx_pid" 2>/dev/null && { echo "SecureMx did not stop in 10 s: SIGKILL"; kill -KILL "$smx_pid" 2>/dev/null || true; }
    wait "$smx_pid" 2>/dev/null || true
  fi
  if [[ -n $sink_pid ]]; then
    kill -TERM "$sink_pid" 2>/dev/null || true
    wait "$sink_pid" 2>/dev/null || true
  fi
  [[ -n $pf_started ]] && "$peer" stop "$work/postfix" || true
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

# ---- SecureMx ----
smx_skip="" smx_rss_before="" smx_rss_after="" smx_hwm=""
smx_skip_because() { smx_skip=$1; echo "securemx    SKIPPED: $1"; }
if want securemx; then
  smx=$work/securemx data=$work/securemx/data
  mkdir -p "$smx"
  smx_cli() { dotnet "$smx/bin/securemx.dll" "$@"; }
  if ! command -v dotnet >/dev/null; then
    smx_skip_because "dotnet not installed"
  elif in_use "$smx_addr"; then
    smx_skip_because "$smx_addr already in use"
  elif ! dotnet build -c Release "$smx_project" -o "$smx/bin" >"$smx/build.log" 2>&1; then
    smx_skip_because "build failed (dotnet build -c Release ${smx_project#"$repo"/}); errors:"
    { grep -E ' error |error MSB|: error' "$smx/build.log" || tail -n 8 "$smx/build.log"; } | sort -u | tail -n 8 | sed 's/^/    /'
  elif [[ ! -f $smx/bin/securemx.dll ]]; then
    smx_skip_because "build produced no securemx.dll in $smx/bin"
  elif ! smx_cli init --data "$data" --hostname bench.securemx.test --mx "$smx_addr" \
         --securemx off --submission off --submissions off --dashboard off >"$smx/init.log" 2>&1 \
       || ! smx_cli domain add bench.test --data "$data" >>"$smx/init.log" 2>&1 \
       || ! echo "bench-password-$RANDOM$RANDOM" | smx_cli mailbox add "$rcpt" --data "$data" --password-stdin >>"$smx/init.log" 2>&1; then
    smx_skip_because "securemx init/domain add/mailbox add failed; last lines:"
    tail -n 8 "$smx/init.log" | sed 's/^/    /'
  elif ! python3 - "$data/securemx.json" >>"$smx/init.log" 2>&1 <<'EOF'
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
    smx_skip_because "could not set limits in $data/securemx.json"
    tail -n 4 "$smx/init.log" | sed 's/^/    /'
  else
    dotnet "$smx/bin/securemx.dll" serve --data "$data" >"$smx/serve.log" 2>&1 &
    smx_pid=$!
    if ! wait_port "$smx_addr" 60 "$smx_pid"; then
      smx_skip_because "securemx serve did not listen on $smx_addr within 60 s; last lines:"
      tail -n 8 "$smx/serve.log" | sed 's/^/    /'
      kill -TERM "$smx_pid" 2>/dev/null || true
    else
      sleep 3
      smx_rss_before=$(rss_kb "$smx_pid" VmRSS)
      echo "securemx    listening on $smx_addr (pid $smx_pid), idle VmRSS ${smx_rss_before} kB"
    fi
  fi
fi
echo

addr_of() { case $1 in smtp-sink) echo "$sink_addr" ;; postfix) echo "$pf_addr" ;; securemx) echo "$smx_addr" ;; esac; }
active=()
for t in smtp-sink postfix securemx; do
  want "$t" || continue
  [[ $t == securemx && -n $smx_skip ]] && continue
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

if [[ -n $smx_pid && -z $smx_skip ]] && kill -0 "$smx_pid" 2>/dev/null; then
  sleep 3
  smx_rss_after=$(rss_kb "$smx_pid" VmRSS)
  smx_hwm=$(rss_kb "$smx_pid" VmHWM)
elif [[ -n $smx_pid && -z $smx_skip ]]; then
  echo "WARNING: the SecureMx server process exited during the benchmark; see $smx/serve.log"
  tail -n 8 "$smx/serve.log" 2>/dev/null | sed 's/^/    /'
fi

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
    print(line)
EOF

echo
if want securemx; then
  if [[ -n $smx_skip ]]; then
    echo "SecureMx: skipped (${smx_skip%%;*})"
  else
    echo "SecureMx server VmRSS: idle before runs ${smx_rss_before:-?} kB, idle after runs ${smx_rss_after:-?} kB (peak VmHWM ${smx_hwm:-?} kB)"
  fi
fi
echo "load average (1/5/15 min) at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $out, $csv"
