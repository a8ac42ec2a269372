#!/usr/bin/env bash
# Installs the CamConnect Edge agent on a systemd Linux box (bare metal: Raspberry Pi OS,
# Debian, Ubuntu), or removes it. Idempotent: run it again to upgrade the binary.
#
#   sudo deploy/install.sh [--binary FILE] [--prefix /usr/local] [--no-start]
#   sudo deploy/install.sh --uninstall [--purge]
#
# What it lays out (paths under DESTDIR when set):
#   PREFIX/bin/camconnect                          the single executable (0755)
#   /etc/systemd/system/camconnect-agent.service   the unit (ExecStart = PREFIX/bin/camconnect)
#   /etc/sysusers.d/camconnect.conf                the system user `camconnect` (systemd-sysusers)
#   /etc/tmpfiles.d/camconnect.conf                /var/lib/camconnect{,/recordings,/state} (0750, 0750, 0700)
#   /etc/camconnect/agent.env                      site settings and secrets (0640 root:camconnect; kept)
# then enables the unit (and starts it, or restarts it after an upgrade, unless --no-start).
#
# --binary FILE  the executable to install; default: camconnect-linux-ARCH beside this script,
#                else ../dist-bin/camconnect-linux-ARCH (from `npm run build:binary`)
# --prefix DIR   where bin/camconnect goes (default /usr/local)
# DESTDIR=DIR or --destdir DIR
#                stage into DIR instead of / (packaging, tests): users and folders are created in
#                DIR's /etc/passwd and tree, the unit is enabled with `systemctl --root`, nothing
#                is started. Needs root too (file ownership).
# --uninstall    stop and disable the unit, remove the binary, unit and config snippets; keep
#                recordings, state, /etc/camconnect and the user. With --purge, remove those too.
set -euo pipefail

UNIT=camconnect-agent.service
USER_NAME=camconnect
DATA_DIR=/var/lib/camconnect
CONF_DIR=/etc/camconnect
UNIT_DIR=/etc/systemd/system
SYSUSERS_FILE=/etc/sysusers.d/camconnect.conf
TMPFILES_FILE=/etc/tmpfiles.d/camconnect.conf
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

action=install
purge=0
start=1
prefix=/usr/local
binary=""
destdir="${DESTDIR:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) [ $# -ge 2 ] || die "--binary needs a file"; binary="$2"; shift 2 ;;
    --binary=*) binary="${1#*=}"; shift ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a folder"; destdir="$2"; shift 2 ;;
    --destdir=*) destdir="${1#*=}"; shift ;;
    --uninstall) action=uninstall; shift ;;
    --purge) purge=1; shift ;;
    --no-start) start=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

case "$prefix" in /*) ;; *) die "--prefix must be an absolute path (got $prefix)" ;; esac
prefix="${prefix%/}"
[ -n "$prefix" ] || prefix=/
if [ -n "$destdir" ]; then
  mkdir -p "$destdir"
  destdir="$(cd "$destdir" && pwd)"
  [ "$destdir" != / ] || destdir=""
fi
[ "$purge" -eq 0 ] || [ "$action" = uninstall ] || die "--purge goes with --uninstall"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 ...): it creates a system user and sets file owners"

bin_path="${prefix%/}/bin/camconnect"
R="$destdir" # every path written below is "$R/..."
# Live: installing into / on a box where systemd runs. Otherwise (DESTDIR, a chroot, an image
# build) units are enabled offline and nothing is started or stopped.
live=0
if [ -z "$R" ] && [ -d /run/systemd/system ]; then live=1; fi
systemctl_offline() { systemctl --root="${R:-/}" "$@"; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: this script needs a systemd system"; }

gid_of() { # numeric gid of a group in the target root's /etc/group
  awk -F: -v n="$1" '$1 == n { print $3; found = 1 } END { exit !found }' "$R/etc/group"
}

installed_exec() { # the program the installed unit runs, if there is one
  [ -f "$R$UNIT_DIR/$UNIT" ] || return 0
  awk '/^ExecStart=/ { sub(/^ExecStart=/, ""); print $1; exit }' "$R$UNIT_DIR/$UNIT"
}

do_install() {
  need systemctl
  need systemd-sysusers
  need systemd-tmpfiles

  if [ -z "$binary" ]; then
    local arch
    case "$(uname -m)" in
      x86_64 | amd64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) die "no camconnect build for $(uname -m): pass --binary FILE" ;;
    esac
    for c in "$HERE/camconnect-linux-$arch" "$HERE/../dist-bin/camconnect-linux-$arch"; do
      if [ -f "$c" ]; then binary="$c"; break; fi
    done
    [ -n "$binary" ] || die "no camconnect-linux-$arch beside this script or in dist-bin/: run \`npm run build:binary\` or pass --binary FILE"
  fi
  [ -f "$binary" ] || die "--binary $binary: no such file"
  if [ "$live" -eq 1 ]; then
    # Prove the new binary runs on this box before it replaces a working one.
    local v
    v="$("$binary" --version 2>&1)" || die "$binary does not run here: $v"
    say "installing camconnect $v"
  fi

  local previous
  previous="$(installed_exec)"
  if [ -n "$previous" ] && [ "$previous" != "$bin_path" ] && [ -e "$R$previous" ]; then
    say "note: the previous install's $previous is left in place (the unit now runs $bin_path)"
  fi

  # The binary: copied next to the old one, then renamed over it (a running agent keeps its inode).
  install -d -m 0755 "$R${prefix%/}/bin"
  install -m 0755 "$binary" "$R$bin_path.new"
  mv -f "$R$bin_path.new" "$R$bin_path"

  # The unit, pointing at the installed binary.
  install -d -m 0755 "$R$UNIT_DIR"
  sed "s#/usr/local/bin/camconnect#$bin_path#g" "$HERE/systemd/$UNIT" >"$R$UNIT_DIR/$UNIT.new"
  chmod 0644 "$R$UNIT_DIR/$UNIT.new"
  mv -f "$R$UNIT_DIR/$UNIT.new" "$R$UNIT_DIR/$UNIT"

  # User and folders, declared for systemd (tmpfiles re-applies the modes at every boot).
  install -d -m 0755 "$R/etc/sysusers.d" "$R/etc/tmpfiles.d"
  install -m 0644 "$HERE/systemd/camconnect.sysusers.conf" "$R$SYSUSERS_FILE"
  install -m 0644 "$HERE/systemd/camconnect.tmpfiles.conf" "$R$TMPFILES_FILE"
  if [ -n "$R" ]; then
    systemd-sysusers --root="$R" "$(basename "$SYSUSERS_FILE")"
    systemd-tmpfiles --create --root="$R" "$(basename "$TMPFILES_FILE")"
  else
    systemd-sysusers "$SYSUSERS_FILE"
    systemd-tmpfiles --create "$TMPFILES_FILE"
  fi

  # Site settings: created once, never overwritten (the owner's edits and secrets live there).
  local gid
  gid="$(gid_of "$USER_NAME")" || die "group $USER_NAME was not created"
  install -d -m 0750 -o 0 -g "$gid" "$R$CONF_DIR"
  if [ ! -e "$R$CONF_DIR/agent.env" ]; then
    cat >"$R$CONF_DIR/agent.env.new" <<'ENV'
# Environment for camconnect-agent.service: KEY=value lines, read by systemd at each start.
# Readable by root and the camconnect group only: secrets may go here.
#CAMCONNECT_LOG_LEVEL=info
#CAMCONNECT_CAMERA_PASSWORD=
# ffmpeg and ffprobe come from PATH (apt-get install ffmpeg) unless these are set:
#FFMPEG_PATH=/usr/bin/ffmpeg
#FFPROBE_PATH=/usr/bin/ffprobe
ENV
    chown 0:"$gid" "$R$CONF_DIR/agent.env.new"
    chmod 0640 "$R$CONF_DIR/agent.env.new"
    mv "$R$CONF_DIR/agent.env.new" "$R$CONF_DIR/agent.env"
  fi

  if [ "$live" -eq 1 ]; then
    systemctl daemon-reload
    systemctl enable --quiet "$UNIT"
    if [ "$start" -eq 1 ]; then
      systemctl try-restart "$UNIT" # an upgrade: the running agent picks up the new binary
      systemctl start "$UNIT"
      say "started $UNIT (systemctl status ${UNIT%.service}; journalctl -u ${UNIT%.service} -f)"
    fi
  else
    systemctl_offline enable --quiet "$UNIT"
  fi
  command -v ffmpeg >/dev/null 2>&1 || [ -n "$R" ] || say "warning: no ffmpeg on PATH: apt-get install ffmpeg (the recorder needs it)"
  say "installed $bin_path and $UNIT${R:+ under $R}"
}

do_uninstall() {
  need systemctl
  # The binary the installed unit runs (an install with another --prefix), else PREFIX/bin.
  local unit_exec
  unit_exec="$(installed_exec)"
  case "$unit_exec" in */bin/camconnect) bin_path="$unit_exec" ;; esac
  if [ "$live" -eq 1 ]; then
    systemctl disable --now --quiet "$UNIT" 2>/dev/null || true
  elif [ -e "$R$UNIT_DIR/$UNIT" ]; then
    systemctl_offline disable --quiet "$UNIT" || true
  fi
  rm -f "$R$bin_path" "$R$bin_path.new" "$R$UNIT_DIR/$UNIT" "$R$UNIT_DIR/$UNIT.new" "$R$SYSUSERS_FILE" "$R$TMPFILES_FILE"
  if [ "$live" -eq 1 ]; then
    systemctl daemon-reload
    systemctl reset-failed "$UNIT" 2>/dev/null || true
  fi
  if [ "$purge" -eq 1 ]; then
    rm -rf "$R$UNIT_DIR/$UNIT.d" "${R}${DATA_DIR:?}" "${R}${CONF_DIR:?}"
    if grep -q "^$USER_NAME:" "$R/etc/passwd" 2>/dev/null; then
      if [ -n "$R" ]; then userdel --prefix "$R" "$USER_NAME"; else userdel "$USER_NAME"; fi
    fi
    if grep -q "^$USER_NAME:" "$R/etc/group" 2>/dev/null; then
      if [ -n "$R" ]; then groupdel --prefix "$R" "$USER_NAME"; else groupdel "$USER_NAME"; fi
    fi
    say "removed camconnect with its recordings, state, settings and user${R:+ under $R}"
  else
    say "removed camconnect${R:+ under $R}; kept $DATA_DIR, $CONF_DIR and the user $USER_NAME (--purge removes them)"
  fi
}

if [ "$action" = install ]; then do_install; else do_uninstall; fi
