#!/usr/bin/env bash
# bench.sh — the whole benchmark of issue 18 in one command: SecureMx against Postfix and smtp-sink on
# the same machine, run by run interleaved; accept rate, end-to-end rate (until every message is stored)
# and server CPU per message; STARTTLS; outbound drain; idle-session memory; sustained load.
# A benchmark, not a test: it never fails on "slow", only on a broken set-up (a run that does not
# complete is shown as failed in its cell). See bench/README.md for what each figure means.
#
# Usage:  bench/bench.sh            (as root; postfix, smtp-source, smtp-sink, python3, dotnet, openssl;
#                                    the outbound section also knot + unbound: scripts/install-test-deps.sh)
# Environment (defaults):
#   BENCH_RUNS=3                   measured runs per cell (medians of these; 1..20); one warm-up uncounted
#   BENCH_SECTIONS="inbound tls sustained idle outbound"   (and "backlog", off by default)
#   BENCH_TARGETS="smtp-sink postfix postfix-maildir securemx"   (+ securemx-base with BENCH_BASE_REV)
#   BENCH_BASE_REV=""              a git revision (e.g. 327bd34) built as the target securemx-base
#   BENCH_MSGS_1=500 BENCH_MSGS=2000 BENCH_MSGS_100K=1000 BENCH_TLS_MSGS=2000
#   BENCH_SUSTAIN_MSGS=10000       messages of a sustained run (20 sessions)
#   BENCH_IDLE="1000 10000"        idle session counts
#   BENCH_OUT_MSGS=20000           queued messages of an outbound drain
#   BENCH_OUT_RUNS=1               outbound rounds (each ~3 min on 2 cores, filling included; 3 for medians)
#   BENCH_OUT_C20=0                1: also SecureMx with delivery.destinationConcurrency 20 set explicitly (the default since issue 18)
#   BENCH_BACKLOG=0                backlog section: messages queued (undeliverable) before the accept run
#   BENCH_BACKLOG_DUE=0            1: the backlog is made due (queue retry --all) before its runs: a dead destination's whole queue retried during them
#   BENCH_TIMEOUT=120              seconds a run may take after its client ends until all is stored
#   BENCH_COMMIT_STATS=0           1: the SecureMx targets serve /metrics (port 9465 on their address) and each run
#                                  prints their group commit; off by default: the listener adds ~23 MiB of RSS,
#                                  which the idle-session figures would count
#   BENCH_TLS_KEY=rsa              the inbound targets' certificate: rsa (each its own RSA-2048, as `init` and the
#                                  peer script make them) or ec (one ECDSA P-256 certificate served by all of them)
#   BENCH_DNS_NET=127.0.218        the /24 of the outbound section's DNS test bed (.1 knot, .2 unbound)
#   BENCH_WORK=<temp dir>          work directory (deleted at exit unless BENCH_KEEP=1)
# Addresses (port 2525 everywhere): 127.0.2.60 securemx, .61 postfix, .62 smtp-sink, .65 postfix-maildir,
#   .66 securemx-base, .67 the outbound smtp-sink, .68 the outbound Postfix, .69/.70 the outbound
#   SecureMx (default / destinationConcurrency 20; submission on port 2587), .71 securemx-base outbound.
# Output: terminal, bench/results/<timestamp>.txt and <timestamp>-runs.csv (every run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
peer=$repo/tests/peers/postfix-peer.sh
dnsbed=$repo/tests/peers/dns-testbed.sh
measure=$here/lib/measure.py
export PATH=$PATH:/usr/sbin:/sbin DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

runs=${BENCH_RUNS:-3}
sections=${BENCH_SECTIONS:-"inbound tls sustained idle outbound"}
base_rev=${BENCH_BASE_REV:-}
targets=${BENCH_TARGETS:-"smtp-sink postfix postfix-maildir securemx${base_rev:+ securemx-base}"}
msgs_1=${BENCH_MSGS_1:-500} msgs_n=${BENCH_MSGS:-2000} msgs_100k=${BENCH_MSGS_100K:-1000}
tls_msgs=${BENCH_TLS_MSGS:-2000} sustain_msgs=${BENCH_SUSTAIN_MSGS:-10000}
idle_list=${BENCH_IDLE:-"1000 10000"} out_msgs=${BENCH_OUT_MSGS:-20000} out_c20=${BENCH_OUT_C20:-0}
tls_key=${BENCH_TLS_KEY:-rsa}
commit_stats=${BENCH_COMMIT_STATS:-0}
out_runs=${BENCH_OUT_RUNS:-1} backlog=${BENCH_BACKLOG:-0} backlog_due=${BENCH_BACKLOG_DUE:-0} run_timeout=${BENCH_TIMEOUT:-120} dns_net=${BENCH_DNS_NET:-127.0.218}
rcpt=user@bench.test sender=sender@bench.test password=bench-password-$RANDOM$RANDOM
declare -A addr=([securemx]=127.0.2.60:2525 [postfix]=127.0.2.61:2525 [smtp-sink]=127.0.2.62:2525
  [postfix-maildir]=127.0.2.65:2525 [securemx-base]=127.0.2.66:2525 [out-sink]=127.0.2.67:2525
  [out-postfix]=127.0.2.68:2525 [out-securemx]=127.0.2.69:2525 [out-securemx-c20]=127.0.2.70:2525
  [out-securemx-base]=127.0.2.71:2525)

die() { echo "bench: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (private Postfix instances, smtp-sink -u postfix)"
for t in smtp-source smtp-sink postfix postconf postsuper python3 ss openssl dotnet git; do
  command -v "$t" >/dev/null || die "$t missing (scripts/install-test-deps.sh)"
done
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1 || runs > 20)); then die "BENCH_RUNS must be 1..20"; fi
[[ $tls_key == rsa || $tls_key == ec ]] || die "BENCH_TLS_KEY must be rsa or ec"
for n in $msgs_1 $msgs_n $msgs_100k $tls_msgs $sustain_msgs $idle_list $out_msgs $out_runs $backlog $backlog_due $run_timeout; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done
want() { [[ " $targets " == *" $1 "* ]]; }
section() { [[ " $sections " == *" $1 "* ]]; }
# Enough descriptors for 10 000 idle sessions (client and server inherit it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- work directory, results, clean-up ----
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$here/results"
out=$here/results/$stamp.txt csv=$here/results/$stamp-runs.csv idle_csv=$here/results/$stamp-idle.csv
work=${BENCH_WORK:-$(mktemp -d /tmp/securemx-bench.XXXXXX)}
mkdir -p "$work"; chmod 755 "$work"          # the postfix user must reach the Postfix peer dirs
export BENCH_WORK=$work
exec > >(tee "$out") 2>&1
tee_pid=$!

declare -A smx_pid=()
pf_dirs=() sink_pids=() dns_started="" base_tree=""
stop_pid() {  # PID: SIGTERM, up to 10 s, then SIGKILL
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$? p d
  trap - EXIT INT TERM
  exec 7>&- 2>/dev/null || true
  for p in "${smx_pid[@]}" "${sink_pids[@]}"; do stop_pid "$p"; done
  for d in "${pf_dirs[@]}"; do "$peer" stop "$d" || true; done
  [[ -n $dns_started ]] && { bash "$dnsbed" stop "$work/dns" || true; }
  [[ -n $base_tree ]] && { git -C "$repo" worktree remove --force "$base_tree" 2>/dev/null || true; }
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
  exec >&- 2>&-
  wait "$tee_pid" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_use() { ss -Hltn "sport = :${1##*:}" | awk '{print $4}' | grep -qxF "$1"; }
wait_port() {  # ADDR:PORT SECONDS [PID]
  local a=${1%:*} p=${1##*:} i
  for ((i = 0; i < $2 * 10; i++)); do
    timeout 2 bash -c "exec 3<>/dev/tcp/$a/$p" 2>/dev/null && return 0
    [[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}
rss_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || true; }
skip_target() { printf '%-18s SKIPPED: %s\n' "$1" "$2"; }
pf_pgrp() { ps -o pgid= -p "$(tr -dc '0-9' <"$1/spool/pid/master.pid")" | tr -d ' '; }

echo "# bench $stamp"
fs_of() {  # DIR: the file system's type, and whether an ext4 has a journal (without one, freed inodes are not reused for a minute or more)
  local type dev
  type=$(df -T "$1" | awk 'NR==2 {print $2}')
  dev=$(basename "$(findmnt -no SOURCE --target "$1" 2>/dev/null)" 2>/dev/null)
  if [[ $type == ext4 && -r /sys/fs/ext4/$dev/journal_task ]]; then
    [[ $(cat "/sys/fs/ext4/$dev/journal_task") == "<none>" ]] && type="ext4 (no journal)" || type="ext4 (journal)"
  fi
  echo "$type"
}
echo "# host: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), fs of $work: $(fs_of "$work")"
echo "# postfix $(postconf -dh mail_version 2>/dev/null), dotnet $(dotnet --version 2>/dev/null), git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo n/a)${base_rev:+, base $base_rev}"
echo "# load average at start: $(cut -d" " -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "# runs=$runs (outbound $out_runs) sections: $sections; targets: $targets; inbound certificate: $tls_key"
echo

# ---- builds: SecureMx (this tree, and BENCH_BASE_REV), the load generator ----
build() {  # PROJECT OUTDIR LOG: prints the reason on failure
  if ! dotnet build -c Release "$1" -o "$2" >"$3" 2>&1; then
    echo "build of ${1#"$repo"/} failed:"
    { grep -E ': error' "$3" || tail -n 5 "$3"; } | sort -u | tail -n 6 | sed 's/^/    /'
    return 1
  fi
}
smx_bin=$work/securemx-bin base_bin=$work/securemx-base-bin load=$work/smtpload-bin/smtpload
smx_ok=1 base_ok=""
if ! why=$(build "$repo/src/SecureMx/SecureMx.csproj" "$smx_bin" "$work/build-securemx.log"); then
  smx_ok=""; skip_target securemx "$why"
fi
if [[ -n $base_rev ]]; then
  base_tree=$work/base-src
  if ! git -C "$repo" worktree add --detach "$base_tree" "$base_rev" >"$work/base-worktree.log" 2>&1; then
    skip_target securemx-base "git worktree add $base_rev failed: $(tail -n 1 "$work/base-worktree.log")"; base_tree=""
  elif why=$(build "$base_tree/src/SecureMx/SecureMx.csproj" "$base_bin" "$work/build-base.log"); then
    base_ok=1
  else
    skip_target securemx-base "$why"
  fi
fi
build "$here/loadgen/SmtpLoad.csproj" "$work/smtpload-bin" "$work/build-smtpload.log" >"$work/build-smtpload.why" \
  || { cat "$work/build-smtpload.why"; echo "no load generator: the tls, idle and outbound sections are skipped"; load=""; }

# ---- servers ----
sink_start() {  # ADDR OUTFILE -> sets sink_last_pid
  in_use "$1" && die "$1 already in use"
  smtp-sink -u postfix -c -4 "$1" 4096 >"$2" 2>&1 &
  sink_last_pid=$!; sink_pids+=("$sink_last_pid")
  wait_port "$1" 10 "$sink_last_pid" || die "smtp-sink did not start on $1: $(cat "$2")"
}
pf_start() {  # NAME ROLE [peer options...]
  local name=$1 role=$2; shift 2
  if in_use "${addr[$name]}"; then skip_target "$name" "${addr[$name]} already in use"; return 1; fi
  if ! "$peer" start "$work/$name" --listen "${addr[$name]}" --role "$role" --hostname "$name.test" "$@" >"$work/$name.start" 2>&1; then
    skip_target "$name" "postfix-peer.sh start failed: $(tail -n 3 "$work/$name.start")"; return 1
  fi
  pf_dirs+=("$work/$name")
}
# smx_start NAME BIN [KEY=JSONVALUE ...]: init, domain bench.test, mailbox user@bench.test, serve
smx_start() {
  local name=$1 bin=$2 a=${addr[$1]} dir=$work/$1 data=$work/$1/data dns=127.0.0.1:53 sub=off
  shift 2
  [[ $name == out-* ]] && { dns=$resolver; sub=${a%:*}:2587; }
  mkdir -p "$dir"
  if in_use "$a"; then skip_target "$name" "$a already in use"; return 1; fi
  if ! dotnet "$bin/securemx.dll" init --data "$data" --hostname bench.securemx.test --mx "$a" --dns "$dns" \
       --securemx off --submission "$sub" --submissions off --dashboard off >"$dir/init.log" 2>&1; then
    skip_target "$name" "securemx init failed: $(tail -n 2 "$dir/init.log")"; return 1
  fi
  # The bench's own limits: 10 000 idle sessions from one address must be let in. SPF/DKIM/DMARC of inbound
  # mail (issue 19) off: the Postfix targets run no such checks either, and the inbound targets have no
  # resolver (a build from before issue 19 does not know the key, which the configuration would refuse).
  local auth=()
  grep -q InboundAuthentication "$bin/securemx.dll" && auth=(inboundAuthentication.enabled=false)
  if ! python3 - "$data/securemx.json" limits.maxConnections=20000 limits.maxConnectionsPerIp=20000 "${auth[@]}" "$@" >>"$dir/init.log" 2>&1 <<'EOF'
import json, sys
path = sys.argv[1]
cfg = json.load(open(path))
for kv in sys.argv[2:]:
    key, _, value = kv.partition("=")
    section, _, name = key.partition(".")
    cfg.setdefault(section, {})[name] = json.loads(value)
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
EOF
  then skip_target "$name" "could not edit $data/securemx.json"; return 1; fi
  if ! dotnet "$bin/securemx.dll" domain add bench.test --data "$data" >>"$dir/init.log" 2>&1 \
     || ! echo "$password" | dotnet "$bin/securemx.dll" mailbox add "$rcpt" --data "$data" --password-stdin >>"$dir/init.log" 2>&1; then
    skip_target "$name" "domain/mailbox add failed: $(tail -n 2 "$dir/init.log")"; return 1
  fi
  # BENCH_COMMIT_STATS=1: /metrics on the target's address (the group commit of each run: metrics_of)
  local metrics=()
  [[ $name != out-* && $commit_stats == 1 ]] && metrics=(--metrics "${a%:*}:9465")
  dotnet "$bin/securemx.dll" serve --data "$data" "${metrics[@]}" >"$dir/serve.log" 2>&1 &
  smx_pid[$name]=$!
  if ! wait_port "$a" 60 "${smx_pid[$name]}"; then
    skip_target "$name" "serve did not listen on $a: $(tail -n 3 "$dir/serve.log")"; stop_pid "${smx_pid[$name]}"; unset "smx_pid[$name]"; return 1
  fi
}
bin_of() { [[ $1 == *base* ]] && echo "$base_bin" || echo "$smx_bin"; }

inbound=()
if section inbound || section tls || section sustained || section idle; then
  # BENCH_TLS_KEY=ec: one ECDSA P-256 certificate for every inbound target (the handshake's signature costs a
  # fraction of RSA-2048's, on both sides); rsa: each target keeps the one it makes itself.
  pf_tls=(--tls yes) smx_tls=()
  if [[ $tls_key == ec ]]; then
    mkdir -p "$work/tls-ec"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=bench.securemx.test" \
      -addext "subjectAltName=DNS:bench.securemx.test,DNS:postfix.test,DNS:postfix-maildir.test" \
      -keyout "$work/tls-ec/key.pem" -out "$work/tls-ec/cert.pem" >/dev/null 2>&1 || die "openssl could not make the ECDSA certificate"
    chmod 644 "$work/tls-ec/key.pem" # read by Postfix (copied) and by SecureMx (its own user: root here)
    pf_tls=(--tls yes --cert "$work/tls-ec/cert.pem" --key "$work/tls-ec/key.pem")
    smx_tls=("tls.certificate=\"$work/tls-ec/cert.pem\"" "tls.key=\"$work/tls-ec/key.pem\"")
  fi
  if want smtp-sink; then sink_start "${addr[smtp-sink]}" "$work/smtp-sink.out"; sink_main_pid=$sink_last_pid; inbound+=(smtp-sink); fi
  want postfix && pf_start postfix sink-durable "${pf_tls[@]}" && inbound+=(postfix)
  want postfix-maildir && pf_start postfix-maildir maildir-durable "${pf_tls[@]}" && inbound+=(postfix-maildir)
  want securemx && [[ -n $smx_ok ]] && smx_start securemx "$smx_bin" "${smx_tls[@]}" && inbound+=(securemx)
  want securemx-base && [[ -n $base_ok ]] && smx_start securemx-base "$base_bin" "${smx_tls[@]}" && inbound+=(securemx-base)
  sleep 2
  for t in "${inbound[@]}"; do printf '%-18s listening on %s\n' "$t" "${addr[$t]}"; done
  echo
fi

# done condition, CPU source and Maildir of a target
done_of() {
  case $1 in
    smtp-sink) echo accepted ;;
    postfix) echo "queue-empty:$work/postfix/spool" ;;
    postfix-maildir) echo "maildir:$work/postfix-maildir/mail/any/new" ;;
    *) echo "maildir:$work/$1/data/mail/bench.test/user/new" ;;
  esac
}
cpu_of() {
  case $1 in
    smtp-sink) echo "--cpu-pid $sink_main_pid" ;;
    postfix* | out-postfix) echo "--cpu-pgrp $(pf_pgrp "$work/$1")" ;;
    *) echo "--cpu-pid ${smx_pid[$1]}" ;;
  esac
}
metrics_of() {
  [[ $commit_stats == 1 ]] || return 0
  case $1 in
    securemx | securemx-base) echo "--metrics http://${addr[$1]%:*}:9465/metrics" ;;
  esac
}
# measured: SECTION TARGET CONFIG RUN MESSAGES CLIENT... -> one CSV row; empties the Maildir afterwards
measured() {
  local section=$1 t=$2 config=$3 r=$4 n=$5 d res
  shift 5
  d=$(done_of "$t")
  sleep 0.3
  # shellcheck disable=SC2046  # cpu_of gives two words
  res=$(python3 "$measure" run --csv "$csv" --section "$section" --target "$t" --config "$config" --run "$r" \
        --messages "$n" --done "$d" $(cpu_of "$t") $(metrics_of "$t") --timeout "$run_timeout" -- "$@") || res="FAIL"
  # The run's files are moved aside, not deleted: on ext4 without a journal (these development VMs) every
  # new inode skips those freed in the last ~30 s (find_inode_bit/recently_deleted), so deleting thousands
  # of files doubled the next runs' kernel CPU for every target that writes files. Deleted at the end.
  if [[ $d == maildir:* ]]; then
    mkdir -p "$work/delivered/$t/$section-$config-$r"
    find "${d#maildir:}" -type f -exec mv -t "$work/delivered/$t/$section-$config-$r" {} + 2>/dev/null || true
  fi
  echo "$res"
}
source_client() {  # TARGET SESSIONS MESSAGES SIZE
  echo timeout 600 smtp-source -s "$2" -m "$3" -l "$4" -f "$sender" -t "$rcpt" "${addr[$1]}"
}

# ---- inbound: smtp-source, one message per connection ----
if section inbound && ((${#inbound[@]})); then
  echo "== inbound (smtp-source, one message per connection): accept msg/s, end-to-end msg/s, server CPU ms/msg"
  for t in "${inbound[@]}"; do
    # shellcheck disable=SC2046
    # 2 000 messages: enough calls for the runtime's tiered JIT to have recompiled the hot paths (with 300 the
    # first measured runs still paid for it); the steady state is what a mail server runs in.
    echo "warm-up $t: $(measured warmup "$t" 20x4k 0 2000 $(source_client "$t" 20 2000 4096))"
  done
  for cfg in "1x4k 1 $msgs_1 4096" "20x4k 20 $msgs_n 4096" "100x4k 100 $msgs_n 4096" "20x100k 20 $msgs_100k 102400"; do
    read -r name s m size <<<"$cfg"
    for ((r = 1; r <= runs; r++)); do
      for t in "${inbound[@]}"; do
        # shellcheck disable=SC2046
        printf '%-8s run %d %-16s %s\n' "$name" "$r" "$t" "$(measured inbound "$t" "$name" "$r" "$m" $(source_client "$t" "$s" "$m" "$size"))"
      done
    done
  done
  echo
fi

# ---- STARTTLS, TLS 1.3, 20 sessions (smtpload) ----
if section tls && [[ -n $load ]]; then
  echo "== STARTTLS inbound, TLS 1.3, 20 sessions (smtpload): accept msg/s, end-to-end msg/s, server CPU ms/msg"
  tls_targets=()
  for t in "${inbound[@]}"; do [[ $t != smtp-sink ]] && tls_targets+=("$t"); done
  for t in "${tls_targets[@]}"; do
    echo "warm-up $t: $(measured warmup "$t" tls 0 300 "$load" send "${addr[$t]}" --starttls --sessions 20 --messages 300)"
  done
  for ((r = 1; r <= runs; r++)); do
    # the generator's own ceiling (plaintext against smtp-sink: no TLS there) and its CPU per message
    if want smtp-sink; then
      printf 'tls      run %d %-16s %s\n' "$r" "smtpload→sink" "$(measured tls smtp-sink smtpload-plain "$r" "$tls_msgs" "$load" send "${addr[smtp-sink]}" --sessions 20 --messages "$tls_msgs")"
    fi
    for t in "${tls_targets[@]}"; do
      printf 'tls      run %d %-16s %s\n' "$r" "$t" "$(measured tls "$t" tls13-20 "$r" "$tls_msgs" "$load" send "${addr[$t]}" --starttls --sessions 20 --messages "$tls_msgs")"
    done
  done
  echo
fi

# ---- sustained: 20 sessions for BENCH_SUSTAIN_MSGS messages; end to end as % of accept ----
if section sustained; then
  echo "== sustained: smtp-source 20 sessions x $sustain_msgs messages: accept msg/s, end-to-end msg/s"
  for ((r = 1; r <= runs; r++)); do
    for t in "${inbound[@]}"; do
      [[ $t == smtp-sink || $t == postfix ]] && continue
      # shellcheck disable=SC2046
      printf 'sustain  run %d %-16s %s\n' "$r" "$t" "$(measured sustained "$t" 20x4k-long "$r" "$sustain_msgs" $(source_client "$t" 20 "$sustain_msgs" 4096))"
    done
  done
  echo
fi

# ---- idle sessions: VmRSS before / with N sessions open after EHLO / 10 s after they closed ----
if section idle && [[ -n $load ]]; then
  echo "== idle sessions (smtpload idle: connect, EHLO, stay): server VmRSS"
  for t in "${inbound[@]}"; do
    [[ $t == securemx* ]] || continue
    for n in $idle_list; do
      p=${smx_pid[$t]}
      before=$(rss_kb "$p" VmRSS)
      rm -f "$work/idle.in"; mkfifo "$work/idle.in"
      "$load" idle "${addr[$t]}" --sessions "$n" <"$work/idle.in" >"$work/idle.out" 2>&1 &
      idle_pid=$!
      exec 7>"$work/idle.in"
      for ((i = 0; i < 1200; i++)); do grep -q '^open' "$work/idle.out" && break; kill -0 "$idle_pid" 2>/dev/null || break; sleep 0.1; done
      sleep 2
      with=$(rss_kb "$p" VmRSS); opened=$(grep -o '^open [0-9]* failed [0-9]*' "$work/idle.out" || echo "open ? failed ?")
      echo >&7; exec 7>&-
      wait "$idle_pid" 2>/dev/null || true
      sleep 10
      after=$(rss_kb "$p" VmRSS)
      per=$(( (with - before) / n ))
      printf '%-16s %6d sessions (%s): VmRSS before %d kB, open %d kB (%d KiB/session), 10 s after close %d kB\n' \
        "$t" "$n" "$opened" "$before" "$with" "$per" "$after"
      echo "$t,$n,$before,$with,$after,${opened// /_}" >>"$idle_csv"
    done
  done
  echo "postfix          not measured: one smtpd process per session (~1.7 MB each, the issue's figure)"
  echo
fi

# ---- outbound drain: fill the queue for an unreachable sink.test, then start smtp-sink and release ----
resolver=""
if section outbound || ((backlog > 0)); then
  echo "== outbound drain of $out_msgs queued 4 KiB messages to smtp-sink"
  out_targets=()
  # sink.test's MX is the outbound smtp-sink, published by a private DNSSEC test bed (SecureMx resolves
  # MX records through its validating resolver; Postfix uses relayhost instead).
  mkdir -p "$work/dns"; chmod 755 "$work/dns"
  printf '%s\n' "sink.test. MX 10 mx.sink.test." "mx.sink.test. A ${addr[out-sink]%:*}" >"$work/dns/records.conf"
  if bash "$dnsbed" start "$work/dns" --net "$dns_net" >"$work/dns.start" 2>&1; then
    dns_started=1
    # shellcheck disable=SC1091,SC2153  # RESOLVER comes from testbed.env
    resolver=$(. "$work/dns/testbed.env"; echo "$RESOLVER")
    [[ $resolver == *:* ]] || resolver=$resolver:53
    smtpport=delivery.smtpPort=${addr[out-sink]##*:}
    [[ -n $smx_ok && -n $load ]] && want securemx && smx_start out-securemx "$smx_bin" "$smtpport" && out_targets+=(out-securemx)
    [[ -n $smx_ok && -n $load && $out_c20 == 1 ]] && want securemx \
      && smx_start out-securemx-c20 "$smx_bin" "$smtpport" delivery.destinationConcurrency=20 && out_targets+=(out-securemx-c20)
    [[ -n $base_ok && -n $load ]] && smx_start out-securemx-base "$base_bin" "$smtpport" && out_targets+=(out-securemx-base)
  else
    echo "no DNS test bed ($(tail -n 2 "$work/dns.start")): SecureMx outbound skipped"
  fi
  if want postfix && pf_start out-postfix relay --relay "${addr[out-sink]}"; then
    # Fill without delivering: every accepted message goes on hold (released for the drain);
    # in_flow_delay off, else smtpd waits for a qmgr that never takes held mail.
    postconf -c "$work/out-postfix/etc" -e "smtpd_recipient_restrictions = check_client_access static:HOLD" "in_flow_delay = 0"
    postfix -c "$work/out-postfix/etc" reload >/dev/null 2>&1
    out_targets+=(out-postfix)
  fi
  sleep 2
fi

fill() {  # TARGET N: queue N messages for rcpt@sink.test while the sink is down; prints the fill rate
  local t=$1 n=$2 t0 t1 i
  t0=$(date +%s.%N)
  if [[ $t == out-postfix ]]; then
    smtp-source -d -s 20 -m "$n" -l 4096 -f "$sender" -t rcpt@sink.test "${addr[$t]}" >"$work/fill.out" 2>&1 || { echo "fill failed: $(tail -n 2 "$work/fill.out")"; return 1; }
    for ((i = 0; i < 600; i++)); do
      (($(find "$work/$t/spool/hold" -type f | wc -l) >= n)) && break; sleep 0.1
    done
  else
    "$load" send "${addr[$t]%:*}:2587" --starttls --auth "$rcpt:$password" --from "$rcpt" --to rcpt@sink.test \
      --sessions 20 --per-connection 500 --messages "$n" >"$work/fill.out" 2>&1 || { echo "fill failed: $(tail -n 2 "$work/fill.out")"; return 1; }
    sleep 3   # the first attempt of the last ones (connection refused) ends; they wait for their retry
  fi
  t1=$(date +%s.%N)
  python3 -c "print('filled %d in %.1f s' % ($n, $t1 - $t0))"
}
release_cmd() {  # TARGET: the command that makes the queued mail due now
  if [[ $1 == out-postfix ]]; then
    echo "sh -c 'postsuper -c $work/$1/etc -H ALL 2>/dev/null; postqueue -c $work/$1/etc -f'"
  else
    echo "dotnet $(bin_of "$1")/securemx.dll queue retry --all --data $work/$1/data"
  fi
}
drain() {  # TARGET RUN
  local t=$1 r=$2 f res
  f=$(fill "$t" "$out_msgs") || { echo "$t run $r: $f"; return; }
  sink_start "${addr[out-sink]}" "$work/out-sink.out"
  # shellcheck disable=SC2046
  res=$(python3 "$measure" run --csv "$csv" --section outbound --target "$t" --config "drain$out_msgs" --run "$r" \
        --messages "$out_msgs" --done "sink:$work/out-sink.out" --sink-addr "${addr[out-sink]}" $(cpu_of "$t") --timeout 600 -- bash -c "$(release_cmd "$t")") || res=FAIL
  stop_pid "$sink_last_pid"
  printf 'drain    run %d %-18s %s; %s\n' "$r" "${t#out-}" "$f" "$res"
}
if section outbound && ((${#out_targets[@]})); then
  for ((r = 1; r <= out_runs; r++)); do
    for t in "${out_targets[@]}"; do drain "$t" "$r"; done
  done
  echo
fi

# ---- backlog (optional): accept rate with BENCH_BACKLOG undeliverable messages queued ----
if ((backlog > 0)) && [[ " ${out_targets[*]} " == *" out-securemx "* ]]; then
  echo "== backlog: 20 sessions x $msgs_n x 4 KiB inbound, empty queue vs $backlog queued"
  echo "   estimate: filling takes about $((backlog / 1500 / 60 + 1)) min at ~1 500 msg/s (submission while the destination is down, 2 cores), ~5 KiB of disk each"
  bt="out-securemx"
  # As in the inbound section: the tiered JIT recompiles the hot paths during the first thousands of messages.
  for ((r = 1; r <= 5; r++)); do
    # shellcheck disable=SC2046
    echo "warm-up $bt: $(measured warmup "$bt" 20x4k 0 2000 $(source_client "$bt" 20 2000 4096))" >/dev/null
  done
  for ((r = 1; r <= runs; r++)); do
    # shellcheck disable=SC2046
    printf 'empty    run %d %s\n' "$r" "$(measured backlog-empty "$bt" 20x4k "$r" "$msgs_n" $(source_client "$bt" 20 "$msgs_n" 4096))"
  done
  fill "$bt" "$backlog"
  if ((backlog_due)); then
    # The worst case of a dead destination: all of its queue due at once while the runs accept.
    eval "$(release_cmd "$bt")" >/dev/null 2>&1 || echo "queue retry --all failed"
    echo "   the backlog was made due (queue retry --all) before the runs"
  fi
  for ((r = 1; r <= runs; r++)); do
    # shellcheck disable=SC2046
    printf 'backlog  run %d %s\n' "$r" "$(measured backlog-full "$bt" 20x4k "$r" "$msgs_n" $(source_client "$bt" 20 "$msgs_n" 4096))"
  done
  echo
fi

# ---- the table ----
for t in "${!smx_pid[@]}"; do
  kill -0 "${smx_pid[$t]}" 2>/dev/null || { echo "WARNING: $t exited during the benchmark:"; tail -n 5 "$work/$t/serve.log" | sed 's/^/    /'; }
done
python3 "$here/lib/report.py" "$csv" "$idle_csv"
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $out, $csv"
