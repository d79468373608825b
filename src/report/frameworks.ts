/**
 * The frameworks the compliance report maps its controls to. Titles are the
 * published ones, so a reader can find each entry in its source:
 * - OWASP Top 10 for Agentic Applications (OWASP GenAI Security Project, 2026 edition);
 * - CSA MAESTRO, the seven-layer threat model for agentic AI (Cloud Security Alliance, 2025);
 * - NIST AI RMF 1.0 (NIST AI 100-1): its four functions and the subcategories cited.
 */

export const OWASP_AGENTIC_TOP_10 = [
  { id: 'ASI01', title: 'Agent Goal Hijack' },
  { id: 'ASI02', title: 'Tool Misuse and Exploitation' },
  { id: 'ASI03', title: 'Identity and Privilege Abuse' },
  { id: 'ASI04', title: 'Agentic Supply Chain Vulnerabilities' },
  { id: 'ASI05', title: 'Unexpected Code Execution (RCE)' },
  { id: 'ASI06', title: 'Memory & Context Poisoning' },
  { id: 'ASI07', title: 'Insecure Inter-Agent Communication' },
  { id: 'ASI08', title: 'Cascading Failures' },
  { id: 'ASI09', title: 'Human-Agent Trust Exploitation' },
  { id: 'ASI10', title: 'Rogue Agents' },
] as const;
export type OwaspId = (typeof OWASP_AGENTIC_TOP_10)[number]['id'];

export const MAESTRO_LAYERS = [
  { id: 'L1', title: 'Foundation Models' },
  { id: 'L2', title: 'Data Operations' },
  { id: 'L3', title: 'Agent Frameworks' },
  { id: 'L4', title: 'Deployment and Infrastructure' },
  { id: 'L5', title: 'Evaluation and Observability' },
  { id: 'L6', title: 'Security and Compliance' },
  { id: 'L7', title: 'Agent Ecosystem' },
] as const;
export type MaestroId = (typeof MAESTRO_LAYERS)[number]['id'];

export const NIST_FUNCTIONS = ['GOVERN', 'MAP', 'MEASURE', 'MANAGE'] as const;
export type NistFunction = (typeof NIST_FUNCTIONS)[number];

/** The NIST AI RMF subcategories the controls cite, each with the outcome it states (abridged). */
export const NIST_SUBCATEGORIES = [
  { id: 'GOVERN 1.4', title: 'the risk management process and its outcomes are established through transparent policies, procedures and other controls' },
  { id: 'GOVERN 1.6', title: 'mechanisms are in place to inventory AI systems' },
  { id: 'GOVERN 3.2', title: 'roles and responsibilities for human-AI configurations and oversight of AI systems are defined' },
  { id: 'MAP 1.1', title: 'intended purposes and prospective settings of deployment are understood and documented' },
  { id: 'MAP 3.5', title: 'processes for human oversight are defined, assessed and documented' },
  { id: 'MEASURE 2.4', title: 'the functionality and behavior of the AI system are monitored when in production' },
  { id: 'MEASURE 2.7', title: 'AI system security and resilience are evaluated and documented' },
  { id: 'MEASURE 2.8', title: 'risks associated with transparency and accountability are examined and documented' },
  { id: 'MANAGE 1.3', title: 'responses to the AI risks deemed high priority are developed, planned and documented' },
  { id: 'MANAGE 2.4', title: 'mechanisms are in place and applied to supersede, disengage or deactivate AI systems inconsistent with intended use' },
  { id: 'MANAGE 4.1', title: 'post-deployment monitoring plans are implemented, incident response and recovery included' },
] as const;
export type NistSubcategory = (typeof NIST_SUBCATEGORIES)[number]['id'];

/** `MAP 3.5` → `MAP`. */
export function nistFunctionOf(id: NistSubcategory): NistFunction {
  return id.slice(0, id.indexOf(' ')) as NistFunction;
}
