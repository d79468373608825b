// A LangChain agent under a Mandate mandate: one tool runs in this process and is
// decided per call through the SDK; the others are the gateway's MCP tools,
// loaded with @langchain/mcp-adapters.
//
//   npm start                                    # the control plane, in another terminal
//   export MANDATE_ADMIN_TOKEN=madm_...          # the token it printed
//   MANDATE_JOIN_TOKEN=$(npx mandate agent token report-bot --quiet) node examples/langchain/agent.mjs
//
// The model here is a scripted chat model that makes four calls, so the example
// runs without an API key; put a real one in its place (e.g. `new ChatOpenAI(…)`
// from `@langchain/openai`, or `"openai:gpt-4.1"`).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { createAgent } from 'langchain';
import { z } from 'zod';
import { AgentClient } from 'mandate/sdk';
import { mandateMcp, mandateTool, RenewingTask } from 'mandate/langchain';

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

// 2. An in-process tool under its mandate name `files.read`: each call is decided
//    first, a refusal is a ToolMessage with status "error", and a result is reported.
const readReport = mandateTool(
  task,
  'files.read',
  tool(async ({ path }) => readFile(`${share}reports/${path.slice('/srv/reports/'.length)}`, 'utf8'), {
    name: 'files_read',
    description: 'read a report',
    schema: z.object({ path: z.string() }),
  }),
);

// 3. The gateway's tools (`fs_read_text_file`, …) through @langchain/mcp-adapters.
const mcp = await mandateMcp({ url, task });
const tools = [readReport, ...(await mcp.tools())];

// 4. The model: one call allowed and one refused on each side.
const script = [
  { name: 'files_read', args: { path: '/srv/reports/q3.txt' } },
  { name: 'files_read', args: { path: '/etc/passwd' } },
  { name: 'fs_read_text_file', args: { path: `${share}reports/q3.txt` } },
  { name: 'fs_read_text_file', args: { path: `${share}out/README` } },
];
class ScriptedModel extends BaseChatModel {
  _llmType() {
    return 'scripted';
  }
  bindTools() {
    return this;
  }
  async _generate() {
    const call = script.shift();
    const message = call ? new AIMessage({ content: '', tool_calls: [{ id: `${script.length}`, name: call.name, args: call.args, type: 'tool_call' }] }) : new AIMessage('done');
    return { generations: [{ text: call ? '' : 'done', message }] };
  }
}

try {
  const state = await createAgent({ model: new ScriptedModel({}), tools }).invoke({ messages: [{ role: 'user', content: 'Summarise the Q3 report.' }] });
  // What the model was shown for each call: a result, or the refusal it can re-plan from.
  const text = (content) => (typeof content === 'string' ? content : content.map((block) => block.text ?? '').join(''));
  for (const m of state.messages) if (m.type === 'tool') console.log(`${m.name}: ${text(m.content).trim()}`);
} finally {
  // Closes the MCP connection; the task is ours, so complete it: its credential stops working at once.
  await mcp.close();
  await task.complete('example finished');
}
