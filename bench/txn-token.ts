import type { AgentId, DecisionId, TaskId } from '../src/core/index.js';
import { systemClock } from '../src/core/index.js';
import type { Decision, TaskContext } from '../src/decision/index.js';
import { TxnTokens, type TxnTokenTarget } from '../src/gateway/index.js';
import { KeyRing, type KeyRepo, type SigningKeyRecord } from '../src/identity/index.js';
import { MandateSchema, type Task } from '../src/mandate/index.js';
import { verifyTransactionToken } from '../src/sdk/index.js';
import { summarize, type Metrics } from './stats.js';

const TOKENS = Number(process.env.BENCH_TXN_TOKENS ?? 10_000);
const WARMUP = 1000;
const BLOCK = 250;

const hr = () => Number(process.hrtime.bigint()) / 1000; // µs

function memoryKeys(): KeyRepo {
  const records: SigningKeyRecord[] = [];
  return { list: async () => [...records], insert: async (r) => void records.push(r), retire: async () => undefined };
}

/** A delegated task acting for a person: the largest claim set the gateway mints (principal, parent, a chain link). */
function benchTask(): Task {
  return {
    id: 'tsk_child0000001' as TaskId,
    agentId: 'agt_writer000001' as AgentId,
    agentName: 'writer',
    spiffeId: 'spiffe://bench.internal/agent/writer',
    mandate: MandateSchema.parse({ purpose: 'file the Q3 invoices for the finance team', tools: ['billing.createInvoice'] }),
    principal: 'alice@example.com',
    parentTaskId: 'tsk_parent000001' as TaskId,
    delegationDepth: 1,
    chain: [{ taskId: 'tsk_parent000001' as TaskId, agentId: 'agt_planner00001' as AgentId, spiffeId: 'spiffe://bench.internal/agent/planner' }],
    status: 'active',
    credentialId: 'crd_aaaaaaaaaaaa' as never,
    createdAtMs: Date.now(),
    expiresAtMs: Date.now() + 3_600_000,
    endedAtMs: null,
    endReason: null,
    callCount: 0,
  };
}

/**
 * `gateway.txn_token_mint_us`: what minting adds to an allowed call that carries a
 * transaction token (claims built and signed ES256 with the trust domain's key, as
 * the gateway does), each with its own decision id. Beside it, in alternating
 * blocks, the SDK's check of the same tokens by a downstream service (WebCrypto,
 * key imported once).
 */
export async function benchTxnToken(metrics: Metrics): Promise<void> {
  const keys = await KeyRing.open(memoryKeys(), systemClock, 3600);
  const minter = new TxnTokens({ sign: (claims, typ) => keys.signSync(claims, typ), clock: systemClock, trustDomain: 'bench.internal' });
  const task = benchTask();
  const ctx = { claims: {}, task, agent: undefined, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' } as unknown as TaskContext;
  const target: TxnTokenTarget = { gateway: 'http', upstream: 'billing', audience: 'https://billing.bench.internal', ttlSeconds: 60 };
  const decision = (n: number) => ({ id: `dcn_${String(n).padStart(12, '0')}` as DecisionId, tool: 'billing.createInvoice', policyVersion: 3 }) as Decision;
  const jwks = keys.jwks() as { keys: JsonWebKey[] };
  const verify = (token: string) => verifyTransactionToken(token, { jwks, audience: target.audience });

  for (let i = 0; i < WARMUP; i++) await verify(await minter.mint(ctx, decision(i), target));
  const mintUs: number[] = [];
  const verifyUs: number[] = [];
  let bytes = 0;
  for (let done = WARMUP; done < WARMUP + TOKENS; done += BLOCK) {
    const block: string[] = [];
    for (let i = done; i < done + BLOCK; i++) {
      const t0 = hr();
      block.push(await minter.mint(ctx, decision(i), target));
      mintUs.push(hr() - t0);
    }
    for (const token of block) {
      const t0 = hr();
      await verify(token);
      verifyUs.push(hr() - t0);
      bytes = token.length;
    }
  }
  const mint = summarize(mintUs);
  const r = (v: number) => Math.round(v * 10) / 10;
  metrics['gateway.txn_token_mint_us'] = { value: r(mint.p50), unit: 'us', note: `ES256 with the trust domain's key, ${TOKENS} tokens of ${bytes} bytes (delegated task, principal, one chain link)` };
  metrics['gateway.txn_token_mint_p99_us'] = { value: r(mint.p99), unit: 'us' };
  metrics['sdk.txn_token_verify_p50_us'] = { value: r(summarize(verifyUs).p50), unit: 'us', note: 'verifyTransactionToken, key set given, alternating blocks' };
}
