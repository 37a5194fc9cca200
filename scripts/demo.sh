#!/usr/bin/env bash
# Builds SecureMx and runs a demo instance on unprivileged loopback ports, creating it on first run
# (data in ./demo: SQLite store, spool, Maildirs, self-signed certificate). Stop it with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data="${SECUREMX_DEMO_DATA:-$root/demo}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# swaks is the easiest way to send the demo a mail; install it when we can (Debian, root).
if ! command -v swaks >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swaks libnet-ssleay-perl libio-socket-ssl-perl >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swaks libnet-ssleay-perl libio-socket-ssl-perl >/dev/null 2>&1; } || true
fi

dotnet build src/SecureMx/SecureMx.csproj -c Release -nologo -v quiet -o "$root/artifacts/securemx"
securemx() { dotnet "$root/artifacts/securemx/securemx.dll" "$@"; }

[[ -f "$data/securemx.json" ]] || securemx init --data "$data" --hostname mx.demo.test --securemx-hostname securemx.demo.test
# Each step only if not done yet: an interrupted first start is completed by the next one, and
# instances made by older versions get what is new (the demo account may flip every switch: its
# own, its domain's as domain admin, the destination table as system admin).
securemx domain list --data "$data" | grep -qx demo.test || securemx domain add demo.test --data "$data"
mailboxes=$(securemx mailbox list --data "$data" | cut -f1)
grep -qx demo@demo.test <<<"$mailboxes" || echo "demo-password" | securemx mailbox add demo@demo.test --password-stdin --data "$data"
grep -qx colleague@demo.test <<<"$mailboxes" || echo "colleague-password" | securemx mailbox add colleague@demo.test --password-stdin --data "$data"
securemx alias list --data "$data" | grep -q '^postmaster@demo.test' || securemx alias add postmaster@demo.test demo@demo.test --data "$data"
securemx domain admin list demo.test --data "$data" | grep -qx demo@demo.test || securemx domain admin add demo.test demo@demo.test --data "$data"
securemx admin list --data "$data" | grep -qx demo@demo.test || securemx admin add demo@demo.test --data "$data"

listener() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listeners"][sys.argv[2]])' "$data/securemx.json" "$1" 2>/dev/null || echo "$2"; }
mx=$(listener mx 127.0.0.1:2525)
submission=$(listener submission 127.0.0.1:2587)
submissions=$(listener submissions 127.0.0.1:2465)
securemx=$(listener secureMx 127.0.0.1:2526)
dashboard=$(listener dashboard 127.0.0.1:8443)
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
Then find them, byte for byte, in:
  ls $data/mail/demo.test/demo/new/

Starting the server (Ctrl+C stops it gracefully)...
EOT
exec dotnet "$root/artifacts/securemx/securemx.dll" serve --data "$data"
