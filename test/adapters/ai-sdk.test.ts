// The AI SDK adapter against a real control plane: a scripted model (the AI SDK's
// own mock language model) drives `generateText`, whose tools are decided in
// process or reached through the MCP gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateText, isStepCount, tool, type ToolSet } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';
import { mandateMcp, mandateTool, mandateTools, RenewingTask } from '../../src/adapters/ai-sdk/index.js';
import { assertBearerAloneRefused, assertReportedAsUntrusted, fakeFiles, IN_PROCESS_MANDATE, MCP_MANDATE, REPORT_PATH, REPORT_TEXT, skewedClock, startPlane, type Plane } from './fixture.js';

type Call = { toolName: string; input: Record<string, unknown> };
type Seen = { toolName: string; text: string };

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };

/**
 * A model that makes the scripted tool calls, one step each, then answers `done`;
 * it records the tools it was offered and every tool result it was shown.
 */
function scriptedModel(steps: Call[][]) {
  const seen: Seen[] = [];
  const offered: string[][] = [];
  let step = 0;
  const model = new MockLanguageModelV4({
    doGenerate: async (options) => {
      offered.push((options.tools ?? []).map((t) => t.name));
      const last = options.prompt.at(-1);
      if (last?.role === 'tool') {
        for (const part of last.content) {
          if (part.type !== 'tool-result') continue;
          const o = part.output as { type: string; value: unknown };
          seen.push({ toolName: part.toolName, text: typeof o.value === 'string' ? o.value : JSON.stringify(o.value) });
        }
      }
      const calls = steps[step++];
      if (!calls) return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
      return {
        content: calls.map((c, i) => ({ type: 'tool-call' as const, toolCallId: `call-${step}-${i}`, toolName: c.toolName, input: JSON.stringify(c.input) })),
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      };
    },
  });
  return { model, seen, offered };
}

const run = (model: MockLanguageModelV4, tools: ToolSet) => generateText({ model, tools, prompt: 'go', stopWhen: isStepCount(10) });

describe('mandate/ai-sdk', () => {
  let plane: Plane;
  before(async () => {
    plane = await startPlane();
  });
  after(async () => {
    await plane.close();
  });

  it('in process: an allowed call runs and is reported, a denied one never runs and the model reads the refusal, a step-up names its approval', async () => {
    const agent = await plane.agent();
    const task = await agent.declare(IN_PROCESS_MANDATE);
    const files = fakeFiles();
    let paid = 0;
    const tools = {
      files_read: mandateTool(task, 'files.read', tool({ description: 'read a file', inputSchema: z.object({ path: z.string() }), execute: async ({ path }) => files.read(path) }), { labels: ['untrusted'] }),
      ...mandateTools(task, {
        'payments.create': tool({ description: 'pay', inputSchema: z.object({ amount: z.number(), recipient: z.string() }), execute: async () => `paid ${++paid}` }),
      }),
    };
    assert.deepEqual(Object.keys(tools).sort(), ['files_read', 'payments_create']);
    const { model, seen } = scriptedModel([
      [{ toolName: 'files_read', input: { path: REPORT_PATH } }],
      [{ toolName: 'files_read', input: { path: '/etc/shadow' } }],
      [{ toolName: 'payments_create', input: { amount: 120, recipient: 'ACME' } }],
    ]);
    const result = await run(model, tools);
    assert.equal(result.text, 'done');

    assert.deepEqual(files.reads, [REPORT_PATH], 'only the allowed read ran');
    assert.equal(paid, 0, 'the payment waiting for a person did not run');
    assert.deepEqual(seen[0], { toolName: 'files_read', text: REPORT_TEXT });
    assert.equal(seen[1]?.toolName, 'files_read');
    assert.match(seen[1]!.text, /^denied \(mandate\.arg_constraint\): /);
    assert.match(seen[2]!.text, /^approval required \(policy\.step_up\): .*; approval \S+ waits for a person/);

    const results = await plane.records(task.id, 'tool.result');
    assert.equal(results.length, 1);
    assert.equal(results[0]!.data.tool, 'files.read');
    assert.equal(results[0]!.data.status, 'ok');
    assert.equal(results[0]!.data.bytes, REPORT_TEXT.length);
    await assertReportedAsUntrusted(task);
    await task.complete();
  });

  it('in process: with waitMs, a step-up that a person approves runs at once', async () => {
    const agent = await plane.agent();
    const task = await agent.declare(IN_PROCESS_MANDATE);
    let paid = 0;
    const tools = mandateTools(task, { 'payments.create': tool({ description: 'pay', inputSchema: z.object({ amount: z.number(), recipient: z.string() }), execute: async () => `payment ${++paid} sent` }) }, { waitMs: 15_000, pollMs: 50 });
    const { model, seen } = scriptedModel([[{ toolName: 'payments_create', input: { amount: 120, recipient: 'ACME' } }]]);
    const [, approvalId] = await Promise.all([run(model, tools), plane.approveWhenAsked(task.id)]);
    assert.equal(paid, 1);
    assert.deepEqual(seen, [{ toolName: 'payments_create', text: 'payment 1 sent' }]);
    const decisions = await plane.records(task.id, 'decision');
    assert.ok(decisions.some((d) => d.data.outcome === 'allow' && d.data.code === 'approval.approved' && d.data.approvalId === approvalId));
    await task.complete();
  });

  it('through the gateway: the model calls a real upstream tool through the MCP client, a call outside the mandate is refused, and a renewed credential reconnects', async () => {
    const agent = await plane.agent();
    const clock = skewedClock();
    const mcp = await mandateMcp({ url: plane.url, agent, mandate: MCP_MANDATE, now: clock.now });
    try {
      const first = mcp.task.task;
      const tools = await mcp.tools();
      assert.deepEqual(Object.keys(tools).sort(), ['everything_echo', 'everything_get-sum'], 'only what the mandate declares is listed');
      const { model, seen } = scriptedModel([
        [{ toolName: 'everything_echo', input: { message: 'hello from the model' } }],
        [{ toolName: 'everything_echo', input: { message: 'rm -rf /' } }],
      ]);
      await run(model, tools);
      assert.match(seen[0]!.text, /Echo: hello from the model/);
      assert.match(seen[1]!.text, /denied \(mandate\.arg_constraint\): /);
      const decisions = await plane.records(first.id, 'decision');
      assert.deepEqual(
        decisions.map((d) => [d.data.tool, d.data.outcome]),
        [
          ['everything.echo', 'allow'],
          ['everything.echo', 'deny'],
        ],
      );

      // Ten seconds of the ten minutes left: the next call declares the mandate again and reconnects.
      clock.skewMs = 590_000;
      const again = scriptedModel([[{ toolName: 'everything_get-sum', input: { a: 2, b: 3 } }]]);
      await run(again.model, tools);
      assert.match(again.seen[0]!.text, /The sum of 2 and 3 is 5/);
      const second = mcp.task.task;
      assert.notEqual(second.id, first.id, 'a new task carries on');
      assert.deepEqual((await plane.records(second.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.get-sum', 'allow']]);
      assert.equal((await plane.taskView(first.id)).status, 'completed', 'the replaced task was completed');
    } finally {
      await mcp.close();
    }
    assert.equal((await plane.taskView(mcp.task.task.id)).status, 'completed', 'close completes the task it declared');
  });

  it('through the gateway with a key-bound credential: every request carries a fresh DPoP proof, renewal included, and the credential alone is refused', async () => {
    const agent = await plane.agent({ dpop: true });
    const clock = skewedClock();
    const mcp = await mandateMcp({ url: plane.url, agent, mandate: MCP_MANDATE, now: clock.now });
    try {
      const first = mcp.task.task;
      const tools = await mcp.tools();
      const { model, seen } = scriptedModel([[{ toolName: 'everything_echo', input: { message: 'hello with a proof' } }]]);
      await run(model, tools);
      assert.match(seen[0]!.text, /Echo: hello with a proof/);
      assert.deepEqual((await plane.records(first.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.echo', 'allow']]);
      await assertBearerAloneRefused(plane.url, first);

      clock.skewMs = 590_000;
      const again = scriptedModel([[{ toolName: 'everything_get-sum', input: { a: 2, b: 3 } }]]);
      await run(again.model, tools);
      assert.match(again.seen[0]!.text, /The sum of 2 and 3 is 5/);
      const second = mcp.task.task;
      assert.notEqual(second.id, first.id, 'a new task carries on');
      assert.deepEqual((await plane.records(second.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.get-sum', 'allow']]);
      await assertBearerAloneRefused(plane.url, second);
    } finally {
      await mcp.close();
    }
    assert.equal((await plane.taskView(mcp.task.task.id)).status, 'completed');
  });

  it('in process and through the gateway with one renewing task', async () => {
    const agent = await plane.agent();
    const task = await RenewingTask.declare(agent, { ...MCP_MANDATE, tools: [...MCP_MANDATE.tools, ...IN_PROCESS_MANDATE.tools] });
    const mcp = await mandateMcp({ url: plane.url, task });
    const files = fakeFiles();
    const tools = { ...(await mcp.tools()), ...mandateTools(task, { 'files.read': tool({ description: 'read a file', inputSchema: z.object({ path: z.string() }), execute: async ({ path }) => files.read(path) }) }) };
    const { model, seen } = scriptedModel([
      [
        { toolName: 'files_read', input: { path: REPORT_PATH } },
        { toolName: 'everything_echo', input: { message: 'hello again' } },
      ],
    ]);
    await run(model, tools);
    assert.deepEqual(
      seen.map((s) => s.toolName),
      ['files_read', 'everything_echo'],
    );
    assert.equal(seen[0]!.text, REPORT_TEXT);
    assert.match(seen[1]!.text, /Echo: hello again/);
    await mcp.close();
    assert.equal((await plane.taskView(task.task.id)).status, 'active', 'a task that was given is left running');
    await task.complete();
    assert.equal((await plane.taskView(task.task.id)).status, 'completed');
  });
});
