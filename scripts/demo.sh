#!/usr/bin/env bash
# Builds SecureMx and runs a demo instance on unprivileged loopback ports, creating it on first run
# (data in ./demo: SQLite store, spool, Maildirs, self-signed certificate), with Dovecot in front
# for IMAP and POP3 when it can be installed or is there. Stop it with Ctrl+C.
#
# Run as root, the instance belongs to a system user of its own (securemx-demo), as in production:
# Dovecot reads and writes mail as that user and never as root. Its data then lives in
# /var/lib/securemx-demo unless that user can reach ./demo, and the build is copied there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
demo_user=securemx-demo
is_root=""; [[ $(id -u) -eq 0 ]] && is_root=1
apt_install() {
  [[ -n $is_root ]] && command -v apt-get >/dev/null 2>&1 || return 1
  # No package may start a system service of its own here (Dovecot's would take ports 143/993).
  local added=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; added=1; fi
  local status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; } || status=1
  if [[ -n $added ]]; then rm -f /usr/sbin/policy-rc.d; fi
  return $status
}

# swaks is the easiest way to send the demo a mail; install it when we can (Debian, root).
command -v swaks >/dev/null 2>&1 || apt_install swaks libnet-ssleay-perl libio-socket-ssl-perl || true
# Dovecot serves the demo's mailboxes over IMAP and POP3 (it needs root to start).
if [[ -n $is_root ]] && ! command -v dovecot >/dev/null 2>&1; then
  echo "installing Dovecot (IMAP, POP3, LMTP) for the demo…"
  apt_install dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sqlite || echo "could not install Dovecot; the demo runs without IMAP/POP3"
fi

dotnet build src/SecureMx/SecureMx.csproj -c Release -nologo -v quiet -o "$root/artifacts/securemx"
bin="$root/artifacts/securemx"
data="${SECUREMX_DEMO_DATA:-$root/demo}"
run_as=()
if [[ -n $is_root ]]; then
  id "$demo_user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$demo_user"
  # The instance's user must reach the data and the build; a checkout in /root is out of its reach.
  if [[ -z ${SECUREMX_DEMO_DATA:-} ]] && ! setpriv --reuid="$demo_user" --regid="$demo_user" --init-groups test -x "$root" 2>/dev/null; then
    data=/var/lib/securemx-demo/data
    mkdir -p /var/lib/securemx-demo
    rm -rf /var/lib/securemx-demo/bin && cp -r "$bin" /var/lib/securemx-demo/bin
    bin=/var/lib/securemx-demo/bin
  fi
  run_as=(setpriv --reuid="$demo_user" --regid="$demo_user" --init-groups env HOME=/tmp)
fi
# Run as root, every command below continues as the owner of $data (it switches itself).
securemx() { dotnet "$bin/securemx.dll" "$@"; }

[[ -f "$data/securemx.json" ]] || securemx init --data "$data" --hostname mx.demo.test --securemx-hostname securemx.demo.test
if [[ -n $is_root ]]; then chown -R "$demo_user": "$data"; fi
# Each step only if not done yet: an interrupted first start is completed by the next one, and
# instances made by older versions get what is new (the demo account may flip every switch: its
# own, its domain's as domain admin, the destination table as system admin).
securemx domain list --data "$data" | grep -qx demo.test || securemx domain add demo.test --data "$data"
mailboxes=$(securemx mailbox list --data "$data" | cut -f1)
grep -qx demo@demo.test <<<"$mailboxes" || echo "demo-password" | securemx mailbox add demo@demo.test --password-stdin --data "$data"
grep -qx colleague@demo.test <<<"$mailboxes" || echo "colleague-password" | securemx mailbox add colleague@demo.test --password-stdin --data "$data"
# The demo passwords are set again at every start: a demo made by an older version has hashes
# Dovecot cannot check (they are replaced at a login, and this is the simplest one).
echo "demo-password" | securemx mailbox passwd demo@demo.test --password-stdin --data "$data" >/dev/null
echo "colleague-password" | securemx mailbox passwd colleague@demo.test --password-stdin --data "$data" >/dev/null
securemx alias list --data "$data" | grep -q '^postmaster@demo.test' || securemx alias add postmaster@demo.test demo@demo.test --data "$data"
securemx domain admin list demo.test --data "$data" | grep -qx demo@demo.test || securemx domain admin add demo.test demo@demo.test --data "$data"
securemx admin list --data "$data" | grep -qx demo@demo.test || securemx admin add demo@demo.test --data "$data"

# Dovecot in front: IMAP and POP3 on unprivileged loopback ports, mail handed over by LMTP.
dovecot_pid=""
if command -v dovecot >/dev/null 2>&1 && [[ -n $is_root ]]; then
  (umask 077; securemx dovecot-config --data "$data" --imap 127.0.0.1:2143 --imaps 127.0.0.1:2993 \
      --pop3 127.0.0.1:2110 --pop3s 127.0.0.1:2995 > "$data/dovecot.conf.new" 2>/dev/null) && mv "$data/dovecot.conf.new" "$data/dovecot.conf"
  dovecot -F -c "$data/dovecot.conf" &
  dovecot_pid=$!
  trap '[[ -n $dovecot_pid ]] && kill $dovecot_pid 2>/dev/null; wait 2>/dev/null' EXIT
fi

listener() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listeners"][sys.argv[2]])' "$data/securemx.json" "$1" 2>/dev/null || echo "$2"; }
mx=$(listener mx 127.0.0.1:2525)
submission=$(listener submission 127.0.0.1:2587)
submissions=$(listener submissions 127.0.0.1:2465)
securemx=$(listener secureMx 127.0.0.1:2526)
dashboard=$(listener dashboard 127.0.0.1:8443)
dns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dns"])' "$data/securemx.json" 2>/dev/null || echo 127.0.0.1:53)
cat <<EOT

SecureMx demo instance in $data
  Dashboard:   https://$dashboard/  (accept the self-signed certificate)
    log in as demo@demo.test, password demo-password (domain and system administrator of the demo);
    colleague@demo.test (password colleague-password) is a plain mailbox user
  mailbox: demo@demo.test (password: demo-password)
  MX listener: $mx (opportunistic STARTTLS, self-signed certificate)
  secure MX:   $securemx (STARTTLS with TLS 1.2+ and secure ciphers required)
  Mail client (e.g. Thunderbird), outgoing server:
    ${submissions%:*} port ${submissions##*:}, SSL/TLS, normal password, user demo@demo.test
    or ${submission%:*} port ${submission##*:}, STARTTLS, normal password, user demo@demo.test
    (accept the self-signed certificate of mx.demo.test)

Send it a test mail from another terminal:
  swaks --server $mx --tls --from you@example.org --to demo@demo.test
Send one as the demo account, to anywhere:
  swaks --server $submissions --tlsc --auth PLAIN --auth-user demo@demo.test --auth-password demo-password \\
        --from demo@demo.test --to demo@demo.test
Then find them, byte for byte, in (cur/ instead of new/ once a mail program has seen them):
  ls $data/mail/demo.test/demo/new/
Mail to other domains needs a DNS resolver that validates DNSSEC at $dns (the "dns" key);
  without one it stays queued (securemx queue list: "4.4.3 … no answer from the resolver").
  On Debian: apt-get install unbound (README, "Going to production").

EOT
if [[ -n $dovecot_pid ]]; then
  cat <<EOT
Reading mail (Dovecot, log in $data/dovecot/dovecot.log), user demo@demo.test, password demo-password:
    IMAP 127.0.0.1 port 2993, SSL/TLS   (or port 2143, STARTTLS)
    POP3 127.0.0.1 port 2995, SSL/TLS   (or port 2110, STARTTLS)
  e.g. openssl s_client -quiet -connect 127.0.0.1:2993   then:  a LOGIN demo@demo.test demo-password
                                                                 b SELECT INBOX
                                                                 c FETCH 1 BODY[]
EOT
else
  echo "No IMAP/POP3: Dovecot needs root to install and start (see the README, \"Reading mail\")."
fi
echo
echo "Starting the server (Ctrl+C stops it gracefully)..."
"${run_as[@]}" dotnet "$bin/securemx.dll" serve --data "$data"
