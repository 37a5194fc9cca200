#!/usr/bin/env bash
# dns-testbed.sh — a loopback "DNSSEC internet": knot (authoritative, signs on load) + unbound
# (validating resolver whose AD bit the MTA under test trusts). Recipe: ../../../shared/TESTBED.md.
#
# Usage:
#   dns-testbed.sh start DIR --net NET [--mx-base N]
#       NET is a /24 prefix inside 127.0.0.0/8, e.g. 127.0.5. knot listens on NET.1:53, unbound on
#       NET.2:53 (the resolver to give SecureMx: --dns NET.2:53). Mail hosts get NET.(N+k), N
#       defaults to 10 (see the zone table). Prints nothing on success and returns once an answer
#       through unbound carries the AD flag (typically 1-2 s); on failure prints the reason (with
#       the tail of the knot/unbound logs), stops whatever it started and exits non-zero.
#   dns-testbed.sh stop DIR     stop knot and unbound of the test bed in DIR (by their pid files;
#                               never by name: other test beds may run); no-op if not running
#   dns-testbed.sh status DIR   exit 0 if both daemons of DIR are running, 1 if not
#
# DIR must be an absolute path; it is created if missing (mode 0755) and may be reused: keys are
# kept in DIR/knot/keys, zone files and configurations are rewritten on every start. Layout:
#   DIR/knot/knot.conf  DIR/knot/zones/*.zone  DIR/knot/knot.log  DIR/knot/knot.pid
#   DIR/unbound/unbound.conf  DIR/unbound/unbound.log  DIR/unbound/unbound.pid
#   DIR/servfail/       ldns key and signed zone of servfail.test
#   DIR/bogus/ZONE/     ldns key and zone of each BOGUS-TLSA child zone (see records.conf below)
#   DIR/testbed.env     NET, MX_BASE, RESOLVER, AUTHORITATIVE (shell syntax, for other scripts)
#   DIR/root-ds.txt     the trust anchor (DS of the fake root)
#
# Zones (b = --mx-base; every zone below test. is delegated to ns.test = NET.1; TTL 300):
#   .              signed fake root (ECDSA P-256 CSK via keymgr; knot signs on load); DS = trust anchor
#   test.          signed; delegations with DS to every signed zone below, without DS to unsigned.test
#   mx-ok.test     signed; MX 10 mx1.mx-ok.test (A NET.b), MX 20 mx2.mx-ok.test (A NET.b+1);
#                  alias.mx-ok.test CNAME mx1.mx-ok.test (CNAME chain for address lookups)
#   equal.test     signed; MX 10 mx-a.equal.test (A NET.b+2), MX 10 mx-b.equal.test (A NET.b+3)
#   implicit.test  signed; no MX; apex A NET.b+4 and AAAA ::1 (implicit MX, RFC 5321 §5.1; IPv6)
#   nullmx.test    signed; MX 0 . (null MX, RFC 7505)
#   nodata.test    signed; exists (SOA, NS) but no MX, A or AAAA
#   servfail.test  signed with ldns-signzone, RRSIGs expired in 2001 (DS in test. is valid): every
#                  lookup at or below it is bogus -> SERVFAIL through unbound; knot does not sign it
#                  (its content would be MX 10 mx.servfail.test, A NET.b+7)
#   unsigned.test  insecure delegation (no DS): MX 10 mx.unsigned.test (A NET.b+5),
#                  _25._tcp.mx.unsigned.test TLSA 3 1 1 <fixed hex> (answers without AD)
#   dane-ok.test   signed; MX 10 mx.dane-ok.test (A NET.b+6),
#                  _25._tcp.mx.dane-ok.test TLSA 3 1 1 <fixed hex> (placeholder)
#   nx.test        does not exist: validated NXDOMAIN (so does every other unknown name)
# NET.b … NET.b+7 are taken; extra hosts should use NET.b+8 and up. Note for delivery tests: the
# AAAA ::1 of implicit.test makes a client that prefers IPv6 try [::1]:25 before NET.b+4.
#
# Extra records: if DIR/records.conf exists, each line (zone-file syntax, absolute owner names
# below .test, e.g. "_25._tcp.mx.dane-ok.test. TLSA 3 1 1 ab12...", "mx.plain.test. A 127.0.5.17";
# '#' comments and blank lines ignored) is added to the zone of its last two labels (X.test).
# A TLSA line replaces the default TLSA of the same owner. An X.test that is not in the table
# above becomes a new signed zone (SOA, NS ns.test, delegated with DS); its records, TLSA included,
# validate (AD), e.g. "_25._tcp.mx.dane-ta.test. TLSA 2 1 1 <hex>". Write the file before start.
#
# A TLSA whose lookup fails (SERVFAIL) while everything else of its domain validates:
#   BOGUS-TLSA _25._tcp.mx.tlsa-servfail.test. 3 1 1 <hex>
# makes _tcp.mx.tlsa-servfail.test. a child zone of tlsa-servfail.test (which must be, or becomes,
# a signed zone of the kind above; not unsigned.test or servfail.test), signed with ldns-signzone
# (valid signatures, key in DIR/bogus/, delegated with DS) whose TLSA record is then edited after
# signing: the TLSA answers SERVFAIL through unbound (bogus), while the domain's MX and
# mx.tlsa-servfail.test A (in the parent zone) still validate. The owner must be _PORT._tcp.HOST.
# with HOST at or below X.test (HOST = X.test for an implicit MX); several BOGUS-TLSA lines for the
# same HOST share one child zone; any other records.conf line at or below _tcp.HOST. is dropped
# (the delegation hides it), so is the default TLSA of dane-ok.test if HOST is mx.dane-ok.test.
# unbound logs "validation failure <_25._tcp.mx.X. TLSA IN>: signature crypto failed". The
# parent's MX and A records are ordinary records.conf lines, e.g. for a test bed on 127.0.5:
#   tlsa-servfail.test. MX 10 mx.tlsa-servfail.test.
#   mx.tlsa-servfail.test. A 127.0.5.22
#   BOGUS-TLSA _25._tcp.mx.tlsa-servfail.test. 3 1 1 0123…(64 hex digits)
#
# Needs root and the Debian packages knot (knotd, keymgr), unbound, ldnsutils (ldns-signzone),
# bind9-dnsutils (scripts/install-test-deps.sh). Several test beds can run at once on different NETs.
#
# Example:
#   dns-testbed.sh start /tmp/dnsbed --net 127.0.5
#   dig +dnssec @127.0.5.2 mx-ok.test MX      # flags: qr rd ra ad
#   dns-testbed.sh stop /tmp/dnsbed
set -euo pipefail

PROG=${0##*/}
PATH=$PATH:/usr/sbin:/sbin
die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }

(($# >= 2)) || usage
cmd=$1 dir=$2
shift 2
[[ $dir == /* ]] || die "DIR must be an absolute path: $dir"
dir=${dir%/}
kdir=$dir/knot udir=$dir/unbound sdir=$dir/servfail

# true while $1 exists and is not a zombie
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ -n $st && $st != Z* ]]; }

# pid of the daemon whose pid file is $1 and whose command line names config file $2, or nothing
# (guards against pid reuse and against another test bed's process)
daemon_pid() {
  local pidfile=$1 conf=$2 pid
  [[ -r $pidfile ]] || return 1
  pid=$(tr -dc '0-9' < "$pidfile")
  [[ -n $pid ]] && alive "$pid" || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$conf" || return 1
  echo "$pid"
}
knot_pid() { daemon_pid "$kdir/knot.pid" "$kdir/knot.conf"; }
unbound_pid() { daemon_pid "$udir/unbound.pid" "$udir/unbound.conf"; }

stop_one() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do   # up to ~5 s
    alive "$pid" || return 0
    sleep 0.05
  done
  echo "$PROG: pid $pid did not exit, sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

do_stop() {
  local pid
  if pid=$(unbound_pid); then stop_one "$pid"; fi
  if pid=$(knot_pid); then stop_one "$pid"; fi
  rm -f "$udir/unbound.pid" "$kdir/knot.pid"
}

case $cmd in
  stop) (($# == 0)) || usage; do_stop; exit 0 ;;
  status) (($# == 0)) || usage; knot_pid >/dev/null && unbound_pid >/dev/null; exit $? ;;
  start) ;;
  *) usage ;;
esac

net="" mxbase=10
while (($#)); do
  case $1 in
    --net) net=${2:-}; shift 2 || usage ;;
    --mx-base) mxbase=${2:-}; shift 2 || usage ;;
    *) die "unknown option: $1" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root"
[[ $net =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255)) \
  || die "--net must be a /24 prefix inside 127.0.0.0/8 such as 127.0.5 (got '$net')"
[[ $mxbase =~ ^[0-9]+$ ]] && ((mxbase >= 3 && mxbase <= 240)) || die "--mx-base must be 3..240 (got '$mxbase')"
for tool in knotd keymgr unbound ldns-keygen ldns-signzone ldns-key2ds dig ss flock; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-test-deps.sh: knot, unbound, ldnsutils, bind9-dnsutils)"
done

auth=$net.1 resolver=$net.2
# Serialize starts on the same NET (two test runs at once): the address check below is only
# meaningful once the other start has bound its sockets. Released when this script exits.
exec 9>"/tmp/.dns-testbed-$net.lock"
flock -w 60 9 || die "another dns-testbed.sh start on $net holds /tmp/.dns-testbed-$net.lock"
if knot_pid >/dev/null || unbound_pid >/dev/null; then die "a test bed is already running in $dir (stop it first)"; fi
# knot binds its UDP sockets with SO_REUSEPORT: a second server on the same address would start
# "successfully" and share the queries. Refuse instead.
for a in "$auth" "$resolver"; do
  if ss -Hlun "sport = :53" 2>/dev/null | awk '{print $4}' | grep -qxF "$a:53"; then
    die "$a:53 is already in use: $(ss -Hlunp "sport = :53" | grep -F "$a:53" | grep -o '("[^"]*",pid=[0-9]*' | head -1 | tr -d '("')"
  fi
done

# If anything below fails, leave nothing running.
started=no
cleanup_on_error() { local rc=$?; if ((rc != 0)) && [[ $started == yes ]]; then do_stop; fi; exit $rc; }
trap cleanup_on_error EXIT

mkdir -p "$dir" "$kdir/zones" "$kdir/db" "$kdir/keys" "$kdir/run" "$udir" "$sdir"
chmod 755 "$dir" "$kdir" "$kdir/zones" "$udir" "$sdir"
rm -f "$kdir/knot.log" "$udir/unbound.log" "$kdir/zones/"*.zone

ttl=300
ip() { echo "$net.$((mxbase + $1))"; }
# placeholder DANE-EE SPKI SHA-256 (no real certificate behind it; see records.conf above)
tlsa_default="3 1 1 8f2d1c6ae73bb6f0d0c3a8b1e5f4a2d9c7b6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"

# ---- zone contents (without SOA/NS), by zone name ----
signed_children=(mx-ok.test equal.test implicit.test nullmx.test nodata.test dane-ok.test)
declare -A body
body[mx-ok.test]="mx-ok.test. MX 10 mx1.mx-ok.test.
mx-ok.test. MX 20 mx2.mx-ok.test.
mx1.mx-ok.test. A $(ip 0)
mx2.mx-ok.test. A $(ip 1)
alias.mx-ok.test. CNAME mx1.mx-ok.test."
body[equal.test]="equal.test. MX 10 mx-a.equal.test.
equal.test. MX 10 mx-b.equal.test.
mx-a.equal.test. A $(ip 2)
mx-b.equal.test. A $(ip 3)"
body[implicit.test]="implicit.test. A $(ip 4)
implicit.test. AAAA ::1"
body[nullmx.test]="nullmx.test. MX 0 ."
body[nodata.test]=""
body[servfail.test]="servfail.test. MX 10 mx.servfail.test.
mx.servfail.test. A $(ip 7)"
body[unsigned.test]="unsigned.test. MX 10 mx.unsigned.test.
mx.unsigned.test. A $(ip 5)
_25._tcp.mx.unsigned.test. TLSA $tlsa_default"
body[dane-ok.test]="dane-ok.test. MX 10 mx.dane-ok.test.
mx.dane-ok.test. A $(ip 6)
_25._tcp.mx.dane-ok.test. TLSA $tlsa_default"

# ---- DIR/records.conf: extra records (and extra signed zones) ----
declare -A bogus_body   # BOGUS-TLSA child zone (e.g. _tcp.mx.tlsa-servfail.test.) -> its TLSA lines
bogus_zones=()
if [[ -f $dir/records.conf ]]; then
  lineno=0
  while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    read -r owner rest <<<"$line"
    if [[ $owner == BOGUS-TLSA ]]; then
      read -r owner usage selector mtype hex extra <<<"$rest"
      owner=${owner,,} hex=${hex,,}
      [[ $owner =~ ^_[0-9]{1,5}\._tcp\.(([a-z0-9-]+\.)*([a-z0-9-]+)\.test\.)$ ]] \
        || die "records.conf:$lineno: BOGUS-TLSA owner must be _PORT._tcp.HOST. with HOST below .test (ending in '.test.'): $owner"
      child=_tcp.${BASH_REMATCH[1]} zone=${BASH_REMATCH[3]}.test
      [[ $usage =~ ^[0-3]$ && $selector =~ ^[01]$ && $mtype =~ ^[0-2]$ && $hex =~ ^[0-9a-f]+$ && -z $extra ]] && ((${#hex} % 2 == 0)) \
        || die "records.conf:$lineno: BOGUS-TLSA OWNER USAGE SELECTOR MTYPE HEX expected (got '$rest')"
      case $zone in unsigned.test|servfail.test) die "records.conf:$lineno: BOGUS-TLSA needs a signed parent zone, not $zone" ;; esac
      if [[ -z ${body[$zone]+set} ]]; then body[$zone]=""; signed_children+=("$zone"); fi
      if [[ -z ${bogus_body[$child]+set} ]]; then bogus_body[$child]=""; bogus_zones+=("$child"); fi
      bogus_body[$child]+="$owner TLSA $usage $selector $mtype $hex"$'\n'
      continue
    fi
    owner=${owner,,}
    [[ $owner =~ ^([a-z0-9_*-]+\.)*([a-z0-9-]+)\.test\.$ ]] \
      || die "records.conf:$lineno: owner must be an absolute name below .test (ending in '.test.'): $owner"
    zone=${BASH_REMATCH[2]}.test
    if [[ -z ${body[$zone]+set} ]]; then body[$zone]=""; signed_children+=("$zone"); fi
    # a TLSA line replaces the default TLSA of the same owner
    if [[ " $rest " =~ [[:space:]]TLSA[[:space:]] ]]; then
      body[$zone]=$(grep -vE "^${owner//./\\.} TLSA " <<<"${body[$zone]}" || true)
    fi
    body[$zone]+=$'\n'"$owner $rest"
  done < "$dir/records.conf"
fi
# A BOGUS-TLSA child zone hides whatever its parent had at or below its apex: drop those lines
# (e.g. the default TLSA of mx.dane-ok.test) and delegate instead (NS here, DS added below).
for child in "${bogus_zones[@]}"; do
  [[ $child =~ \.([a-z0-9-]+\.test)\.$ ]]; zone=${BASH_REMATCH[1]}
  body[$zone]=$(awk -v c="$child" '{ o = tolower($1); if (o == c || substr(o, length(o) - length(c)) == "." c) next; print }' <<<"${body[$zone]}")
  body[$zone]+=$'\n'"$child NS ns.test."
done

soa() { echo "\$TTL $ttl
$1 SOA ns.test. hostmaster.test. 1 3600 600 86400 $ttl
$1 NS ns.test."; }

# ---- knot configuration ----
zone_conf() { # NAME FILE SIGNED
  echo "  - domain: \"$1\""
  echo "    file: \"$2\""
  if [[ $3 == yes ]]; then echo "    dnssec-signing: on"; echo "    dnssec-policy: testbed"; fi
}
{
  cat <<EOF
# generated by $PROG — rewritten on every start
server:
  rundir: "$kdir/run"
  pidfile: "$kdir/knot.pid"
  listen: $auth@53
  udp-workers: 2
  tcp-workers: 2
  background-workers: 2
log:
  - target: "$kdir/knot.log"
    any: info
database:
  storage: "$kdir/db"
keystore:
  - id: testbed
    backend: pem
    config: "$kdir/keys"
policy:
  - id: testbed
    algorithm: ecdsap256sha256
    single-type-signing: on
    manual: on
    keystore: testbed
template:
  - id: default
    storage: "$kdir/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
EOF
  zone_conf . root.zone yes
  zone_conf test. test.zone yes
  for z in "${signed_children[@]}"; do zone_conf "$z." "$z.zone" yes; done
  zone_conf unsigned.test. unsigned.test.zone no
  zone_conf servfail.test. servfail.test.zone no
  for c in "${bogus_zones[@]}"; do zone_conf "$c" "${c%.}.zone" no; done
} > "$kdir/knot.conf"

# ---- keys (kept across starts) and DS records ----
ds_of() { # ZONE -> "ZONE. DS tag 13 2 hex" (SHA-256)
  local z=$1 out
  if ! keymgr -c "$kdir/knot.conf" "$z" list 2>/dev/null | grep -qE ' (CSK|KSK) '; then
    keymgr -c "$kdir/knot.conf" "$z" generate algorithm=ecdsap256sha256 ksk=yes zsk=yes >/dev/null \
      || die "keymgr could not generate a key for $z"
  fi
  out=$(keymgr -c "$kdir/knot.conf" "$z" ds) || die "keymgr $z ds failed: $out"
  awk '$2 == "DS" && $5 == 2 { print; exit }' <<<"$out"
}

# servfail.test: a valid key (its DS goes into test.) but signatures that expired long ago
servfail_ds() {
  local base
  ( cd "$sdir"
    base=$(ls Kservfail.test.+013+*.private 2>/dev/null | head -1 || true); base=${base%.private}
    if [[ -z $base ]]; then base=$(ldns-keygen -a ECDSAP256SHA256 -k servfail.test) || exit 1; fi
    { soa servfail.test.; echo "${body[servfail.test]}"; } > servfail.test.unsigned
    ldns-signzone -i 20000101000000 -e 20010101000000 -o servfail.test. -f "$kdir/zones/servfail.test.zone" \
      servfail.test.unsigned "$base" >/dev/null || exit 1
    ldns-key2ds -n -2 "$base.key" ) || die "ldns could not sign servfail.test in $sdir"
}

# BOGUS-TLSA child zones: valid key and signatures (DS in the parent), then each TLSA record is
# edited after signing, so its RRSIG no longer matches: only that lookup is bogus.
bogus_ds() { # CHILD (e.g. _tcp.mx.tlsa-servfail.test.) -> DS line; writes $kdir/zones/CHILD.zone
  local c=$1 bdir=$dir/bogus/${1%.} base
  mkdir -p "$bdir"; chmod 755 "$dir/bogus" "$bdir"
  ( cd "$bdir"
    base=$(ls "K${c}+013+"*.private 2>/dev/null | head -1 || true); base=${base%.private}
    if [[ -z $base ]]; then base=$(ldns-keygen -a ECDSAP256SHA256 -k "$c") || exit 1; fi
    # sign a variant of every TLSA (last hex digit changed), then put the real data back
    { soa "$c"
      while read -r o t u s m h; do
        [[ -n $o ]] || continue
        if [[ ${h: -1} == 0 ]]; then alt=${h%?}1; else alt=${h%?}0; fi
        echo "$o $t $u $s $m $alt"
      done <<<"${bogus_body[$c]}"; } > zone.unsigned
    ldns-signzone -i "$(date -u -d '-1 day' +%Y%m%d%H%M%S)" -e "$(date -u -d '+30 days' +%Y%m%d%H%M%S)" \
      -o "$c" -f zone.signed zone.unsigned "$base" >/dev/null || exit 1
    cp zone.signed zone.edited
    while read -r o t u s m h; do
      [[ -n $o ]] || continue
      if [[ ${h: -1} == 0 ]]; then alt=${h%?}1; else alt=${h%?}0; fi
      awk -v a="$alt" -v h="$h" '$4 == "TLSA" && tolower($NF) == a { sub(/[^[:space:]]+$/, h) } { print }' zone.edited > zone.tmp
      mv zone.tmp zone.edited
      awk -v o="$o" -v h="$h" 'tolower($1) == o && $4 == "TLSA" && tolower($NF) == h { f = 1 } END { exit !f }' zone.edited || exit 1
    done <<<"${bogus_body[$c]}"
    cp zone.edited "$kdir/zones/${c%.}.zone"
    ldns-key2ds -n -2 "$base.key" ) || die "ldns could not sign and edit the BOGUS-TLSA zone $c in $bdir"
}
for c in "${bogus_zones[@]}"; do
  [[ $c =~ \.([a-z0-9-]+\.test)\.$ ]]; zone=${BASH_REMATCH[1]}
  ds=$(bogus_ds "$c")
  [[ -n $ds ]] || die "no DS record for $c"
  body[$zone]+=$'\n'"$ds"
done

test_body=""
for z in "${signed_children[@]}" servfail.test; do
  if [[ $z == servfail.test ]]; then ds=$(servfail_ds); else ds=$(ds_of "$z"); fi
  [[ -n $ds ]] || die "no DS record for $z"
  test_body+="$z. NS ns.test."$'\n'"$ds"$'\n'
done
test_body+="unsigned.test. NS ns.test."$'\n'
root_ds=$(ds_of test)
anchor=$(ds_of .)
[[ -n $root_ds && -n $anchor ]] || die "no DS record for test. or the root"
echo "$anchor" > "$dir/root-ds.txt"

# ---- zone files ----
{ soa .; echo "ns.test. A $auth"; echo "test. NS ns.test."; echo "$root_ds"; } > "$kdir/zones/root.zone"
{ soa test.; echo "ns.test. A $auth"; echo -n "$test_body"; } > "$kdir/zones/test.zone"
for z in "${signed_children[@]}" unsigned.test; do
  { soa "$z."; echo "${body[$z]}"; } > "$kdir/zones/$z.zone"
done

# ---- start knot; wait until every zone is served (signed where it should be) ----
started=yes
knotd -c "$kdir/knot.conf" -d </dev/null >>"$kdir/knot.log" 2>&1 9>&- || die "knotd did not start: $(tail -n 20 "$kdir/knot.log")"
zones=(. test. "${signed_children[@]/%/.}" unsigned.test. servfail.test. "${bogus_zones[@]}")
args=(); for z in "${zones[@]}"; do args+=("$z" SOA); done
deadline=$((SECONDS + 10))
while :; do
  # one dig for all zones: each must answer its SOA authoritatively, signed (RRSIG SOA) where it should be
  out=$(dig +norec +dnssec +time=1 +tries=1 +noall +answer @"$auth" "${args[@]}" 2>/dev/null || true)
  missing=$(awk -v want="${zones[*]}" '
    BEGIN { n = split(want, w, " ") }
    $4 == "SOA" { soa[tolower($1)] = 1 }
    $4 == "RRSIG" && $5 == "SOA" { sig[tolower($1)] = 1 }
    END { for (i = 1; i <= n; i++) if (!soa[w[i]] || (w[i] != "unsigned.test." && !sig[w[i]])) { print w[i]; exit } }' <<<"$out")
  [[ -z $missing ]] && break
  if grep -qE "^[^ ]+ error: .*(failed to load|zone event 'load' failed|failed to parse)" "$kdir/knot.log" 2>/dev/null; then
    die "knot could not load a zone; knot.log errors:
$(grep -E '^[^ ]+ error: ' "$kdir/knot.log" | head -n 20)"
  fi
  if ! knot_pid >/dev/null || ((SECONDS >= deadline)); then
    die "knot on $auth:53 does not serve zone $missing (signed); knot.log:
$(grep -E '^[^ ]+ (error|warning): ' "$kdir/knot.log" 2>/dev/null | head -n 10)
$(tail -n 10 "$kdir/knot.log" 2>/dev/null)"
  fi
  sleep 0.1
done

# ---- unbound ----
cat > "$udir/unbound.conf" <<EOF
# generated by $PROG — rewritten on every start
server:
  verbosity: 1
  val-log-level: 2
  use-syslog: no
  logfile: "$udir/unbound.log"
  log-time-ascii: yes
  directory: "$udir"
  pidfile: "$udir/unbound.pid"
  chroot: ""
  username: ""
  do-daemonize: yes
  num-threads: 1
  so-reuseport: no
  interface: $resolver
  port: 53
  outgoing-interface: $resolver
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  # 127/8 upstreams are refused unless told otherwise; .test is answered locally unless told otherwise
  do-not-query-localhost: no
  local-zone: "test." nodefault
  module-config: "validator iterator"
  trust-anchor: "$anchor"
  qname-minimisation: no
  target-fetch-policy: "0 0 0 0 0"
  harden-referral-path: no
  prefetch: no
remote-control:
  control-enable: no
stub-zone:
  name: "."
  stub-addr: $auth
EOF
unbound -c "$udir/unbound.conf" </dev/null >>"$udir/unbound.log" 2>&1 9>&- \
  || die "unbound did not start: $(tail -n 20 "$udir/unbound.log")"

# ---- ready when a validated answer comes back (AD flag) ----
deadline=$((SECONDS + 10))
while :; do
  out=$(dig +dnssec +time=1 +tries=1 @"$resolver" mx-ok.test MX 2>/dev/null || true)
  if grep -qE '^;; flags:[^;]* ad[ ;]' <<<"$out" && grep -q 'status: NOERROR' <<<"$out"; then
    printf 'NET=%s\nMX_BASE=%s\nAUTHORITATIVE=%s:53\nRESOLVER=%s:53\n' "$net" "$mxbase" "$auth" "$resolver" > "$dir/testbed.env"
    exit 0
  fi
  unbound_pid >/dev/null || { sleep 0.2; unbound_pid >/dev/null || break; }
  ((SECONDS < deadline)) || break
  sleep 0.1
done
die "no validated (AD) answer from unbound on $resolver:53; last answer:
$out
unbound.log:
$(tail -n 30 "$udir/unbound.log" 2>/dev/null)
knot.log:
$(tail -n 10 "$kdir/knot.log" 2>/dev/null)"
