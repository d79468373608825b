import { fork } from 'node:child_process';

/**
 * Runs a load generator in its own process and returns what it reports, once the
 * process has ended (so nothing of it runs on into what comes next). A separate
 * process, not a worker thread: the client must not share the server's heap,
 * event loop or V8 isolate group with the code it measures.
 */
export function runInChild<Req, Res>(file: URL, request: Req, execArgv: string[] = []): Promise<Res> {
  return new Promise((resolve, reject) => {
    const child = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    let answer: { result?: Res; error?: string } | undefined;
    child.once('message', (m: { result?: Res; error?: string }) => {
      answer = m;
      child.kill();
    });
    child.once('exit', (code) => {
      if (answer?.result !== undefined) resolve(answer.result);
      else if (answer) reject(new Error(`load generator failed: ${answer.error}`));
      else reject(new Error(`load generator exited with code ${code}`));
    });
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
