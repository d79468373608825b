import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';

export interface RunningServer {
  plane: ControlPlane;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Starts the control plane and its API; `port: 0` picks a free port. */
export async function startServer(config: Config, opts: ControlPlaneOptions & { watchPolicies?: boolean } = {}): Promise<RunningServer> {
  const plane = await ControlPlane.start(config, opts);
  let app: FastifyInstance;
  try {
    app = await buildApp(plane);
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await plane.close();
    throw err;
  }
  if (opts.watchPolicies ?? config.policy.watch) plane.policies.watch(plane.telemetry.logger);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  plane.publicUrl = `http://${host}:${port}`;
  return {
    plane,
    app,
    url: `http://${host}:${port}`,
    close: async () => {
      // Open MCP event streams are live responses: end them first, or closing the HTTP server waits on them forever.
      await plane.mcp.close();
      await app.close();
      await plane.close();
    },
  };
}
