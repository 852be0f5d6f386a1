#!/usr/bin/env bash
# Install the Debian packages Qt needs for a real window (xcb) and Xvfb for the headless window test.
# Only missing packages are installed; without root and apt this prints what to install and goes on.
set -u
packages=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1
          libfontconfig1 libdbus-1-3 libglib2.0-0
          libgs-common)  # libgs-common: a CMYK ICC profile for the CMYK JPEG test (317 kB)
command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian system; install Xvfb and Qt's xcb libraries yourself"; exit 0; }
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "system-deps: please install: ${missing[*]}"; exit 0; fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { echo "system-deps: apt-get failed for: ${missing[*]}"; exit 1; }
