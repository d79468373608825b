import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { playDemo } from '../../src/cli/demo.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, grantTask, http } from '../helpers.js';
import { USERS, startConsoleServer, startIdentityProvider, type IdentityProvider } from '../fixtures/identity-provider.js';

// Debian's Chromium, never a downloaded browser: the tests run offline.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${CHROMIUM} is missing (apt-get install -y chromium); the console browser tests are skipped` : false;

const SCREENSHOTS = join(ROOT, 'test', 'browser', 'screenshots');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const PAYMENT = { amount: 120, recipient: 'print-shop' };
const REPORT = { path: '/srv/reports/q3.csv' };
const SEEDED_DECISIONS = 100_000;

/** The people of the test provider and the one role each holds (test/fixtures/identity-provider.ts). */
type Person = 'alice' | 'olga' | 'victor' | 'adam';
const ROLE_OF: Record<Person, string> = { alice: 'approver', olga: 'operator', victor: 'viewer', adam: 'admin' };

describe('the console in Chromium against a real server and a real identity provider', { skip }, () => {
  let dir: string;
  let idp: IdentityProvider;
  let server: RunningServer;
  let browser: Browser;
  /** The page of the person the current test acts as; each person signs in once, in a browser context of their own. */
  let page: Page;
  const pages = new Map<Person, Page>();
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  const decide = (credential: string, tool: string, args: unknown) => http(server.url, '/v1/decide', { body: { credential, tool, args } });
  const reportTask = () => grantTask(server.url, 'report-bot', JSON.parse(readFileSync(join(ROOT, 'examples', 'mandates', 'quarterly-report.json'), 'utf8')));

  function watch(p: Page) {
    p.setDefaultTimeout(15_000);
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    p.on('pageerror', (e) => pageErrors.push(e.message));
  }

  /**
   * Acts as `person` from now on: the first time, in a fresh browser context, the whole
   * sign-in a person goes through: the console's Sign in link, the provider's login form,
   * and back to the page asked for with a session cookie the server set.
   */
  async function as(person: Person): Promise<void> {
    const known = pages.get(person);
    if (known) return void (page = known);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await context.newPage();
    watch(p);
    await p.goto(`${server.url}/console/tasks?status=active`);
    await p.locator('[data-role="sign-in"]').click();
    await p.waitForURL((u) => u.origin === idp.issuer && u.pathname.startsWith('/interaction/'));
    await p.getByLabel('Username').fill(person);
    await p.getByLabel('Password').fill(USERS[person]!.password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.waitForURL(`${server.url}/console/tasks?status=active`);
    await p.locator('[data-session="signed-in"] main h1', { hasText: 'Tasks' }).waitFor();
    assert.equal(await p.locator('[data-role="who"]').textContent(), USERS[person]!.name);
    assert.equal(await p.locator('[data-role="roles"]').textContent(), ROLE_OF[person]);
    const cookie = (await context.cookies(server.url)).find((c) => c.name === 'mandate_console');
    assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', 'the session is an HttpOnly, SameSite=Strict cookie');
    pages.set(person, p);
    page = p;
  }

  async function open(path: string): Promise<void> {
    await page.goto(`${server.url}${path}`);
    await page.locator('[data-session="signed-in"] main h1').first().waitFor();
  }

  /** A screenshot for people to look at, and axe-core's serious and critical findings, which must be none. */
  async function check(name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    // Evaluated through the DevTools protocol, which the page's CSP does not govern; the page itself still runs no inline script.
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const result = await axe.run(document, { resultTypes: ['violations'] });
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(violations, [], `axe on ${name}`);
  }

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: under CI the browser tests must run (apt-get install -y chromium)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'mandate-console-browser-'));
    idp = await startIdentityProvider();
    // The example filesystem server behind the MCP gateway, as `npm start` serves it, for the demo scenario.
    server = await startConsoleServer(idp, dir, { exampleUpstreams: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await idp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('serving', () => {
    it('/console redirects to /console/, which is the app under the strict CSP and never cached', async () => {
      const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      assert.equal(redirect.headers.get('location'), '/console/');
      const res = await fetch(`${server.url}/console/`);
      const html = await res.text();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('content-security-policy'), CSP);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.match(html, /<script type="module" crossorigin src="\/console\/assets\/index-[\w-]+\.js"><\/script>/);
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|https?:\/\//, 'nothing inline, nothing from another origin');
    });

    it('any page path is the app, so a link to a page works when opened directly', async () => {
      const index = await (await fetch(`${server.url}/console/`)).text();
      for (const path of ['/console/tasks', '/console/tasks/tsk_x/trail', '/console/decisions?outcome=deny']) {
        const res = await fetch(`${server.url}${path}`);
        assert.equal(res.status, 200, path);
        assert.equal(await res.text(), index, path);
        assert.equal(res.headers.get('content-security-policy'), CSP, path);
      }
    });

    it('hashed assets are cached for a year with their type and the same headers', async () => {
      const html = await (await fetch(`${server.url}/console/`)).text();
      const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      assert.deepEqual(assets.map((a) => a.split('.').pop()).sort(), ['css', 'js']);
      for (const asset of assets) {
        const res = await fetch(`${server.url}${asset}`);
        assert.equal(res.status, 200, asset);
        assert.equal(res.headers.get('content-type'), asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
        assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.ok((await res.arrayBuffer()).byteLength > 1000);
      }
      assert.equal((await fetch(`${server.url}/console/assets/index-missing.js`)).status, 404);
    });

    it('refuses paths out of the assets folder, however they are spelled', async () => {
      const pkg = readFileSync(join(ROOT, 'package.json'), 'utf8');
      for (const path of ['/console/assets/..%2f..%2f..%2fpackage.json', '/console/assets/%2e%2e', '/console/assets/.%2e%2f.%2e%2findex.html', '/console/assets/../../../package.json', '/console/..%2f..%2fpackage.json', '/console/assets/%2fetc%2fpasswd']) {
        // Sent as written: fetch would resolve the dot segments before sending.
        const { status, body } = await rawGet(server.url, path);
        assert.ok(status === 404 || (status === 200 && body.includes('<div id="root">')), `${path}: ${status}`);
        assert.ok(!body.includes(pkg.slice(0, 40)) && !body.includes('root:'), `${path} leaked a file`);
      }
    });

    it('unknown console API paths stay JSON 404s, and /console/approvals is the app', async () => {
      const missing = await http(server.url, '/console/api/nothing-here');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'request.not_found');
      const index = await (await fetch(`${server.url}/console/`)).text();
      const approvals = await fetch(`${server.url}/console/approvals`);
      assert.equal(approvals.status, 200);
      assert.equal(approvals.headers.get('content-security-policy'), CSP);
      assert.equal(await approvals.text(), index);
    });
  });

  describe('signed out', () => {
    it('offers the sign-in, which returns to the page asked for, and reads no data', async () => {
      const plain = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      try {
        const p = await plain.newPage();
        watch(p);
        const apiCalls: string[] = [];
        p.on('request', (r) => {
          if (new URL(r.url()).pathname.startsWith('/v1/')) apiCalls.push(r.url());
        });
        await p.goto(`${server.url}/console/tasks?status=active`);
        const signIn = p.locator('[data-role="sign-in"]');
        await signIn.waitFor();
        assert.equal(await signIn.getAttribute('href'), '/console/login?return=%2Fconsole%2Ftasks%3Fstatus%3Dactive');
        assert.equal(await p.locator('nav').count(), 0);
        assert.deepEqual(apiCalls, []);
      } finally {
        await plain.close();
      }
    });
  });

  describe('signed in', () => {
    let report: { taskId: string; credential: string };
    let payer: { taskId: string; credential: string };

    before(async () => {
      report = await reportTask();
      payer = await reportTask();
      assert.ok(report.credential && payer.credential);
    });

    it('overview: counts from the server, the decisions chart, refusal reasons and health', async () => {
      assert.equal((await decide(report.credential, 'files.read', REPORT)).body.outcome, 'allow');
      assert.equal((await decide(report.credential, 'files.read', { path: '/etc/shadow' })).body.reason.code, 'mandate.arg_constraint');
      await as('victor');
      await open('/console/');
      const active = (await http(server.url, '/v1/tasks?status=active', { token: ADMIN_TOKEN })).body.tasks.length;
      const agents = (await http(server.url, '/v1/agents', { token: ADMIN_TOKEN })).body.agents.length;
      await page.locator(`[data-field="active-tasks"]:text-is("${active}")`).waitFor();
      assert.equal(await page.locator('[data-field="agents"]').textContent(), String(agents));
      assert.equal(await page.locator('[data-role="decisions-chart"] rect.bar-deny').count() > 0, true, 'the refusal is drawn');
      assert.match((await page.locator('[data-role="top-reasons"]').textContent()) ?? '', /mandate\.arg_constraint/);
      assert.match((await page.locator('[data-role="health"]').textContent()) ?? '', /Store sqlite: available/);
      await check('overview');
    });

    it('decisions arrive live as the agent calls, and one opens with its request, reasons and policies', async () => {
      await as('victor');
      await open('/console/decisions');
      await page.locator('[data-role="live-mode"][data-mode="stream"]').waitFor();
      const allowed = await decide(report.credential, 'files.read', REPORT);
      const denied = await decide(report.credential, 'files.read', { path: '/etc/passwd' });
      const live = page.locator('[data-role="live-decisions"]');
      await live.locator(`[data-decision="${allowed.body.id}"][data-outcome="allow"]`).waitFor();
      await live.locator(`[data-decision="${denied.body.id}"][data-outcome="deny"]`).waitFor();
      await check('decisions');

      await live.locator(`[data-decision="${denied.body.id}"] td:first-child a`).click();
      await page.locator('h1', { hasText: `Decision ${denied.body.id}` }).waitFor();
      assert.match((await page.locator('[data-field="reason"]').textContent()) ?? '', /mandate\.arg_constraint/);
      assert.equal(await page.locator('[data-field="layer"]').textContent(), 'mandate');
      assert.equal(await page.locator('[data-field="purpose"]').textContent(), 'compile the quarterly report from the reports share');
      assert.equal(await page.locator('[data-role="trail-link"]').getAttribute('href'), `/console/tasks/${report.taskId}/trail`);
      await check('decision');
    });

    it('the trail of a task: purpose, each call with its decision, and the integrity of the chain', async () => {
      await as('victor');
      await open(`/console/tasks/${report.taskId}/trail`);
      await page.locator('[data-role="integrity"][data-ok="true"]').waitFor();
      assert.equal(await page.locator('[data-field="purpose"]').textContent(), 'compile the quarterly report from the reports share');
      const calls = page.locator('[data-role="steps"] [data-step="call"]');
      await calls.first().waitFor();
      assert.ok((await calls.count()) >= 4, 'the calls made so far');
      assert.equal(await page.locator('[data-role="steps"] [data-step="call"][data-outcome="deny"]').count() >= 2, true);
      await check('trail');
    });

    it('approvals: the pending step-up with its context; approving lets the exact call through', async () => {
      const held = await decide(payer.credential, 'payments.create', PAYMENT);
      assert.equal(held.body.outcome, 'step_up');
      const approvalId = held.body.approvalId as string;
      await as('alice');
      await open('/console/approvals');
      const card = page.locator(`article[data-approval-id="${approvalId}"]`);
      await card.waitFor();
      assert.equal(await card.locator('[data-field="purpose"]').textContent(), 'compile the quarterly report from the reports share');
      assert.deepEqual(JSON.parse((await card.locator('[data-field="args"]').textContent()) ?? ''), PAYMENT);
      assert.equal(await card.locator('[data-field="policies"]').textContent(), 'step-up-sensitive-actions');
      await check('approvals');

      await card.locator('[data-action="approve"]').click();
      await card.locator('[data-role="error"][data-code="request.invalid"]').waitFor();
      await card.locator('[data-role="reason"]').fill('invoice 42 checked');
      await card.locator('[data-action="approve"]').click();
      await card.waitFor({ state: 'detached' });
      const decided = page.locator(`[data-role="approval-history"] [data-approval-id="${approvalId}"]`);
      await decided.waitFor();
      assert.match((await decided.textContent()) ?? '', /alice@example\.com/, 'decided as the signed-in person, by their verified e-mail');
      const stored = await http(server.url, `/v1/approvals/${approvalId}`, { token: ADMIN_TOKEN });
      assert.deepEqual([stored.body.status, stored.body.decidedBy, stored.body.reason], ['approved', 'alice@example.com', 'invoice 42 checked']);
      const again = await decide(payer.credential, 'payments.create', PAYMENT);
      assert.deepEqual([again.body.outcome, again.body.reason.code, again.body.approvalId], ['allow', 'approval.approved', approvalId]);
    });

    it('approvals: why a person is asked, where targets came from, arguments as text, denying with a reason, and no request of an ended task', async () => {
      const printer = await grantTask(server.url, 'report-bot', { purpose: 'pay the printer', tools: ['payments.create'] });
      assert.equal(printer.status, 201, JSON.stringify(printer.body));
      const pay = (args: unknown) => decide(printer.credential, 'payments.create', args);
      const held = await pay(PAYMENT);
      assert.deepEqual([held.body.outcome, held.body.reason.code], ['step_up', 'policy.step_up']);
      const approvalId = held.body.approvalId as string;
      await as('alice');
      await open('/console/approvals');
      const card = page.locator(`article[data-approval-id="${approvalId}"]`);
      await card.waitFor();
      const field = async (name: string) => (await card.locator(`[data-field="${name}"]`).textContent()) ?? '';
      assert.equal(await field('tool'), 'payments.create');
      assert.equal(await field('id'), approvalId);
      assert.equal(await field('agent'), 'report-bot');
      assert.equal(await field('principal'), '—');
      assert.equal(await field('purpose'), 'pay the printer');
      assert.equal(await field('policies'), 'step-up-sensitive-actions', 'why a person is asked: the policy that demanded it');
      assert.equal(await field('approvers'), 'group:approvers');
      assert.deepEqual(JSON.parse(await field('args')), PAYMENT, 'the exact arguments');
      assert.match(await field('expires'), /^(9m|10m) \d+s left$/, 'the example expiry is 600 s');
      // Where the recipient came from, as the decision that asked recorded it.
      const recipient = (held.body.targets as { arg: string; provenance: string }[]).find((t) => t.arg === 'recipient');
      assert.ok(recipient, JSON.stringify(held.body.targets));
      await card.locator('[data-field="provenance"]').waitFor();
      assert.match(await field('provenance'), new RegExp(`recipient: ${recipient.provenance}`));
      if (recipient.provenance === 'unseen' || recipient.provenance === 'untrusted') assert.match(await field('provenance'), /the user did not give it/);

      await card.locator('[data-role="reason"]').fill('the printer was paid last week');
      await card.locator('[data-action="deny"]').click();
      await card.waitFor({ state: 'detached' });
      const row = page.locator(`[data-role="approval-history"] [data-approval-id="${approvalId}"]`);
      await row.waitFor();
      assert.match((await row.textContent()) ?? '', /denied[\s\S]*alice@example\.com[\s\S]*the printer was paid last week/);
      const stored = await http(server.url, `/v1/approvals/${approvalId}`, { token: ADMIN_TOKEN });
      assert.deepEqual([stored.body.status, stored.body.decidedBy, stored.body.reason], ['denied', 'alice@example.com', 'the printer was paid last week']);
      const denied = await pay(PAYMENT);
      assert.deepEqual([denied.body.outcome, denied.body.reason.code, denied.body.approvalId], ['deny', 'approval.denied', approvalId]);

      // Arguments come from agents: markup in them is shown, never rendered; hidden characters are made visible.
      const hostile = { amount: 5, recipient: '<img src=x onerror="document.body.dataset.pwned=1">', memo: 'safe\u202etxt.exe' };
      const odd = await pay(hostile);
      assert.equal(odd.body.outcome, 'step_up', JSON.stringify(odd.body));
      await open('/console/approvals');
      const args = page.locator(`article[data-approval-id="${odd.body.approvalId}"] [data-field="args"]`);
      await args.waitFor();
      const shown = (await args.textContent()) ?? '';
      assert.ok(shown.includes('<img src=x onerror=\\"document.body.dataset.pwned=1\\">'), shown);
      assert.ok(shown.includes('safe\\u202etxt.exe') && !shown.includes('\u202e'), shown);
      assert.equal(await page.locator('main img').count(), 0);
      assert.equal(await page.evaluate(() => document.body.dataset.pwned), undefined);

      // Ending the task cancels its pending requests: nobody is asked to approve a call that can no longer happen.
      const revoked = await http(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: printer.taskId, reason: 'the printer contract ended' } });
      assert.ok(revoked.status < 300, revoked.text);
      await open('/console/approvals');
      await page.locator('[data-role="pending-count"][data-count]:not([data-count=""])').waitFor();
      assert.equal(await page.locator(`article[data-approval-id="${odd.body.approvalId}"]`).count(), 0);
      await page.locator(`[data-role="approval-history"] [data-approval-id="${odd.body.approvalId}"] .status-cancelled`).waitFor();
    });

    it('tasks: the list and one task with its mandate, expiry and behaviour; revoking refuses its next call', async () => {
      await as('olga');
      await open('/console/tasks?status=active');
      await page.locator(`[data-role="tasks"] [data-task="${payer.taskId}"]`).waitFor();
      await check('tasks');
      await page.locator(`[data-task="${payer.taskId}"] a`).click();
      await page.locator('h1', { hasText: `Task ${payer.taskId}` }).waitFor();
      assert.match((await page.locator('[data-field="credential"]').textContent()) ?? '', /^1[45]m \d+s left$/, 'the example task lives 900 s');
      assert.match((await page.locator('[data-field="tools"]').textContent()) ?? '', /\/srv\/reports\//);
      await page.locator('[data-field="calls"]:text-is("1")').waitFor();
      const tree = page.locator('[data-role="tree"]');
      await tree.locator(`[data-task="${payer.taskId}"] [aria-current="true"]`).waitFor();
      assert.equal(await tree.getAttribute('data-nodes'), '1', 'a task granted directly is the root of its own tree');
      assert.deepEqual(await page.locator('a[href$="undefined"]').count(), 0);
      await check('task');

      await page.locator('[data-role="reason"]').fill('the printer was paid by hand');
      await page.locator('[data-action="revoke"]').click();
      await page.locator('[data-field="status"] .status-revoked').waitFor();
      const refused = await decide(payer.credential, 'files.read', REPORT);
      assert.deepEqual([refused.body.outcome, refused.body.reason.code], ['deny', 'credential.revoked']);
    });

    it('agents: register one, and a join token shown once that the agent can attest with', async () => {
      await as('adam');
      await open('/console/agents');
      await page.locator('[data-agent="report-bot"]').waitFor();
      await page.getByLabel('Name').fill('console-bot');
      await page.getByLabel('Groups (comma-separated)').fill('agents');
      await page.locator('[data-action="register"]').click();
      await page.locator('[data-role="registered"]').waitFor();
      const row = page.locator('[data-agent="console-bot"]');
      await row.waitFor();
      await row.locator('[data-action="join-token"]').click();
      const token = await row.locator('[data-field="join-token"]').inputValue();
      assert.ok(token.length > 10);
      await check('agents');
      const attested = await http(server.url, '/v1/attest/join-token', { body: { token } });
      assert.equal(attested.status, 200, attested.text);
      assert.match(attested.body.spiffeId, /console-bot$/);
    });

    it('policies: the loaded set and its files; what-if answers as the server would decide, recording nothing', async () => {
      await as('victor');
      await open('/console/policies');
      const served = (await http(server.url, '/v1/policies', { token: ADMIN_TOKEN })).body;
      await page.locator(`[data-field="version"]:text-is("${served.version}")`).waitFor();
      assert.equal(await page.locator('[data-file]').count(), served.files.length);
      await page.getByLabel('Tool').fill('files.read');
      await page.getByLabel('Arguments (JSON)').fill(JSON.stringify(REPORT));
      const decisionsBefore = (await http(server.url, '/v1/audit?type=decision&limit=1', { token: ADMIN_TOKEN })).body.events[0]?.id;
      await page.locator('[data-action="what-if"]').click();
      const whatIf = await http(server.url, '/v1/what-if', { token: ADMIN_TOKEN, body: { tool: 'files.read', args: REPORT } });
      assert.equal(whatIf.status, 200, whatIf.text);
      const answer = page.locator(`[data-role="what-if-answer"][data-outcome="${whatIf.body.outcome}"]`);
      await answer.waitFor();
      assert.match((await answer.locator('[data-field="what-if-reason"]').textContent()) ?? '', new RegExp(whatIf.body.reason.code.replace('.', '\\.')));
      assert.equal((await http(server.url, '/v1/audit?type=decision&limit=1', { token: ADMIN_TOKEN })).body.events[0]?.id, decisionsBefore, 'no decision recorded');
      await check('policies');
    });

    it('compliance: the report, control by control, with its gaps', async () => {
      await as('victor');
      await open('/console/compliance');
      const served = await http(server.url, '/v1/report', { token: ADMIN_TOKEN });
      assert.equal(served.status, 200, served.text);
      await page.locator('[data-control]').first().waitFor();
      assert.equal(await page.locator('[data-control]').count(), served.body.controls.length);
      assert.equal(await page.locator('[data-field="gaps"]').textContent(), String(served.body.summary.gaps));
      await check('compliance');
    });

    it('a viewer sees every page but no action: approve, revoke and register are disabled', async () => {
      await as('victor');
      const held = await decide(report.credential, 'payments.create', PAYMENT);
      await open('/console/approvals');
      const card = page.locator(`article[data-approval-id="${held.body.approvalId}"]`);
      await card.waitFor();
      assert.equal(await card.locator('[data-action="approve"]').isDisabled(), true);
      assert.equal(await card.locator('[data-action="deny"]').isDisabled(), true);
      await open(`/console/tasks/${report.taskId}`);
      await page.locator('[data-action="revoke"]').waitFor();
      assert.equal(await page.locator('[data-action="revoke"]').isDisabled(), true);
      await open('/console/agents');
      await page.locator('[data-agent="report-bot"]').waitFor();
      assert.equal(await page.locator('[data-action="register"]').isDisabled(), true);
      assert.equal(await page.locator('[data-action="join-token"]').first().isDisabled(), true);
      // The server refuses it too, whatever the page shows: the role is checked on every request.
      const refused = await page.evaluate(async (taskId) => {
        const session = (await (await fetch('/console/api/session')).json()) as { csrfToken: string };
        const res = await fetch('/v1/revocations', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken }, body: JSON.stringify({ kind: 'task', subject: taskId, reason: 'a viewer tries' }) });
        return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
      }, report.taskId);
      assert.deepEqual(refused, { status: 403, code: 'console.forbidden' });
    });

    it('approvals: a long queue shows the oldest 50, and more on request', async () => {
      for (let t = 0; t < 4; t++) {
        const { credential } = await reportTask();
        for (let i = 1; i <= 15; i++) assert.equal((await decide(credential, 'payments.create', { amount: t * 15 + i, recipient: 'print-shop' })).body.outcome, 'step_up');
      }
      const pendingNow = (await http(server.url, '/v1/approvals?status=pending&limit=1000', { token: ADMIN_TOKEN })).body.approvals.length as number;
      assert.ok(pendingNow > 60);
      await as('alice');
      await open('/console/approvals');
      const count = page.locator('[data-role="pending-count"]');
      await page.locator('[data-role="pending-count"][data-count="50"][data-more="true"]').waitFor();
      assert.equal(await count.textContent(), '50+ pending');
      assert.equal(await page.locator('article[data-approval-id]').count(), 50);
      await page.locator('[data-action="more-pending"]').click();
      const shown = Math.min(pendingNow, 100);
      await page.locator(`[data-role="pending-count"][data-count="${shown}"]`).waitFor();
      assert.equal(await page.locator('article[data-approval-id]').count(), shown);
      if (pendingNow <= 100) assert.equal(await page.locator('[data-action="more-pending"]').count(), 0, 'nothing more to show');
    });

    it('the demo scenario: each of its decisions arrives live, with the outcome the script expects', async () => {
      await as('victor');
      await open('/console/decisions');
      await page.locator('[data-role="live-mode"][data-mode="stream"]').waitFor();
      // `mandate demo --url` against this server: the SDK and the MCP gateway, as a newcomer runs it.
      const steps = await playDemo({ url: server.url, adminToken: ADMIN_TOKEN }, () => undefined);
      assert.equal(steps.length, 10, 'every step but the expiry, which needs the demo\'s own clock');
      assert.deepEqual(steps.filter((s) => !s.ok), [], 'the demo ran as scripted');
      const live = page.locator('[data-role="live-decisions"]');
      for (const s of steps) {
        assert.ok(s.decisionId, `${s.step}: the decision has an id`);
        await live.locator(`[data-decision="${s.decisionId}"][data-outcome="${s.expected.decision}"]`).waitFor();
      }
      assert.match((await live.locator(`[data-decision="${steps[1]!.decisionId}"]`).textContent()) ?? '', /mandate\.tool_not_declared.*email\.send/);
      assert.match((await live.locator(`[data-decision="${steps[8]!.decisionId}"]`).textContent()) ?? '', /policy\.permit.*fs\.read_text_file/);
      await check('decisions-demo');
    });

    it(`the decisions history opens fast with ${SEEDED_DECISIONS.toLocaleString('en')} decisions stored, one page at a time`, async () => {
      const { taskId } = report;
      const base = { outcome: 'deny', code: 'policy.forbid', message: 'seeded', layer: 'policy', tool: 'files.read', purpose: 'seeded history', policies: ['seed'] };
      for (let i = 0; i < SEEDED_DECISIONS; i += 5000) {
        await Promise.all(Array.from({ length: 5000 }, (_, j) => server.plane.audit.record({ type: 'decision', taskId: taskId as never, agentId: null, data: { ...base, decisionId: `dec_seed_${i + j}` } })));
      }
      const pages: string[] = [];
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname === '/v1/audit' && !u.searchParams.has('sinceMs')) pages.push(u.search);
      });
      await as('victor');
      const started = Date.now();
      await open('/console/decisions');
      const rows = page.locator('[data-role="history-decisions"] tbody tr');
      await rows.first().waitFor();
      const elapsedMs = Date.now() - started;
      assert.equal(await rows.count(), 50);
      assert.ok(elapsedMs < 5000, `history shown in ${elapsedMs} ms`);
      await page.locator('[data-action="older"]').click();
      await page.locator('text=page 2,').waitFor();
      assert.equal(await rows.count(), 50);
      assert.equal(pages.length, 2, pages.join(' '));
      assert.ok(pages.every((q) => new URLSearchParams(q).get('limit') === '50'));
      assert.ok(new URLSearchParams(pages[1]).has('cursor'));
    });

    it('no page raised a script error or a CSP violation', () => {
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(cspViolations, []);
    });
  });
});

/** GET with the path exactly as written (dot segments and escapes untouched). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
