// Baseline: the dashboard contract subset written the way a Node.js team would, with `ws` and
// `jsonwebtoken`. One process, one event loop. Usage:
//   node server.js --port 9001 --jwt-secret S --ingest-key K
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');
const jwt = require('jsonwebtoken');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const port = Number(args.port || 9001);
const secret = args['jwt-secret'];
const ingestKey = args['ingest-key'];

const sockets = new Map(); // userId -> Set<WebSocket>
const tasks = new Map();   // taskId -> { owner, audience: [], status }
const tasksByUser = new Map(); // userId -> Map<taskId, status>: what each user sees
const eventIds = new Map(); // userId -> last event id

const now = () => new Date().toISOString();
const envelope = (type, payload, id) => JSON.stringify(id === undefined ? { type, payload, timestamp: now() } : { type, payload, timestamp: now(), id });

// Naive stats: count the user's tasks on every change.
function statsFor(userId) {
  let total = 0, completed = 0;
  for (const status of (tasksByUser.get(userId) || new Map()).values()) { total++; if (status) completed++; }
  return { totalTasks: total, completedTasks: completed, pendingTasks: total - completed, updatedAt: now() };
}

function see(user, taskId, status) {
  if (!tasksByUser.has(user)) tasksByUser.set(user, new Map());
  if (status === undefined) tasksByUser.get(user).delete(taskId); else tasksByUser.get(user).set(taskId, status);
}

const wss = new WebSocketServer({ noServer: true });

function refuse(req, socket, head, code, closeCode) {
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.send(envelope('error', { code, message: code }));
    ws.close(closeCode, code);
  });
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/v1/events') { res.writeHead(404).end(); return; }
  if (req.headers.authorization !== `Bearer ${ingestKey}`) { res.writeHead(401).end(); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch { res.writeHead(400).end(); return; }
    const events = Array.isArray(body) ? body : [body];
    const touched = new Set();
    const ids = [];
    for (const e of events) {
      const owner = String(e.userId);
      const audience = [owner, ...(e.sharedWith || []).map(String)];
      const taskId = e.task.id;
      const previous = tasks.get(taskId);
      if (previous) for (const user of previous.audience) see(user, taskId, undefined);
      if (e.action === 'deleted') tasks.delete(taskId);
      else {
        tasks.set(taskId, { owner, audience, status: !!e.task.status });
        for (const user of audience) see(user, taskId, !!e.task.status);
      }
      const eventIdsForEvent = {};
      for (const user of audience) {
        const id = (eventIds.get(user) || 0) + 1;
        eventIds.set(user, id);
        eventIdsForEvent[user] = String(id);
        touched.add(user);
        const conns = sockets.get(user);
        if (!conns) continue;
        const msg = envelope('task_update', { taskId, action: e.action, task: e.task }, String(id));
        for (const ws of conns) ws.send(msg);
      }
      ids.push(eventIdsForEvent);
    }
    for (const user of touched) {
      const conns = sockets.get(user);
      if (!conns) continue;
      const msg = envelope('dashboard_update', statsFor(user));
      for (const ws of conns) ws.send(msg);
    }
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: events.length, events: ids }));
  });
});

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  const match = url.pathname.match(/^\/ws\/dashboard\/([A-Za-z0-9._-]{1,64})$/);
  if (!match) { socket.destroy(); return; }
  const userId = match[1];
  let token = url.searchParams.get('token');
  if (!token && (req.headers.authorization || '').startsWith('Bearer ')) token = req.headers.authorization.slice(7);
  let claims;
  try { claims = jwt.verify(token, secret, { algorithms: ['HS256'] }); } catch (err) {
    return refuse(req, socket, head, err.name === 'TokenExpiredError' ? 'AUTH_EXPIRED' : 'AUTH_INVALID', err.name === 'TokenExpiredError' ? 4002 : 4001);
  }
  if (String(claims.sub ?? claims.userId ?? claims.user_id) !== userId) return refuse(req, socket, head, 'AUTH_INVALID', 4001);
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (!sockets.has(userId)) sockets.set(userId, new Set());
    sockets.get(userId).add(ws);
    ws.send(envelope('connection_success', { userId, message: 'Successfully connected to dashboard updates' }));
    ws.on('message', (data) => {
      let msg;
      try { msg = JSON.parse(data); } catch { ws.close(1008); return; }
      if (msg.type === 'ping') ws.send(envelope('pong', msg.payload || {}));
      else if (msg.type === 'subscribe_dashboard') {
        ws.send(envelope('subscribed', { userId }));
        ws.send(envelope('dashboard_update', statsFor(userId)));
      }
    });
    ws.on('close', () => {
      const set = sockets.get(userId);
      set.delete(ws);
      if (set.size === 0) sockets.delete(userId);
    });
  });
});

server.listen(port, '127.0.0.1', () => console.log(`baseline-node listening on 127.0.0.1:${port}`));
