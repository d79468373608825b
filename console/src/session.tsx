import { createContext, useContext } from 'react';
import type { Role, Session } from './types';

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new TypeError('useSession outside a signed-in console');
  return s;
}

/** Roles are not a ladder (src/console/roles.ts): admin holds every role, and anyone signed in may view. */
export function holds(roles: readonly Role[], needed: Role): boolean {
  return roles.includes('admin') || roles.includes(needed) || (needed === 'viewer' && roles.length > 0);
}

export function useCan(needed: Role): boolean {
  return holds(useSession().roles, needed);
}

export function signInUrl(returnPath: string): string {
  return `/console/login?return=${encodeURIComponent(returnPath)}`;
}
