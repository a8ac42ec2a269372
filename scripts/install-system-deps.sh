#!/usr/bin/env bash
# Installs what the project needs from Debian, only what is missing.
#   runtime: ffmpeg (recording, clips, motion, the simulator's scene encoder)
#   test:    runtime + the independent peers the tests check us against
#            (GStreamer's RTSP client and server, Mosquitto, iproute2 for namespaces,
#            Chromium for the browser tests of the dashboard and setup page)
# Usage: scripts/install-system-deps.sh [runtime|test]
set -euo pipefail
profile="${1:-runtime}"

runtime_pkgs=(ffmpeg)
test_pkgs=(
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-libav gir1.2-gst-rtsp-server-1.0 python3-gi
  mosquitto mosquitto-clients iproute2 chromium openssl
  qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross shellcheck
)

case "$profile" in
  runtime) want=("${runtime_pkgs[@]}") ;;
  test) want=("${runtime_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [runtime|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present (${profile})"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
echo "installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"
