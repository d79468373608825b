export { ROLES, holds, rolesFromGroups, type Role } from './roles.js';
export type { AgentListing, ConsoleReads, ConsoleSessionRepo, StoredDrift, TaskListQuery, TaskListStatus, TaskListing, TokenEndpoint } from './ports.js';
export type { ConsoleOidcClient, ConsoleSession, PendingSignIn, RoleMapping } from './model.js';
export { CONSOLE_ROOT, safeReturnPath } from './return-path.js';
export { ConsoleSignIn, PENDING_SIGN_IN_SECONDS, approverOf, type CallbackQuery, type ConsoleSignInDeps, type PersonApprover } from './sign-in.js';
export { cookieIsSecure } from './cookie-rule.js';
