// The examples under examples/<framework>/ run as a reader runs them, against the
// control plane `npm start` serves (the example configuration, with the example
// filesystem server behind the gateway), and show what their comments promise.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, http, startTestServer } from '../helpers.js';

const run = promisify(execFile);
const SHARE = join(ROOT, 'examples', 'share');

describe('the framework examples', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  for (const framework of ['ai-sdk', 'openai-agents', 'langchain']) {
    it(`examples/${framework}/agent.mjs: one call allowed and one refused, in process and through the gateway`, { timeout: 60_000 }, async () => {
      const joinToken = (await http(server.url, '/v1/agents/report-bot/join-tokens', { token: ADMIN_TOKEN, body: {} })).body.token as string;
      const { stdout } = await run(process.execPath, [join(ROOT, 'examples', framework, 'agent.mjs')], { cwd: ROOT, env: { ...process.env, MANDATE_URL: server.url, MANDATE_JOIN_TOKEN: joinToken } });
      assert.deepEqual(stdout.trim().split('\n'), [
        'files_read: Q3: revenue up 12%, churn down 2 points.',
        'files_read: denied (mandate.arg_constraint): argument `path` must start with `/srv/reports/`',
        'fs_read_text_file: Q3: revenue up 12%, churn down 2 points.',
        `fs_read_text_file: denied (mandate.arg_constraint): argument \`path\` must start with \`${SHARE}/reports/\``,
      ]);
      const tasks = await http(server.url, '/v1/tasks?agent=report-bot&status=active', { token: ADMIN_TOKEN });
      assert.deepEqual(tasks.body.tasks, [], 'the example completed its task');
    });
  }
});
