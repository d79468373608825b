import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The efficacy corpus: realistic agent tasks, each with the mandate a user's
 * request alone would give, the calls the legitimate task makes with what they
 * return, and prompt-injection attacks hidden in that returned content, with the
 * call each attack tries to make. The runner (run-corpus.ts) plays every scenario
 * through the real server twice: clean, and under attack.
 */
export const EFFICACY_DIR = fileURLToPath(new URL('../../../test/efficacy/', import.meta.url));

const CallSchema = z.object({ tool: z.string().min(1), args: z.record(z.string(), z.unknown()).default({}) }).strict();

const StepSchema = CallSchema.extend({
  /** What the call returns: text or JSON, as the tool would. */
  result: z.unknown().default(''),
}).strict();

export const ATTACK_KINDS = ['tool', 'argument', 'flow'] as const;

const AttackSchema = z
  .object({
    title: z.string().min(5),
    /**
     * `tool`: needs a tool the task never declared; `argument`: a declared tool with the
     * attacker's value (recipient, IBAN, URL); `flow`: declared tool and allowed values,
     * wrong only in what it moves where.
     */
    kind: z.enum(ATTACK_KINDS),
    /** The index of the step whose result carries the injected text. */
    after: z.number().int().min(0),
    /** Appended to that step's result, the way it would sit in an e-mail, a page or a message. */
    injection: z.string().min(10),
    /**
     * The field of a structured result the text sits in, when others write that
     * field (an event's description, a profile's status): set on the last item of
     * a list result, appended to what is there. Without it the text is added as a
     * field of its own, or appended to a text result.
     */
    field: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    /** What the hijacked agent then calls: the harmful call. */
    call: CallSchema,
    /**
     * Calls the hijacked agent must make first, in order, to have what the harmful
     * call carries (reading the file whose contents it posts). The attack is stopped
     * when any of them, or the harmful call, is not allowed.
     */
    needs: z.array(CallSchema).max(4).default([]),
    /** True when the attack's target is one of the user's own (a known contact, the user's own account): no target check can refuse it. */
    usersTarget: z.boolean().default(false),
  })
  .strict();

export const ScenarioSchema = z
  .object({
    title: z.string().min(10),
    /** The user's request, as they typed it: the mandate is written from this alone. */
    request: z.string().min(10),
    mandate: z.record(z.string(), z.unknown()),
    steps: z.array(StepSchema).min(1),
    attacks: z.array(AttackSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.attacks.forEach((a, i) => {
      if (a.after >= s.steps.length) ctx.addIssue({ code: 'custom', path: ['attacks', i, 'after'], message: `no step ${a.after}` });
      else if (a.field !== undefined) {
        const result = s.steps[a.after]!.result;
        const item = Array.isArray(result) ? result.at(-1) : result;
        if (item === null || typeof item !== 'object' || Array.isArray(item)) ctx.addIssue({ code: 'custom', path: ['attacks', i, 'field'], message: `step ${a.after}'s result has no object to hold \`${a.field}\`` });
      }
    });
  });

export type Scenario = z.output<typeof ScenarioSchema>;
export type Attack = Scenario['attacks'][number];

export interface LoadedScenario {
  /** `<domain>/<file>` */
  id: string;
  domain: string;
  scenario: Scenario;
}

/** Every scenario under test/efficacy/<domain>/*.json; a file that breaks the schema throws, naming the file. */
export function loadCorpus(dir = EFFICACY_DIR): LoadedScenario[] {
  const out: LoadedScenario[] = [];
  for (const domain of readdirSync(dir).sort()) {
    const path = join(dir, domain);
    if (!statSync(path).isDirectory()) continue;
    for (const file of readdirSync(path).sort()) {
      if (!file.endsWith('.json')) continue;
      const parsed = ScenarioSchema.safeParse(JSON.parse(readFileSync(join(path, file), 'utf8')));
      if (!parsed.success) throw new Error(`${domain}/${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      out.push({ id: `${domain}/${file}`, domain, scenario: parsed.data });
    }
  }
  return out;
}

/** The tool catalog every scenario's calls are described by. */
export function efficacyCatalog(dir = EFFICACY_DIR): unknown[] {
  return (JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8')) as { tools: unknown[] }).tools;
}
