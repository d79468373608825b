export { HttpProxy, DECIDED_BODY_LIMIT_BYTES, type HttpProxyPorts } from './http-proxy.js';
export {
  ApiSchema,
  ApisSchema,
  OpenApiDocumentSchema,
  apiToolNames,
  apiToolSpecs,
  loadApiActions,
  loadOpenApiDocument,
  toolSpecsOf,
  type ApiActions,
  type ApiConfig,
  type ApisConfig,
} from './http-upstream-config.js';
export { callArguments, compileRoutePattern, matchRoute, parseProxyPath, splitProxyUrl, HTTP_METHODS, type ApiAction, type HttpMethod } from './match-route.js';
export { UpstreamHeaders } from './upstream-headers.js';
