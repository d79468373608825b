export { approvalsPage, approvalsPageHeaders } from './approvals-page.js';
