#!/usr/bin/env bash
# Installs the Debian packages the integration tests and benchmarks need, when they are missing.
# Idempotent; needs root (CI and the dev machines run as root). Nothing is started here.
set -euo pipefail
# testssl.sh: independent TLS scans of our listeners (Debian names the command "testssl");
# util-linux: unshare/nsenter, for the DANE reference sender's private resolv.conf (postfix-peer.sh);
# chromium + fonts-liberation: the browser the dashboard tests drive through Playwright (ExecutablePath /usr/bin/chromium).
packages=(postfix swaks libnet-ssleay-perl libio-socket-ssl-perl openssl ca-certificates procps iproute2 netcat-openbsd knot unbound ldnsutils bind9-dnsutils testssl.sh util-linux chromium fonts-liberation)
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
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
