#!/usr/bin/env bash
# Install the Debian packages napari needs to draw under Xvfb, Chromium (the QA report's rendering test and
# screenshot) and python3-venv, when missing.
# The libxcb*/libxkbcommon* ones are what Qt 6's xcb platform plugin and its GLX integration link against
# (readelf -d on PyQt6/Qt6/plugins/platforms/libqxcb.so and lib/libQt6XcbQpa.so.6); libxcb-cursor0 is new in Qt 6.5.
# As root it runs apt-get; otherwise it prints the command to run and fails.
set -euo pipefail

packages=(
  xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libx11-xcb1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0
  libxcb-glx0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0
  libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libdbus-1-3 libfontconfig1
  libglib2.0-0 chromium fonts-dejavu-core
)
python="${PYTHON:-python3}"
if ! "$python" -c "import venv, ensurepip" 2>/dev/null; then
  packages+=(python3-venv python3-pip)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
