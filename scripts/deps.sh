#!/usr/bin/env bash
# Installs the Debian packages Tern needs that are missing on this machine.
# Usage: scripts/deps.sh build|test   (test includes build). Runs apt as root or through sudo.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libssl-dev openssl liburcu-dev libcjson-dev libargon2-dev libsqlite3-dev libhttp-parser-dev libwslay-dev)
test_pkgs=(clang-14 libclang-rt-14-dev mosquitto mosquitto-clients python3 python3-paho-mqtt prometheus chromium)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then
    want+=("${test_pkgs[@]}")
    command -v node >/dev/null 2>&1 || want+=(nodejs)
    command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
