// An OpenAI Agents SDK agent under a Mandate mandate: one function tool runs in
// this process and is decided per call through the SDK; the others come from the
// gateway as an MCP server of the agent.
//
//   npm start                                    # the control plane, in another terminal
//   export MANDATE_ADMIN_TOKEN=madm_...          # the token it printed
//   MANDATE_JOIN_TOKEN=$(npx mandate agent token report-bot --quiet) node examples/openai-agents/agent.mjs
//
// The model here is a scripted `Model` that makes four calls, so the example runs
// without an API key; drop `model` (the SDK then uses OpenAI with OPENAI_API_KEY)
// or give the name of a real one.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Agent, run, setTracingDisabled, tool, Usage } from '@openai/agents';
import { z } from 'zod';
import { AgentClient } from 'mandate/sdk';
import { mandateMcpServer, mandateTool, RenewingTask } from 'mandate/openai-agents';

setTracingDisabled(true); // nothing leaves this machine but the calls to the control plane
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

// 2. An in-process function tool under its mandate name `files.read`: each call is
//    decided first, a refusal is the tool's output, and a result is reported.
const readReport = mandateTool(
  task,
  'files.read',
  tool({
    name: 'files_read',
    description: 'read a report',
    parameters: z.object({ path: z.string() }),
    execute: async ({ path }) => readFile(`${share}reports/${path.slice('/srv/reports/'.length)}`, 'utf8'),
  }),
);

// 3. The gateway as an MCP server of the agent (MCPServerStreamableHttp underneath).
const gateway = await mandateMcpServer({ url, task, name: 'mandate' });

// 4. The model: one call allowed and one refused on each side.
const script = [
  { name: 'files_read', args: { path: '/srv/reports/q3.txt' } },
  { name: 'files_read', args: { path: '/etc/passwd' } },
  { name: 'fs_read_text_file', args: { path: `${share}reports/q3.txt` } },
  { name: 'fs_read_text_file', args: { path: `${share}out/README` } },
];
const model = {
  async getResponse() {
    const call = script.shift();
    if (!call) return { usage: new Usage(), output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done' }] }] };
    return { usage: new Usage(), output: [{ type: 'function_call', callId: `${script.length}`, name: call.name, arguments: JSON.stringify(call.args), status: 'completed' }] };
  },
  async *getStreamedResponse() {
    throw new Error('not streamed in this example');
  },
};

try {
  const result = await run(new Agent({ name: 'report-bot', instructions: 'Summarise the Q3 report.', model, tools: [readReport], mcpServers: [gateway] }), 'Summarise the Q3 report.');
  // What the model was shown for each call: a result, or the refusal it can re-plan from.
  for (const item of result.newItems) {
    if (item.type !== 'tool_call_output_item') continue;
    const output = typeof item.output === 'string' ? item.output : (item.output?.text ?? JSON.stringify(item.output));
    console.log(`${item.rawItem.name}: ${output.trim()}`);
  }
} finally {
  // Closes the MCP connection; the task is ours, so complete it: its credential stops working at once.
  await gateway.close();
  await task.complete('example finished');
}
