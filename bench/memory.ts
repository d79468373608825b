import { startBenchServer } from './bench-server.js';
import { serveInChild } from './child.js';
import { decideAllow, eachInFlight, grantFleet, heapAfterGc } from './task-fleet.js';

/** Grants, or decisions, in flight at once. */
const IN_FLIGHT = 64;

export interface MemoryRequest {
  root: string;
  adminToken: string;
  tasks: number;
  decisionsPerTask: number;
}

export interface MemoryResult {
  perTaskKb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  held: Record<string, number>;
}

/**
 * Memory per live task, in its own process with `--expose-gc`: heap after a full
 * collection with `tasks` live tasks, each decided a few times, minus the heap
 * before them, divided by their number. The benchmark drops its own references
 * to the credentials before measuring, so only what the control plane keeps counts.
 */
async function measure(req: MemoryRequest): Promise<MemoryResult> {
  const setup = await startBenchServer(req.root, req.adminToken, () => undefined);
  try {
    // Warm: compiled code, the agent cache, prepared statements, the first audit batches.
    let credentials: string[] | null = await grantFleet(setup.server, req.adminToken, 50);
    for (const c of credentials) for (let i = 0; i < req.decisionsPerTask; i++) await decideAllow(setup.server, c);
    credentials = null;
    const before = heapAfterGc();
    // Granted, then decided round after round, many at a time: what is kept per task is the same either way.
    credentials = await grantFleet(setup.server, req.adminToken, req.tasks, IN_FLIGHT);
    for (let i = 0; i < req.decisionsPerTask; i++) {
      const round = credentials;
      await eachInFlight(round.length, IN_FLIGHT, (n) => decideAllow(setup.server, round[n]!));
    }
    credentials = null;
    await setup.server.plane.audit.flush();
    const after = heapAfterGc();
    return {
      perTaskKb: (after - before) / req.tasks / 1024,
      heapBeforeMb: before / 2 ** 20,
      heapAfterMb: after / 2 ** 20,
      held: setup.server.plane.memory.counts(),
    };
  } finally {
    await setup.close();
  }
}

serveInChild(measure);
