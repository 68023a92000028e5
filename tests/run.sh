#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 / Raspberry Pi OS machine with Python 3.11+.
#
# Installs what it needs, then runs ruff, mypy and pytest (under Xvfb, for the Kivy tests):
#   - Debian packages (needs root; uses sudo when not root): python3-venv for the virtualenv,
#     xvfb, xauth and libgl1-mesa-dri for a real Kivy window without a screen, libmtdev1
#     for Kivy's touch input, systemd for systemd-analyze, systemd-sysusers, systemd-tmpfiles and
#     systemctl (the tests verify the units and install the service into a temporary root),
#     openssl (kiosk doctor's tests make a TLS certificate that is not yet valid), x11-utils
#     (xwininfo: the fullscreen test reads where the kiosk's window is on the X screen),
#     espeak-ng and alsa-utils (aplay: audio guidance's real voice, played on ALSA's null
#     device, and the rendering test's WAV);
#   - a virtualenv in .venv with the project and its test extras (pip install -e '.[test]').
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k barcodes`.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "kiosk needs Python 3.11 or newer; $python is $("$python" -V 2>&1)" >&2; exit 2; }

missing=()
"$python" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
for cmd_pkg in xvfb-run:xvfb xauth:xauth xwininfo:x11-utils systemd-analyze:systemd openssl:openssl \
    espeak-ng:espeak-ng aplay:alsa-utils; do
  command -v "${cmd_pkg%%:*}" >/dev/null 2>&1 || missing+=("${cmd_pkg##*:}")
done
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || [ -e /usr/lib/aarch64-linux-gnu/dri/swrast_dri.so ] \
  || ls /usr/lib/*/dri/*swrast* >/dev/null 2>&1 || missing+=(libgl1-mesa-dri)
# Kivy looks for libmtdev (multitouch) at start and logs a traceback without it.
ldconfig -p 2>/dev/null | grep -q 'libmtdev\.so\.1' || missing+=(libmtdev1)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# (Re)install the project when pyproject.toml changed since the last install.
stamp=.venv/.kiosk-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi

# PostgreSQL for the back office's `postgres`-marked tests (kiosk hq on a DSN): the Debian
# package when missing, its cluster started, a role and a database for the tests, and the DSN
# exported as KIOSK_TEST_POSTGRES_DSN. Idempotent; an exported DSN is used as it is.
if [ -z "${KIOSK_TEST_POSTGRES_DSN:-}" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "Installing Debian packages: postgresql"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  fi
  pg_server=$(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1)
  pg_version=$(basename "${pg_server%/bin/postgres}")
  pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q . \
    || $sudo pg_createcluster "$pg_version" main >/dev/null
  $sudo pg_ctlcluster "$pg_version" main status >/dev/null 2>&1 \
    || $sudo pg_ctlcluster "$pg_version" main start
  pg_port=$(pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" {print $3}')
  as_postgres=(sudo -u postgres)
  [ "$(id -u)" -ne 0 ] || as_postgres=(runuser -u postgres --)
  pg_sql() { (cd / && "${as_postgres[@]}" psql -qAtX -v ON_ERROR_STOP=1 -p "$pg_port" -c "$1"); }
  [ "$(pg_sql "SELECT 1 FROM pg_roles WHERE rolname = 'kiosk_test'")" = 1 ] \
    || pg_sql "CREATE ROLE kiosk_test LOGIN PASSWORD 'kiosk_test'"
  [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'kiosk_test'")" = 1 ] \
    || pg_sql "CREATE DATABASE kiosk_test OWNER kiosk_test"
  export KIOSK_TEST_POSTGRES_DSN="postgresql://kiosk_test:kiosk_test@localhost:$pg_port/kiosk_test"
fi

.venv/bin/ruff check kiosk tests bench
.venv/bin/mypy
export KIVY_NO_ARGS=1 KIVY_NO_FILELOG=1 KIVY_NO_CONSOLELOG=1 SDL_AUDIODRIVER=dummy
# A square virtual screen, so the touchscreen tests can open landscape and portrait windows.
# Two workers (pytest-xdist), each test module whole in one of them (tests/conftest.py says more).
# KIOSK_TEST_WORKERS=0 runs everything in this one process.
exec xvfb-run -a -s "-screen 0 1280x1280x24" .venv/bin/python -m pytest --durations=20 -p no:cacheprovider \
  -n "${KIOSK_TEST_WORKERS:-2}" --dist loadfile "$@"
