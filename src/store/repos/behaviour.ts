import type { Signal, Suspension } from '../../monitor/index.js';
import type { BehaviourRepo } from '../../monitor/index.js';
import type { SourceTrust } from '../../provenance/index.js';
import type { RepoFactory } from '../index.js';
import { StringArrayJson, parseJson } from './rows.js';

export const behaviourRepo: RepoFactory<BehaviourRepo> = (db) => ({
  async get(taskId) {
    const r = await db.selectFrom('task_behaviour').selectAll().where('task_id', '=', taskId).executeTakeFirst();
    const labels = (await db.selectFrom('task_labels').select('label').where('task_id', '=', taskId).orderBy('label').execute()).map((l) => l.label);
    const seen = (await db.selectFrom('task_values').select(['value_hash', 'trust']).where('task_id', '=', taskId).execute()).map(
      (v) => [v.value_hash, v.trust === 'trusted' || v.trust === 'counterparty' ? v.trust : 'untrusted'] as [string, SourceTrust],
    );
    if (!r && labels.length === 0 && seen.length === 0) return undefined;
    return {
      seen,
      labels,
      toolsCalled: r ? parseJson(StringArrayJson, r.tools_called, 'behaviour tools') : [],
      signals: r ? (parseJson(StringArrayJson, r.signals, 'behaviour signals') as Signal[]) : [],
      suspendedBy: (r?.suspended_by ?? null) as Suspension | null,
      stepUpBy: (r?.step_up_by ?? null) as Signal | null,
      tightenedBy: (r?.tightened_by ?? null) as Signal | null,
      score: r ? Number(r.score) : 0,
    };
  },
  async addSeen(taskId, entries) {
    // Chunked: one statement's parameters stay well under every driver's limit.
    for (let i = 0; i < entries.length; i += 500) {
      await db
        .insertInto('task_values')
        .values(entries.slice(i, i + 500).map(([value_hash, trust]) => ({ task_id: taskId, value_hash, trust })))
        .onConflict((oc) => oc.columns(['task_id', 'value_hash', 'trust']).doNothing())
        .execute();
    }
  },
  async save(taskId, b, atMs) {
    // Labels are rows, only ever added: two replicas recording labels at once both keep theirs.
    if (b.labels.length > 0) {
      await db
        .insertInto('task_labels')
        .values(b.labels.map((label) => ({ task_id: taskId, label })))
        .onConflict((oc) => oc.columns(['task_id', 'label']).doNothing())
        .execute();
    }
    const row = {
      tools_called: JSON.stringify(b.toolsCalled),
      signals: JSON.stringify(b.signals),
      suspended_by: b.suspendedBy,
      step_up_by: b.stepUpBy,
      tightened_by: b.tightenedBy ?? null,
      score: b.score,
      updated_at_ms: atMs,
    };
    await db
      .insertInto('task_behaviour')
      .values({ task_id: taskId, ...row })
      .onConflict((oc) => oc.column('task_id').doUpdateSet(row))
      .execute();
  },
});
