#!/usr/bin/env bash
# postfix-peer.sh — private Postfix instances on loopback addresses, as test and benchmark peers.
#
# Usage:
#   postfix-peer.sh start DIR --listen ADDR:PORT --role relay|mailbox|sink-durable|maildir-durable|dane-sender
#                         [--relay ADDR:PORT] [--hostname NAME] [--tls yes|no|weak]
#                         [--cert FILE --key FILE] [--resolver ADDR] [--smtp-port N]
#   postfix-peer.sh stop DIR      stop the instance in DIR (SIGTERM to the master in its pid file) and
#                                 wait until all its processes are gone; no-op if it is not running
#   postfix-peer.sh flush DIR     postqueue -c DIR/etc -f (deliver deferred mail now)
#   postfix-peer.sh status DIR    exit 0 if the instance in DIR is running, 1 if not
#   postfix-peer.sh queue DIR     postqueue -c DIR/etc -j (one JSON object per queued message; nothing
#                                 if the queue is empty), e.g. to see a deferred message's delay_reason
#   postfix-peer.sh exec DIR CMD [ARG...]
#                                 run CMD in the mount namespace of the running instance (for a
#                                 dane-sender: with its resolv.conf, i.e. through its --resolver) and
#                                 with MAIL_CONFIG=DIR/etc, e.g.
#                                   postfix-peer.sh exec DIR posttls-finger -c -l dane DOMAIN
#                                 ("Matched DANE EE certificate at depth 0: 3 1 1 ...", "Verified TLS ...")
#
# DIR must be an absolute path; it is created if missing and may be reused (the queue is kept,
# the configuration is rewritten on every start). Layout:
#   DIR/etc      main.cf, master.cf          DIR/spool   queue_directory
#   DIR/data     data_directory (postfix)    DIR/tls     self-signed cert/key (--tls yes), or
#                                                        copies of --cert/--key (given-cert.pem, given-key.pem)
#   DIR/resolv.conf  dane-sender: the resolv.conf its processes see (bind-mounted over /etc/resolv.conf
#                    in the master's private mount namespace)
#   DIR/maillog  the instance's log (maillog_file + postlog service; there is no syslog here)
#
# Roles:
#   relay         sending MTA: accepts mail from 127.0.0.0/8 (mynetworks) for any recipient and
#                 relays everything to --relay ADDR:PORT (relayhost = [ADDR]:PORT, required), with
#                 smtp_tls_security_level = may and smtp_tls_loglevel = 1 (the log then says
#                 "Untrusted TLS connection established to ...: TLSv1.3 with cipher ..."), no DNS
#                 (smtp_dns_support_level = disabled, smtp_host_lookup = native), IPv4 preferred,
#                 retries every ~5 s (minimal_backoff_time/queue_run_delay 5s).
#   mailbox       receiving MTA for delivery tests: accepts any recipient @ each of --domains (comma
#                 list, default bench.test) and stores every message in the single Maildir
#                 DIR/mail/any/ (virtual delivery), Received header included.
#   sink-durable  receiving MTA for benchmarks: accepts any recipient @bench.test, queues it (the
#                 cleanup daemon fsyncs the queue file before smtpd replies 250), then delivers
#                 to the discard: transport. 200 processes, no per-client limits, no in_flow_delay
#                 throttling, no client DNS lookups (smtpd_peername_lookup = no).
#   maildir-durable  receiving MTA for end-to-end benchmarks: sink-durable's settings (queue file
#                 fsync'd before 250, 200 processes, no limits or throttling), but every message is
#                 delivered by virtual(8) into the single Maildir DIR/mail/any/ (as the mailbox role:
#                 new/ holds what is stored) instead of being discarded.
#   dane-sender   reference sending MTA with DANE (RFC 7672): accepts mail from 127.0.0.0/8 (mynetworks)
#                 for any recipient and delivers it by DNS MX lookup (no relayhost) with
#                 smtp_tls_security_level = dane, smtp_dns_support_level = dnssec, smtp_host_lookup = dns,
#                 smtp_tls_loglevel = 1, no TLS session cache (a full handshake every time), IPv4 only,
#                 outgoing connections from the --listen address (smtp_bind_address), retries every ~5 s.
#                 Needs --resolver ADDR (the test bed's validating resolver, RESOLVER in its testbed.env): the master is
#                 started inside a private mount namespace (unshare -m) in which /etc/resolv.conf is a bind
#                 mount of DIR/resolv.conf ("nameserver ADDR", "options trust-ad timeout:2 attempts:2"; without trust-ad glibc
#                 clears the AD bit); every Postfix process it starts inherits that namespace. The host's
#                 /etc/resolv.conf is never modified. What Postfix 3.7.11 logs (DIR/maillog), per case:
#                   TLSA matches (3 1 1 of the leaf, or 2 1 1 of a CA the server sends in its chain):
#                     "Verified TLS connection established to mx.X[A]:25: TLSv1.3 with cipher ..."
#                     "... to=<user@X>, relay=mx.X[A]:25, ... dsn=2.0.0, status=sent (250 ...)"
#                   TLSA lookup SERVFAIL (no connection is made):
#                     "warning: DANE TLSA lookup problem: ... Name service error for name=_25._tcp.mx.X
#                      type=TLSA: Host not found, try again"
#                     "warning: TLS policy lookup for X/mx.X: TLSA lookup error for mx.X:25"
#                     "... relay=none, ... dsn=4.7.5, status=deferred (TLSA lookup error for mx.X:25)"
#                   TLSA does not match:
#                     "server certificate verification failed for mx.X[A]:25: num=65:no matching DANE TLSA records"
#                     "Untrusted TLS connection established to ..." then
#                     "... dsn=4.7.5, status=deferred (Server certificate not verified)"
#                   MX without TLSA (or in an unsigned zone): "Untrusted TLS connection established",
#                   or in clear text if STARTTLS is not offered.
#                 Deferred mail is retried every ~5 s; "postfix-peer.sh queue DIR" shows its delay_reason.
# Options:
#   --listen ADDR:PORT  the only listener (bound in master.cf; [::1]:PORT for IPv6, which turns on
#                       inet_protocols = all, as does an IPv6 --relay; inet_interfaces stays "all" because
#                       Postfix refuses 127.0.x.y there: "no local interface found").
#   --hostname NAME     myhostname (default peer.test).
#   --domains LIST      mailbox, sink-durable and maildir-durable: the domains accepted (default bench.test).
#   --rcpt-reply TEXT   answer every RCPT with this reply instead of accepting, e.g. "450 4.2.0 busy"
#                       (a deferring peer) or "550 5.1.1 no such user" (a rejecting peer).
#   --no-8bitmime       do not announce 8BITMIME (a peer that needs 7-bit content, RFC 6152).
#   --tls yes|no|weak   yes: self-signed certificate in DIR/tls and smtpd STARTTLS; weak: the same, but
#                       only TLS 1.0 with AES-CBC-SHA1 and RSA key exchange (the "weak" peer);
#                       (smtpd_tls_security_level = may). Default no. The relay role's client
#                       always uses smtp_tls_security_level = may.
#   --cert FILE --key FILE
#                       with --tls yes (or weak): serve this PEM certificate instead of the self-signed one;
#                       FILE may hold the leaf followed by its chain (all of it is sent, e.g. the private
#                       CA for a DANE-TA "2 1 1" record), KEY the matching private key (PEM, any format
#                       openssl reads). Both are copied into DIR/tls; the key must match the leaf.
#   --resolver ADDR     dane-sender (required there): IPv4 address of the validating resolver (port 53).
#   --smtp-port N       dane-sender: the port its client connects to on each MX (smtp_tcp_port, default
#                       25); the TLSA lookup follows it (_N._tcp.MX).
#
# start prints nothing on success and returns once ADDR:PORT accepts a TCP connection (<= ~20 s);
# on failure it prints the reason (startup output captured with script(1), tail of DIR/maillog)
# and exits non-zero. Needs root. Never touches /etc/postfix or the system instance; several
# instances (different DIRs and addresses) can run at once. Never stops anything by name.
#
# Example:
#   postfix-peer.sh start /tmp/pf-sink --listen 127.0.2.50:25 --role sink-durable
#   smtp-source -s 20 -m 200 -l 4096 -f sender@bench.test -t user@bench.test 127.0.2.50:25
#   postfix-peer.sh stop /tmp/pf-sink
#
#   # DANE reference sender through a test bed in /tmp/dnsbed (tests/peers/dns-testbed.sh):
#   . /tmp/dnsbed/testbed.env
#   postfix-peer.sh start /tmp/pf-dane --listen "$NET.250:25" --role dane-sender --resolver "${RESOLVER%:*}"
#   swaks --server "$NET.250:25" --from a@sender.test --to user@DOMAIN-OF-THE-BED
#   grep 'Verified TLS connection established' /tmp/pf-dane/maillog
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
etc=$dir/etc spool=$dir/spool data=$dir/data tlsdir=$dir/tls

# pid of the running master of the instance in $dir, or nothing
master_pid() {
  local pid
  [[ -r $spool/pid/master.pid ]] || return 1
  pid=$(tr -dc '0-9' < "$spool/pid/master.pid")
  [[ -n $pid ]] && alive "$pid" || return 1
  # guard against pid reuse: the process must be a Postfix master using this queue directory
  [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$(realpath -m "$spool")" ]] || return 1
  echo "$pid"
}

# true while $1 exists and is not a zombie (the daemonized master's parent is PID 1, which may
# reap zombies only every second or so: kill -0 would keep succeeding)
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ -n $st && $st != Z* ]]; }
# live (non-zombie) members of process group $1
group_alive() { ps -o stat= -g "$1" 2>/dev/null | grep -qv '^Z'; }

do_stop() {
  local pid pgid i
  pid=$(master_pid) || return 0
  pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
  # What "postfix -c DIR/etc stop" does (SIGTERM to the pid in the pid file), minus its
  # 1-second polling: master then SIGTERMs its whole process group and exits.
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do              # up to ~20 s
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    echo "$PROG: master $pid did not exit, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # master runs its children in its own process group; wait for them to go as well
  if [[ -n $pgid ]]; then
    for ((i = 0; i < 100; i++)); do
      group_alive "$pgid" || break
      sleep 0.05
    done
    if group_alive "$pgid"; then kill -KILL -- "-$pgid" 2>/dev/null || true; fi
  fi
  rm -f "$spool/pid/master.pid"
  return 0
}

case $cmd in
  stop) (($# == 0)) || usage; do_stop; exit 0 ;;
  status) master_pid >/dev/null; exit $? ;;
  flush)
    (($# == 0)) || usage
    master_pid >/dev/null || die "no running instance in $dir"
    exec postqueue -c "$etc" -f ;;
  queue)
    (($# == 0)) || usage
    exec postqueue -c "$etc" -j ;;
  exec)
    (($# >= 1)) || usage
    pid=$(master_pid) || die "no running instance in $dir"
    exec nsenter --target "$pid" --mount -- env MAIL_CONFIG="$etc" "$@" ;;
  start) ;;
  *) usage ;;
esac

listen="" role="" relay="" hostname=peer.test tls=no domains=bench.test rcpt_reply="" no8bit=no
cert="" key="" resolver="" smtp_port=25
while (($#)); do
  case $1 in
    --listen) listen=${2:-}; shift 2 || usage ;;
    --role) role=${2:-}; shift 2 || usage ;;
    --relay) relay=${2:-}; shift 2 || usage ;;
    --hostname) hostname=${2:-}; shift 2 || usage ;;
    --tls) tls=${2:-}; shift 2 || usage ;;
    --domains) domains=${2:-}; shift 2 || usage ;;
    --rcpt-reply) rcpt_reply=${2:-}; shift 2 || usage ;;
    --no-8bitmime) no8bit=yes; shift ;;
    --cert) cert=${2:-}; shift 2 || usage ;;
    --key) key=${2:-}; shift 2 || usage ;;
    --resolver) resolver=${2:-}; shift 2 || usage ;;
    --smtp-port) smtp_port=${2:-}; shift 2 || usage ;;
    *) die "unknown option: $1" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "must run as root"
command -v postfix >/dev/null || die "postfix is not installed (scripts/install-test-deps.sh)"
[[ $listen =~ ^(\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]+)$ ]] || die "--listen ADDR:PORT required (got '$listen')"
laddr=${BASH_REMATCH[1]} lport=${BASH_REMATCH[2]}
case $role in
  relay) [[ $relay =~ ^(\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]+)$ ]] \
           || die "--role relay needs --relay ADDR:PORT (got '$relay')"
         raddr=${BASH_REMATCH[1]#[} raddr=${raddr%]} rport=${BASH_REMATCH[2]} ;;
  sink-durable|maildir-durable|mailbox) [[ $domains =~ ^[A-Za-z0-9.,-]+$ ]] || die "--domains: a comma-separated list of domains (got '$domains')" ;;
  dane-sender)
    [[ $resolver =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "--role dane-sender needs --resolver ADDR (an IPv4 address; got '$resolver')"
    [[ $laddr =~ ^[0-9.]+$ ]] || die "--role dane-sender needs an IPv4 --listen address (got '$listen')"
    [[ $smtp_port =~ ^[0-9]+$ ]] && ((smtp_port >= 1 && smtp_port <= 65535)) || die "--smtp-port must be 1..65535 (got '$smtp_port')"
    command -v unshare >/dev/null || die "unshare (util-linux) is not installed" ;;
  *) die "--role must be relay, mailbox, sink-durable, maildir-durable or dane-sender (got '$role')" ;;
esac
[[ $role == dane-sender || ( -z $resolver && $smtp_port == 25 ) ]] || die "--resolver and --smtp-port are for --role dane-sender"
case $tls in yes|no|weak) ;; *) die "--tls must be yes, no or weak" ;; esac
if [[ -n $cert || -n $key ]]; then
  [[ -n $cert && -n $key ]] || die "--cert and --key go together"
  [[ $tls != no ]] || die "--cert/--key need --tls yes (or weak)"
  [[ -r $cert && -r $key ]] || die "cannot read --cert $cert or --key $key"
  cert_pub=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) || die "--cert $cert: no PEM certificate"
  key_pub=$(openssl pkey -in "$key" -pubout 2>/dev/null) || die "--key $key: no PEM private key"
  [[ $cert_pub == "$key_pub" ]] || die "--key $key does not match the (first) certificate in $cert"
fi
[[ $hostname =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "bad --hostname: $hostname"

if pid=$(master_pid); then die "an instance is already running in $dir (master pid $pid)"; fi

# Postfix's master sets SO_REUSEPORT on inet listeners: a second instance on the same ADDR:PORT
# starts "successfully" and the kernel then splits connections between the two. Refuse instead.
caddr=${laddr#[}; caddr=${caddr%]}
if ss -Hltn "sport = :$lport" 2>/dev/null | awk '{print $4}' | grep -qxF -e "$caddr:$lport" -e "[$caddr]:$lport"; then
  die "$listen is already in use: $(ss -Hltnp "sport = :$lport" | grep -F "$caddr:$lport" | grep -o "(\"[^\"]*\",pid=[0-9]*" | tail -1 | tr -d "(\"")"
fi

# IPv4 only, unless the listener or the relay is an IPv6 address ([::1]:25): then both families.
protocols=ipv4
[[ $laddr == \[* || ${raddr:-} == *:* ]] && protocols=all

# ---- directories (created by hand + quick-start marker: skips ~2-3 s of integrity checks) ----
mkdir -p "$dir" "$etc" "$spool" "$data"
chmod 755 "$dir" "$etc"
chown root:root "$spool"; chmod 755 "$spool"
for q in active bounce corrupt defer deferred flush hold incoming private saved trace; do
  mkdir -p "$spool/$q"; chown postfix: "$spool/$q"; chmod 700 "$spool/$q"
done
mkdir -p "$spool/maildrop" "$spool/public" "$spool/pid"
chown postfix:postdrop "$spool/maildrop" "$spool/public"
chmod 730 "$spool/maildrop"; chmod 710 "$spool/public"
chown root:root "$spool/pid"; chmod 755 "$spool/pid"
chown postfix: "$data"; chmod 700 "$data"
rm -f "$spool/pid/master.pid"
# Postfix daemons run as user postfix and use absolute paths (data_directory, certificates):
# every parent directory of DIR must be searchable by that user.
if ! setpriv --reuid=postfix --regid=postfix --clear-groups test -x "$dir" 2>/dev/null; then
  die "user postfix cannot reach $dir (a parent directory is not world-searchable, e.g. mktemp -d is 0700); chmod o+x the parents or use another DIR"
fi

# ---- TLS ----
tls_main=""
cert_file=$tlsdir/cert.pem key_file=$tlsdir/key.pem
if [[ $tls == yes || $tls == weak ]]; then
  mkdir -p "$tlsdir"; chmod 755 "$tlsdir"
  if [[ -n $cert ]]; then
    # the caller's certificate (and chain) and key, copied so that they outlive the caller's files
    cert_file=$tlsdir/given-cert.pem key_file=$tlsdir/given-key.pem
    install -m 644 "$cert" "$cert_file" && install -m 600 "$key" "$key_file" \
      || die "could not copy --cert/--key into $tlsdir"
  elif [[ ! -s $tlsdir/cert.pem || ! -s $tlsdir/key.pem ]] \
     || ! openssl x509 -in "$tlsdir/cert.pem" -noout -checkhost "$hostname" 2>/dev/null | grep -q 'does match'; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$hostname" \
      -addext "subjectAltName=DNS:$hostname" -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" \
      >/dev/null 2>&1 || die "openssl could not create a certificate in $tlsdir"
    chmod 600 "$tlsdir/key.pem"; chmod 644 "$tlsdir/cert.pem"
  fi
  tls_main="smtpd_tls_security_level = may
smtpd_tls_cert_file = $cert_file
smtpd_tls_key_file = $key_file
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database = btree:$data/smtpd_scache"
  if [[ $tls == weak ]]; then
    # The weakest peer OpenSSL 3 can still be: TLS 1.0 only, AES-CBC with SHA-1 and RSA key
    # exchange, at security level 0. A modern client refuses it.
    tls_main="$tls_main
smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1.1, !TLSv1.2, !TLSv1.3
smtpd_tls_ciphers = medium
tls_medium_cipherlist = AES128-SHA:AES256-SHA:@SECLEVEL=0"
  fi
else
  tls_main="smtpd_tls_security_level = none"
fi

ehlo_main=""
[[ $no8bit == yes ]] && ehlo_main="smtpd_discard_ehlo_keywords = 8bitmime"

# ---- main.cf ----
common="# generated by $PROG — rewritten on every start
compatibility_level = 3.6
queue_directory = $spool
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = $hostname
myorigin = \$myhostname
mydestination =
inet_interfaces = all
inet_protocols = $protocols
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_banner = \$myhostname ESMTP
smtpd_peername_lookup = no
smtputf8_enable = yes
# Leave headers exactly as received (no added Date:/Message-ID:, no address rewriting), so that
# tests can compare what arrived with what was sent.
local_header_rewrite_clients =
$ehlo_main
$tls_main"

rcpt_main="smtpd_recipient_restrictions ="
if [[ -n $rcpt_reply ]]; then
  [[ $rcpt_reply =~ ^[45][0-9][0-9]\ [^{}]+$ ]] || die "--rcpt-reply: 'CODE text' with a 4xx or 5xx code (got '$rcpt_reply')"
  rcpt_main="smtpd_recipient_restrictions = check_recipient_access static:{$rcpt_reply}"
fi

# What the fsync-then-store roles (maildir-durable, sink-durable) share: accept anything for their
# domains as fast as the client sends, no rate limits, quick retries.
accept_main="smtpd_relay_restrictions = reject_unauth_destination
$rcpt_main
smtpd_delay_reject = yes
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
in_flow_delay = 0
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s"

if [[ $role == mailbox ]]; then
  mkdir -p "$dir/mail"
  chown postfix:postfix "$dir/mail"
  role_main="virtual_mailbox_domains = ${domains//,/ }
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = static:any/
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
smtpd_relay_restrictions = reject_unauth_destination
$rcpt_main
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s"
elif [[ $role == relay ]]; then
  role_main="relayhost = [$raddr]:$rport
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtp_tls_session_cache_database = btree:$data/smtp_scache
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtp_address_preference = ipv4
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s
smtp_connect_timeout = 10s"
elif [[ $role == dane-sender ]]; then
  role_main="relayhost =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_host_lookup = dns
smtp_tls_loglevel = 1
smtp_address_preference = ipv4
smtp_bind_address = $laddr
smtp_tcp_port = $smtp_port
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s
smtp_connect_timeout = 10s"
  # what glibc (and so every Postfix process) sees as /etc/resolv.conf in the private namespace
  printf 'nameserver %s\noptions trust-ad timeout:2 attempts:2\n' "$resolver" > "$dir/resolv.conf"
  chmod 644 "$dir/resolv.conf"
elif [[ $role == maildir-durable ]]; then
  mkdir -p "$dir/mail"
  chown postfix:postfix "$dir/mail"
  role_main="virtual_mailbox_domains = ${domains//,/ }
virtual_mailbox_base = $dir/mail
virtual_mailbox_maps = static:any/
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
$accept_main"
else
  role_main="relay_domains = ${domains//,/ }
relay_recipient_maps =
relay_transport = discard:
default_transport = discard:
$accept_main"
fi
printf '%s\n%s\n' "$common" "$role_main" > "$etc/main.cf"

# ---- master.cf: one inet listener on ADDR:PORT, no chroot anywhere ----
cat > "$etc/master.cf" <<EOF
# generated by $PROG — rewritten on every start
# service  type  private unpriv chroot wakeup maxproc command
$laddr:$lport inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

# Postfix re-reads a configuration file until its mtime is >= ~2 s old ("file may still be being
# written"), which alone adds ~2 s to every start after a rewrite: backdate the files we wrote.
touch -d '-1 minute' "$etc/main.cf" "$etc/master.cf"

# ---- start ----
touch "$spool/quick-start"
if [[ $role == dane-sender ]]; then
  # The master (and so every process it forks) lives in a private mount namespace where
  # /etc/resolv.conf is DIR/resolv.conf; unshare -m makes mounts private (no propagation to the host).
  out=$(PF_ETC=$etc PF_RESOLV=$dir/resolv.conf script -qec \
    'unshare -m --propagation private sh -c '\''mount --bind "$PF_RESOLV" /etc/resolv.conf && exec postfix -c "$PF_ETC" start'\' \
    /dev/null 2>&1 | tr -d '\r') || true
else
  out=$(script -qec "postfix -c '$etc' start" /dev/null 2>&1 | tr -d '\r') || true
fi
fail() {
  echo "$PROG: $dir: $*" >&2
  [[ -n $out ]] && printf '%s\n' "$out" | sed 's/^/  postfix start: /' >&2
  [[ -s $dir/maillog ]] && tail -n 15 "$dir/maillog" | sed 's/^/  maillog: /' >&2
  rm -f "$spool/quick-start"
  exit 1
}
master_pid >/dev/null || fail "postfix did not start"

# wait until ADDR:PORT accepts a TCP connection (~20 s max)
for ((i = 0; i < 200; i++)); do
  if timeout 2 bash -c "exec 3<>/dev/tcp/$caddr/$lport" 2>/dev/null; then exit 0; fi
  master_pid >/dev/null || fail "postfix exited during start-up"
  sleep 0.1
done
fail "$listen does not accept connections after 20 s"
