#!/usr/bin/env bash
# Installs the Debian packages the integration tests and benchmarks need, when they are missing.
# Idempotent; needs root (CI and the dev machines run as root). Nothing is started here.
set -euo pipefail
# testssl.sh: independent TLS scans of our listeners (Debian names the command "testssl");
# util-linux: unshare/nsenter, for the DANE reference sender's private resolv.conf (postfix-peer.sh);
# chromium + fonts-liberation: the browser the dashboard tests drive through Playwright (ExecutablePath /usr/bin/chromium).
# dovecot-*: IMAP, POP3 and LMTP over the store (securemx dovecot-config); tests start it privately.
# systemd: systemd-analyze verify of the installed securemx.service (nothing runs systemd here).
# python3-prometheus-client, python3-yaml: the Prometheus project's text-format parser reads /metrics, and the alert rules are checked as YAML
#   (Debian's promtool comes with the whole prometheus package, ~96 MB installed: not worth it for one rules check).
# publicsuffix: the Public Suffix List for DMARC's organizational domains (inbound authentication, also needed in production);
# postgresql-15: the shared store of several nodes; tests run a private cluster (initdb/pg_ctl in a temporary directory), never the system service.
# python3-dkim (dkimpy, with dnspython and nacl for Ed25519): the independent verifier of the DKIM signatures SecureMx makes,
#   and the independent signer of the inbound verification tests (run with /usr/bin/python3: the python3 on the PATH may not see Debian's modules).
packages=(postfix swaks libnet-ssleay-perl libio-socket-ssl-perl openssl ca-certificates procps iproute2 netcat-openbsd knot unbound ldnsutils bind9-dnsutils testssl.sh util-linux chromium fonts-liberation dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sqlite systemd python3-prometheus-client python3-yaml postgresql-15 publicsuffix python3-dkim)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  # Postfix must not ask questions and must not start a system instance: tests run their own.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # Nor may Dovecot start a system instance: a policy-rc.d that refuses every service start, for the install only.
  added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d && added_policy=1
  fi
  status=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
  if [[ -n $added_policy ]]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  if ((status)); then exit "$status"; fi
fi

# The integration tests run SecureMx instances that Dovecot serves as a user of their own (Dovecot
# refuses to read mail as root): a system user without a login, like a production installation's.
if ! id securemx-test >/dev/null 2>&1; then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin securemx-test
fi
