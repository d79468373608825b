export { HOW_TO_GET_A_CREDENTIAL, McpGateway, type McpGatewayPorts } from './mcp-gateway.js';
export { UpstreamPool, type UpstreamPoolOptions, type UpstreamStatus } from './upstream-pool.js';
export { UpstreamSchema, UpstreamsSchema, upstreamToolSpecs, splitToolName, type UpstreamConfig, type UpstreamsConfig } from './upstream-config.js';
export { exposedName, exposureProblems } from './tool-names.js';
