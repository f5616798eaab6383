"""Baseline: the dashboard contract subset the way the seeds' Python teams wrote it, with Debian's
python3-websockets and python3-jwt on one asyncio loop. websockets serves no HTTP bodies, so
ingest listens on --ingest-port (an asyncio HTTP/1.1 keep-alive handler).
Run with /usr/bin/python3 server.py --port 9002 --ingest-port 9012 --jwt-secret S --ingest-key K
"""
import argparse
import asyncio
import json
import re
from datetime import datetime, timezone

import jwt
import websockets

PATH = re.compile(r"^/ws/dashboard/([A-Za-z0-9._-]{1,64})(\?.*)?$")
sockets = {}      # user -> set of websocket connections
tasks = {}        # task id -> (audience, status)
by_user = {}      # user -> {task id: status}, for naive stats
event_ids = {}    # user -> last event id


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(kind, payload, event_id=None):
    message = {"type": kind, "payload": payload, "timestamp": now()}
    if event_id is not None:
        message["id"] = event_id
    return json.dumps(message)


def stats(user):
    seen = by_user.get(user, {})
    total = len(seen)
    completed = sum(1 for status in seen.values() if status)
    return {"totalTasks": total, "completedTasks": completed, "pendingTasks": total - completed, "updatedAt": now()}


async def session(ws, path):
    match = PATH.match(path)
    if not match:
        await ws.close(1008)
        return
    user = match.group(1)
    query = dict(p.split("=", 1) for p in (match.group(2) or "?")[1:].split("&") if "=" in p)
    try:
        claims = jwt.decode(query.get("token", ""), ARGS.jwt_secret, algorithms=["HS256"])
        if str(claims.get("sub")) != user:
            raise jwt.InvalidTokenError("subject mismatch")
    except jwt.ExpiredSignatureError:
        await ws.send(envelope("error", {"code": "AUTH_EXPIRED", "message": "expired"}))
        await ws.close(4002, "AUTH_EXPIRED")
        return
    except jwt.InvalidTokenError:
        await ws.send(envelope("error", {"code": "AUTH_INVALID", "message": "invalid"}))
        await ws.close(4001, "AUTH_INVALID")
        return
    sockets.setdefault(user, set()).add(ws)
    try:
        await ws.send(envelope("connection_success", {"userId": user, "message": "Successfully connected to dashboard updates"}))
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "ping":
                await ws.send(envelope("pong", message.get("payload", {})))
            elif message.get("type") == "subscribe_dashboard":
                await ws.send(envelope("subscribed", {"userId": user}))
                await ws.send(envelope("dashboard_update", stats(user)))
    except (websockets.ConnectionClosed, ValueError):
        pass
    finally:
        sockets[user].discard(ws)


def apply(events):
    touched, ids = set(), []
    for event in events:
        owner = str(event["userId"])
        audience = [owner] + [str(u) for u in event.get("sharedWith", [])]
        task = event["task"]
        task_id = str(task["id"])
        if task_id in tasks:
            for user in tasks[task_id][0]:
                by_user.get(user, {}).pop(task_id, None)
        if event["action"] == "deleted":
            tasks.pop(task_id, None)
        else:
            tasks[task_id] = (audience, bool(task.get("status")))
            for user in audience:
                by_user.setdefault(user, {})[task_id] = bool(task.get("status"))
        assigned = {}
        for user in audience:
            event_ids[user] = event_ids.get(user, 0) + 1
            assigned[user] = str(event_ids[user])
            touched.add(user)
            if sockets.get(user):
                websockets.broadcast(sockets[user], envelope(
                    "task_update", {"taskId": task["id"], "action": event["action"], "task": task}, assigned[user]))
        ids.append(assigned)
    for user in touched:
        if sockets.get(user):
            websockets.broadcast(sockets[user], envelope("dashboard_update", stats(user)))
    return ids


async def ingest(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("authorization") != f"Bearer {ARGS.ingest_key}":
                status, reply = "401 Unauthorized", b""
            else:
                payload = json.loads(body)
                ids = apply(payload if isinstance(payload, list) else [payload])
                status, reply = "202 Accepted", json.dumps({"accepted": len(ids), "events": ids}).encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(reply)}\r\n\r\n".encode() + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main():
    async with websockets.serve(session, "127.0.0.1", ARGS.port, max_size=65536):
        server = await asyncio.start_server(ingest, "127.0.0.1", ARGS.ingest_port)
        print(f"baseline-python listening on 127.0.0.1:{ARGS.port} (ingest {ARGS.ingest_port})", flush=True)
        async with server:
            await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--ingest-port", type=int, default=9012)
    parser.add_argument("--jwt-secret", required=True)
    parser.add_argument("--ingest-key", required=True)
    ARGS = parser.parse_args()
    asyncio.run(main())
