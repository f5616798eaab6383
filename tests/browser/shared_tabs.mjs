// shared_tabs.mjs — the reference client's one connection per browser, in Debian's headless
// Chromium against the real binary: eight tabs of one user at --max-conns-per-user 5 all show
// every update, in order and once, over one connection; the leader tab closes while events flow
// and another takes over; two users in two browser contexts never see each other's data; with
// WebSocket blocked the page falls back to SSE and resumes across a server restart. Prints the
// transcript (tabs, leaders, transports); screenshots go to DH_SCREENSHOTS.
//   DH_BINARY=build/debug/dashboard-hub DH_SCREENSHOTS=build/debug/screenshots node shared_tabs.mjs
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { CHROMIUM, Gateway, WAIT, expectState, expectText, task, watchErrors } from './support.mjs';

const shots = process.env.DH_SCREENSHOTS ?? join(tmpdir(), 'dh-screenshots');
mkdirSync(shots, { recursive: true });
const gw = new Gateway(process.env.DH_BINARY, {
  secret: 'browser-tabs-secret-0123456789abcdefghij',
  ingestKey: 'browser-tabs-ingest-key-0123456789',
  args: ['--max-conns-per-user', '5'],
});
const transcript = [];
const say = (line) => { transcript.push(line); };
const errors = [];
// A blocked WebSocket and a stream cut by a restart are expected; the browser reports them as errors.
const expected = /WebSocket|sse\/dashboard|ERR_CONNECTION_REFUSED|EventSource/;

const role = (page) => page.getAttribute('#link', 'data-role');
const transport = (page) => page.getAttribute('#link', 'data-transport');
const taskCount = (page, n) => page.waitForFunction((k) => document.querySelectorAll('#tasks li').length === k, n, WAIT);
const titles = (page) => page.evaluate(() => [...document.querySelectorAll('#tasks li')].map((li) => [li.dataset.taskId, li.querySelector('.title').textContent]));

// Records every update a tab's client delivers from now on, to check none comes twice or out of order.
async function track(page) {
  await page.evaluate(() => {
    window.delivered = [];
    window.dashboardClient.on('task', (u) => window.delivered.push(u.id));
  });
}
async function checkDelivered(page, label) {
  const ids = await page.evaluate(() => window.delivered);
  for (let i = 1; i < ids.length; ++i)
    assert.ok(BigInt(ids[i]) > BigInt(ids[i - 1]), `${label}: update ${ids[i]} after ${ids[i - 1]}: twice or out of order`);
  return ids.length;
}

async function openTab(context, user, extra = '') {
  const page = await context.newPage({ viewport: { width: 900, height: 720 } });
  watchErrors(page, errors, expected);
  await page.goto(`http://127.0.0.1:${gw.port}/#token=${gw.mint(user, '1h')}${extra}`);
  await expectState(page, 'connected');
  return page;
}

let browser = null;
try {
  await gw.start(0);
  browser = await chromium.launch(CHROMIUM);

  // 1. Eight tabs of user 1, at five connections per user: one leads, seven follow, one connection.
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < 8; ++i) tabs.push(await openTab(context, '1'));
  const roles = await Promise.all(tabs.map(role));
  say(`8 tabs of user 1 opened: ${roles.join(', ')}`);
  assert.equal(roles.filter((r) => r === 'leader').length, 1, 'one leader');
  assert.equal(roles.filter((r) => r === 'follower').length, 7, 'seven followers');
  assert.equal((await gw.status()).connections, 1, 'one connection for eight tabs');
  say(`/status: 1 connection; the leader's transport: ${await transport(tabs[roles.indexOf('leader')])}`);
  for (const page of tabs) await track(page);

  await gw.post(Array.from({ length: 10 }, (_, i) => ({ action: 'created', userId: 1, task: task(i + 1, `task ${i + 1}`, 1) })));
  for (const page of tabs) await taskCount(page, 10);
  say('10 tasks posted: every tab shows 10');
  await tabs[roles.indexOf('leader')].screenshot({ path: join(shots, 'tabs-1-leader.png') });
  await tabs[(roles.indexOf('leader') + 1) % 8].screenshot({ path: join(shots, 'tabs-2-follower.png') });

  // 2. The leader closes while events flow: another tab leads and resumes; nothing lost, nothing twice.
  const leader = tabs[roles.indexOf('leader')];
  const rest = tabs.filter((p) => p !== leader);
  let closedAt = 0;
  const next = Promise.any(rest.map((page) => page.waitForSelector('#link[data-role="leader"]', WAIT).then(() => page)));
  const tookOver = next.then(() => Date.now() - closedAt);
  for (let i = 11; i <= 20; ++i) {
    await gw.post([{ action: 'created', userId: 1, task: task(i, `task ${i}`, 1) }]);
    if (i === 14) {
      await leader.close();
      closedAt = Date.now();
      say('the leader tab closed after task 14 was posted; tasks 15 to 20 follow');
    }
  }
  const newLeader = await next;
  say(`tab ${rest.indexOf(newLeader)} leads ${await tookOver} ms after the old leader closed; transport ${await transport(newLeader)}`);
  const server = await gw.tasks('1', gw.mint('1', '1h'));
  for (const page of rest) await taskCount(page, server.size);
  let deliveredCounts = [];
  for (const [i, page] of rest.entries()) {
    assert.deepEqual(new Map(await titles(page)), server, `tab ${i} shows the server's task list`);
    deliveredCounts.push(await checkDelivered(page, `tab ${i}`));
  }
  say(`every remaining tab shows the server's ${server.size} tasks; updates delivered per tab: ${deliveredCounts.join(', ')}, each once and in order`);
  assert.equal((await gw.status()).connections, 1, 'still one connection');
  await newLeader.screenshot({ path: join(shots, 'tabs-3-new-leader.png') });

  // 3. Two users in two browser contexts never see each other's data.
  const other = await browser.newContext();
  const two = await openTab(other, '2');
  await gw.post([{ action: 'created', userId: 2, task: task(100, 'only for user 2', 2) }]);
  await taskCount(two, 1);
  assert.equal(await role(two), 'leader', 'its own leader: another user never shares');
  for (const page of rest) assert.ok(!(await titles(page)).some(([, t]) => t === 'only for user 2'), 'user 1 never sees user 2');
  say('user 2 in another context: its own leader, its own task, none of user 1\'s');

  // 4. WebSocket blocked on the way: the page falls back to SSE, and resumes across a restart.
  const blocked = await browser.newContext();
  await blocked.routeWebSocket(/\/ws\/dashboard\//, (ws) => ws.close({ code: 1011, reason: 'blocked by the test' }));
  const sse = await openTab(blocked, '3');
  assert.equal(await transport(sse), 'sse', 'the page fell back to SSE');
  say('user 3 with WebSocket blocked: connected over sse');
  await gw.post([{ action: 'created', userId: 3, task: task(300, 'over SSE', 3) }]);
  await taskCount(sse, 1);
  assert.equal(await gw.stop(), 0);
  await expectState(sse, 'reconnecting');
  await gw.start();
  assert.equal((await gw.status()).connections, 0, 'posted while the page was not connected');
  await gw.post([{ action: 'created', userId: 3, task: task(301, 'posted during the restart', 3) }]);
  await expectState(sse, 'connected');
  await taskCount(sse, 2);
  await expectText(sse, '#total', '2');
  assert.equal(await transport(sse), 'sse');
  say('the server restarted: the SSE page resumed (Last-Event-ID) and shows the task posted meanwhile');
  await sse.screenshot({ path: join(shots, 'tabs-4-sse-fallback.png') });

  // 5. History that no longer reaches back (recovered: false): the page rebuilds from what the
  // server holds and goes on from the server's newest id.
  await gw.stop();
  const short = new Gateway(process.env.DH_BINARY, { secret: gw.secret, ingestKey: gw.ingestKey, args: ['--history', '3'] });
  try {
    await short.start(0);
    await short.post(Array.from({ length: 5 }, (_, i) => ({ action: 'created', userId: 4, task: task(400 + i, `kept ${i}`, 4) })));
    const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
    watchErrors(page, errors, expected);
    await page.goto(`http://127.0.0.1:${short.port}/#token=${short.mint('4', '1h')}`);
    await expectState(page, 'connected');
    await page.waitForSelector('#notice:not([hidden])', WAIT);
    const held = await short.tasks('4', short.mint('4', '1h'));
    await taskCount(page, held.size);
    assert.deepEqual(new Map(await titles(page)), held, 'the list is the history the server holds');
    const newest = await page.evaluate(() => window.dashboardClient.lastEventId);
    assert.equal(newest, '5', 'the client went on from the server\'s newest id');
    await short.post([{ action: 'created', userId: 4, task: task(500, 'after the resync', 4) }]);
    await taskCount(page, held.size + 1);
    say(`history of 3 events for 5 posted: recovered false, the page rebuilt ${held.size} tasks from REST and goes on from id ${newest}`);
    await short.stop();
    short.checkLogHoldsNoSecret();
  } finally {
    await short.close();
  }

  // 6. A store that lost what the page saw (an in-memory server restarted: its ids start again).
  // The resume says recovered: false; the client drops its id, which is beyond anything the
  // server has, so the next updates (ids 1, 2, ...) are shown rather than taken as seen.
  const volatile = new Gateway(process.env.DH_BINARY, { secret: gw.secret, ingestKey: gw.ingestKey, inMemory: true });
  try {
    await volatile.start(0);
    await volatile.post(Array.from({ length: 5 }, (_, i) => ({ action: 'created', userId: 5, task: task(600 + i, `before ${i}`, 5) })));
    const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
    watchErrors(page, errors, expected);
    await page.goto(`http://127.0.0.1:${volatile.port}/?transport=websocket#token=${volatile.mint('5', '1h')}`);
    await taskCount(page, 5);
    assert.equal(await page.evaluate(() => window.dashboardClient.lastEventId), '5');
    assert.equal(await volatile.stop(), 0);
    await expectState(page, 'reconnecting');
    await volatile.start(volatile.port);
    await expectState(page, 'connected');
    await page.waitForFunction(() => window.dashboardClient.lastEventId === '0', null, WAIT);
    await volatile.post([{ action: 'created', userId: 5, task: task(700, 'after the loss', 5) }]);
    await page.waitForFunction(() => [...document.querySelectorAll('#tasks li')].some((li) => li.textContent.includes('after the loss')), null, WAIT);
    say('an in-memory server restarted: recovered false, the client dropped its id 5 for the server\'s 0 and shows the next task (id 1)');
    await volatile.stop();
  } finally {
    await volatile.close();
  }

  assert.deepEqual(errors, [], 'no unexpected errors in the pages (CSP violations included)');
  gw.checkLogHoldsNoSecret();
  console.log(`shared tabs test passed:\n  ${transcript.join('\n  ')}\nscreenshots in ${shots}`);
} catch (e) {
  console.log(`transcript so far:\n  ${transcript.join('\n  ')}`);
  throw e;
} finally {
  await browser?.close();
  await gw.close();
}
