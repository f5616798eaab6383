// support.mjs — what the browser tests share: the real binary on loopback (started, restarted,
// stopped, its log kept), tokens minted by the binary, ingest, and waits on what a page shows.
// Nothing waits for a clock: each wait is for something the page or the server does.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export const WAIT = { timeout: 15000 };
export const CHROMIUM = { executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] };

// One server's binary, keys, data directory and log, across restarts.
export class Gateway {
  // `inMemory`: --data-dir :memory:, so a restart forgets everything (ids start again).
  constructor(binary, { secret, ingestKey, args = [], inMemory = false }) {
    assert.ok(binary, 'set DH_BINARY to the dashboard-hub executable');
    this.binary = binary;
    this.secret = secret;
    this.ingestKey = ingestKey;
    this.args = args;
    this.inMemory = inMemory;
    this.env = { ...process.env, DASHBOARD_JWT_SECRET: secret, DASHBOARD_INGEST_KEY: ingestKey };
    this.dataDir = mkdtempSync(join(tmpdir(), 'dh-browser-'));
    this.log = '';
    this.child = null;
    this.port = 0;
  }

  mint(user, ttl) {
    return execFileSync(this.binary, ['token', '--user', user, '--ttl', ttl], { env: this.env }).toString().trim();
  }

  // Starts the binary (durable, in dataDir) on `port` (0: a free one); resolves once it listens.
  start(port = this.port) {
    const child = spawn(this.binary, ['--port', String(port), '--bind', '127.0.0.1', '--data-dir', this.inMemory ? ':memory:' : this.dataDir,
      '--jwt-leeway', '0s', '--log-level', 'info', ...this.args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.on('data', (chunk) => { this.log += chunk; });
    this.child = child;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server did not start within 15 s')), 15000);
      let seen = '';
      child.stdout.on('data', (chunk) => {
        seen += chunk;
        const m = seen.match(/listening on [^\s]*:(\d+)/);
        if (m) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          resolve(this.port);
        }
      });
      child.on('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
    });
  }

  // SIGTERM and the exit code (0: drained cleanly).
  stop() {
    const child = this.child;
    this.child = null;
    return new Promise((resolve) => {
      if (!child || child.exitCode !== null) return resolve(child?.exitCode ?? 0);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  }

  async post(events) {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.ingestKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(events),
    });
    assert.equal(res.status, 202, await res.text());
  }

  async status() {
    return (await fetch(`http://127.0.0.1:${this.port}/status`)).json();
  }

  // The user's history over REST (the server's view), as task id -> title, in event order.
  async tasks(user, token) {
    const res = await fetch(`http://127.0.0.1:${this.port}/api/v1/users/${user}/events?since=0&limit=1000`,
      { headers: { Authorization: `Bearer ${token}` } });
    const titles = new Map();
    for (const { payload } of (await res.json()).events) {
      if (payload.action === 'deleted') titles.delete(JSON.stringify(payload.taskId));
      else titles.set(JSON.stringify(payload.taskId), payload.task.title);
    }
    return titles;
  }

  // No token, secret or key may reach the log (tokens all start with eyJ).
  checkLogHoldsNoSecret() {
    for (const [what, text] of [['a token', 'eyJ'], ['the JWT secret', this.secret], ['the ingest key', this.ingestKey]])
      assert.ok(!this.log.includes(text), `the server's log holds ${what}`);
  }

  async close() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export const task = (id, title, owner, extra = {}) => ({ id, title, status: false, priority: 'medium', userId: owner, ...extra });

export async function expectText(page, selector, text) {
  await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [selector, text], WAIT);
}

export async function expectState(page, state) {
  await page.waitForSelector(`#state[data-state="${state}"]`, WAIT);
}

// Collects a page's errors (CSP violations included) into `errors`; `allow` matches expected ones.
export function watchErrors(page, errors, allow = /WebSocket/) {
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow.test(m.text())) errors.push(m.text());
  });
}
