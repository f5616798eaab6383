// app.js — the live dashboard page: takes a token (#token=, ?token= or the form), connects through the
// reference client, and shows the connection state, the three counts and the task list.
import { DashboardClient, decodeToken } from '/dashboard-client.js';

const $ = (id) => document.getElementById(id);
const tasks = new Map();  // task id (as JSON) -> { taskId, task }
let client = null;
let me = null;

const STATE_TEXT = {
  idle: 'not connected',
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  disconnected: 'disconnected',
  stopped: 'stopped',
};

const ROLE_TEXT = { solo: 'this tab', leader: 'leader tab', follower: 'follower tab' };

// Which tab holds the browser's one connection, and over what: "leader tab · websocket".
function showLink() {
  const el = $('link');
  el.dataset.role = client.role;
  el.dataset.transport = client.transport ?? '';
  el.textContent = [ROLE_TEXT[client.role], client.transport].filter(Boolean).join(' · ');
}

function showState({ state, detail }) {
  const el = $('state');
  el.textContent = STATE_TEXT[state] ?? state;
  el.dataset.state = state;
  el.className = `state state-${state}`;
  showLink();
  if (state === 'disconnected' && detail) notice(`Disconnected (${detail.code}): ${detail.reason || 'the server refused the session'}`);
}

function notice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = !text;
}

function showStats(stats) {
  $('total').textContent = stats.totalTasks;
  $('completed').textContent = stats.completedTasks;
  $('pending').textContent = stats.pendingTasks;
  $('updated').textContent = new Date(stats.updatedAt).toLocaleTimeString();
}

// The gateway passes task fields through as the producer sent them; a task that names an owner
// other than this user is one shared with them.
function ownerOf(task) {
  return task.userId ?? task.user_id ?? task.ownerId ?? task.owner_id ?? null;
}

function applyUpdate(update) {
  const key = JSON.stringify(update.taskId);
  if (update.action === 'deleted') tasks.delete(key);
  else tasks.set(key, { taskId: update.taskId, task: update.task });
  if (update.id !== undefined) $('last-event').textContent = update.id;
  renderTasks(key);
}

function renderTasks(changedKey) {
  const list = $('tasks');
  const items = [];
  for (const [key, { taskId, task }] of tasks) {
    const li = document.createElement('li');
    li.dataset.taskId = key;
    if (task.status === true || task.completed === true) li.classList.add('done');
    if (key === changedKey) li.classList.add('flash');
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = task.title ?? `task ${taskId}`;  // textContent: task text is never markup
    li.append(title);
    const owner = ownerOf(task);
    if (owner !== null && String(owner) !== String(me)) {
      const badge = document.createElement('span');
      badge.className = 'badge shared';
      badge.textContent = `shared by ${owner}`;
      li.append(badge);
    }
    if (task.priority !== undefined) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = String(task.priority);
      li.append(badge);
    }
    items.push(li);
  }
  list.replaceChildren(...items);
}

// History no longer reached back to the page's last event: the list is rebuilt from the history
// the server holds (the client has moved on to the server's newest id).
async function rebuild(token) {
  const res = await fetch(`/api/v1/users/${encodeURIComponent(me)}/events?since=0&limit=1000`,
    { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) return;
  tasks.clear();
  for (const message of (await res.json()).events) applyUpdate({ ...message.payload, id: message.id });
  renderTasks();
}

// ?transport=sse or =websocket (in the query or the fragment) keeps the page on one transport.
function transportsFromAddress() {
  const wanted = new URLSearchParams(location.hash.slice(1)).get('transport') ?? new URLSearchParams(location.search).get('transport');
  return wanted === 'sse' || wanted === 'websocket' ? [wanted] : undefined;
}

function connect(token, transports) {
  const claims = decodeToken(token);
  me = claims.sub ?? claims.userId ?? claims.user_id;
  if (me === undefined) {
    notice('That token names no user (sub).');
    return;
  }
  if (client) client.stop();
  tasks.clear();
  renderTasks();
  notice('');
  $('user').textContent = me;
  client = new DashboardClient({
    userId: String(me),
    token,
    // From event 0: the server replays the history it holds, which builds the task list.
    lastEventId: '0',
    // The embedding app supplies fresh tokens by defining window.dashboardRefreshToken.
    refreshToken: async () => (typeof window.dashboardRefreshToken === 'function' ? window.dashboardRefreshToken() : null),
    ...(transports ? { transports } : {}),
  });
  client.on('role', showLink);
  client.on('resync', () => rebuild(client.token));
  client.on('state', showState);
  client.on('connected', (p) => {
    $('state').dataset.session = p.sessionId;
    // Not recovered: history no longer reaches back to the last event seen (or to the first).
    notice(p.recovered === false ? 'Some older task changes are no longer in the history, so the list may be incomplete.' : '');
  });
  client.on('dashboard', showStats);
  client.on('task', applyUpdate);
  client.on('status', (p) => notice(p.status === 'connected' ? '' : p.message));
  client.on('error', (p) => notice(`${p.code}: ${p.message}`));
  client.on('refreshed', (claims) => { $('state').dataset.tokenExp = claims.exp; });
  window.dashboardClient = client;  // for the console and for tests
  client.start();
}

$('connect').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (token) connect(token);
});

// The token comes in the fragment (#token=…), which the browser never sends to a server or a
// proxy's access log; ?token= works too. Either way it leaves the address bar and the history.
function tokenFromAddress() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? new URLSearchParams(location.search).get('token');
  return token;
}

function connectFromAddress() {
  const token = tokenFromAddress();
  const transports = transportsFromAddress();
  if (token) history.replaceState(null, '', location.pathname);
  if (token) connect(token, transports);
}

window.addEventListener('hashchange', connectFromAddress);
connectFromAddress();
