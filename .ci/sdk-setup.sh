#!/usr/bin/env bash
# Installs the Azure IoT Python device SDK that tests/sdk.rs drives against `fleetsim mock`:
# a venv at target/sdk-venv (never the system site-packages) with tests/sdk/requirements.txt
# (azure-iot-device 2.14.0, every dependency pinned). Idempotent: when the venv already holds
# exactly that file's packages it returns at once. A fresh install takes ~17 s on this 2-core
# machine (venv ~3 s, pip ~14 s, from PyPI with no pip cache).
#
#   bash .ci/sdk-setup.sh            # .ci/run calls this before `cargo test`
#   SDK_VENV=/elsewhere bash .ci/sdk-setup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=${SDK_VENV:-target/sdk-venv}
req=tests/sdk/requirements.txt
stamp="$venv/.fleetsim-requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "sdk-setup: $python not found (CPython >= 3.8 needed)" >&2; exit 1; }
rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
  # Debian splits venv's ensurepip off into python3-venv.
  echo "sdk-setup: '$python -m venv' failed: install Debian's python3-venv (.ci/run does)" >&2
  rm -rf "$venv"
  exit 1
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req"
cp "$req" "$stamp"
echo "sdk-setup: $("$venv/bin/python" -c 'from azure.iot.device.constant import VERSION; print("azure-iot-device", VERSION)') in $venv"
