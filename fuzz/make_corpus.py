#!/usr/bin/env python3
"""make_corpus.py — writes the fuzz targets' seed corpora into fuzz/corpus/<target>/.

The seeds are the tests' real messages: every JSON literal of the protocol tests (adjacent raw
string pieces joined), the ingest shapes, the HTTP requests the server answers, and WebSocket
frames carrying the client messages. Tokens are signed with the fuzz harness's secret and expire
in 2100. Run it again after the tests gain new messages; file names are content hashes, so a
run only adds files.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import re
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = b"fuzz-secret-fuzz-secret-fuzz-secret!"  # fuzz/connection.hpp and jwt_fuzz.cpp
INGEST_KEY = "fuzz-ingest-key"
EXP_2100 = 4102444800


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: dict, header: dict | None = None, secret: bytes = SECRET) -> str:
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def raw_literals(path: pathlib.Path) -> list[str]:
    """Every R"(...)" literal of a test file, with pieces separated only by whitespace joined."""
    text = path.read_text()
    found, last_end = [], None
    for m in re.finditer(r'R"\((.*?)\)"', text, re.S):
        if last_end is not None and text[last_end:m.start()].strip() == "" and found:
            found[-1] += m.group(1)
        else:
            found.append(m.group(1))
        last_end = m.end()
    return [s for s in found if s.lstrip().startswith(("{", "["))]


def frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """A client frame, masked with the key 0 so the payload stays readable to the fuzzer."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack("!Q", n)
    return head + b"\0\0\0\0" + payload


def request(method: str, target: str, headers: dict | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write(target: str, seeds: list[bytes]) -> None:
    out = HERE / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (out / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
    print(f"{target}: {len(seeds)} seeds")


def main() -> None:
    messages = raw_literals(ROOT / "tests/protocol_messages_test.cpp")
    messages += [
        '{"type":"subscribe_dashboard","payload":{"userId":"1"}}',
        '{"type":"subscribe_dashboard","payload":{"userId":"1","batch":true,"lastEventId":"0"}}',
        '{"type":"unsubscribe_dashboard","payload":{"userId":"1"}}',
        '{"type":"ack","payload":{"ids":["1","2","3"]}}',
        '{"type":"ping","payload":{"timestamp":"2026-01-03T10:30:00.123Z"}}',
        '{"type":"refresh_token","payload":{"token":"%s"}}' % token({"sub": "1", "exp": EXP_2100}),
        '{"type":"refresh_token","payload":{"token":"%s"}}' % token({"sub": "2", "exp": EXP_2100}),
    ]
    write("client_message", [m.encode() for m in messages])

    bodies = raw_literals(ROOT / "tests/protocol_ingest_test.cpp")
    write("ingest", [b.encode() for b in bodies])

    good = token({"sub": "1", "exp": EXP_2100, "aud": "dashboard"})
    jwt_seeds = [b"\0" + t.encode() for t in (
        good,
        token({"userId": 1, "exp": EXP_2100, "aud": ["x", "dashboard"], "iat": 1767225000, "nbf": 1767225000}),
        token({"sub": "1", "exp": 1000, "aud": "dashboard"}),
        token({"sub": "1", "exp": EXP_2100}, {"alg": "none"}),
        token({"sub": "1", "exp": EXP_2100}, {"alg": "RS256", "typ": "JWT"}),
        token({"sub": "1", "exp": EXP_2100}, secret=b"another-secret-another-secret-12"),
        "a.b.c", "..", "eyJhbGciOiJIUzI1NiJ9..",
    )]
    jwt_seeds += [b"\1" + h.encode() + b"\n" + c.encode() for h, c in (
        ('{"alg":"HS256","typ":"JWT"}', '{"sub":"1","exp":4102444800,"aud":"dashboard"}'),
        ('{"alg":"HS256"}', '{"user_id":"u-1","exp":4102444800.5,"aud":["dashboard"],"iss":"me"}'),
        ('{"alg":"HS256"}', '{"sub":"1","exp":1,"aud":"dashboard"}'),
        ('{"alg":"HS256"}', '{"sub":"1","exp":4102444800,"nbf":4102444800,"aud":"dashboard"}'),
        ('{"alg":"HS256"}', '{"sub":"1","sub":"2","exp":4102444800,"aud":"dashboard"}'),
        ('{"alg":"HS256"}', '{"sub":1e400,"exp":"soon","aud":null}'),
    )]
    write("jwt", jwt_seeds)

    session_token = token({"sub": "1", "exp": EXP_2100})
    upgrade = request("GET", f"/ws/dashboard/1?token={session_token}&lastEventId=0", {
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13", "Origin": "http://localhost"})
    auth = {"Authorization": f"Bearer {INGEST_KEY}", "Content-Type": "application/json"}
    http_seeds = [
        request("GET", "/health"), request("GET", "/ready"), request("GET", "/status"), request("GET", "/metrics"),
        request("GET", "/"), request("HEAD", "/"), request("GET", "/app.js", {"If-None-Match": 'W/"x", "y"'}),
        request("GET", "/dapr/subscribe"), request("DELETE", "/health"),
        request("GET", "/api/v1/users/1/dashboard", {"Authorization": f"Bearer {session_token}"}),
        request("GET", "/api/v1/users/1/events?after=0&limit=10", {"Authorization": f"Bearer {session_token}"}),
        request("GET", "/health") + request("GET", "/ready") + request("GET", "/nope"),
        request("POST", "/api/v1/events", {**auth, "Expect": "100-continue"}, bodies[0].encode()),
        b"POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + INGEST_KEY.encode() +
        b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{\"ac\r\n0\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\n folded: x\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",
        upgrade, upgrade + frame(b'{"type":"ping"}'),
        request("GET", "/ws/dashboard/1", {"Upgrade": "websocket", "Connection": "Upgrade",
                                           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}),
    ]
    http_seeds += [request("POST", "/api/v1/events", auth, b.encode()) for b in bodies[:40]]
    write("http_connection", http_seeds)

    sub = b'{"type":"subscribe_dashboard","payload":{"userId":"1","batch":true,"lastEventId":"0"}}'
    ws_seeds = [frame(m.encode()) for m in messages]
    ws_seeds += [
        frame(sub) + frame(b'{"type":"ack","payload":{"ids":["1"]}}') + frame(b'{"type":"unsubscribe_dashboard","payload":{"userId":"1"}}'),
        frame(sub[:20], fin=False) + frame(b"", opcode=9) + frame(sub[20:], opcode=0),  # fragmented, a ping between
        frame(b"\x03\xe8bye", opcode=8),  # close 1000
        frame(b"\x00\x01\x02", opcode=2),  # binary
        frame(b'{"type":"ping","payload":"\xff\xfe"}'),  # invalid UTF-8
        frame(b"[" * 200 + b"]" * 200),  # deep nesting
        frame(b"x" * 17000),  # over the message limit (16 KiB in the harness)
        frame(b"pong!", opcode=10),
    ]
    write("ws_session", ws_seeds)


if __name__ == "__main__":
    main()
