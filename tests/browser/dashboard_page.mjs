// dashboard_page.mjs — the live dashboard page in a real browser: Debian's headless Chromium,
// driven by playwright-core, against the real binary on loopback. It opens the page with a token,
// sees "connected" and the counts, watches posted events change them, restarts the server and sees
// "reconnecting" and then the updates posted meanwhile (resumed with lastEventId), refreshes a
// short-lived token through the client's hook without reconnecting, and connects through the form.
// Nothing waits for a clock: each step waits for something the page or the server does. The
// server's log is read at the end: no token, secret or key may be in it. Screenshots go to
// DH_SCREENSHOTS.
//   DH_BINARY=build/debug/dashboard-hub DH_SCREENSHOTS=build/debug/screenshots node dashboard_page.mjs
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { CHROMIUM, Gateway, WAIT, expectState, expectText, task, watchErrors as watch } from './support.mjs';

const shots = process.env.DH_SCREENSHOTS ?? join(tmpdir(), 'dh-screenshots');
mkdirSync(shots, { recursive: true });
const gw = new Gateway(process.env.DH_BINARY, {
  secret: 'browser-test-secret-0123456789abcdefghij',
  ingestKey: 'browser-test-ingest-key-0123456789',
});
const mint = (user, ttl) => gw.mint(user, ttl);
const post = (port, events) => gw.post(events);
const pageErrors = [];
// The witness's expiry is expected; the browser reports a WebSocket closed by the server no other way.
const watchErrors = (page) => watch(page, pageErrors, /WebSocket/);

let browser = null;
try {
  const port = await gw.start(0);
  browser = await chromium.launch(CHROMIUM);
  const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
  watchErrors(page);
  // Playwright sits between this page's WebSockets and the server (it must be in place before the
  // page loads): it passes them through, except while step 3 holds the page's reconnect attempts.
  const attempts = [];
  let hold = false;
  let held = null;  // resolves at the first attempt held
  const heldAttempt = new Promise((resolve) => { held = resolve; });
  await page.routeWebSocket(/\/ws\/dashboard\//, (ws) => {
    attempts.push(ws.url());
    if (!hold) return ws.connectToServer();
    ws.close({ code: 1013, reason: 'held by the test' });
    held();
  });

  // 1. Connected, counts shown. WebSocket only: step 3's held attempts must not send it to SSE.
  await page.goto(`http://127.0.0.1:${port}/#token=${mint('1', '1h')}&transport=websocket`);
  await expectState(page, 'connected');
  await expectText(page, '#total', '0');
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');

  // 2. Posted events change the counts and the list; a task shared by user 2 is marked.
  await post(port, [
    { action: 'created', userId: 1, task: task(1, 'Write the report', 1) },
    { action: 'created', userId: 1, task: task(2, 'Book the room', 1, { status: true }) },
    { action: 'created', userId: 2, sharedWith: [1], task: task(3, 'Review the budget', 2) },
  ]);
  await expectText(page, '#total', '3');
  await expectText(page, '#completed', '1');
  await expectText(page, '#pending', '2');
  await page.waitForFunction(() => document.querySelectorAll('#tasks li').length === 3, null, WAIT);
  assert.equal(await page.locator('#tasks li .badge.shared').count(), 1);
  assert.match(await page.locator('#tasks li', { hasText: 'Review the budget' }).innerText(), /shared by 2/);
  await page.screenshot({ path: join(shots, '1-connected-with-tasks.png') });

  // 3. The server restarts: the page says so, comes back, and shows what was posted meanwhile. The
  // test holds the page's reconnect attempts until those events are in, so they are certainly missed
  // and must come back through the resume.
  const lastSeen = await page.evaluate(() => window.dashboardClient.lastEventId);
  assert.ok(Number(lastSeen) > 0, `the page has seen events (lastEventId ${lastSeen})`);
  hold = true;
  assert.equal(await gw.stop(), 0);
  await expectState(page, 'reconnecting');
  await page.screenshot({ path: join(shots, '2-reconnecting.png') });
  await heldAttempt;  // the page tried again (after its backoff) and failed
  await gw.start(port);
  await post(port, [
    { action: 'updated', userId: 1, task: task(1, 'Write the report', 1, { status: true }) },
    { action: 'created', userId: 1, task: task(4, 'Posted while the page was away', 1) },
  ]);
  const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
  assert.equal(status.connections, 0, 'the events were posted while the page was not connected');
  hold = false;
  await expectState(page, 'connected');
  await expectText(page, '#total', '4');
  await expectText(page, '#completed', '2');
  await page.waitForFunction(() => [...document.querySelectorAll('#tasks li .title')]
    .some((e) => e.textContent === 'Posted while the page was away'), null, WAIT);
  assert.ok(attempts.length >= 3, `a first connection, held attempts, the resume: ${attempts.length}`);
  const resumedFrom = new URL(attempts.at(-1)).searchParams.get('lastEventId');
  assert.equal(resumedFrom, String(lastSeen), 'the reconnect resumed from the last event id the page had seen');
  await page.screenshot({ path: join(shots, '3-back-after-restart.png') });
  await page.close();

  // 4. A token that expires in 6 s is refreshed through the hook, on the same session. A fresh page,
  // its WebSockets straight to the server.
  const refreshed = await browser.newPage({ viewport: { width: 900, height: 720 } });
  watchErrors(refreshed);
  let refreshes = 0;
  await refreshed.exposeFunction('dashboardRefreshToken', () => { refreshes += 1; return mint('1', '1h'); });
  const shortToken = mint('1', '6s');
  const shortExp = JSON.parse(Buffer.from(shortToken.split('.')[1], 'base64url').toString()).exp;
  await refreshed.goto(`http://127.0.0.1:${port}/?token=${shortToken}`);  // the query string works too
  await expectState(refreshed, 'connected');
  await refreshed.waitForFunction(() => document.querySelectorAll('#tasks li').length === 4, null, WAIT);
  const session = await refreshed.getAttribute('#state', 'data-session');
  await refreshed.waitForSelector('#state[data-token-exp]', WAIT);
  await refreshed.evaluate(() => {
    window.stateChanges = [];
    window.dashboardClient.on('state', (s) => window.stateChanges.push(s.state));
  });
  // The witness is a plain WebSocket whose token the server lets expire: its AUTH_EXPIRED close says
  // the first token's expiry has passed on the server's own clock (leeway 0). Its token is minted
  // now, to expire at least a second after the first one (and never before it connects).
  const witnessTtl = Math.max(2, shortExp + 1 - Math.floor(Date.now() / 1000));
  const witnessToken = mint('1', `${witnessTtl}s`);
  const witnessClose = await refreshed.evaluate(([p, t]) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${p}/ws/dashboard/1?token=${t}`);
    ws.onclose = (e) => resolve(e.code);
  }), [port, witnessToken]);
  assert.equal(witnessClose, 4002, 'the witness session ended with AUTH_EXPIRED');
  await post(port, [{ action: 'created', userId: 1, task: task(5, 'After the first token expired', 1) }]);
  await expectText(refreshed, '#total', '5');
  // The reloaded page rebuilt its list from the history the server replayed.
  await refreshed.waitForFunction(() => document.querySelectorAll('#tasks li').length === 5, null, WAIT);
  assert.equal(await refreshed.getAttribute('#state', 'data-session'), session, 'same session: no reconnect');
  assert.deepEqual(await refreshed.evaluate(() => window.stateChanges), [], 'the state never left "connected"');
  assert.equal(await refreshed.getAttribute('#state', 'data-state'), 'connected');
  assert.ok(refreshes >= 1, 'the hook was asked for a token');
  await refreshed.screenshot({ path: join(shots, '4-token-refreshed.png') });
  await refreshed.close();

  // 5. Without a token in the address, the form takes one.
  const typed = await browser.newPage({ viewport: { width: 900, height: 720 } });
  watchErrors(typed);
  await typed.goto(`http://127.0.0.1:${port}/`);
  await typed.fill('#token', mint('2', '1h'));
  await typed.click('#connect button[type=submit]');
  await expectState(typed, 'connected');
  await expectText(typed, '#total', '1');  // user 2's own task 3
  await typed.screenshot({ path: join(shots, '5-connected-through-the-form.png') });

  assert.deepEqual(pageErrors, [], 'no errors in the page (CSP violations included)');
  await gw.stop();
  // Every token the test minted went through the address, a form or refresh_token, and the keys
  // through the environment: none of them may reach the log.
  assert.ok(/session \S+ user=1 opened from/.test(gw.log), 'the access log was read');
  gw.checkLogHoldsNoSecret();
  console.log(`browser test passed; screenshots in ${shots}`);
} finally {
  await browser?.close();
  await gw.close();
}
