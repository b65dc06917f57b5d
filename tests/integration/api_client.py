#!/usr/bin/env python3
"""Raw HTTP/1.1 on ember's API Unix socket, for tests/integration/api_transport.sh.

usage: api_client.py SOCKET COMMAND [ARG]
  get PATH         one GET; prints the body; fails unless 200
  split            GET / sent one byte at a time
  pipeline N       N requests pipelined on one connection, answers checked in order
  concurrent N     N connections at once, each asking GET / three times (keep-alive)
  idle SECONDS     connects and sends nothing for SECONDS, then GET / on that connection
  partial          half a request, then silence: wants 400 "Request timed out", then close
  bigbody BYTES    PUT /machine-config with a BYTES body: wants a readable 400 naming the
                   limit while the body is still being sent, then close
  garbage          bytes that are not HTTP: wants 400 with a fault_message, then close
  crowd N          N idle connections, then GET / on a new one and on the newest idle one

Exits 0 when every answer is right (one line on stdout), 1 with one line on stderr
when not. Python standard library only.
"""
import json
import socket
import sys
import threading
import time

TIMEOUT = 30.0


class Fail(Exception):
    pass


class Conn:
    """One client connection and what it has read but not yet parsed."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Fail("no answer within %.0f s" % TIMEOUT)
        if not data:
            raise Fail("connection closed before a complete answer")
        self.buf += data

    def response(self):
        """(status, headers with lower-case names, body bytes); 1xx answers are skipped."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                self._fill()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise Fail("bad status line %r" % lines[0])
            status = int(parts[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(self.buf) < length:
                self._fill()
            body, self.buf = self.buf[:length], self.buf[length:]
            if 100 <= status < 200:
                continue
            return status, headers, body

    def expect_closed(self):
        """The server closes the connection and sends nothing more."""
        try:
            data = self.buf or self.sock.recv(1)
        except ConnectionResetError:
            return
        except socket.timeout:
            raise Fail("the connection stays open, want it closed")
        if data:
            raise Fail("unexpected bytes after the answer: %r" % data[:80])

    def close(self):
        self.sock.close()


def request(method, path, body=b"", extra="", length=None):
    """One request; length announces a body the caller sends separately."""
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\n%s" % (method, path, extra)
    if length is None and (body or method in ("PUT", "PATCH")):
        length = len(body)
    if length is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % length
    return (head + "\r\n").encode() + body


def json_body(body, what):
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as e:
        raise Fail("%s: body is not JSON (%s): %r" % (what, e, body[:200]))


def expect_root(status, body, what):
    """GET / answers 200 {"app_name": "ember", ...}."""
    if status != 200:
        raise Fail("%s: status %d, want 200: %r" % (what, status, body[:200]))
    doc = json_body(body, what)
    if not isinstance(doc, dict) or doc.get("app_name") != "ember":
        raise Fail("%s: want app_name ember in %r" % (what, doc))
    return doc


def expect_fault(status, body, what, needle=""):
    if status != 400:
        raise Fail("%s: status %d, want 400: %r" % (what, status, body[:200]))
    doc = json_body(body, what)
    msg = doc.get("fault_message") if isinstance(doc, dict) else None
    if not isinstance(msg, str) or list(doc) != ["fault_message"]:
        raise Fail("%s: want exactly {\"fault_message\": ...}, got %r" % (what, doc))
    if needle not in msg:
        raise Fail("%s: fault_message %r lacks %r" % (what, msg, needle))
    return msg


def cmd_get(path, arg):
    c = Conn(path)
    c.send(request("GET", arg))
    status, _, body = c.response()
    if status != 200:
        raise Fail("GET %s: status %d: %r" % (arg, status, body[:200]))
    return body.decode("utf-8", "replace")


def cmd_split(path, _):
    c = Conn(path)
    req = request("GET", "/", extra="Accept: application/json\r\n")
    for i in range(len(req)):
        c.send(req[i:i + 1])
        time.sleep(0.001)
    status, _, body = c.response()
    expect_root(status, body, "split request")
    return "answered after %d one-byte writes" % len(req)


def sender(conn, data, result):
    try:
        conn.sock.sendall(data)
        result.append(None)
    except OSError as e:
        result.append(e)


def cmd_pipeline(path, arg):
    """Even requests are GET / (200), odd ones a path no router knows (4xx): a swapped
    or lost answer shows in the sequence of statuses."""
    n = int(arg)
    c = Conn(path)
    reqs = [request("GET", "/" if i % 2 == 0 else "/no-such-path-%d" % i) for i in range(n)]
    result = []
    t = threading.Thread(target=sender, args=(c, b"".join(reqs), result))
    t.start()  # written while answers are read: the server may apply backpressure
    for i in range(n):
        status, _, body = c.response()
        if i % 2 == 0:
            expect_root(status, body, "answer %d" % i)
        elif not 400 <= status < 500:
            raise Fail("answer %d: status %d, want 4xx for an unknown path" % (i, status))
    t.join()
    if result[0] is not None:
        raise Fail("sending the requests failed: %s" % result[0])
    return "%d answers in order" % n


def cmd_concurrent(path, arg):
    n = int(arg)
    conns = [Conn(path) for _ in range(n)]
    errors = []
    barrier = threading.Barrier(n)

    def client(c, k):
        try:
            barrier.wait()
            for j in range(3):
                c.send(request("GET", "/"))
                status, _, body = c.response()
                expect_root(status, body, "client %d request %d" % (k, j))
        except (Fail, OSError, threading.BrokenBarrierError) as e:
            errors.append("client %d: %s" % (k, e))

    threads = [threading.Thread(target=client, args=(c, k)) for k, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Fail("%d of %d clients failed; first: %s" % (len(errors), n, errors[0]))
    return "%d clients answered 3 times each" % n


def cmd_idle(path, arg):
    """An idle connection is never timed out: after SECONDS of silence it still works."""
    c = Conn(path)
    print("connected", flush=True)
    time.sleep(float(arg))
    c.send(request("GET", "/"))
    status, _, body = c.response()
    expect_root(status, body, "GET / after %s s idle" % arg)
    return "idle %s s, then answered" % arg


def cmd_crowd(path, arg):
    """More idle connections than the server keeps: the longest-idle ones make room, so a
    new client and the newest idle connection are still served."""
    n = int(arg)
    crowd = []
    for _ in range(n):
        crowd.append(Conn(path))
        time.sleep(0.002)  # accepted one by one: "longest idle" is well defined
    c = Conn(path)
    c.send(request("GET", "/"))
    status, _, body = c.response()
    expect_root(status, body, "new client beside %d idle ones" % n)
    crowd[-1].send(request("GET", "/"))
    status, _, body = crowd[-1].response()
    expect_root(status, body, "newest idle connection")
    closed = 0
    for k in crowd[:-1]:
        k.sock.setblocking(False)
        try:
            closed += k.sock.recv(1) == b""
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    return "served beside %d idle connections, %d of them closed by the server" % (n, closed)


def cmd_partial(path, _):
    c = Conn(path)
    start = time.monotonic()
    c.send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"vcpu")
    status, headers, body = c.response()
    expect_fault(status, body, "stalled request", "timed out")
    c.expect_closed()
    return "400 after %.1f s" % (time.monotonic() - start)


def cmd_bigbody(path, arg):
    size = int(arg)
    c = Conn(path)
    head = request("PUT", "/machine-config", length=size)
    result = []
    t = threading.Thread(target=sender, args=(c, head + b" " * size, result))
    t.start()
    status, headers, body = c.response()
    msg = expect_fault(status, body, "%d-byte body" % size, "limit")
    t.join(TIMEOUT)
    if t.is_alive():
        raise Fail("the server stopped reading the body: the client is stuck sending")
    if result[0] is not None:
        raise Fail("the body could not be sent (%s): the server did not drain it" % result[0])
    c.expect_closed()
    return "400: %s" % msg


def cmd_garbage(path, _):
    c = Conn(path)
    c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n")
    status, _, body = c.response()
    msg = expect_fault(status, body, "garbage")
    c.expect_closed()
    return "400: %s" % msg


COMMANDS = {
    "get": cmd_get, "split": cmd_split, "pipeline": cmd_pipeline,
    "concurrent": cmd_concurrent, "idle": cmd_idle, "partial": cmd_partial,
    "bigbody": cmd_bigbody, "garbage": cmd_garbage, "crowd": cmd_crowd,
}


def main(argv):
    if len(argv) < 3 or argv[2] not in COMMANDS:
        sys.stderr.write(__doc__)
        return 2
    try:
        print(COMMANDS[argv[2]](argv[1], argv[3] if len(argv) > 3 else None))
    except (Fail, OSError, ValueError) as e:
        sys.stderr.write("%s: %s\n" % (argv[2], e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
