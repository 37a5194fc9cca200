#!/usr/bin/env bash
# Installs SecureMx as a system service (run as root from a checkout; needs the .NET 10 SDK to build):
#   PREFIX/lib/securemx/        the framework-dependent build (dotnet publish)
#   PREFIX/bin/securemx         the command on the PATH
#   /etc/systemd/system/securemx.service   from packaging/securemx.service (hardened; Type=notify)
#   DATA_DIR                    the instance directory (mode 0750), owned by the system user securemx,
#                               whose home it is (no login shell)
# Framework-dependent, not self-contained: the .NET 10 runtime (Microsoft.AspNetCore.App) is a
# prerequisite that the distribution's or Microsoft's packages keep patched; a self-contained build
# would carry its own runtime that only a reinstall of SecureMx updates.
#
# Again after a `git pull` it replaces the build and the unit (idempotent); the instance stays.
# It never starts the service: it prints the commands (init, enable) instead.
#
# Options:
#   --prefix DIR     default /usr/local
#   --data-dir DIR   default /var/lib/securemx
#   --destdir DIR    install into DIR as the root of the file system (packaging, tests; also DESTDIR=);
#                    creates no user and runs no systemctl
#   --uninstall      remove the build, the command and the unit; the instance directory (and the user)
#                    only when the directory is empty — mail is never deleted
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

prefix=/usr/local
data_dir=/var/lib/securemx
destdir="${DESTDIR:-}"
uninstall=""
user=securemx
die() { echo "install.sh: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --data-dir) data_dir="${2:?--data-dir needs a directory}"; shift 2 ;;
    --data-dir=*) data_dir="${1#*=}"; shift ;;
    --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
    --destdir=*) destdir="${1#*=}"; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[[ $prefix == /* && $data_dir == /* ]] || die "--prefix and --data-dir must be absolute paths"
if [[ -n $destdir ]]; then
  mkdir -p "$destdir"; destdir=$(cd "$destdir" && pwd)
  [[ $destdir != / ]] || destdir=""
fi
[[ -n $destdir || $(id -u) -eq 0 ]] || die "run as root (or with --destdir)"

bindir="$prefix/bin"
libdir="$prefix/lib/securemx"
unit=/etc/systemd/system/securemx.service
launcher_mark="# SecureMx launcher, installed by scripts/install.sh"
systemd_running=""
[[ -z $destdir && -d /run/systemd/system ]] && systemd_running=1

if [[ -n $uninstall ]]; then
  if [[ -n $systemd_running ]]; then systemctl disable --now securemx.service 2>/dev/null || true; fi
  rm -f "$destdir$unit"
  [[ -n $systemd_running ]] && systemctl daemon-reload
  if [[ -f $destdir$bindir/securemx ]]; then
    grep -qF "$launcher_mark" "$destdir$bindir/securemx" && rm -f "$destdir$bindir/securemx" \
      || echo "kept $destdir$bindir/securemx: not the launcher this script installs"
  fi
  rm -rf "$destdir$libdir"
  if [[ -d $destdir$data_dir ]] && rmdir "$destdir$data_dir" 2>/dev/null; then
    if [[ -z $destdir ]] && getent passwd "$user" >/dev/null; then userdel "$user"; echo "removed the user $user"; fi
  elif [[ -d $destdir$data_dir ]]; then
    echo "kept $destdir$data_dir (the instance: mail, queue, keys) and the user $user; to remove them too:"
    echo "  rm -r $data_dir && userdel $user"
  fi
  echo "uninstalled SecureMx from $destdir$prefix"
  exit 0
fi

command -v dotnet >/dev/null 2>&1 || die "dotnet not found: install the .NET 10 SDK to build (the runtime alone to run)"
dotnet --list-runtimes 2>/dev/null | grep -q '^Microsoft.AspNetCore.App 10\.' \
  || die "the ASP.NET Core 10 runtime is missing (dotnet --list-runtimes): install aspnetcore-runtime-10.0"
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
# DMARC's organizational domains come from the Public Suffix List (inboundAuthentication.publicSuffixList);
# serve runs without it, less precisely, so a missing list is a warning, not a stop.
[[ -r /usr/share/publicsuffix/public_suffix_list.dat ]] \
  || echo "warning: /usr/share/publicsuffix/public_suffix_list.dat is missing: apt-get install publicsuffix (DMARC alignment needs it)" >&2

# Build into a staging directory first: a failed build leaves the installed one as it was.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
echo "building SecureMx (dotnet publish, Release, framework-dependent)…"
dotnet publish "$root/src/SecureMx/SecureMx.csproj" -c Release -nologo -v quiet -p:UseAppHost=true -o "$stage/securemx" >"$stage/publish.log" 2>&1 \
  || { cat "$stage/publish.log" >&2; die "dotnet publish failed"; }

install -d -m 0755 "$destdir$prefix/lib" "$destdir$bindir" "$destdir/etc/systemd/system"
rm -rf "$destdir$libdir.new"
cp -a "$stage/securemx" "$destdir$libdir.new"
chmod -R u=rwX,go=rX "$destdir$libdir.new"
rm -rf "$destdir$libdir"
mv "$destdir$libdir.new" "$destdir$libdir"

# The command: the app host, found relative to the launcher (so a --destdir copy runs too), with the
# .NET found at install time (the app host alone only looks in the default place).
cat > "$destdir$bindir/securemx.new" <<LAUNCHER
#!/bin/sh
$launcher_mark (framework-dependent: needs the .NET 10 runtime).
DOTNET_ROOT="\${DOTNET_ROOT:-$dotnet_root}"; export DOTNET_ROOT
here=\$(dirname "\$(readlink -f "\$0")")
exec "\$here/../lib/securemx/securemx" "\$@"
LAUNCHER
chmod 0755 "$destdir$bindir/securemx.new"
mv -f "$destdir$bindir/securemx.new" "$destdir$bindir/securemx"

sed -e "s|@BINDIR@|$bindir|g" -e "s|@DATADIR@|$data_dir|g" "$root/packaging/securemx.service" > "$destdir$unit.new"
chmod 0644 "$destdir$unit.new"
mv -f "$destdir$unit.new" "$destdir$unit"

if [[ -z $destdir ]]; then
  getent passwd "$user" >/dev/null || useradd --system --user-group --home-dir "$data_dir" --no-create-home --shell /usr/sbin/nologin "$user"
fi
install -d -m 0750 "$destdir$data_dir"
[[ -z $destdir ]] && chown "$user:$user" "$data_dir"

echo "installed SecureMx: $destdir$bindir/securemx, $destdir$libdir, $destdir$unit"
[[ -n $systemd_running ]] && systemctl daemon-reload
echo "next:"
if [[ -n $(ls -A "$destdir$data_dir" 2>/dev/null) ]]; then
  echo "  (the instance $data_dir exists; it was kept as it is)"
else
  echo "  runuser -u $user -- securemx init --data $data_dir --hostname mx.example.org --mx 0.0.0.0:25 --submissions 0.0.0.0:465 --submission 0.0.0.0:587"
fi
if [[ -n $systemd_running ]]; then
  echo "  systemctl enable --now securemx && systemctl status securemx"
else
  echo "  (systemd is not running here: nothing was enabled or started; on the target machine:)"
  echo "  systemctl daemon-reload && systemctl enable --now securemx && systemctl status securemx"
fi
