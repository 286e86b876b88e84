// The dashboard in a real browser: Playwright (playwright-core) driving
// Debian's Chromium headless against a real `rampart serve` in enforce mode.
// Run inside a network namespace (crates/rampart/tests/dashboard.rs does
// that), so bans go into that namespace's nftables, not the host's.
//
// Env: UI_RAMPART_BIN (the binary; not RAMPART_*, which is configuration), ARTIFACTS (where screenshots go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.UI_RAMPART_BIN;
const ARTIFACTS = process.env.ARTIFACTS || join(process.cwd(), 'artifacts');
const ADMIN = 'ui-test-admin-token-8e3b1f6d2c9a4075';
const PORT = 18480;
const URL = `http://127.0.0.1:${PORT}`;
const ATTACKER = '203.0.113.50';
const MANUAL = '198.51.100.77';

const dir = mkdtempSync(join(tmpdir(), 'rampart-ui-'));
const config = join(dir, 'rampart.toml');
writeFileSync(config, `
data_dir = "${join(dir, 'data')}"
[sinks]
stdout = false
[sources.host]
interval_ms = 500
top_processes = 8
[respond]
mode = "enforce"
kill_grace_secs = 1
protected_processes = ["node", "chromium", "cargo", "rustc"]
`);
mkdirSync(ARTIFACTS, { recursive: true });

function startServer() {
  const child = spawn(BIN, ['--config', config, '--log-format', 'json', 'serve', '--listen', `127.0.0.1:${PORT}`],
    { env: { ...process.env, RAMPART_ADMIN_TOKEN: ADMIN, RUST_LOG: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`rampart did not start: ${seen}`)), 30000);
    child.stderr.on('data', (d) => {
      seen += d;
      if (seen.includes('Rampart is listening.')) { clearTimeout(timer); resolve(child); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`rampart exited (${code}): ${seen}`)); });
  });
}

function stopServer(child) {
  return new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
}

async function call(path, { method = 'GET', body, token = ADMIN } = {}) {
  const res = await fetch(`${URL}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const sshFailure = (ip, user = 'root') => ({
  event: { kind: 'event', category: ['authentication'], action: 'ssh_login', outcome: 'failure' },
  source: { ip }, user: { name: user }, message: `Failed password for ${user} from ${ip} port 50022 ssh2`,
});

async function eventually(what, check, secs = 10) {
  const until = Date.now() + secs * 1000;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tileNumber = async (page, id) => Number((await page.textContent(`[data-tile="${id}"]`)).replace(/[^0-9.]/g, '') || 0);

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

test('the dashboard, end to end', { timeout: 240000 }, async (t) => {
  let server = await startServer();
  const reader = execFileSync(BIN, ['--config', config, 'token', 'create', '--name', 'ui-reader', '--role', 'reader']).toString().trim().split(/\s+/).find((w) => w.startsWith('rmp_'));
  assert.ok(reader, 'a reader token was created');
  // A CPU burner under its own name: it heads the host's process list.
  const victimPath = join(dir, 'rampart-ui-victim');
  copyFileSync('/usr/bin/yes', victimPath);
  chmodSync(victimPath, 0o755);
  const victim = spawn(victimPath, [], { stdio: 'ignore' });
  const victimExit = new Promise((r) => victim.on('exit', (code, signal) => r(signal || code)));

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const errors = [];
  let watching = true;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => watching && m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => d.dismiss());

  try {
    await t.test('logs in with a token kept in an HttpOnly cookie, not the URL', async () => {
      await page.goto(URL);
      watching = false; // the refused login is a 401 in the console, as it should be
      await page.fill('#token', 'not-a-token');
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#login-error:text("not valid")');
      watching = true;
      await page.fill('#token', ADMIN);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('nav:not([hidden])');
      assert.equal(await page.textContent('#role'), 'admin');
      assert.ok(!page.url().includes(ADMIN));
      const cookie = (await page.context().cookies()).find((c) => c.name === 'rampart_session');
      assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict');
      assert.equal(await page.evaluate(() => document.cookie), '');
    });

    await t.test('counters move and the banner announces a high-severity alert, without a reload', async () => {
      await page.goto(`${URL}/#/overview`);
      await page.waitForSelector('[data-tile="events"]');
      await eventually('the first stats', async () => (await tileNumber(page, 'events')) > 0);
      const before = await tileNumber(page, 'events');
      const posted = await call('/api/v1/events', { method: 'POST', body: Array.from({ length: 12 }, () => sshFailure(ATTACKER)) });
      assert.equal(posted.status, 200, JSON.stringify(posted.body));
      await eventually('the events counter to move', async () => (await tileNumber(page, 'events')) >= before + 12);
      await page.waitForSelector('#banner:not([hidden]):has-text("SSH brute force")', { timeout: 5000 });
      await eventually('the status light to turn red', async () => (await page.getAttribute('#status', 'data-level')) === 'red');
      await eventually('the top source IP', async () => (await page.textContent('main')).includes(ATTACKER));
      await page.waitForTimeout(1500); // a few chart points
      await shot(page, 'overview');
      // The store's view of the last 24 hours, not only what this tab saw.
      await page.click('button[data-range="24 h"]');
      await page.waitForSelector('#history-status:has-text("per 10 min")');
      assert.equal(await page.getAttribute('button[data-range="24 h"]', 'aria-pressed'), 'true');
      await eventually('the stored attacker among the top sources', async () => (await page.textContent('main')).includes(ATTACKER));
      assert.ok((await tileNumber(page, 'range-alerts')) >= 1, 'alerts in the range');
      await shot(page, 'overview-24h');
    });

    await t.test('live stream shows the attack rows in red and filters them', async () => {
      await page.click('nav a[href="#/stream"]');
      await page.waitForSelector(`tr.attack:has-text("${ATTACKER}")`);
      await page.selectOption('#f-verdict', 'attack');
      await eventually('only attack rows', async () => (await page.$$('tbody tr.normal')).length === 0 && (await page.$$('tbody tr.attack')).length > 0);
      await page.click('tbody tr.attack');
      await page.waitForSelector(`#event-detail pre:has-text("${ATTACKER}")`);
      // The detail sits beside the list, on screen wherever the row was.
      // Live rows re-render as events arrive: a box read mid-redraw is null, so read again.
      await eventually('the detail beside the row', async () => {
        const [rowBox, detailBox] = [await page.locator('tbody tr.attack').first().boundingBox(), await page.locator('#event-detail').boundingBox()];
        return rowBox !== null && detailBox !== null && detailBox.x > rowBox.x && detailBox.y < 800;
      });
      await shot(page, 'stream');
      await page.selectOption('#f-verdict', '');
      // Security events by default: the host's own samples only when asked.
      const kinds = await page.$$eval('tbody tr[data-event-id] td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
      assert.ok(kinds.length > 0 && kinds.every((k) => !['metric', 'state'].includes(k)), kinds.join());
      await page.selectOption('#f-kind', 'metric');
      await page.waitForSelector('tbody tr[data-event-id] td:nth-child(3):text("metric")');
      await page.selectOption('#f-kind', 'security');
    });

    await t.test('search: stored events by address and text, detail beside them', async () => {
      await page.click('nav a[href="#/search"]');
      await page.fill('#s-ip', ATTACKER);
      await page.fill('#s-text', 'failed password');
      await page.click('#s-go');
      await page.waitForSelector('#search-status:has-text("12 events")');
      await page.click('tbody tr[data-event-id]');
      await page.waitForSelector(`#search-detail:has-text("${ATTACKER}")`);
      await shot(page, 'search');
    });

    await t.test('decisions: the playbook ban is listed with time left; unban and ban by hand', async () => {
      await page.click('nav a[href="#/decisions"]');
      const row = page.locator(`tr[data-decision="${ATTACKER}"]`);
      await row.waitFor();
      assert.match(await row.textContent(), /min|h /);
      assert.match(await row.textContent(), /yes/, 'enforced');
      await row.locator('button:has-text("Unban")').click();
      await page.click('#confirm-ok');
      await page.waitForSelector(`#decision-result:has-text("Lifted")`);
      await row.waitFor({ state: 'detached' });
      await page.fill('#d-value', MANUAL);
      await page.fill('#d-duration', '10m');
      await page.fill('#d-reason', 'ui test');
      await page.click('form button:has-text("Ban")');
      await page.waitForSelector(`tr[data-decision="${MANUAL}"]`);
      const listed = await call('/api/v1/decisions');
      assert.ok(listed.body.decisions.some((d) => d.value === MANUAL && d.active && d.enforced));
      await shot(page, 'decisions');
      await page.locator(`tr[data-decision="${MANUAL}"] button`).click();
      await page.click('#confirm-ok');
      await page.waitForSelector(`tr[data-decision="${MANUAL}"]`, { state: 'detached' });
      const after = await call('/api/v1/decisions');
      assert.ok(!after.body.decisions.some((d) => d.value === MANUAL && d.active));
    });

    await t.test('alerts: filter, detail with evidence, acknowledge, mitigate', async () => {
      await page.click('nav a[href="#/alerts"]');
      await page.selectOption('#a-severity', 'high');
      const row = page.locator('tr[data-alert-id]:has-text("ssh-brute-force")');
      await row.waitFor();
      assert.equal(await page.locator('tbody tr[data-alert-id]:has-text("medium")').count(), 0);
      await row.locator('button:has-text("Details")').click();
      await page.waitForSelector('#alert-detail:has-text("Evidence")');
      await page.waitForSelector(`#alert-detail [data-evidence]:has-text("${ATTACKER}")`);
      // Triage: no model here, so the rule-based one, with its suggestion to apply.
      await page.waitForSelector('#alert-triage:has-text("likely malicious")');
      assert.match(await page.textContent('#alert-triage'), new RegExp(`rule-based .*Suggested: ban ${ATTACKER.replaceAll('.', '\\.')} for 1h`), 'triage');
      assert.ok(!(await page.isDisabled('#triage-apply')));
      await page.click('#alert-detail button:has-text("Acknowledge")');
      await eventually('the alert acknowledged', async () => (await row.textContent()).includes('acknowledged'));
      await page.waitForSelector('#alert-detail button:has-text("Acknowledge")', { state: 'detached' });
      await page.click('#alert-detail button:has-text("Mitigate")');
      await page.waitForSelector('#alert-result:has-text("decision")');
      const said = await page.textContent('#alert-result');
      assert.match(said, /Done: playbook .*ban 203\.0\.113\.50 \(enforced\)/, said);
      await shot(page, 'alerts');
    });

    await t.test('incidents: one attacker across rules, a campaign of many, one page for each', async () => {
      // Four addresses in four networks brute-forcing SSH at once.
      const campaign = ['192.0.2.10', '198.51.100.10', '100.64.1.10', '100.65.1.10'];
      // Half an hour ago: a burst of its own, apart from the attacker above.
      const at = new Date(Date.now() - 1800e3).toISOString();
      const posted = await call('/api/v1/events', { method: 'POST', body: campaign.flatMap((ip) => Array.from({ length: 8 }, () => ({ ...sshFailure(ip), '@timestamp': at }))) });
      assert.equal(posted.status, 200);
      await page.click('nav a[href="#/incidents"]');
      await page.selectOption('#i-status', '');
      const campaignRow = page.locator('tr[data-incident]:has-text("Campaign")');
      await campaignRow.waitFor({ timeout: 15000 });
      assert.match(await campaignRow.textContent(), /from 4 sources/);
      const mine = page.locator(`tr[data-incident]:has-text("${ATTACKER}")`);
      await mine.waitFor();
      await shot(page, 'incidents');
      await mine.click();
      await page.waitForSelector('h2:has-text("Timeline")');
      await page.waitForSelector(`tr[data-event-id]:has-text("${ATTACKER}")`);
      await page.waitForSelector(`[data-decision="${ATTACKER}"]`);
      await page.click(`tr[data-event-id]:has-text("${ATTACKER}")`);
      await page.waitForSelector(`#incident-event pre:has-text("${ATTACKER}")`);
      await shot(page, 'incident');
      await page.click('button:has-text("Resolve all")');
      await page.waitForSelector('#incident-result:has-text("Resolved")');
      const left = await call('/api/v1/alerts?status=open&limit=500');
      assert.ok(!left.body.alerts.some((a) => a.entity.value === ATTACKER), 'every alert of the incident resolved');
    });

    await t.test('actions: the audit trail lists what was done', async () => {
      await page.click('nav a[href="#/actions"]');
      await page.waitForSelector('td:has-text("remove")');
      assert.ok((await page.locator('tbody tr').count()) >= 4);
      const ids = await page.$$eval('tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
      assert.equal(new Set(ids).size, ids.length, `each action once: ${ids.join()}`);
      await shot(page, 'actions');
    });

    await t.test('host: kill a process after confirming', async () => {
      await page.click('nav a[href="#/host"]');
      const row = page.locator(`tr[data-pid="${victim.pid}"]`);
      await row.waitFor({ timeout: 15000 });
      await shot(page, 'host');
      await row.locator('button:has-text("Kill")').click();
      assert.ok(await page.isVisible('#confirm'));
      await page.click('#confirm-ok');
      await page.waitForSelector('#kill-result:has-text("sent")');
      assert.equal(await Promise.race([victimExit, new Promise((r) => setTimeout(() => r('still running'), 10000))]), 'SIGTERM');
    });

    await t.test('models and rules', async () => {
      await page.click('nav a[href="#/models"]');
      await page.waitForSelector('main:has-text("Active:")');
      await shot(page, 'models');
      await page.click('nav a[href="#/rules"]');
      const row = page.locator('tr[data-rule="ssh-brute-force"]');
      await row.waitFor();
      assert.match(await row.locator("td").nth(5).textContent(), /^[1-9]/);
      assert.match(await row.locator("td.logic").textContent(), /event\.outcome = "failure".* 5 matches per source\.ip within 10m/);
      await shot(page, 'rules');
    });

    await t.test('keyboard, labels, phone width, dark and light', async () => {
      await page.goto(`${URL}/#/overview`);
      await page.waitForSelector('[data-tile="events"]');
      let reached = false;
      for (let i = 0; i < 40 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => document.activeElement?.getAttribute('href') === '#/alerts');
      }
      assert.ok(reached, 'Tab reaches the navigation');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#a-severity');
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, button')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map((el) => el.outerHTML));
      assert.deepEqual(unlabelled, []);
      const theme = await page.evaluate(() => document.documentElement.dataset.theme);
      await page.click('#theme');
      assert.notEqual(await page.evaluate(() => document.documentElement.dataset.theme), theme);
      await page.goto(`${URL}/#/overview`);
      await page.waitForTimeout(1200);
      await shot(page, `overview-${await page.evaluate(() => document.documentElement.dataset.theme)}`);
      await page.click('nav a[href="#/incidents"]');
      await page.waitForSelector('tr[data-incident], td.muted');
      await shot(page, `incidents-${await page.evaluate(() => document.documentElement.dataset.theme)}`);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.click('nav a[href="#/overview"]');
      await page.waitForTimeout(800);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `no sideways scrolling at phone width (${overflow}px)`);
      await shot(page, 'overview-phone');
      await page.click('nav a[href="#/alerts"]');
      await page.waitForSelector('tr[data-alert-id]');
      await shot(page, 'alerts-phone');
      await page.setViewportSize({ width: 1280, height: 800 });
    });

    await t.test('reconnects by itself after a server restart', async () => {
      await page.goto(`${URL}/#/overview`);
      await page.waitForSelector('#conn:text("live")');
      watching = false; // the refused reconnects while it is down are expected
      await stopServer(server);
      server = await startServer();
      await page.waitForSelector('#conn:text("live")', { timeout: 20000 });
      watching = true;
      const before = await tileNumber(page, 'events');
      await call('/api/v1/events', { method: 'POST', body: [sshFailure('192.0.2.99', 'alice')] });
      await eventually('the counter after the restart', async () => (await tileNumber(page, 'events')) > before);
    });

    await t.test('a reader sees everything and can change nothing', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const rp = await context.newPage();
      const readerErrors = [];
      rp.on('console', (m) => m.type() === 'error' && !m.text().includes('403') && readerErrors.push(m.text()));
      rp.on('pageerror', (e) => readerErrors.push(e.message));
      await rp.goto(URL);
      await rp.fill('#token', reader);
      await rp.click('#login-form button[type=submit]');
      await rp.waitForSelector('nav:not([hidden])');
      assert.equal(await rp.textContent('#role'), 'reader');
      await rp.click('nav a[href="#/alerts"]');
      // The race this test once lost: a banner announcing a new alert pushed
      // the page down between Playwright finding the Details button and
      // clicking it. A banner must never move what is under the pointer.
      const details = rp.locator('tr[data-alert-id] button:has-text("Details")').first();
      await details.waitFor();
      // The table is redrawn as the live feed brings news, so a measurement
      // can catch a row between two drawings (then it has no box): measure
      // again until one is there.
      const topOf = async () => {
        for (let i = 0; i < 200; i++) {
          const box = await details.boundingBox().catch(() => null);
          if (box) return box.y;
          await rp.waitForTimeout(25);
        }
        throw new Error('the Details button never had a box');
      };
      // What once moved it: the header's status changed ("All clear" to
      // "N open alerts"), the nav wrapped to a second line, and the header
      // grew from 49 to 88 px, taking the page down with it.
      const headerHeights = await rp.evaluate(() => {
        const top = document.querySelector('header.top');
        const status = document.getElementById('status');
        const was = status.textContent;
        const heights = [top.offsetHeight];
        for (const text of ['All clear', '9 open alerts', '99999 open alerts']) {
          status.textContent = text;
          heights.push(top.offsetHeight);
        }
        status.textContent = was;
        return heights;
      });
      assert.equal(new Set(headerHeights).size, 1, `the header's height follows what its status says: ${headerHeights}`);
      const before = await topOf();
      const posted = await call('/api/v1/events', { method: 'POST', body: Array.from({ length: 12 }, () => sshFailure('203.0.113.51')) });
      assert.equal(posted.status, 200);
      await rp.waitForSelector('#banner:not([hidden]):has-text("203.0.113.51")');
      assert.equal(await topOf(), before, 'the banner moved the page');
      await details.click();
      await rp.waitForSelector('#alert-detail:has-text("Read-only")');
      for (const b of ['Acknowledge', 'Resolve', 'Mitigate']) assert.ok(await rp.isDisabled(`#alert-detail button:has-text("${b}")`), b);
      await rp.waitForSelector('#alert-triage :text-matches("likely|unsure")');
      if (await rp.locator('#triage-apply').count()) assert.ok(await rp.isDisabled('#triage-apply'), 'a reader cannot apply a suggestion');
      await rp.click('nav a[href="#/decisions"]');
      await rp.waitForSelector('main:has-text("a reader cannot ban")');
      assert.equal(await rp.locator('#d-value').count(), 0);
      await rp.click('nav a[href="#/host"]');
      await rp.waitForSelector('tr[data-pid]');
      assert.equal(await rp.locator('button:has-text("Kill")').count(), 0);
      const status = await rp.evaluate(async (ip) => (await fetch('/api/v1/decisions', { method: 'POST', headers: { 'content-type': 'application/json', 'x-rampart-csrf': '1' }, body: JSON.stringify({ value: ip }) })).status, MANUAL);
      assert.equal(status, 403);
      await shot(rp, 'reader-alerts');
      assert.deepEqual(readerErrors, []);
      await context.close();
    });

    await t.test('a write with the session cookie but without the CSRF header is refused', async () => {
      const status = await page.evaluate(async (ip) => (await fetch('/api/v1/decisions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: ip }) })).status, MANUAL);
      assert.equal(status, 400);
      errors.splice(0, errors.length, ...errors.filter((e) => !e.includes('400')));
    });

    await t.test('a day of simulated traffic: the 24-hour overview and its incidents', async () => {
      // Web and SSH traffic from `rampart simulate`, timestamps spread over
      // the last 16 hours, as a new user would fill a store to look around.
      for (const kind of ['web', 'ssh']) {
        execFileSync(BIN, ['simulate', kind, '--lines', '3000', '--addresses', '120', '--log-rate', '0.05', '--server', URL, '--token', ADMIN, '--rate', '5000'], { stdio: 'ignore' });
      }
      await page.goto(`${URL}/#/overview`);
      await page.click('button[data-range="24 h"]');
      await page.waitForSelector('#history-status:has-text("per 10 min")');
      await eventually('a day of security events in range', async () => (await tileNumber(page, 'range-events')) >= 5000, 20);
      await page.waitForTimeout(500);
      await shot(page, 'overview-24h-simulated');
      await page.click('nav a[href="#/incidents"]');
      await page.selectOption('#i-status', '');
      await page.waitForSelector('tr[data-incident]:has-text("Campaign")');
      await shot(page, 'incidents-simulated');
    });

    await t.test('the console stayed clean', () => {
      assert.deepEqual(errors, []);
    });
  } finally {
    await browser.close();
    victim.kill('SIGKILL');
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
