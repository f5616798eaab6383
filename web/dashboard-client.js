// dashboard-client.js — the reference client of dashboard-hub: a dependency-free ES module that
// keeps one live session per browser, not per tab (one tab leads and holds the connection, the
// others hear it on a BroadcastChannel), over WebSocket or, where a proxy blocks the upgrade,
// Server-Sent Events. It reconnects with backoff and jitter, resumes with lastEventId, delivers
// each update once per tab, acknowledges, pings, and refreshes its token before it expires.
// Copy it as it is; see the README section "The reference JavaScript client". Types:
// dashboard-client.d.ts.

const DEFAULTS = {
  batch: false,            // subscribe with "batch": true to get task_batch frames (WebSocket)
  share: true,             // one connection for all of this browser's tabs of one user and server
  transports: ['websocket', 'sse'],  // in order of preference; the second is the fallback
  wsFailuresBeforeSse: 2,  // WebSocket attempts that never open before SSE is tried
  wsRetryAfterMs: 300000,  // on SSE, try WebSocket again after this long
  minBackoffMs: 1000,      // first reconnect delay; doubles per failed attempt...
  maxBackoffMs: 30000,     // ...up to this
  pingIntervalMs: 25000,   // an application ping; the server's WebSocket pings are invisible here
  ackDelayMs: 1000,        // acks are cumulative: one per this interval covers all updates seen
  ackEvery: 250,           // ...or sooner once this many wait (the server allows 1,000 unacked)
  refreshLeadMs: 60000,    // ask for a fresh token this long before `exp`
};

// Close codes after which reconnecting with the same token cannot help.
const FATAL_CLOSES = new Set([4001, 4004]);
// The error codes an SSE stream ends with, as the close code its WebSocket twin would get.
const CLOSE_CODE_OF = {
  AUTH_INVALID: 4001, AUTH_EXPIRED: 4002, USER_NOT_FOUND: 4004, CONNECTION_LIMIT: 4008,
  RATE_LIMITED: 4029, SLOW_CONSUMER: 4013, IDLE_TIMEOUT: 4000, INVALID_MESSAGE: 1008, INTERNAL_ERROR: 1011,
};
const SERVER_EVENTS = ['connection_success', 'task_update', 'task_batch', 'dashboard_update', 'connection_status', 'error'];
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
  if (a === null || a === undefined) return false;
  return b === null || BigInt(a) > BigInt(b);
}

function canShare() {
  return typeof BroadcastChannel === 'function' && typeof navigator !== 'undefined' && !!navigator.locks;
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
    this.role = 'solo';        // solo: not sharing; leader: holds the connection; follower: hears it
    this.transport = null;     // 'websocket' or 'sse' while a connection is live
    this.listeners = new Map();
    this.socket = null;        // the WebSocket or EventSource (leader or solo only)
    this.attempt = 0;
    this.wsFailures = 0;
    this.sseSince = null;      // when SSE took over from WebSocket
    this.timers = {};
    this.pendingAck = null;
    this.unacked = 0;
    this.lastAckAt = 0;
    this.lastSlowCut = -Infinity;
    this.stopped = true;
    this.channel = null;
    this.releaseLock = null;
    this.lockAbort = null;
    this.latest = { connected: null, dashboard: null };  // for tabs that join later
    this.welcomed = false;
    this.held = null;          // messages from the leader while catching up
  }

  // on('state' | 'connected' | 'dashboard' | 'task' | 'status' | 'error' | 'refreshed' | 'closed'
  //    | 'role' | 'resync', fn); returns a function that removes the listener.
  on(event, fn) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(fn);
    return () => this.listeners.get(event).delete(fn);
  }

  start() {
    this.stopped = false;
    if (this.options.share && canShare()) this.joinTabs();
    else this.connect();
  }

  stop() {
    this.flushAck();
    this.stopped = true;
    this.clearTimers();
    clearTimeout(this.timers.ack);
    this.dropConnection(1000, 'client stopped');
    this.lockAbort?.abort();
    this.releaseLock?.();
    this.releaseLock = null;
    this.channel?.close();
    this.channel = null;
    this.setState('stopped');
  }

  // --- tabs: one leader holds the connection, the others follow on the channel -----------------

  base() {
    return (this.options.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`).replace(/\/$/, '');
  }

  joinTabs() {
    // Tabs of other users, or of other servers, have other names and never share.
    const name = `dashboard-hub:${this.base()}:${this.options.userId}`;
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (e) => this.fromChannel(e.data);
    this.setRole('follower');
    this.lockAbort = new AbortController();
    // Web Locks frees the lock when its holder's tab closes, crashes or is discarded: the next
    // waiting tab leads, resuming from the newest id it has seen.
    navigator.locks.request(name, { signal: this.lockAbort.signal }, () => new Promise((release) => {
      if (this.stopped) return release();
      this.releaseLock = release;
      this.setRole('leader');
      // Tabs that said hello before any tab led have had no welcome yet.
      this.broadcast({ kind: 'welcome', state: this.state, transport: this.transport, latest: this.latest });
      this.connect();
    })).catch(() => {});  // aborted by stop()
    this.channel.postMessage({ kind: 'hello' });
  }

  fromChannel(note) {
    if (this.stopped) return;
    if (this.role === 'leader') {
      // A tab that just opened: what it needs to show the session as it is.
      if (note.kind === 'hello') this.broadcast({ kind: 'welcome', state: this.state, transport: this.transport, latest: this.latest });
      return;
    }
    if (note.kind === 'welcome') {
      if (this.welcomed) return;  // several tabs' hellos: one welcome is enough
      this.welcomed = true;
      this.follow(note.state, note.transport);
      if (note.latest.connected && this.state === 'connected') this.emit('connected', note.latest.connected);
      if (note.latest.dashboard) this.emit('dashboard', note.latest.dashboard);
      this.catchUp();
    } else if (note.kind === 'state') {
      this.follow(note.state, note.transport, note.detail);
    } else if (note.kind === 'message') {
      if (this.held) this.held.push(note.message);
      else this.handle(note.message);
    }
  }

  // A tab that joins a session under way gets what it missed from the history over REST; what the
  // leader sends meanwhile is held and handled after it, so every update comes once and in order.
  async catchUp() {
    this.held = [];
    const base = `${this.base().replace(/^ws/, 'http')}/api/v1/users/${encodeURIComponent(this.options.userId)}/events`;
    try {
      for (let pages = 0; pages < 100; ++pages) {
        const res = await fetch(`${base}?since=${this.lastEventId ?? '0'}&limit=1000`,
          { headers: { Authorization: `Bearer ${this.token}` } });
        if (!res.ok || this.stopped) break;
        const page = await res.json();
        for (const message of page.events) this.handle(message);
        if (page.events.length < 1000) break;  // the last page
      }
    } catch (e) {
      this.emit('error', { code: 'CATCH_UP_FAILED', message: String(e) });
    }
    const held = this.held;
    this.held = null;
    for (const message of held) this.handle(message);
  }

  follow(state, transport, detail) {
    this.transport = transport;
    this.setState(state, detail);
  }

  broadcast(note) {
    if (this.role === 'leader') this.channel?.postMessage(note);
  }

  setRole(role) {
    if (this.role === role) return;
    this.role = role;
    this.emit('role', { role });
  }

  // --- the connection (leader or solo) --------------------------------------------------------

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
    this.emit('state', { state, detail, transport: this.transport, role: this.role });
    this.broadcast({ kind: 'state', state, detail, transport: this.transport });
  }

  endpoint(transport) {
    const query = new URLSearchParams({ token: this.token });
    if (this.lastEventId !== null) query.set('lastEventId', this.lastEventId);
    const user = encodeURIComponent(this.options.userId);
    if (transport === 'websocket') return `${this.base()}/ws/dashboard/${user}?${query}`;
    return `${this.base().replace(/^ws/, 'http')}/sse/dashboard/${user}?${query}`;
  }

  // WebSocket unless it keeps failing to open (then SSE, and WebSocket again after a while).
  pickTransport() {
    const { transports, wsRetryAfterMs } = this.options;
    if (!transports.includes('websocket')) return 'sse';
    if (!transports.includes('sse')) return 'websocket';
    if (this.sseSince !== null && Date.now() - this.sseSince < wsRetryAfterMs) return 'sse';
    if (this.sseSince !== null) {
      this.sseSince = null;
      this.wsFailures = 0;
    }
    return transports[0];
  }

  connect() {
    this.clearTimers();
    this.transport = null;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    if (this.pickTransport() === 'sse') this.connectSse();
    else this.connectWebSocket();
  }

  connectWebSocket() {
    const Socket = this.options.WebSocket ?? globalThis.WebSocket;
    const socket = new Socket(this.endpoint('websocket'));
    this.socket = socket;
    let heard = false;
    socket.onmessage = (e) => {
      heard = true;
      this.receive(e.data, 'websocket');
    };
    socket.onclose = (e) => {
      // Closed before the server said a word: no 101, a reset, a proxy that swallows the upgrade.
      // Again and again, and SSE is tried (a refusal says why first, and does not count).
      if (!heard && socket === this.socket && ++this.wsFailures >= this.options.wsFailuresBeforeSse &&
          this.options.transports.includes('sse')) this.sseSince = Date.now();
      this.closed(socket, e.code, e.reason);
    };
    socket.onerror = () => {};  // a close event always follows
  }

  connectSse() {
    const Source = this.options.EventSource ?? globalThis.EventSource;
    const source = new Source(this.endpoint('sse'));
    this.socket = source;
    for (const type of SERVER_EVENTS) {
      source.addEventListener(type, (e) => {
        // The stream's own `error` (a dropped connection) carries no data; the server's does.
        if (e.data !== undefined) this.receive(e.data, 'sse');
        else if (type === 'error') this.sseError(source);
      });
    }
  }

  sseError(source) {
    if (source !== this.socket) return;
    // CONNECTING: EventSource reconnects by itself and resumes with Last-Event-ID. CLOSED: it gave
    // up (a refusal, a drain's 503): this client's own backoff takes over.
    if (source.readyState === 2) this.closed(source, 1006, 'the stream ended');
    else this.setState('reconnecting');
  }

  dropConnection(code, reason) {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    // What is still on its way must not reach the listeners any more.
    socket.onmessage = socket.onclose = socket.onopen = null;
    if (socket.send) socket.close(code, reason);  // a WebSocket
    else socket.close();                           // an EventSource
  }

  send(type, payload) {
    if (!this.socket || this.transport !== 'websocket' || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify({ type, payload, timestamp: new Date().toISOString() }));
    return true;
  }

  receive(data, transport) {
    if (this.stopped) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    this.lastHeard = Date.now();
    if (message.type === 'connection_success') this.opened(message.payload, transport);
    if (message.type === 'error' && transport === 'sse') this.sseEnded(message.payload);
    this.broadcast({ kind: 'message', message });
    this.handle(message);
  }

  opened(payload, transport) {
    this.attempt = 0;
    this.transport = transport;
    if (transport === 'websocket') this.wsFailures = 0;
    this.latest.connected = payload;
    this.setState('connected');
    if (transport === 'websocket') {
      this.send('subscribe_dashboard', { userId: payload.userId, batch: this.options.batch });
      this.schedulePing();
    }  // an SSE stream is subscribed from the start
    this.scheduleRefresh();
    if (payload.recovered === false) this.resync();
  }

  // An SSE stream ends after its error event: its close code decides what comes next.
  sseEnded(payload) {
    const code = CLOSE_CODE_OF[payload.code];
    if (code === undefined || !this.socket) return;
    const source = this.socket;
    queueMicrotask(() => this.closed(source, code, payload.message ?? payload.code, true));
  }

  // Every tab runs this for every server message: the leader as it reads it, followers as the
  // channel brings it. An update older than the newest this tab has seen was delivered already.
  handle(message) {
    const { type, payload } = message;
    switch (type) {
      case 'connection_success':
        this.emit('connected', payload);
        break;
      case 'dashboard_update':
        this.latest.dashboard = payload;
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
    if (update.id !== undefined && this.lastEventId !== null && !newer(update.id, this.lastEventId)) return;
    if (update.id !== undefined) this.lastEventId = update.id;
    this.emit('task', update);
    if (update.id === undefined || this.transport !== 'websocket' || this.role === 'follower') return;
    this.pendingAck = this.lastEventId;
    this.unacked += 1;
    // One cumulative ack per interval keeps well under the server's 10 messages/s; a burst is
    // acked sooner (at most every 100 ms), before it fills the server's window of 1,000.
    if (this.unacked >= this.options.ackEvery && Date.now() - this.lastAckAt >= 100) this.flushAck();
    else if (!this.timers.ack) this.timers.ack = setTimeout(() => this.flushAck(), this.options.ackDelayMs);
  }

  // History no longer reaches back to the last id seen: the dashboard is fetched over REST, the
  // app is told to rebuild (`resync`), and the client goes on from the server's newest id, so a
  // stale id is never kept.
  async resync() {
    const before = this.lastEventId;
    try {
      const res = await fetch(`${this.base().replace(/^ws/, 'http')}/api/v1/users/${encodeURIComponent(this.options.userId)}/dashboard`,
        { headers: { Authorization: `Bearer ${this.token}` } });
      if (!res.ok) return;
      const dashboard = await res.json();
      if (newer(dashboard.lastEventId, this.lastEventId)) this.lastEventId = dashboard.lastEventId;
      // Beyond the server's newest id, and nothing newer came meanwhile: an id of a store that has
      // since lost it (an in-memory server restarted). Kept, it would hide the next updates.
      else if (this.lastEventId === before && newer(before, dashboard.lastEventId)) this.lastEventId = dashboard.lastEventId;
      this.emit('resync', { lastEventId: this.lastEventId, dashboard });
    } catch (e) {
      this.emit('error', { code: 'RESYNC_FAILED', message: String(e) });
    }
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
      if (this.send('refresh_token', { token: fresh })) {
        this.emit('refreshed', decodeToken(fresh));
      } else if (this.transport === 'sse') {
        // A stream cannot take a new token: it is reopened with it, resuming where it was.
        this.emit('refreshed', decodeToken(fresh));
        this.dropConnection(1000, 'token refreshed');
        this.connect();
        return;
      }
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

  async closed(socket, code, reason, byServer = false) {
    if (socket !== this.socket) return;
    if (byServer) this.dropConnection(code, reason);  // an SSE stream: stop EventSource's own retry
    this.socket = null;
    this.transport = null;
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
