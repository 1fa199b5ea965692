#!/usr/bin/env bash
# System packages the test suite needs: exiftool (reference for EXIF tests),
# Chromium + ChromeDriver (real-browser tests), pdftotext/pdftoppm (poppler-utils: PDF report
# tests), DejaVu and Droid Sans Fallback fonts (PDF reports in any script), node and npm (the team-login
# tests' OpenID Connect provider). Installs only what is missing.
set -euo pipefail
missing=()
command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || missing+=(fonts-droid-fallback)
# node + npm: the team-login tests run a real OpenID Connect provider (tests/oidc, npm's oidc-provider; #36)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
