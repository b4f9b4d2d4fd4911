#!/usr/bin/env bash
# Installs everything (Debian's chromium for the browser tests, postgresql for the DuckLake tests) and runs
# the whole test suite.
# Usage: ./scripts/tester.sh [pytest arguments…]
source "$(dirname "$0")/_venv.sh" requirements-test.txt
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftoppm ] || ! dpkg -s libpango-1.0-0 >/dev/null 2>&1 \
   || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "Installation de chromium (tests dans le navigateur) et postgresql (tests du lac) via apt-get…"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils postgresql >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
