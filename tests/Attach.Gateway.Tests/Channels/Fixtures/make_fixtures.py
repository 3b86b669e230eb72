"""Regenerates the kernel-channel wire fixtures with the real jupyter_server 1.23 code.

Run from this folder: /usr/bin/python3 make_fixtures.py
Server->client frames go through the exact functions jupyter_server uses in
ZMQChannelsHandler._on_zmq_reply (serialize_msg_to_ws_v1 for v1,
_reserialize_reply for legacy). Client->server frames are encoded the way
JupyterLab 4's serialize.ts does (compact JSON, key order of createMessage).
Everything is deterministic: fixed ids, dates and buffer contents.
"""
import json
import os
from datetime import datetime, timezone

from jupyter_client.session import Session
from jupyter_server.base.zmqhandlers import (
    ZMQStreamHandler,
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_SESSION = "kernel-session-5f1c"
CLIENT_SESSION = "client-session-9a2e"
DATE = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
MIB = 1024 * 1024

# The key only signs the ZMQ parts; the signature never reaches the websocket.
session = Session(key=b"fixture-key", session=KERNEL_SESSION, username="kernel")


def header(msg_id, msg_type, sess=KERNEL_SESSION, username="kernel"):
    return {
        "msg_id": msg_id,
        "msg_type": msg_type,
        "username": username,
        "session": sess,
        "date": DATE,
        "version": "5.3",
    }


EXECUTE_REQUEST_HEADER = header("req-0001", "execute_request", CLIENT_SESSION, "alice")


def kernel_message(msg_id, msg_type, content, parent=EXECUTE_REQUEST_HEADER, buffers=()):
    return {
        "header": header(msg_id, msg_type),
        "parent_header": parent,
        "metadata": {},
        "content": content,
        "buffers": list(buffers),
    }


def zmq_wire(msg):
    """The multipart ZMQ message as the kernel's Session.send puts it on the socket."""
    # serialize() leaves buffers out; send() appends them as extra frames.
    return session.serialize(msg) + [bytes(b) for b in msg["buffers"]]


def zmq_parts(msg):
    """The parts after the signature, as ZMQChannelsHandler._on_zmq_reply passes them on."""
    _, fed = session.feed_identities(zmq_wire(msg))
    return fed[1:]


def server_v1(msg, channel):
    return serialize_msg_to_ws_v1(zmq_parts(msg), channel)


def server_legacy(msg, channel):
    """Returns (payload, is_binary) exactly as the legacy write_message call receives it."""
    _, fed = session.feed_identities(zmq_wire(msg))
    # A fresh receiving Session, as the server has: a Session refuses a signature it has seen.
    receiver = Session(key=b"fixture-key")
    deserialized = receiver.deserialize(fed)
    payload = ZMQStreamHandler._reserialize_reply(None, deserialized, channel=channel)
    if isinstance(payload, str):
        return payload.encode("utf-8"), False
    return payload, True


def jupyterlab_stringify(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def jupyterlab_message(msg_type, content, channel, buffers=()):
    # JupyterLab 4 KernelMessage.createMessage key order, date as toISOString().
    return {
        "buffers": list(buffers),
        "channel": channel,
        "content": content,
        "header": {
            "date": "2024-05-06T07:08:09.123Z",
            "msg_id": "req-0001",
            "msg_type": msg_type,
            "session": CLIENT_SESSION,
            "username": "alice",
            "version": "5.2",
        },
        "metadata": {"cellId": "cell-1", "deletedCells": [], "recordTiming": False},
        "parent_header": {},
    }


def client_v1(msg):
    parts = [
        jupyterlab_stringify(msg["header"]).encode(),
        jupyterlab_stringify(msg["parent_header"]).encode(),
        jupyterlab_stringify(msg["metadata"]).encode(),
        jupyterlab_stringify(msg["content"]).encode(),
    ] + list(msg["buffers"])
    return serialize_msg_to_ws_v1(parts, msg["channel"])


def client_legacy_text(msg):
    return jupyterlab_stringify(msg).encode("utf-8")


def client_legacy_binary(msg):
    # serializeBinary: "buffers" is dropped from the JSON part, then the same
    # layout as serialize_binary_message (big-endian count and start offsets).
    msg = dict(msg)
    parts = [jupyterlab_stringify({k: v for k, v in msg.items() if k != "buffers"}).encode()]
    parts += list(msg["buffers"])
    offsets = [4 * (len(parts) + 1)]
    for part in parts[:-1]:
        offsets.append(offsets[-1] + len(part))
    head = len(parts).to_bytes(4, "big") + b"".join(o.to_bytes(4, "big") for o in offsets)
    return head + b"".join(parts)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


EXECUTE_CODE = "import torch\nprint(torch.cuda.is_available())  # \u00e9\u4e2d \"quoted\"\n"
execute_request = jupyterlab_message(
    "execute_request",
    {
        "code": EXECUTE_CODE,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": True,
        "stop_on_error": True,
    },
    "shell",
)
busy = kernel_message("st-busy", "status", {"execution_state": "busy"})
idle = kernel_message("st-idle", "status", {"execution_state": "idle"})
reply = kernel_message(
    "rep-0001",
    "execute_reply",
    {"status": "ok", "execution_count": 3, "user_expressions": {}, "payload": []},
)
comm = kernel_message(
    "comm-0001",
    "comm_msg",
    {"comm_id": "c1", "data": {"method": "update", "buffer_paths": [["a"], ["b"]]}},
    buffers=[b"\x00\x01\x02\x03", b"buffer-two"],
)
input_request = kernel_message("in-0001", "input_request", {"prompt": "name? ", "password": False})
client_comm = jupyterlab_message(
    "comm_msg", {"comm_id": "c1", "data": {"method": "custom"}}, "shell", buffers=[b"\xff\xfe\xfd"]
)

write("legacy-shell-execute-request.client.json", client_legacy_text(execute_request))
write("legacy-shell-comm-msg-buffers.client.bin", client_legacy_binary(client_comm))
for msg, channel, stem in [
    (busy, "iopub", "status-busy"),
    (idle, "iopub", "status-idle"),
    (reply, "shell", "execute-reply"),
    (comm, "iopub", "comm-msg-buffers"),
    (input_request, "stdin", "input-request"),
]:
    payload, binary = server_legacy(msg, channel)
    write(f"legacy-{channel}-{stem}.server.{'bin' if binary else 'json'}", payload)
    write(f"v1-{channel}-{stem}.server.bin", server_v1(msg, channel))
write("v1-shell-execute-request.client.bin", client_v1(execute_request))
write("v1-shell-comm-msg-buffers.client.bin", client_v1(client_comm))

# display_data with a 1 MiB buffer of zeros: only the bytes before the buffer are
# stored; the test appends 1 MiB of zeros to rebuild the exact frame.
big = kernel_message(
    "dd-0001",
    "display_data",
    {"data": {"text/plain": "<big>"}, "metadata": {}, "transient": {}},
    buffers=[bytes(MIB)],
)
for name, frame in [
    ("v1-iopub-display-data-1mib.server.prefix.bin", server_v1(big, "iopub")),
    ("legacy-iopub-display-data-1mib.server.prefix.bin", server_legacy(big, "iopub")[0]),
]:
    assert frame.endswith(bytes(MIB))
    write(name, frame[:-MIB])

# Sanity: the server's own deserializers read back what was written.
channel, parts = deserialize_msg_from_ws_v1(server_v1(busy, "iopub"))
assert channel == "iopub" and json.loads(parts[3]) == {"execution_state": "busy"}
assert deserialize_binary_message(server_legacy(comm, "iopub")[0])["buffers"][1] == b"buffer-two"
print("fixtures written to", HERE)
