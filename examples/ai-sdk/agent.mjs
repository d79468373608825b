// An AI SDK agent under a Mandate mandate: one tool runs in this process and is
// decided per call through the SDK; the others are the gateway's MCP tools.
//
//   npm start                                    # the control plane, in another terminal
//   export MANDATE_ADMIN_TOKEN=madm_...          # the token it printed
//   MANDATE_JOIN_TOKEN=$(npx mandate agent token report-bot --quiet) node examples/ai-sdk/agent.mjs
//
// The model here is the AI SDK's mock, scripted to make four calls, so the example
// runs without an API key; put a real one in its place (e.g. `openai('gpt-4.1')`
// from `@ai-sdk/openai`) and give it a prompt.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generateText, isStepCount, tool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';
import { AgentClient } from 'mandate/sdk';
import { mandateMcp, mandateTools, RenewingTask } from 'mandate/ai-sdk';

const url = process.env.MANDATE_URL ?? 'http://127.0.0.1:8080';
const share = fileURLToPath(new URL('../share/', import.meta.url));

// 1. Attest as the example agent `report-bot` and declare what this task is for.
//    RenewingTask declares the mandate again before the task credential expires.
const agent = await AgentClient.connect({ url, joinToken: process.env.MANDATE_JOIN_TOKEN });
const task = await RenewingTask.declare(agent, {
  purpose: 'summarise the Q3 report',
  tools: [
    { name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }, // in process
    { name: 'fs.read_text_file', args: { path: { prefix: `${share}reports/` } } }, // through the gateway
  ],
  ttlSeconds: 600,
});

// 2. An in-process tool, keyed by its mandate name; the model sees `files_read`.
//    Each call is decided first (a path outside /srv/reports/, or one with `..`
//    after it, never reaches `execute`); the result is reported so later decisions
//    know what the task has read.
const local = mandateTools(task, {
  'files.read': tool({
    description: 'read a report',
    inputSchema: z.object({ path: z.string() }),
    execute: async ({ path }) => readFile(`${share}reports/${path.slice('/srv/reports/'.length)}`, 'utf8'),
  }),
});

// 3. The gateway's tools (`fs_read_text_file`, …) through the AI SDK's MCP client.
const mcp = await mandateMcp({ url, task });
const tools = { ...local, ...(await mcp.tools()) };

// 4. The model: one call allowed and one refused on each side.
const script = [
  { toolName: 'files_read', input: { path: '/srv/reports/q3.txt' } },
  { toolName: 'files_read', input: { path: '/etc/passwd' } },
  { toolName: 'fs_read_text_file', input: { path: `${share}reports/q3.txt` } },
  { toolName: 'fs_read_text_file', input: { path: `${share}out/README` } },
];
const usage = { inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 0, text: 0, reasoning: 0 } };
const model = new MockLanguageModelV4({
  doGenerate: async () => {
    const call = script.shift();
    if (!call) return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
    return { content: [{ type: 'tool-call', toolCallId: `${script.length}`, toolName: call.toolName, input: JSON.stringify(call.input) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] };
  },
});

try {
  const result = await generateText({ model, tools, prompt: 'Summarise the Q3 report.', stopWhen: isStepCount(10) });
  // What the model was shown for each call: a result, or the refusal it can re-plan from.
  const text = (o) => (typeof o === 'string' ? o : (o?.content ?? []).map((c) => c.text ?? '').join(''));
  for (const step of result.steps) {
    for (const part of step.content) {
      if (part.type === 'tool-result') console.log(`${part.toolName}: ${text(part.output).trim()}`);
      if (part.type === 'tool-error') console.log(`${part.toolName}: ${String(part.error)}`);
    }
  }
} finally {
  // Closes the MCP connection; the task is ours, so complete it: its credential stops working at once.
  await mcp.close();
  await task.complete('example finished');
}
