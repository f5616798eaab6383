// dashboard-client.js — the reference client of dashboard-hub: a dependency-free ES module that
// keeps one WebSocket session alive (reconnects with backoff and jitter, resumes with
// lastEventId), acknowledges task updates, pings, and refreshes its token before it expires.
// Copy it as it is; see the README section "The reference JavaScript client".

const DEFAULTS = {
  batch: false,            // subscribe with "batch": true to get task_batch frames
  minBackoffMs: 1000,      // first reconnect delay; doubles per failed attempt...
  maxBackoffMs: 30000,     // ...up to this
  pingIntervalMs: 25000,   // an application ping; the server's WebSocket pings are invisible here
  ackDelayMs: 1000,        // acks are cumulative: one per this interval covers all updates seen
  ackEvery: 250,           // ...or sooner once this many wait (the server allows 1,000 unacked)
  refreshLeadMs: 60000,    // ask for a fresh token this long before `exp`
};

// Close codes after which reconnecting with the same token cannot help.
const FATAL_CLOSES = new Set([4001, 4004]);
const MAX_TIMER_MS = 2 ** 31 - 1;  // setTimeout fires at once beyond this
const MIN_REFRESH_GAP_MS = 1000;   // a hook that keeps returning short tokens cannot spin

// The claims of a JWT, without verifying it (the server does that): for `exp` and `sub`.
export function decodeToken(token) {
  const part = String(token).split('.')[1];
  if (!part) return {};
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

// Event ids are decimal strings that may exceed 2^53: compared as BigInt.
function newer(a, b) {
  if (a === null) return false;
  return b === null || BigInt(a) > BigInt(b);
}

export class DashboardClient {
  // options: url (ws:// or wss:// base, default: this page's host), userId, token, and
  // refreshToken: async () => a fresh token for the same user (optional), plus DEFAULTS.
  constructor(options) {
    this.options = { ...DEFAULTS, ...options };
    if (!this.options.userId) throw new Error('DashboardClient: userId is required');
    if (!this.options.token) throw new Error('DashboardClient: token is required');
    this.token = this.options.token;
    this.lastEventId = this.options.lastEventId ?? null;
    this.state = 'idle';
    this.listeners = new Map();
    this.socket = null;
    this.attempt = 0;
    this.timers = {};
    this.pendingAck = null;
    this.unacked = 0;
    this.lastAckAt = 0;
    this.lastSlowCut = -Infinity;
    this.stopped = true;
  }

  // on('state' | 'connected' | 'dashboard' | 'task' | 'status' | 'error' | 'refreshed' | 'closed', fn);
  // returns a function that removes the listener.
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.flushAck();
    this.stopped = true;
    this.clearTimers();
    clearTimeout(this.timers.ack);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      // Frames still on their way must not reach the listeners any more.
      socket.onmessage = socket.onclose = null;
      socket.close(1000, 'client stopped');
    }
    this.setState('stopped');
  }

  // --- internals ---------------------------------------------------------------------------

  emit(event, value) {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(value);
      } catch (e) {
        console.error('dashboard-client listener failed', e);
      }
    }
  }

  setState(state, detail) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', { state, detail });
  }

  endpoint() {
    const base = this.options.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
    const query = new URLSearchParams({ token: this.token });
    if (this.lastEventId !== null) query.set('lastEventId', this.lastEventId);
    return `${base.replace(/\/$/, '')}/ws/dashboard/${encodeURIComponent(this.options.userId)}?${query}`;
  }

  connect() {
    this.clearTimers();
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const Socket = this.options.WebSocket ?? globalThis.WebSocket;
    const socket = new Socket(this.endpoint());
    this.socket = socket;
    socket.onmessage = (e) => this.receive(e.data);
    socket.onclose = (e) => this.closed(socket, e.code, e.reason);
    socket.onerror = () => {};  // a close event always follows
  }

  send(type, payload) {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify({ type, payload, timestamp: new Date().toISOString() }));
    return true;
  }

  receive(data) {
    if (this.stopped) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    this.lastHeard = Date.now();
    const { type, payload } = message;
    switch (type) {
      case 'connection_success':
        this.attempt = 0;
        this.setState('connected');
        this.emit('connected', payload);
        this.send('subscribe_dashboard', { userId: payload.userId, batch: this.options.batch });
        this.schedulePing();
        this.scheduleRefresh();
        break;
      case 'dashboard_update':
        this.emit('dashboard', payload);
        break;
      case 'task_update':
        this.seen({ ...payload, id: message.id });
        break;
      case 'task_batch':
        for (const update of payload.updates) this.seen(update);
        break;
      case 'connection_status':
        this.emit('status', payload);
        break;
      case 'error':
        this.emit('error', payload);
        break;
      default:
        break;  // pong, subscribed, unsubscribed: nothing to do
    }
  }

  seen(update) {
    if (update.id !== undefined && newer(update.id, this.lastEventId)) this.lastEventId = update.id;
    this.emit('task', update);
    if (update.id === undefined) return;
    this.pendingAck = this.lastEventId;
    this.unacked += 1;
    // One cumulative ack per interval keeps well under the server's 10 messages/s; a burst is
    // acked sooner (at most every 100 ms), before it fills the server's window of 1,000.
    if (this.unacked >= this.options.ackEvery && Date.now() - this.lastAckAt >= 100) this.flushAck();
    else if (!this.timers.ack) this.timers.ack = setTimeout(() => this.flushAck(), this.options.ackDelayMs);
  }

  flushAck() {
    clearTimeout(this.timers.ack);
    this.timers.ack = null;
    if (this.pendingAck !== null && this.send('ack', { id: this.pendingAck })) {
      this.pendingAck = null;
      this.unacked = 0;
      this.lastAckAt = Date.now();
    }
  }

  schedulePing() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      // Two intervals without a word from the server: the connection is dead even if the
      // browser has not noticed yet.
      if (Date.now() - this.lastHeard > 2 * this.options.pingIntervalMs) {
        this.socket?.close(4000, 'no reply to pings');
        return;
      }
      this.send('ping', { timestamp: new Date().toISOString() });
    }, this.options.pingIntervalMs);
  }

  scheduleRefresh() {
    clearTimeout(this.timers.refresh);
    if (!this.options.refreshToken) return;
    const exp = decodeToken(this.token).exp;
    if (typeof exp !== 'number') return;  // a token without exp never needs refreshing
    const due = exp * 1000 - Date.now() - this.options.refreshLeadMs;
    const wait = Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_GAP_MS, due));
    this.timers.refresh = setTimeout(() => this.refresh(), wait);
  }

  async refresh() {
    const before = decodeToken(this.token).exp;
    let fresh;
    try {
      fresh = await this.options.refreshToken();
    } catch (e) {
      fresh = null;
      this.emit('error', { code: 'REFRESH_FAILED', message: String(e) });
    }
    if (this.stopped) return;
    // Only a token that lives longer is worth sending; otherwise ask again at the next gap.
    if (fresh && fresh !== this.token && !(decodeToken(fresh).exp <= before)) {
      this.token = fresh;  // also used by the next reconnect
      if (this.send('refresh_token', { token: fresh })) this.emit('refreshed', decodeToken(fresh));
    }
    if (this.state === 'connected') this.scheduleRefresh();
  }

  clearTimers() {
    clearTimeout(this.timers.reconnect);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.refresh);
    this.timers.reconnect = this.timers.ping = this.timers.refresh = null;
  }

  // A delay doubling from minBackoffMs to maxBackoffMs, spread by up to half of it at random so
  // that many clients cut at once do not return at once; always within [min, max].
  backoff() {
    const { minBackoffMs: min, maxBackoffMs: max } = this.options;
    const base = Math.min(max, min * 2 ** this.attempt);
    this.attempt += 1;
    const low = Math.min(base, max / 1.5);
    const high = Math.min(base * 1.5, max);
    return low + Math.random() * (high - low);
  }

  async closed(socket, code, reason) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    this.emit('closed', { code, reason });
    if (this.stopped) return;
    if (FATAL_CLOSES.has(code)) {
      this.setState('disconnected', { code, reason });
      return;
    }
    if (code === 4002) {
      // AUTH_EXPIRED: only a new token can help; without one the client stops here.
      let fresh = null;
      try {
        fresh = this.options.refreshToken ? await this.options.refreshToken() : null;
      } catch {
        fresh = null;
      }
      if (this.stopped) return;
      if (!fresh || fresh === this.token) {
        this.setState('disconnected', { code, reason: reason || 'the token expired' });
        return;
      }
      this.token = fresh;
    }
    this.setState('reconnecting', { code, reason });
    // SLOW_CONSUMER: come straight back and resume, once; cut again within 30 s, back off.
    const straightBack = code === 4013 && Date.now() - this.lastSlowCut > 30000;
    if (code === 4013) this.lastSlowCut = Date.now();
    const delay = straightBack ? 0 : this.backoff();
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }
}
