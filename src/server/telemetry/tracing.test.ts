import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ConfigError } from '../../core/index.js';
import { tracesExporterFrom, tracerOf, tracerProviderFromEnv } from './tracing.js';

describe('tracing from the OTEL_* variables', () => {
  it('is off unless an exporter or an OTLP endpoint is named', () => {
    assert.equal(tracesExporterFrom({}), undefined);
    assert.equal(tracesExporterFrom({ OTEL_SERVICE_NAME: 'x' }), undefined);
    assert.equal(tracesExporterFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), 'otlp');
    assert.equal(tracesExporterFrom({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), 'otlp');
    assert.equal(tracesExporterFrom({ OTEL_TRACES_EXPORTER: 'otlp' }), 'otlp');
    assert.equal(tracesExporterFrom({ OTEL_TRACES_EXPORTER: ' Console ' }), 'console');
  });

  it('is off when told so, whatever else is set', () => {
    assert.equal(tracesExporterFrom({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), undefined);
    assert.equal(tracesExporterFrom({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), undefined);
  });

  it('refuses at start-up what this build cannot send', () => {
    assert.throws(() => tracesExporterFrom({ OTEL_TRACES_EXPORTER: 'zipkin' }), ConfigError);
    assert.throws(() => tracesExporterFrom({ OTEL_TRACES_EXPORTER: 'otlp,console' }), ConfigError);
    assert.throws(() => tracesExporterFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), ConfigError);
    assert.equal(tracesExporterFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }), 'otlp');
  });

  it('sends spans over OTLP/HTTP to the configured endpoint, named after OTEL_SERVICE_NAME', async () => {
    const received: { url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`, OTEL_SERVICE_NAME: 'mandate-under-test' };
    const saved = { ...process.env };
    // The exporter and the resource read the process's environment, as they do in production.
    Object.assign(process.env, env);
    try {
      const provider = await tracerProviderFromEnv(env);
      assert.ok(provider);
      assert.equal(await tracerProviderFromEnv(env), provider, 'one provider per process');
      tracerOf(provider)!.startSpan('mandate.decide', { attributes: { 'mandate.decision': 'allow' } }).end();
      await provider.forceFlush();
    } finally {
      process.env = saved;
      await new Promise((resolve) => collector.close(resolve));
    }
    assert.equal(received.length, 1);
    assert.equal(received[0]!.url, '/v1/traces');
    assert.equal(received[0]!.headers['content-type'], 'application/x-protobuf');
    // Protobuf keeps strings as they are: the span's name, attribute and service name are in the body.
    for (const text of ['mandate.decide', 'mandate.decision', 'mandate-under-test']) assert.ok(received[0]!.body.includes(Buffer.from(text)), `${text} is sent`);
  });
});
