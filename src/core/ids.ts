import type { Random } from './random.js';

/** Ids are branded, prefixed strings so one kind can never be passed as another. */
export type AgentId = string & { readonly __brand: 'AgentId' };
export type TaskId = string & { readonly __brand: 'TaskId' };
export type JoinTokenId = string & { readonly __brand: 'JoinTokenId' };
export type CredentialId = string & { readonly __brand: 'CredentialId' };
export type IssuerId = string & { readonly __brand: 'IssuerId' };
export type EventId = string & { readonly __brand: 'EventId' };
export type DecisionId = string & { readonly __brand: 'DecisionId' };

const PREFIXES = {
  agent: 'agt',
  task: 'tsk',
  joinToken: 'jtk',
  credential: 'crd',
  issuer: 'iss',
  event: 'evt',
  decision: 'dcn',
} as const;

type IdKinds = {
  agent: AgentId;
  task: TaskId;
  joinToken: JoinTokenId;
  credential: CredentialId;
  issuer: IssuerId;
  event: EventId;
  decision: DecisionId;
};

export function newId<K extends keyof IdKinds>(kind: K, random: Random): IdKinds[K] {
  return `${PREFIXES[kind]}_${random.token(12)}` as IdKinds[K];
}

const ID_PATTERN = /^[a-z]{3}_[A-Za-z0-9_-]{8,64}$/;

/** Parses an id taken from outside; returns undefined when its prefix or shape is wrong. */
export function parseId<K extends keyof IdKinds>(kind: K, value: string): IdKinds[K] | undefined {
  return ID_PATTERN.test(value) && value.startsWith(`${PREFIXES[kind]}_`) ? (value as IdKinds[K]) : undefined;
}
