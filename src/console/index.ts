export { ROLES, holds, type Role } from './roles.js';
