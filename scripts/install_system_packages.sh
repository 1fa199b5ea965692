#!/usr/bin/env bash
# System packages the test suite needs: exiftool (reference for EXIF tests),
# Chromium + ChromeDriver (real-browser tests). Installs only what is missing.
set -euo pipefail
missing=()
command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
