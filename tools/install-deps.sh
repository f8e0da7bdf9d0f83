#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages a target needs, only those missing.
# Usage: tools/install-deps.sh build|test|image   (test includes build; image includes test)
set -euo pipefail
want=${1:-build}
pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev
      libutf8proc-dev libexttextcat-dev libcld2-dev)
if [ "$want" = test ] || [ "$want" = image ]; then
    pkgs+=(libcriterion-dev nodejs npm chromium curl python3 python3-torch python3-numpy
           python3-nltk clang)
fi
if [ "$want" = image ]; then
    pkgs+=(podman buildah runc debootstrap uidmap slirp4netns fuse-overlayfs)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js from another source (e.g. NodeSource) also satisfies nodejs/npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
