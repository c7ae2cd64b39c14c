#!/usr/bin/env python3
"""One device's whole life through the unmodified Azure IoT Python SDK (azure-iot-device 2.x),
against `fleetsim mock` (tests/sdk.rs runs it; see .ci/sdk-setup.sh for the venv).

The device does exactly what a real one would:
  1. derives its device key from the enrollment group key (reference §3: base64 of
     HMAC-SHA256(base64decode(group key), registration id));
  2. ProvisioningDeviceClient.create_from_symmetric_key(...).register() over MQTT/TLS on
     port 8883 (the v2 SDK has no port option: reference §1a);
  3. IoTHubDeviceClient.create_from_symmetric_key(hostname=<assigned hub>, ...): connect(),
     send_message() N times (each returns once its PUBACK arrives: QoS 1), get_twin(),
     patch_twin_reported_properties(), get_twin() again to see the patch, shutdown();
  4. with --renew-sas N, before shutdown: waits for the SDK to renew its SAS token (a
     DISCONNECT and a new CONNECT with CleanSession=0, N s after connecting), then sends one
     more message and reads the twin again.

The group key comes from the environment (FLEETSIM_GROUP_KEY, as for the mock; never a flag
value). Everything else is argv:

  python azure_python.py --host localhost --ca DIR/ca.pem --scope 0ne00111111 \
      --registration-id sdk-py-1 [--messages 5] [--timeout 60] [--renew-sas 5]

It prints exactly one JSON line on stdout: {"ok": true, ...} with statuses, counts and timings,
or {"ok": false, "stage": ..., "error_type": ..., "error": ...} with the SDK's exception text
(and its cause chain), and exits 0 on success, 1 on an SDK failure, 2 on bad arguments and 3
when the watchdog fires (the SDK hung past --timeout). The SDK's own log (paho's packet log
included) goes to stderr at DEBUG level, for the test to show when something fails.
"""

import argparse
import base64
import hashlib
import hmac
import json
import logging
import os
import sys
import threading
import time
import traceback

# What the device is doing, for the failure line (the watchdog reads it from another thread).
STAGE = {"name": "start"}
T0 = time.monotonic()
RESULT = {"ok": False}
PRINTED = threading.Lock()


def emit(obj):
    """Prints the one JSON result line (once, whichever thread gets here first)."""
    if PRINTED.acquire(blocking=False):
        sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
        sys.stdout.flush()
        return True
    return False


def watchdog(seconds):
    """Ends the process if the SDK hangs: nothing it does may outlast `seconds`."""
    time.sleep(seconds)
    out = dict(RESULT)
    out.update(
        ok=False,
        stage=STAGE["name"],
        error_type="Watchdog",
        error="still in stage {!r} after {} s".format(STAGE["name"], seconds),
        total_s=round(time.monotonic() - T0, 3),
    )
    emit(out)
    sys.stderr.flush()
    os._exit(3)


# Set when the SDK logs that it re-connected with a renewed SAS token.
REAUTHORIZED = threading.Event()


class ReauthWatch(logging.Handler):
    def emit(self, record):
        if "reauthorization successful" in record.getMessage():
            REAUTHORIZED.set()


def derive_device_key(group_key, registration_id):
    """Reference §3: device key = base64(HMAC-SHA256(base64decode(group key), registration id))."""
    mac = hmac.new(base64.b64decode(group_key), registration_id.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def describe(e):
    """The SDK's exception text with its cause chain: 'CredentialError: ... <- UnauthorizedError: ...'."""
    parts = []
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append("{}: {}".format(type(e).__name__, e))
        e = e.__cause__ or e.__context__
    return " <- ".join(parts)


def timed(stage, timings, fn, *args):
    STAGE["name"] = stage
    t = time.monotonic()
    r = fn(*args)
    timings[stage] = round(timings.get(stage, 0.0) + time.monotonic() - t, 4)
    return r


def run(a, group_key):
    # Imported here so that a missing SDK is reported as a JSON line like any other failure.
    STAGE["name"] = "import"
    from azure.iot.device import (
        IoTHubDeviceClient,
        Message,
        ProvisioningDeviceClient,
    )
    from azure.iot.device.constant import VERSION

    RESULT["sdk"] = "azure-iot-device " + VERSION
    timings = {}
    RESULT["timings"] = timings
    with open(a.ca) as f:
        ca_pem = f.read()
    device_key = derive_device_key(group_key, a.registration_id)
    RESULT["registration_id"] = a.registration_id

    # 1. DPS.
    prov = ProvisioningDeviceClient.create_from_symmetric_key(
        provisioning_host=a.host,
        registration_id=a.registration_id,
        id_scope=a.scope,
        symmetric_key=device_key,
        server_verification_cert=ca_pem,
    )
    # register() disconnects once assigned; on a failure the process ends (os._exit below), so
    # the client has no public shutdown to call.
    reg = timed("register", timings, prov.register)
    state = reg.registration_state
    RESULT["register"] = {
        "status": reg.status,
        "operation_id": reg.operation_id,
        "assigned_hub": getattr(state, "assigned_hub", None),
        "device_id": getattr(state, "device_id", None),
        "sub_status": getattr(state, "sub_status", None),
        "created_date_time": getattr(state, "created_date_time", None),
        "last_update_date_time": getattr(state, "last_update_date_time", None),
        "etag": getattr(state, "etag", None),
    }
    if reg.status != "assigned" or not state or not state.assigned_hub or not state.device_id:
        raise RuntimeError("registration not assigned: {}".format(reg))

    # 2. IoT Hub, with the device key on the assigned hub. connection_retry=False: a dropped
    # connection fails the operation instead of reconnecting every 10 s (reference §5f).
    # With --renew-sas N the token lives 120 + N s, so the SDK renews it N s after connecting
    # (120 s before expiry: reference §5f): a DISCONNECT and a new CONNECT, CleanSession=0.
    ttl = {"sastoken_ttl": 120 + a.renew_sas} if a.renew_sas else {}
    hub = IoTHubDeviceClient.create_from_symmetric_key(
        symmetric_key=device_key,
        hostname=state.assigned_hub,
        device_id=state.device_id,
        server_verification_cert=ca_pem,
        connection_retry=False,
        **ttl
    )
    try:
        timed("connect", timings, hub.connect)
        sent = 0
        for i in range(a.messages):
            m = Message(json.dumps({"n": i, "source": "azure-iot-device"}))
            m.message_id = "{}-{}".format(a.registration_id, i)
            m.content_type = "application/json"
            m.content_encoding = "utf-8"
            m.custom_properties["probe"] = "sdk"
            timed("send_message", timings, hub.send_message, m)
            sent += 1
        RESULT["messages_acked"] = sent

        twin = timed("get_twin", timings, hub.get_twin)
        RESULT["twin_before"] = twin
        nonce = "{}-{}".format(a.registration_id, int(time.time() * 1000))
        patch = {"sdk_probe": {"nonce": nonce, "messages": sent}, "firmware": "1.0.0"}
        timed("patch_reported", timings, hub.patch_twin_reported_properties, patch)
        after = timed("get_twin_after", timings, hub.get_twin)
        RESULT["twin_after"] = after
        reported = (after or {}).get("reported", {})
        RESULT["twin"] = {
            "desired_version": (twin or {}).get("desired", {}).get("$version"),
            "reported_version_before": (twin or {}).get("reported", {}).get("$version"),
            "reported_version_after": reported.get("$version"),
            "patch_round_trip": reported.get("sdk_probe") == patch["sdk_probe"]
            and reported.get("firmware") == patch["firmware"],
        }
        if a.renew_sas:
            # The SDK keeps its subscriptions across the reconnect by asking for a persistent
            # session (CleanSession=0, reference §2a): it does not SUBSCRIBE again.
            STAGE["name"] = "sas_renewal"
            renewed = REAUTHORIZED.wait(a.renew_sas + 10)
            RESULT["sas_renewed"] = renewed
            if not renewed:
                raise RuntimeError("the SDK did not renew its SAS token in time")
            m = Message(json.dumps({"n": sent, "after": "sas renewal"}))
            timed("send_after_renewal", timings, hub.send_message, m)
            again = timed("get_twin_after_renewal", timings, hub.get_twin)
            RESULT["after_renewal"] = {
                "messages_acked": 1,
                "reported_version": again.get("reported", {}).get("$version"),
                "patch_still_there": again.get("reported", {}).get("sdk_probe")
                == patch["sdk_probe"],
            }
    finally:
        STAGE["name"] = "shutdown"
        t = time.monotonic()
        hub.shutdown()
        timings["shutdown"] = round(time.monotonic() - t, 4)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", required=True, help="DPS host name (port 8883, TLS)")
    p.add_argument("--ca", required=True, help="CA certificate (PEM) to trust")
    p.add_argument("--scope", required=True, help="DPS ID scope")
    p.add_argument("--registration-id", required=True)
    p.add_argument("--messages", type=int, default=5)
    p.add_argument("--timeout", type=float, default=60.0, help="watchdog, seconds")
    p.add_argument(
        "--renew-sas",
        type=int,
        default=0,
        metavar="N",
        help="have the SDK renew its hub SAS token (reconnect) N s after connecting, then "
        "send and read the twin again",
    )
    a = p.parse_args()
    group_key = os.environ.get("FLEETSIM_GROUP_KEY", "").strip()
    if not group_key:
        emit({"ok": False, "stage": "args", "error_type": "Usage", "error": "set FLEETSIM_GROUP_KEY"})
        sys.exit(2)

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG,
        format="%(relativeCreated)8.0f %(threadName)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("azure.iot.device").addHandler(ReauthWatch())
    threading.Thread(target=watchdog, args=(a.timeout,), daemon=True, name="watchdog").start()
    try:
        run(a, group_key)
    except BaseException as e:  # noqa: BLE001 - every failure becomes the JSON line
        traceback.print_exc(file=sys.stderr)
        out = dict(RESULT)
        out.update(
            ok=False,
            stage=STAGE["name"],
            error_type=type(e).__name__,
            error=describe(e),
            total_s=round(time.monotonic() - T0, 3),
        )
        emit(out)
        sys.stdout.flush()
        sys.stderr.flush()
        # os._exit: the SDK's threads must not keep the process alive.
        os._exit(1)
    RESULT.update(ok=True, stage="done", total_s=round(time.monotonic() - T0, 3))
    emit(RESULT)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
