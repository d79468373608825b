/**
 * What a person signed in to the console may do. Roles are not a ladder: an
 * approver decides step-ups, an operator revokes, suspends and resumes tasks;
 * both may view, and admin holds every role.
 */
export const ROLES = ['viewer', 'approver', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function holds(roles: readonly Role[], needed: Role): boolean {
  return roles.includes('admin') || roles.includes(needed) || (needed === 'viewer' && roles.length > 0);
}

/** The roles a person's identity provider groups give them (`console.roles`), in `ROLES` order. */
export function rolesFromGroups(groups: readonly string[], mapping: Readonly<Record<Role, readonly string[]>>): Role[] {
  return ROLES.filter((role) => mapping[role].some((g) => groups.includes(g)));
}
