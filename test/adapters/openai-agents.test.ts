// The OpenAI Agents SDK adapter against a real control plane: a scripted `Model`
// instance makes the tool calls, the SDK's own runner runs them, in process or
// through the MCP gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, run, setTracingDisabled, tool, Usage, type AgentInputItem, type MCPServer, type Model, type ModelRequest, type ModelResponse, type Tool } from '@openai/agents';
import { z } from 'zod';
import { mandateMcpServer, mandateTool } from '../../src/adapters/openai-agents/index.js';
import { assertBearerAloneRefused, assertReportedAsUntrusted, fakeFiles, IN_PROCESS_MANDATE, MCP_MANDATE, REPORT_PATH, REPORT_TEXT, skewedClock, startPlane, type Plane } from './fixture.js';

type Call = { name: string; args: Record<string, unknown> };
type Seen = { callId: string; text: string };

/** The text of a function call's output as the next request shows it to the model. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  const items = Array.isArray(output) ? output : [output];
  return items.map((o: { type?: string; text?: string }) => (o?.type === 'text' || o?.type === 'input_text' ? (o.text ?? '') : JSON.stringify(o))).join('');
}

/**
 * A model that makes the scripted function calls, one turn each, then answers
 * `done`; it records the tools it was offered and every call output it was shown.
 */
class ScriptedModel implements Model {
  readonly seen: Seen[] = [];
  readonly offered: string[][] = [];
  private turn = 0;
  constructor(private readonly turns: Call[][]) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.offered.push(request.tools.map((t) => (t as { name?: string }).name ?? ''));
    const input = (Array.isArray(request.input) ? request.input : []) as AgentInputItem[];
    for (const item of input) {
      if (item.type === 'function_call_result' && !this.seen.some((s) => s.callId === item.callId)) this.seen.push({ callId: item.callId, text: outputText(item.output) });
    }
    const calls = this.turns[this.turn++];
    const usage = new Usage();
    if (!calls) return { usage, output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done' }] }] };
    return {
      usage,
      output: calls.map((c, i) => ({ type: 'function_call' as const, callId: `call-${this.turn}-${i}`, name: c.name, arguments: JSON.stringify(c.args), status: 'completed' as const })),
    };
  }

  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('the scripted model does not stream');
  }
}

const agentWith = (model: Model, opts: { tools?: Tool[]; mcpServers?: MCPServer[] }) => new Agent({ name: 'report-bot', instructions: 'follow the script', model, ...opts });

describe('mandate/openai-agents', () => {
  let plane: Plane;
  before(async () => {
    // The runner would otherwise try to export traces.
    setTracingDisabled(true);
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
    // A tool made with tool(), wrapped; and the options of one, which mandateTool makes into a tool.
    const read = mandateTool(task, 'files.read', tool({ name: 'files_read', description: 'read a file', parameters: z.object({ path: z.string() }), execute: async ({ path }) => files.read(path) }), { labels: ['untrusted'] });
    const pay = mandateTool(task, 'payments.create', { name: 'payments_create', description: 'pay', parameters: z.object({ amount: z.number(), recipient: z.string() }), execute: async () => `paid ${++paid}` });
    const model = new ScriptedModel([
      [{ name: 'files_read', args: { path: REPORT_PATH } }],
      [{ name: 'files_read', args: { path: '/etc/shadow' } }],
      [{ name: 'payments_create', args: { amount: 120, recipient: 'ACME' } }],
    ]);
    const result = await run(agentWith(model, { tools: [read, pay] }), 'go', { maxTurns: 10 });
    assert.equal(result.finalOutput, 'done');

    assert.deepEqual(files.reads, [REPORT_PATH], 'only the allowed read ran');
    assert.equal(paid, 0, 'the payment waiting for a person did not run');
    assert.equal(model.seen[0]!.text, REPORT_TEXT);
    assert.match(model.seen[1]!.text, /^denied \(mandate\.arg_constraint\): /);
    assert.match(model.seen[2]!.text, /^approval required \(policy\.step_up\): .*; approval \S+ waits for a person/);

    const results = await plane.records(task.id, 'tool.result');
    assert.deepEqual(
      results.map((r) => [r.data.tool, r.data.status]),
      [['files.read', 'ok']],
    );
    await assertReportedAsUntrusted(task);
    await task.complete();
  });

  it('through the gateway: the runner calls a real upstream tool over MCPServerStreamableHttp, a call outside the mandate is refused, and a renewed credential reconnects', async () => {
    const agent = await plane.agent();
    const clock = skewedClock();
    const server = await mandateMcpServer({ url: plane.url, agent, mandate: MCP_MANDATE, now: clock.now });
    try {
      const first = server.task.task;
      const model = new ScriptedModel([[{ name: 'everything_echo', args: { message: 'hello from the model' } }], [{ name: 'everything_echo', args: { message: 'rm -rf /' } }]]);
      await run(agentWith(model, { mcpServers: [server] }), 'go', { maxTurns: 10 });
      // The Agents SDK makes MCP tool names safe for every model API (`-` becomes `_`) and calls the server by the gateway's name.
      assert.deepEqual([...model.offered[0]!].sort(), ['everything_echo', 'everything_get_sum'], 'only what the mandate declares is offered');
      assert.match(model.seen[0]!.text, /Echo: hello from the model/);
      assert.match(model.seen[1]!.text, /^denied \(mandate\.arg_constraint\): /);
      assert.deepEqual(
        (await plane.records(first.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]),
        [
          ['everything.echo', 'allow'],
          ['everything.echo', 'deny'],
        ],
      );

      // Ten seconds of the ten minutes left: the next call declares the mandate again and reconnects.
      clock.skewMs = 590_000;
      const again = new ScriptedModel([[{ name: 'everything_get_sum', args: { a: 2, b: 3 } }]]);
      await run(agentWith(again, { mcpServers: [server] }), 'go', { maxTurns: 10 });
      assert.match(again.seen[0]!.text, /The sum of 2 and 3 is 5/);
      const second = server.task.task;
      assert.notEqual(second.id, first.id, 'a new task carries on');
      assert.deepEqual((await plane.records(second.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.get-sum', 'allow']]);
      assert.equal((await plane.taskView(first.id)).status, 'completed', 'the replaced task was completed');
    } finally {
      await server.close();
    }
    assert.equal((await plane.taskView(server.task.task.id)).status, 'completed', 'close completes the task it declared');
  });
  it('through the gateway with a key-bound credential: every request carries a fresh DPoP proof, renewal included, and the credential alone is refused', async () => {
    const agent = await plane.agent({ dpop: true });
    const clock = skewedClock();
    const server = await mandateMcpServer({ url: plane.url, agent, mandate: MCP_MANDATE, now: clock.now });
    try {
      const first = server.task.task;
      const model = new ScriptedModel([[{ name: 'everything_echo', args: { message: 'hello with a proof' } }]]);
      await run(agentWith(model, { mcpServers: [server] }), 'go', { maxTurns: 10 });
      assert.match(model.seen[0]!.text, /Echo: hello with a proof/);
      assert.deepEqual((await plane.records(first.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.echo', 'allow']]);
      await assertBearerAloneRefused(plane.url, first);

      clock.skewMs = 590_000;
      const again = new ScriptedModel([[{ name: 'everything_get_sum', args: { a: 2, b: 3 } }]]);
      await run(agentWith(again, { mcpServers: [server] }), 'go', { maxTurns: 10 });
      assert.match(again.seen[0]!.text, /The sum of 2 and 3 is 5/);
      const second = server.task.task;
      assert.notEqual(second.id, first.id, 'a new task carries on');
      assert.deepEqual((await plane.records(second.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.get-sum', 'allow']]);
      await assertBearerAloneRefused(plane.url, second);
    } finally {
      await server.close();
    }
    assert.equal((await plane.taskView(server.task.task.id)).status, 'completed');
  });
});
