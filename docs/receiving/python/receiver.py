"""A Tidings webhook receiver in Python, standard library only. See docs/receiving.md.

    WEBHOOK_SECRET=whsec_... PORT=9000 python3 receiver.py     # or WEBHOOK_SECRET=whpk_... (v1a)

It verifies each delivery on its raw body, answers at once (204), and processes later on
another thread; a webhook-id seen before on the same path is answered 200 and not processed
again (the id is the event's, the same on every endpoint that gets it). One JSON
line per event on stdout: listening, processed, duplicate, rejected.
"""
import base64
import hashlib
import hmac
import json
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ed25519  # beside this file: RFC 8032 verification, standard library only

SECRET = os.environ.get("WEBHOOK_SECRET", "")
TOLERANCE_S = 5 * 60


def log(line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


class Rejected(Exception):
    pass


def verify(headers, raw: bytes):
    """Raises Rejected unless one signature of webhook-signature verifies, on a fresh timestamp."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not ts or not signatures:
        raise Rejected("missing webhook headers")
    if not ts.isdigit() or abs(time.time() - int(ts)) > TOLERANCE_S:
        raise Rejected("timestamp outside the tolerance")
    content = f"{msg_id}.{ts}.".encode() + raw
    if SECRET.startswith("whpk_"):
        version, key = "v1a", base64.b64decode(SECRET[len("whpk_"):])
        check = lambda sig: ed25519.verify(key, content, sig)  # noqa: E731
    else:
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        expected = hmac.new(key, content, hashlib.sha256).digest()
        version = "v1"
        check = lambda sig: hmac.compare_digest(sig, expected)  # noqa: E731
    # One signature per live secret (two during a rotation): any one that verifies will do.
    for entry in signatures.split(" "):
        v, _, sig = entry.partition(",")
        if v == version and check(base64.b64decode(sig)):
            return
    raise Rejected(f"no {version} signature matches")


seen = set()  # in production: a table with a unique key on (endpoint, webhook-id)
seen_lock = threading.Lock()
jobs = queue.Queue()


def process_later():
    while True:
        msg_id, sequence, raw = jobs.get()
        log({"event": "processed", "id": msg_id, "sequence": sequence, "body": json.loads(raw)})


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))  # the bytes as sent
        try:
            verify(self.headers, raw)
        except (Rejected, ValueError) as err:
            log({"event": "rejected", "reason": str(err)})
            return self.answer(400)
        msg_id = self.headers["webhook-id"]
        key = (self.path, msg_id)
        with seen_lock:
            repeat = key in seen
            seen.add(key)
        if repeat:
            log({"event": "duplicate", "id": msg_id})
            return self.answer(200)
        sequence = self.headers.get("webhook-sequence")
        jobs.put((msg_id, int(sequence) if sequence else None, raw))
        self.answer(204)  # answer first: Tidings waits at most its timeout (15 s)

    def answer(self, status):
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "9000"))), Handler)
    threading.Thread(target=process_later, daemon=True).start()
    log({"event": "listening", "port": server.server_address[1]})
    server.serve_forever()
