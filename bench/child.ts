import { fork } from 'node:child_process';

/**
 * Runs a load generator in its own process and returns what it reports. A
 * separate process, not a worker thread: the client must not share the
 * server's heap, event loop or V8 isolate group with the code it measures.
 */
export function runInChild<Req, Res>(file: URL, request: Req, execArgv: string[] = []): Promise<Res> {
  return new Promise((resolve, reject) => {
    const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    child.once('message', (m: { result?: Res; error?: string }) => {
      child.kill();
      if (m.result !== undefined) resolve(m.result);
      else reject(new Error(`load generator failed: ${m.error}`));
    });
    child.once('exit', (code) => reject(new Error(`load generator exited with code ${code}`)));
    child.send(request as object);
  });
}

/** The child side: receive the request, run, report once. */
export function serveInChild<Req, Res>(run: (req: Req) => Promise<Res>): void {
  if (!process.send) return;
  process.once('message', (request: Req) => {
    run(request).then(
      (result) => process.send!({ result }),
      (err: unknown) => process.send!({ error: String(err) }),
    );
  });
}
