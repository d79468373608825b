import { readFileSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isJSONRPCRequest, type JSONRPCMessage, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import YAML from 'yaml';
import { AgentClient, type MandateDeclaration, type TaskHandle } from '../sdk/index.js';

export interface ConnectStdioOptions {
  url: string;
  mandateFile: string;
  joinToken?: string;
  oidcTokenFile?: string;
  /** Declare a new task this long before the current credential expires. */
  renewBeforeMs: number;
  /** Bind the SVID and task credentials to a key the bridge makes and never shows (DPoP). */
  dpop: boolean;
  /** Where the bridge says what it does: never stdout, which carries the protocol. */
  log: (line: string) => void;
}

/**
 * `mandate connect --stdio`: an MCP server on stdin/stdout for desktop clients
 * that speak stdio only, relaying every message to the gateway's `/mcp` with a
 * task credential of its own. It attests (join token, or an OIDC token read from
 * a file each time, e.g. a projected service-account token), declares the
 * mandate from the file, and before the credential expires declares the same
 * mandate again as a new task: it opens a gateway session for it by replaying the
 * client's `initialize` (its answer is not passed on: the client is initialized
 * already) and completes the old task. Messages are relayed as they are, so
 * whatever the gateway supports the client gets. When stdin closes, the task is
 * completed.
 */
export async function connectStdio(o: ConnectStdioOptions): Promise<void> {
  const mandate = readMandate(o.mandateFile);
  const agent = await AgentClient.connect({
    url: o.url,
    joinToken: o.joinToken,
    oidcToken: o.oidcTokenFile ? async () => readFileSync(o.oidcTokenFile!, 'utf8').trim() : undefined,
    dpop: o.dpop,
  });
  let task = await agent.declare(mandate);
  o.log(`mandate connect: ${agent.spiffeId} holds task ${task.id} until ${new Date(task.expiresAtMs).toISOString()}`);

  const stdio = new StdioServerTransport();
  let initialize: JSONRPCRequest | undefined;
  let initialized: JSONRPCMessage | undefined;
  /** The id of a replayed `initialize`, whose answer stays here. */
  let replayId: string | undefined;

  const open = async (t: TaskHandle): Promise<StreamableHTTPClientTransport> => {
    // The task's own fetch: its credential, and a fresh proof of the bridge's key on every request.
    const gateway = new StreamableHTTPClientTransport(new URL('/mcp', o.url), { fetch: t.fetch });
    gateway.onmessage = (m) => {
      if (replayId !== undefined && 'id' in m && m.id === replayId) {
        replayId = undefined;
        return;
      }
      void stdio.send(m);
    };
    gateway.onerror = (err) => o.log(`mandate connect: gateway: ${err.message}`);
    await gateway.start();
    return gateway;
  };
  let gateway = await open(task);

  /** A new task for the same mandate, and a gateway session for it, before the current credential runs out. */
  let renewing: Promise<void> | undefined;
  const renew = async () => {
    const previous = { task, gateway };
    task = await agent.declare(mandate);
    gateway = await open(task);
    if (initialize) {
      replayId = `mandate-connect-${task.id}`;
      await gateway.send({ ...initialize, id: replayId });
      if (initialized) await gateway.send(initialized);
    }
    o.log(`mandate connect: renewed: task ${task.id} until ${new Date(task.expiresAtMs).toISOString()}; ${previous.task.id} completed`);
    // Answers to calls still in flight on the old session arrive before it closes: it closes once they had their time.
    setTimeout(() => void previous.gateway.close().catch(() => undefined), 30_000).unref();
    await previous.task.complete('renewed by mandate connect').catch(() => undefined);
  };

  stdio.onmessage = (m) => {
    void (async () => {
      const opening = isJSONRPCRequest(m) && m.method === 'initialize';
      if (opening) initialize = m;
      // Not before `initialize`: there is no session to carry over yet, and this message opens one for the current task.
      else if (task.expiresAtMs - Date.now() < o.renewBeforeMs) {
        renewing ??= renew().finally(() => (renewing = undefined));
        await renewing;
      }
      // Kept after the renewal, which replays it only when the old session had it.
      if ('method' in m && m.method === 'notifications/initialized') initialized = m;
      await gateway.send(m);
    })().catch((err: Error) => {
      o.log(`mandate connect: ${err.message}`);
      if (isJSONRPCRequest(m)) void stdio.send({ jsonrpc: '2.0', id: m.id, error: { code: -32603, message: `mandate connect: ${err.message}` } });
    });
  };
  const closed = new Promise<void>((resolve) => (stdio.onclose = resolve));
  await stdio.start();
  // The client closing stdin is the end of the work.
  process.stdin.once('end', () => void stdio.close());
  await closed;
  await gateway.close().catch(() => undefined);
  await task.complete('the client disconnected').catch(() => undefined);
}

function readMandate(file: string): MandateDeclaration {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`--mandate: cannot read \`${file}\`: ${(err as Error).message}`);
  }
  try {
    return YAML.parse(text) as MandateDeclaration;
  } catch (err) {
    throw new Error(`--mandate: \`${file}\` is not JSON or YAML: ${(err as Error).message}`);
  }
}
