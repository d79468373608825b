import http from 'node:http';

/**
 * The same JSON POST over a keep-alive agent, again and again: `send` resolves
 * true when the answer is a 200 whose body contains `expect`. For the load
 * generators; `close` ends the agent's sockets.
 */
export function jsonPoster(target: string, body: string, expect: string): { send: () => Promise<boolean>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(target);
  const send = () =>
    new Promise<boolean>((resolve, reject) => {
      const r = http.request(
        { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(res.statusCode === 200 && text.includes(expect)));
        },
      );
      r.on('error', reject);
      r.end(body);
    });
  return { send, close: () => agent.destroy() };
}
