// The LangChain adapter against a real control plane: a scripted chat model makes
// the tool calls, LangChain's own agent (`createAgent`) runs them, in process or
// through the MCP gateway with `@langchain/mcp-adapters`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { tool, type StructuredToolInterface } from '@langchain/core/tools';
import { createAgent } from 'langchain';
import { z } from 'zod';
import { mandateMcp, mandateTool } from '../../src/adapters/langchain/index.js';
import { assertBearerAloneRefused, assertReportedAsUntrusted, fakeFiles, IN_PROCESS_MANDATE, MCP_MANDATE, REPORT_PATH, REPORT_TEXT, skewedClock, startPlane, type Plane } from './fixture.js';

type Call = { name: string; args: Record<string, unknown> };
type Seen = { name: string; status: string; text: string };

/**
 * A chat model that makes the scripted tool calls, one turn each, then answers
 * `done`; it records the tools bound to it and every tool message it was shown.
 */
class ScriptedChatModel extends BaseChatModel {
  readonly seen: Seen[] = [];
  bound: string[] = [];
  private turn = 0;
  constructor(private readonly turns: Call[][]) {
    super({});
  }

  _llmType(): string {
    return 'scripted';
  }

  override bindTools(tools: StructuredToolInterface[]): this {
    this.bound = tools.map((t) => t.name);
    return this;
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const known = new Set(this.seen.map((s) => s.text));
    for (const m of messages) {
      if (!ToolMessage.isInstance(m)) continue;
      const text = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
      if (!known.has(text)) this.seen.push({ name: m.name ?? '', status: m.status ?? '', text });
    }
    const calls = this.turns[this.turn++];
    const message = calls ? new AIMessage({ content: '', tool_calls: calls.map((c, i) => ({ id: `call-${this.turn}-${i}`, name: c.name, args: c.args, type: 'tool_call' as const })) }) : new AIMessage('done');
    return { generations: [{ text: calls ? '' : 'done', message }] };
  }
}

const runAgent = (model: ScriptedChatModel, tools: StructuredToolInterface[]) => createAgent({ model, tools }).invoke({ messages: [{ role: 'user', content: 'go' }] });

describe('mandate/langchain', () => {
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
    // A LangChain tool, wrapped; and the fields of one, which mandateTool makes into a tool.
    const read = mandateTool(task, 'files.read', tool(async ({ path }) => files.read(path), { name: 'files_read', description: 'read a file', schema: z.object({ path: z.string() }) }), { labels: ['untrusted'] });
    const pay = mandateTool(task, 'payments.create', { name: 'payments_create', description: 'pay', schema: z.object({ amount: z.number(), recipient: z.string() }), func: async () => `paid ${++paid}` });
    const model = new ScriptedChatModel([
      [{ name: 'files_read', args: { path: REPORT_PATH } }],
      [{ name: 'files_read', args: { path: '/etc/shadow' } }],
      [{ name: 'payments_create', args: { amount: 120, recipient: 'ACME' } }],
    ]);
    const state = await runAgent(model, [read, pay]);
    assert.equal(state.messages.at(-1)?.content, 'done');

    assert.deepEqual(files.reads, [REPORT_PATH], 'only the allowed read ran');
    assert.equal(paid, 0, 'the payment waiting for a person did not run');
    assert.deepEqual(model.seen[0], { name: 'files_read', status: 'success', text: REPORT_TEXT });
    assert.equal(model.seen[1]!.status, 'error');
    assert.match(model.seen[1]!.text, /^denied \(mandate\.arg_constraint\): /);
    assert.equal(model.seen[2]!.status, 'error');
    assert.match(model.seen[2]!.text, /^approval required \(policy\.step_up\): .*; approval \S+ waits for a person/);

    const results = await plane.records(task.id, 'tool.result');
    assert.deepEqual(
      results.map((r) => [r.data.tool, r.data.status]),
      [['files.read', 'ok']],
    );
    await assertReportedAsUntrusted(task);

    // Invoked directly, without a tool call, a refusal is the text alone.
    assert.match(String(await read.invoke({ path: '/etc/passwd' })), /^denied \(mandate\.arg_constraint\): /);
    assert.deepEqual(files.reads, [REPORT_PATH]);
    await task.complete();
  });

  it('through the gateway: the agent calls a real upstream tool through @langchain/mcp-adapters, a call outside the mandate is refused, and a renewed credential reconnects', async () => {
    const agent = await plane.agent();
    const clock = skewedClock();
    const mcp = await mandateMcp({ url: plane.url, agent, mandate: MCP_MANDATE, now: clock.now });
    try {
      const first = mcp.task.task;
      const tools = await mcp.tools();
      const model = new ScriptedChatModel([[{ name: 'everything_echo', args: { message: 'hello from the model' } }], [{ name: 'everything_echo', args: { message: 'rm -rf /' } }]]);
      await runAgent(model, tools);
      assert.deepEqual([...model.bound].sort(), ['everything_echo', 'everything_get-sum'], 'only what the mandate declares is bound');
      assert.equal(model.seen[0]!.status, 'success');
      assert.deepEqual(JSON.parse(model.seen[0]!.text), [{ type: 'text', text: 'Echo: hello from the model' }], 'text alone, without the metadata');
      assert.equal(model.seen[1]!.status, 'error');
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
      const again = new ScriptedChatModel([[{ name: 'everything_get-sum', args: { a: 2, b: 3 } }]]);
      await runAgent(again, tools);
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
      const model = new ScriptedChatModel([[{ name: 'everything_echo', args: { message: 'hello with a proof' } }]]);
      await runAgent(model, tools);
      assert.equal(model.seen[0]!.status, 'success');
      assert.deepEqual(JSON.parse(model.seen[0]!.text), [{ type: 'text', text: 'Echo: hello with a proof' }]);
      assert.deepEqual((await plane.records(first.id, 'decision')).map((d) => [d.data.tool, d.data.outcome]), [['everything.echo', 'allow']]);
      await assertBearerAloneRefused(plane.url, first);

      clock.skewMs = 590_000;
      const again = new ScriptedChatModel([[{ name: 'everything_get-sum', args: { a: 2, b: 3 } }]]);
      await runAgent(again, tools);
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
});
