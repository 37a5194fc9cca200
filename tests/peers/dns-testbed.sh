#!/usr/bin/env bash
# dns-testbed.sh — a loopback "DNSSEC internet": knot (authoritative, signs on load) + unbound
# (validating resolver whose AD bit the MTA under test trusts), serving the zones of
# dns-testbed.zones (next to this script): their names, records, addresses and kinds are written
# there only, and the test fixtures read the same file.
#
# Usage:
#   dns-testbed.sh start DIR --net NET [--mx-base N] [--zones FILE]
#       NET is a /24 prefix inside 127.0.0.0/8, e.g. 127.0.5. knot and unbound listen on port 53
#       of the addresses the zone file names Authoritative and Resolver (the resolver is the one to
#       give SecureMx: --dns; DIR/testbed.env has both). Hosts written NET.b+K in the zone file get
#       NET.(N+K); N defaults to 10. FILE defaults to dns-testbed.zones next to this script.
#       Prints nothing on success and returns once an answer through unbound carries the AD flag
#       (typically 1-3 s); on failure prints the reason (with the tail of the knot/unbound logs),
#       stops whatever it started and exits non-zero.
#   dns-testbed.sh stop DIR     stop knot and unbound of the test bed in DIR (by their pid files;
#                               never by name: other test beds may run); no-op if not running
#   dns-testbed.sh status DIR   exit 0 if both daemons of DIR are running, 1 if not
#
# DIR must be an absolute path; it is created if missing (mode 0755) and may be reused: keys are
# kept in DIR/knot/keys, zone files and configurations are rewritten on every start. Layout:
#   DIR/knot/knot.conf  DIR/knot/zones/*.zone  DIR/knot/knot.log  DIR/knot/knot.pid
#   DIR/unbound/unbound.conf  DIR/unbound/unbound.log  DIR/unbound/unbound.pid
#   DIR/expired/ZONE/   ldns key and signed zone of each zone of kind "expired"
#   DIR/bogus/ZONE/     ldns key and zone of each BOGUS-TLSA child zone (see below)
#   DIR/testbed.env     NET, MX_BASE, RESOLVER, AUTHORITATIVE (shell syntax, for other scripts)
#   DIR/root-ds.txt     the trust anchor (DS of the fake root)
#
# The tree: a signed fake root "." (ECDSA P-256 CSK via keymgr; knot signs on load) whose DS is the
# trust anchor; test., signed, with ns.test = Authoritative; every zone of the zone file is
# delegated from test. to ns.test (TTL 300): a signed zone with its DS, an unsigned one without;
# an expired one is signed with ldns-signzone, its DS valid in test. but its signatures expired in
# 2001, so every lookup at or below it is bogus (SERVFAIL through unbound). Every other name below
# test. is a validated NXDOMAIN, and so is every name outside it (nothing leaks out).
#
# Extra records: if DIR/records.conf exists, each line (zone-file syntax, absolute owner names
# below .test, e.g. "_25._tcp.mx.extra.test. TLSA 3 1 1 ab12...", "mx.extra.test. A 127.0.5.47";
# NET.N and NET.b+K are understood as in the zone file; '#' comments and blank lines ignored) is
# added to the zone of its last two labels (X.test). A zone that is not in the zone file becomes a
# new signed zone (SOA, NS ns.test, delegated with DS): its records, TLSA included, validate (AD).
# The TLSA lines of records.conf for an owner replace the zone file's TLSA records of that owner
# (several lines for one owner form one RRset). Write the file before start.
#
# A TLSA whose lookup fails (SERVFAIL) while everything else of its domain validates:
#   BOGUS-TLSA _25._tcp.mx.X.test. 3 1 1 <hex>
# (in the zone file or in records.conf, where it replaces the zone file's BOGUS-TLSA of the same
# owner) makes _tcp.mx.X.test. a child zone of X.test (which must be a signed zone), signed with
# ldns-signzone (valid signatures, key in DIR/bogus/, delegated with DS) whose TLSA record is then
# edited after signing: the TLSA answers SERVFAIL through unbound (bogus), while the domain's MX
# and the A of mx.X.test (in the parent zone) still validate. The owner must be _PORT._tcp.HOST.
# with HOST at or below X.test (HOST = X.test for an implicit MX); several BOGUS-TLSA lines for
# the same HOST share one child zone; any other record at or below _tcp.HOST. is dropped (the
# delegation hides it). unbound logs "validation failure <_25._tcp.mx.X. TLSA IN>: signature
# crypto failed".
#
# Needs root and the Debian packages knot (knotd, keymgr), unbound, ldnsutils (ldns-signzone),
# bind9-dnsutils (scripts/install-test-deps.sh). Several test beds can run at once on different NETs.
#
# Example:
#   dns-testbed.sh start /tmp/dnsbed --net 127.0.5
#   . /tmp/dnsbed/testbed.env; dig +dnssec @"${RESOLVER%:*}" test. SOA   # flags: qr rd ra ad
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
kdir=$dir/knot udir=$dir/unbound

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

net="" mxbase=10 zones_file=$(dirname "$(readlink -f "$0")")/dns-testbed.zones
while (($#)); do
  case $1 in
    --net) net=${2:-}; shift 2 || usage ;;
    --mx-base) mxbase=${2:-}; shift 2 || usage ;;
    --zones) zones_file=${2:-}; shift 2 || usage ;;
    *) die "unknown option: $1" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root"
[[ $net =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] && ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255)) \
  || die "--net must be a /24 prefix inside 127.0.0.0/8 such as 127.0.5 (got '$net')"
[[ $mxbase =~ ^[0-9]{1,3}$ ]] || die "--mx-base must be a number (got '$mxbase')"
mxbase=$((10#$mxbase))
[[ -r $zones_file ]] || die "cannot read the zone file $zones_file"
for tool in knotd keymgr unbound ldns-keygen ldns-signzone ldns-key2ds dig ss flock; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run scripts/install-test-deps.sh: knot, unbound, ldnsutils, bind9-dnsutils)"
done

# ---- the zones: dns-testbed.zones, then DIR/records.conf ----
declare -A kind body     # zone (X.test) -> signed|unsigned|expired; its records (without SOA/NS)
declare -A bogus_body    # BOGUS-TLSA child zone (e.g. _tcp.mx.x.test.) -> its TLSA lines
declare -A role_address  # role of an "address" line -> the address
declare -A replaced      # owner whose TLSA (or BOGUS-TLSA) records.conf has replaced
zones_in_order=() bogus_zones=()
highest_fixed=0 highest_offset=0

# NET.N or NET.b+K -> $address, the address on this bed; fails for anything else. Not in a
# subshell: it keeps track of the highest addresses for the --mx-base check.
address_of() {
  local n
  if [[ $1 =~ ^NET\.b\+([0-9]{1,3})$ ]]; then n=$((mxbase + 10#${BASH_REMATCH[1]}))
    ((10#${BASH_REMATCH[1]} <= highest_offset)) || highest_offset=$((10#${BASH_REMATCH[1]}))
  elif [[ $1 =~ ^NET\.([0-9]{1,3})$ ]]; then n=$((10#${BASH_REMATCH[1]}))
    ((n >= 1 && n <= 254)) || return 1
    ((n <= highest_fixed)) || highest_fixed=$n
  else return 1; fi
  address=$net.$n
}

# the words of a record's data -> $data, with NET.N and NET.b+K replaced by addresses
record_data() {
  local w
  data=""
  for w in "$@"; do
    if [[ $w == NET.* ]]; then address_of "$w" || return 1; w=$address; fi
    data+="${data:+ }$w"
  done
}

new_zone() { # NAME KIND
  kind[$1]=$2 body[$1]=""
  zones_in_order+=("$1")
}

# WHERE ZONE OWNER DATA... (from records.conf: TLSA lines replace the zone file's TLSA of that owner)
add_record() {
  local where=$1 zone=$2 owner=$3 from_records=$4
  shift 4
  record_data "$@" || die "$where: an address is NET.N or NET.b+K within the /24 (got '$*')"
  if [[ $from_records == yes && $1 == TLSA && -z ${replaced[$owner]+set} ]]; then
    replaced[$owner]=1
    body[$zone]=$(grep -vE "^${owner//./\\.} TLSA " <<<"${body[$zone]}" || true)
  fi
  body[$zone]+="${body[$zone]:+$'\n'}$owner $data"
}

# WHERE ZONE-OR-EMPTY FROM-RECORDS OWNER USAGE SELECTOR MTYPE HEX: a TLSA whose lookup is bogus
add_bogus() {
  local where=$1 current=$2 from_records=$3 owner=${4,,} usage=${5:-} selector=${6:-} mtype=${7:-} hex=${8,,} child zone
  (($# == 8)) || die "$where: BOGUS-TLSA OWNER USAGE SELECTOR MTYPE HEX expected"
  [[ $owner =~ ^_[0-9]{1,5}\._tcp\.(([a-z0-9-]+\.)*([a-z0-9-]+)\.test\.)$ ]] \
    || die "$where: BOGUS-TLSA owner must be _PORT._tcp.HOST. with HOST below .test (ending in '.test.'): $owner"
  child=_tcp.${BASH_REMATCH[1]} zone=${BASH_REMATCH[3]}.test
  [[ $usage =~ ^[0-3]$ && $selector =~ ^[01]$ && $mtype =~ ^[0-2]$ && $hex =~ ^[0-9a-f]+$ ]] && ((${#hex} % 2 == 0)) \
    || die "$where: BOGUS-TLSA OWNER USAGE SELECTOR MTYPE HEX expected (got '$usage $selector $mtype $hex')"
  [[ -z $current || $zone == "$current" ]] || die "$where: $owner is not in zone $current"
  [[ -n ${kind[$zone]+set} ]] || new_zone "$zone" signed
  [[ ${kind[$zone]} == signed ]] || die "$where: BOGUS-TLSA needs a signed parent zone, not $zone (${kind[$zone]})"
  if [[ -z ${bogus_body[$child]+set} ]]; then bogus_body[$child]=""; bogus_zones+=("$child"); fi
  if [[ $from_records == yes && -z ${replaced[$owner]+set} ]]; then
    replaced[$owner]=1
    bogus_body[$child]=$(grep -vE "^${owner//./\\.} TLSA " <<<"${bogus_body[$child]}" || true)
    [[ -z ${bogus_body[$child]} ]] || bogus_body[$child]+=$'\n'
  fi
  bogus_body[$child]+="$owner TLSA $usage $selector $mtype $hex"$'\n'
}

current="" lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  [[ $line =~ ^[[:space:]]*$ ]] && continue
  read -r -a f <<<"$line"
  where="$zones_file:$lineno"
  case ${f[0]} in
    zone)
      ((${#f[@]} == 4)) || die "$where: zone ROLE NAME KIND expected"
      name=${f[2],,}
      [[ $name =~ ^[a-z0-9-]+\.test$ ]] || die "$where: a zone is X.test (got '$name')"
      [[ ${f[3]} =~ ^(signed|unsigned|expired)$ ]] || die "$where: KIND is signed, unsigned or expired (got '${f[3]}')"
      [[ -z ${kind[$name]+set} ]] || die "$where: zone $name is defined twice"
      new_zone "$name" "${f[3]}"
      current=$name ;;
    host)
      ((${#f[@]} == 4)) || die "$where: host ROLE NAME ADDRESS expected"
      [[ -n $current && ( ${f[2],,} == "$current" || ${f[2],,} == *".$current" ) ]] || die "$where: host ${f[2]} is not in the zone above it"
      add_record "$where" "$current" "${f[2],,}." no A "${f[3]}" ;;
    address)
      ((${#f[@]} == 3)) || die "$where: address ROLE ADDRESS expected"
      address_of "${f[2]}" || die "$where: an address is NET.N or NET.b+K within the /24 (got '${f[2]}')"
      role_address[${f[1]}]=$address ;;
    absent)
      ((${#f[@]} == 3)) || die "$where: absent ROLE NAME expected" ;;
    BOGUS-TLSA)
      [[ -n $current ]] || die "$where: a record before the first zone line"
      add_bogus "$where" "$current" no "${f[@]:1}" ;;
    *)
      [[ -n $current ]] || die "$where: a record before the first zone line"
      owner=${f[0],,}
      [[ $owner == "$current." || $owner == *".$current." ]] || die "$where: $owner is not in zone $current"
      ((${#f[@]} >= 3)) || die "$where: OWNER TYPE DATA expected"
      add_record "$where" "$current" "$owner" no "${f[@]:1}" ;;
  esac
done < "$zones_file"
auth=${role_address[Authoritative]:-} resolver=${role_address[Resolver]:-}
[[ -n $auth && -n $resolver ]] || die "$zones_file names no Authoritative or no Resolver address"

records_conf_used=""
if [[ -f $dir/records.conf ]]; then
  records_conf_used=yes lineno=0
  while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    read -r -a f <<<"$line"
    where="records.conf:$lineno"
    if [[ ${f[0]} == BOGUS-TLSA ]]; then add_bogus "$where" "" yes "${f[@]:1}"; continue; fi
    owner=${f[0],,}
    [[ $owner =~ ^([a-z0-9_*-]+\.)*([a-z0-9-]+)\.test\.$ ]] \
      || die "$where: owner must be an absolute name below .test (ending in '.test.'): $owner"
    zone=${BASH_REMATCH[2]}.test
    [[ -n ${kind[$zone]+set} ]] || new_zone "$zone" signed
    ((${#f[@]} >= 3)) || die "$where: OWNER TYPE DATA expected"
    add_record "$where" "$zone" "$owner" yes "${f[@]:1}"
  done < "$dir/records.conf"
fi
# the NET.b+K hosts must stay above the fixed addresses and inside the /24
((mxbase > highest_fixed && mxbase + highest_offset <= 254)) \
  || die "--mx-base must be $((highest_fixed + 1))..$((254 - highest_offset)) for $zones_file${records_conf_used:+ and records.conf} (got $mxbase)"
# A BOGUS-TLSA child zone hides whatever its parent had at or below its apex: drop those lines
# and delegate instead (NS here, DS added below).
for child in "${bogus_zones[@]}"; do
  [[ $child =~ \.([a-z0-9-]+\.test)\.$ ]]; zone=${BASH_REMATCH[1]}
  body[$zone]=$(awk -v c="$child" '{ o = tolower($1); if (o == c || substr(o, length(o) - length(c)) == "." c) next; print }' <<<"${body[$zone]}")
  body[$zone]+=$'\n'"$child NS ns.test."
done
zones_of_kind() { local z; for z in "${zones_in_order[@]}"; do if [[ ${kind[$z]} == "$1" ]]; then echo "$z"; fi; done; }
mapfile -t signed < <(zones_of_kind signed)
mapfile -t unsigned < <(zones_of_kind unsigned)
mapfile -t expired < <(zones_of_kind expired)
((${#signed[@]} > 0)) || die "$zones_file has no signed zone"

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

mkdir -p "$dir" "$kdir/zones" "$kdir/db" "$kdir/keys" "$kdir/run" "$udir"
chmod 755 "$dir" "$kdir" "$kdir/zones" "$udir"
rm -f "$kdir/knot.log" "$udir/unbound.log" "$kdir/zones/"*.zone

ttl=300

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
  cat <<EOC
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
EOC
  zone_conf . root.zone yes
  zone_conf test. test.zone yes
  for z in "${signed[@]}"; do zone_conf "$z." "$z.zone" yes; done
  for z in "${unsigned[@]}" "${expired[@]}"; do zone_conf "$z." "$z.zone" no; done
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

# a zone of kind expired: a valid key (its DS goes into test.) but signatures that expired long ago
expired_ds() { # ZONE -> DS line; writes $kdir/zones/ZONE.zone
  local z=$1 edir=$dir/expired/$1 base
  mkdir -p "$edir"; chmod 755 "$dir/expired" "$edir"
  ( cd "$edir"
    base=$(ls "K$z.+013+"*.private 2>/dev/null | head -1 || true); base=${base%.private}
    if [[ -z $base ]]; then base=$(ldns-keygen -a ECDSAP256SHA256 -k "$z") || exit 1; fi
    { soa "$z."; echo "${body[$z]}"; } > zone.unsigned
    ldns-signzone -i 20000101000000 -e 20010101000000 -o "$z." -f "$kdir/zones/$z.zone" \
      zone.unsigned "$base" >/dev/null || exit 1
    ldns-key2ds -n -2 "$base.key" ) || die "ldns could not sign $z in $edir"
}

# BOGUS-TLSA child zones: valid key and signatures (DS in the parent), then each TLSA record is
# edited after signing, so its RRSIG no longer matches: only that lookup is bogus.
bogus_ds() { # CHILD (e.g. _tcp.mx.x.test.) -> DS line; writes $kdir/zones/CHILD.zone
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
for z in "${signed[@]}" "${expired[@]}"; do
  if [[ ${kind[$z]} == expired ]]; then ds=$(expired_ds "$z"); else ds=$(ds_of "$z"); fi
  [[ -n $ds ]] || die "no DS record for $z"
  test_body+="$z. NS ns.test."$'\n'"$ds"$'\n'
done
for z in "${unsigned[@]}"; do test_body+="$z. NS ns.test."$'\n'; done
root_ds=$(ds_of test)
anchor=$(ds_of .)
[[ -n $root_ds && -n $anchor ]] || die "no DS record for test. or the root"
echo "$anchor" > "$dir/root-ds.txt"

# ---- zone files ----
{ soa .; echo "ns.test. A $auth"; echo "test. NS ns.test."; echo "$root_ds"; } > "$kdir/zones/root.zone"
{ soa test.; echo "ns.test. A $auth"; echo -n "$test_body"; } > "$kdir/zones/test.zone"
for z in "${signed[@]}" "${unsigned[@]}"; do
  { soa "$z."; echo "${body[$z]}"; } > "$kdir/zones/$z.zone"
done

# ---- start knot; wait until every zone is served (signed where it should be) ----
started=yes
knotd -c "$kdir/knot.conf" -d </dev/null >>"$kdir/knot.log" 2>&1 9>&- || die "knotd did not start: $(tail -n 20 "$kdir/knot.log")"
zones=(. test. "${signed[@]/%/.}" "${unsigned[@]/%/.}" "${expired[@]/%/.}" "${bogus_zones[@]}")
args=(); for z in "${zones[@]}"; do args+=("$z" SOA); done
deadline=$((SECONDS + 10))
while :; do
  # one dig for all zones: each must answer its SOA authoritatively, signed (RRSIG SOA) where it should be
  out=$(dig +norec +dnssec +time=1 +tries=1 +noall +answer @"$auth" "${args[@]}" 2>/dev/null || true)
  missing=$(awk -v want="${zones[*]}" -v insecure="${unsigned[*]/%/.}" '
    BEGIN { n = split(want, w, " "); split(insecure, u, " "); for (i in u) plain[u[i]] = 1 }
    $4 == "SOA" { soa[tolower($1)] = 1 }
    $4 == "RRSIG" && $5 == "SOA" { sig[tolower($1)] = 1 }
    END { for (i = 1; i <= n; i++) if (!soa[w[i]] || (!plain[w[i]] && !sig[w[i]])) { print w[i]; exit } }' <<<"$out")
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
  # through the whole chain of trust: root, test. and a signed zone below it
  out=$(dig +dnssec +time=1 +tries=1 @"$resolver" "${signed[0]}" SOA 2>/dev/null || true)
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
