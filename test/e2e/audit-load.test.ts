import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { verifyTrail } from '../../src/audit/index.js';
import { fileAuditWitness, openStore } from '../../src/store/index.js';
import { grantTask, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const DECISIONS = 20_000;
const IN_FLIGHT = 32;

describe('the audit trail under load', () => {
  verifies('audit:load-exactly-once', `${DECISIONS.toLocaleString('en-US')} decisions through the API are each in the trail exactly once, and the trail verifies against its witness`, { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-audit-load-'));
    const url = `file:${join(dir, 'mandate.db')}`;
    const witness = join(dir, 'audit-witness.jsonl');
    const answered: string[] = [];
    try {
      // A checkpoint every 1,000 events, made while the load goes on.
      const server = await startTestServer({ MANDATE_STORE_URL: url, MANDATE_AUDIT_WITNESS_FILE: witness, MANDATE_SECRETS_KEY_FILE: join(dir, 'key'), MANDATE_AUDIT_CHECKPOINT_EVERY_EVENTS: '1000' });
      try {
        const granted = await grantTask(server.url, 'report-bot', { purpose: 'read reports', tools: ['files.read'], ttlSeconds: 3600 });
        assert.equal(granted.status, 201, JSON.stringify(granted.body));
        let next = 0;
        const worker = async () => {
          while (next < DECISIONS) {
            const i = next++;
            // One call in seven breaks the path constraint: denials are recorded as faithfully as allows.
            const path = i % 7 === 0 ? `/etc/file-${i}` : `/srv/reports/${i}.csv`;
            const res = await fetch(`${server.url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ credential: granted.credential, tool: 'files.read', args: { path } }) });
            const body = (await res.json()) as { id: string; outcome: string };
            assert.equal(res.status, 200, JSON.stringify(body));
            answered.push(body.id);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      } finally {
        await server.close();
      }
      const store = await openStore(url);
      try {
        const recorded = new Map<string, number>();
        for (const segment of await store.audit.segments()) {
          let after = 0;
          for (;;) {
            const page = await store.audit.scan(segment, after, 5000);
            for (const e of page) {
              if (e.type !== 'decision') continue;
              const id = (JSON.parse(e.dataText) as { decisionId: string }).decisionId;
              recorded.set(id, (recorded.get(id) ?? 0) + 1);
            }
            if (page.length < 5000) break;
            after = page[page.length - 1]!.seq;
          }
        }
        assert.equal(answered.length, DECISIONS);
        assert.equal(new Set(answered).size, DECISIONS, 'every answer has its own decision id');
        const missing = answered.filter((id) => !recorded.has(id));
        const twice = [...recorded].filter(([, n]) => n > 1).map(([id]) => id);
        assert.deepEqual([missing.length, twice.length], [0, 0], `missing ${missing.slice(0, 3).join(', ')}; recorded twice ${twice.slice(0, 3).join(', ')}`);
        const w = fileAuditWitness(witness);
        const report = await verifyTrail(store.audit, { name: w.name, checkpoints: await w.read() });
        assert.equal(report.ok, true, JSON.stringify(report.findings));
        assert.ok(report.witnessed >= DECISIONS / 1000, `${report.witnessed} checkpoints witnessed`);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
