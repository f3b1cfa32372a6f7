#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""interop_test's peer: a plain TCP program that frames its messages itself.

It speaks what a msgmux socket with the default framing puts on the wire: a
4-byte big-endian payload length, then the payload.  It uses the standard
library only, so that it runs with the host's python3 in the test VM.

Both sides generate the same messages from a seed, so each checks what it
receives byte for byte.  Stream 0 is what the msgmux program sends, stream
1 what this peer sends; message k of a stream is SHAKE-128 output of the
seed, the stream and k.  Messages 0, 1 and 2 are 0 bytes, 1 byte and
exactly MAX_SIZE bytes; the others have random sizes up to MAX_SIZE,
spread over all orders of magnitude.  interop_test.c generates the same.

    peer.py client --family 4|6 --port PORT --seed S --count N
    peer.py server --family 4|6 --seed S --count N   (prints its port)

Both directions run at once (a thread sends).  Every third message goes
out cut in pieces, so that its header spans several TCP segments.  When it has sent and
received every message, the peer shuts its side down (FIN), checks that
nothing but the msgmux side's FIN follows, and exits 0.  Any mismatch,
error or timeout exits non-zero with a message on stderr.
"""
import argparse
import hashlib
import os
import signal
import socket
import struct
import sys
import threading
import time

MAX_SIZE = 1 << 20
TO_PEER, FROM_PEER = 0, 1


def log(msg):
    print("# peer: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    log("FAIL: " + msg)
    # Exit from any thread, without waiting for the others.
    os._exit(1)


def msg_size(seed, stream, k):
    if k == 0:
        return 0
    if k == 1:
        return 1
    if k == 2:
        return MAX_SIZE
    r = int.from_bytes(hashlib.shake_128(
        b"size %d %d %d" % (seed, stream, k)).digest(8), "little")
    shift = r % 21
    return (r >> 8) % ((1 << shift) + 1)


def msg_data(seed, stream, k):
    n = msg_size(seed, stream, k)
    if n == 0:
        return b""
    return hashlib.shake_128(b"data %d %d %d" % (seed, stream, k)).digest(n)


def recv_exact(conn, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        r = conn.recv_into(view[got:], n - got)
        if r == 0:
            return bytes(buf[:got])
        got += r
    return bytes(buf)


def sender(conn, seed, count):
    try:
        for k in range(count):
            data = msg_data(seed, FROM_PEER, k)
            wire = struct.pack(">I", len(data)) + data
            if k % 3 == 1:
                # Cut the header, and the header from the payload, over
                # several segments (TCP_NODELAY is on).
                for cut in (wire[:1], wire[1:3], wire[3:5]):
                    conn.sendall(cut)
                    time.sleep(0.002)
                wire = wire[5:]
            conn.sendall(wire)
    except OSError as e:
        fail("sending message %d: %s" % (k, e))


def receive(conn, seed, count):
    for k in range(count):
        want = msg_data(seed, TO_PEER, k)
        try:
            hdr = recv_exact(conn, 4)
            if len(hdr) != 4:
                fail("message %d: connection closed in the header" % k)
            n = struct.unpack(">I", hdr)[0]
            if n != len(want):
                fail("message %d: length %d, expected %d" % (k, n, len(want)))
            data = recv_exact(conn, n)
        except OSError as e:
            fail("receiving message %d: %s" % (k, e))
        if len(data) != n:
            fail("message %d: connection closed after %d of %d bytes"
                 % (k, len(data), n))
        if data != want:
            off = next(i for i in range(n) if data[i] != want[i])
            fail("message %d (%d bytes): differs from byte %d on"
                 % (k, n, off))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["client", "server"])
    ap.add_argument("--family", choices=["4", "6"], default="4")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--timeout", type=int, default=60)
    args = ap.parse_args()

    # Whatever happens, never outlive the test.
    signal.signal(signal.SIGALRM, lambda *a: fail("timed out"))
    signal.alarm(args.timeout * 2)

    fam = socket.AF_INET if args.family == "4" else socket.AF_INET6
    host = "127.0.0.1" if args.family == "4" else "::1"
    try:
        if args.role == "server":
            srv = socket.socket(fam, socket.SOCK_STREAM)
            srv.bind((host, 0))
            srv.listen(1)
            print(srv.getsockname()[1], flush=True)
            srv.settimeout(args.timeout)
            conn, peer = srv.accept()
            srv.close()
        else:
            conn = socket.create_connection((host, args.port),
                                            timeout=args.timeout)
        conn.settimeout(args.timeout)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as e:
        fail("%s: %s" % (args.role, e))

    t = threading.Thread(target=sender, args=(conn, args.seed, args.count))
    t.start()
    receive(conn, args.seed, args.count)
    t.join()

    # Done both ways: FIN, then the msgmux side must close without
    # sending anything more.
    try:
        conn.shutdown(socket.SHUT_WR)
        extra = conn.recv(65536)
    except OSError as e:
        fail("after the last message: %s" % e)
    if extra:
        fail("%d unexpected bytes after the last message" % len(extra))
    conn.close()
    log("%s: %d messages each way, all intact" % (args.role, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
