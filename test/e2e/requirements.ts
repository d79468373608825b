/**
 * What the end-to-end tests prove, as data: one id per behaviour, each with a
 * one-line statement. Every test in this folder cites the id it verifies through
 * `verifies`, and `requirements.test.ts` fails when a requirement has no test,
 * when a test cites an id missing here, or when a known gap has gained a test.
 */
export const REQUIREMENTS = Object.freeze({
  // approvals.test.ts
  'approvals:held-call-proceeds-once': 'A risky call is held until a person approves it through the API, then proceeds exactly once; the next identical call needs a new approval.',
  'approvals:bound-to-exact-call': 'An approval covers the exact call it was given for: the same tool with changed arguments needs its own approval.',
  'approvals:denial-denies-held-and-repeat': 'A denial denies the held call and the same call made afterwards.',
  'approvals:expiry-denies-held': 'A request that expires denies the call held for it.',
  'approvals:approver-checks': 'A decision on a request is refused for a wrong token, an approver outside the group, the requester approving itself, an unknown request or a missing reason, and each refusal is audited.',
  'approvals:webhook-signed': 'The approval webhook is signed with an HMAC of timestamp and body that the receiver can verify.',
  'approvals:webhook-retry-then-failed': 'A webhook endpoint that is down is retried, then marked failed, and the request stays pending.',
  'approvals:sdk-waits': 'The SDK waits for the approval and returns the allowed decision.',
  'approvals:task-complete-cancels': 'Completing a task cancels its pending request: it is no longer pending and can be neither approved nor denied.',
  'approvals:task-revoke-cancels': 'Revoking a task cancels its request and releases a call held for it, denied as revoked.',
  'approvals:task-ended-elsewhere-cancels': 'A request of a task that ended on another replica or past its expiry is cancelled when listed or decided.',
  'approvals:audited': 'Every step of an approval is audited: requested, notified, approved and consumed by the decision that used it.',

  // console-ops.test.ts
  'console:suspend-until-resumed': 'An operator suspends a task with a reason: every call is refused as `monitor.suspended` until the task is resumed, and both are recorded with who did them.',
  'console:tasks-page-filter-tree': '`GET /v1/tasks` pages newest first by cursor and filters by agent, principal, status, parent and purpose text, each task with its purpose and stored drift; `GET /v1/tasks/{id}/tree` nests a task\'s delegated tasks.',
  'console:agents-seen-and-busy': '`GET /v1/agents` pages agents by name, each with when it was last seen and how many live tasks it holds.',
  'console:approvals-history-pages': '`GET /v1/approvals` pages requests newest first by cursor, filtered by status and task; a request cancelled with its task says how the task ended.',
  'console:report-over-api': '`GET /v1/report` returns the compliance report over a window, counting the decisions the trail holds, as JSON or Markdown.',
  // console-sign-in.test.ts
  'console:sign-in': 'A person signs in to the console through the organisation\'s OpenID provider (authorization code, PKCE S256, state, nonce), returns to the console path they asked for, and `GET /console/api/session` gives their subject, name, e-mail, issuer, roles, CSRF token and expiry; the sign-in is recorded.',
  'console:cookie-attributes': 'The console session cookie is HttpOnly, SameSite=Strict, Path=/, and Secure except when the console is reached over plain http at a loopback address; the pre-login cookie is Lax, scoped to the callback and spent by it.',
  'console:sign-in-refused': 'A sign-in is refused, and recorded with why, for an answer whose state is not this browser\'s, a replayed code, another client\'s code and an id token with another sign-in\'s nonce; a callback without a sign-in in progress is refused unrecorded.',
  'console:no-role-refused': 'A person in no group that gives a console role is refused with a page naming the code, gets no session, and the refusal is recorded with their groups.',
  'console:roles-enforced': 'Console roles decide what a person may do: a viewer reads but cannot revoke (console.forbidden naming the role), an operator revokes a task and the record says `by: person:<subject>`; a request with a bearer token is judged by the token alone.',
  'console:csrf': 'An unsafe request with a console session is refused (console.csrf) without the session\'s CSRF token, with a wrong one, or from a foreign origin, sign-out included.',
  'console:approver-decides': 'A person with the approver role approves a step-up through the console as their e-mail with their provider groups, and the approved call goes through; a viewer reads requests but cannot decide them.',
  'console:logout-every-replica': 'A console session opened on one replica works on another sharing the store, and signing out on one ends it on both.',
  'console:not-configured': 'Without `console.oidc`, `/console/login` answers that sign-in is not configured (a page or the error body) and a session cookie grants nothing.',

  // cli-exit-codes.test.ts
  'cli:exit-by-code': 'A failed CLI command exits by the code of its error: 6 for a refused token, 7 for an unknown resource, 8 when the control plane cannot be reached, 2 for a bad request, and prints the code.',

  // console-live.test.ts
  'console:overview-counts': '`GET /v1/overview` counts agents, tasks, pending approvals and drift signals, and decisions by outcome over time and by refusal reason, as the trail holds them.',
  'console:stream-live-and-replicas': '`GET /v1/decisions/stream` sends each decision as it is stored, those of another replica on the same store included, filtered like `GET /v1/audit`, and resumes after `Last-Event-ID` without losing or repeating one.',
  'console:stream-bounded': 'Live decision streams beyond `console.maxStreams` on one replica are refused with 503 `request.too_many_streams`, and a closed stream frees its place.',
  'console:decision-detail': '`GET /v1/decisions/{id}` returns the decision record, the source text and line of the policies that decided it, and its task with the path of its trail.',
  'console:what-if-no-effect': '`POST /v1/what-if` answers what a real decision of the same call gives, for a task or a mandate given whole, and changes nothing: no decision recorded, no call counted, no approval opened, only `policy.what_if`.',

  // efficacy.test.ts
  'efficacy:corpus-valid': 'The efficacy corpus has at least 60 scenarios in at least four domains, every one valid, its mandate granted and its attacks placed after a step that exists.',
  'efficacy:representative-decide': 'Representative scenarios through the decision API: the legitimate task runs without a step-up, and each injected attack whose target is not the user\'s is denied.',
  'efficacy:representative-mcp': 'The same scenarios through the MCP gateway in front of real MCP servers reach the same decisions.',

  // observability.test.ts
  'observability:metrics': '`GET /metrics` needs the metrics or the admin token and serves the Prometheus text format: decisions counted by outcome and reason exactly as they were decided, their latency, approvals pending, revocations, the audit append lag, store reachability, and per upstream the latency and failures of forwarded calls.',
  'observability:traces': 'With a tracer provider, a gateway request is a server span continuing the caller\'s `traceparent`, with a `mandate.decide` child and an upstream client child, both carrying the task id and the decision; the upstream receives the trace context of its span.',
  'observability:logs': '`mandate serve` writes only JSON lines; each HTTP request logs one line with its request id (the caller\'s `x-request-id` when it is a plain token, else a new one, returned in `x-request-id`) and no URL; `log.level` decides what is written.',

  // plan-cli.test.ts
  'cli:plan-show': '`mandate plan show` prints the mandate a plan file or standard input gives without declaring it, and a bad plan exits 2 naming the field.',
  'cli:declare-from-plan': '`mandate task declare --from-plan` declares the mandate a plan gives: a stated recipient is allowed, another is denied by its argument constraint; --mandate with it, or neither, exits 2.',

  // provenance.test.ts
  'provenance:injected-target-denied': 'After reading an untrusted message that names an attacker address and IBAN, a send or payment to them is denied outright (policy.forbid), not stepped up.',
  'provenance:declared-target-after-untrusted': 'After an untrusted read, a send to a recipient the mandate declared is allowed.',
  'provenance:trusted-target-after-untrusted': 'After an untrusted read, a send or payment to a target seen in a trusted result (the user\'s contacts) is allowed.',
  'provenance:unseen-target-steps-up': 'After an untrusted read, a send to a recipient the task never saw waits for a person.',
  'provenance:counterparty': 'The author of untrusted content (the fields the catalog names, such as an e-mail\'s `from`) is a counterparty: an answer to them is allowed after an untrusted read, while the addresses in the content stay untrusted.',
  'provenance:tighten-contains-attack': 'By default, repeated refused calls tighten the task instead of suspending it: the user\'s declared and trusted work goes on, calls to untrusted or unseen targets are refused, and the signal\'s record names the decision that fired it.',
  'provenance:untrusted-fields': 'Fields of a trusted result that the catalog names as written by others (`untrustedFields`, such as an event description) count as untrusted content: a target found only there is refused, the rest of the result stays trusted, and the task is labelled untrusted.',
  'provenance:composed-url': 'After untrusted content, a URL target followed as it was written is `untrusted` (a read is allowed), while a URL the agent put together with data of its own (never seen whole, host not the user\'s) is `unseen` and a read of it is denied.',
  'provenance:purpose-values': 'Targets named in the mandate\'s purpose (the principal\'s request, stated before anything was read) are trusted from the task\'s start.',
  'monitor:trail-records-changes': 'Decision records carry the task\'s labels and tools called as what was added since the previous record of the task on that replica (`labelsAdded`, `toolsCalledAdded`), so a record does not grow with the task\'s history.',
  'provenance:bad-input-bounded': 'Bad input around provenance is bounded and never allows by accident: a reported result over the limit is refused with 413 request.too_large, binary and deeply nested content is accepted and scanned within bounds, and a call with deeply nested or huge list arguments is decided (denied when a target cannot be shown to be the user\'s).',
  'provenance:reported-values': 'Values reported by an enforcement point through POST /v1/tasks/{id}/results count as seen, with the trust of the result\'s labels, on every replica\'s next decision.',

  // txn-tokens.test.ts
  'provenance:txn-token-http': 'A REST upstream that takes transaction tokens receives, on each allowed request, a `Txn-Token` whose `txn` is the decision id and whose claims name the principal, the action, the purpose and the task; a token the agent sends is never passed on, and an API without the setting receives none.',
  'provenance:txn-token-mcp': 'An MCP upstream over Streamable HTTP receives a `Txn-Token` header on each allowed tools/call, resources/read and prompts/get, and a stdio upstream the token in the request\'s `_meta["mandate/txn-token"]`; each token names its own decision.',
  'provenance:mandate-document': 'A task\'s mandate is a signed document (`GET /v1/tasks/{id}/mandate`, `typ: mandate+jwt`): a service holding a transaction token of the task reads it, the agent reads its own, and the SDK\'s `verifyMandateDocument` checks it against the JWKS; another task\'s token or credential, a forged token and an altered document are refused.',
  'provenance:txn-token-verifier': 'A service using the SDK verifier against the control plane\'s JWKS refuses a call that did not pass through a decision: no token, a forged signature, an altered claim, or a token replayed from another upstream; tokens signed after a key rotation verify.',

  // config-print.test.ts
  'config:print:no-secret-values': '`mandate config print` shows no secret value anywhere, webhook secrets of approvals and monitor included.',
  'config:print:keeps-non-secrets': '`mandate config print` keeps what is not secret: secret references by name, URLs without credentials, durations and paths.',
  'config:print:secret-reference-named': 'A webhook secret given as a reference is printed as the name of the secret.',

  // demo.test.ts
  'demo:steps-match-script': 'Every scripted demo step gets the decision the script expects, through the SDK.',
  'demo:against-running': '`mandate demo --url` plays the scenario against a running control plane, whose trail then holds each decision.',
  'demo:json-output': '`mandate demo --json` prints one object per step and exits 0.',

  // report.test.ts
  'report:demo-counts': '`mandate report` on the demo scenario\'s store exits 0 and counts exactly what the script did (decisions by outcome and reason, grants, approvals, drift signals, revocations), with each control\'s status; its JSON has the documented shape.',
  'report:gaps': '`mandate report` names the gaps the demo configuration and trail hold: the high-risk tool stepped up only after untrusted content, the long task lifetime allowed, alerts nobody receives, no delegation depth limit, and each task whose mandate lacks detail.',

  // http-proxy.test.ts
  'gateway:http:auth-required': 'The HTTP proxy answers a missing or forged credential with 401 and a Bearer challenge, and forwards nothing.',
  'gateway:http:allow-forwards-and-audits': 'An allowed request returns the upstream\'s real body, and its result is audited without header values or bodies.',
  'gateway:http:deny-before-upstream': 'An HTTP action outside the mandate is denied before the upstream sees the request.',
  'gateway:http:argument-constraints': 'Argument constraints hold on path parameters and on JSON body fields.',
  'gateway:http:body-handling': 'Invalid JSON bodies are refused; other content types are forwarded as received.',
  'gateway:http:unmapped-route-denied': 'An unmapped route is denied with 404 gateway.route_unmapped, audited, and never reaches the upstream.',
  'gateway:http:no-path-traversal': 'Path traversal never reaches the upstream, however it is spelled.',
  'gateway:http:step-up-holds': 'A call that needs a person is answered 403 with outcome step_up and is not forwarded.',
  'gateway:http:header-brokering': 'The agent\'s Authorization header is not forwarded; the configured upstream headers are, and their use is audited.',
  'gateway:http:streaming': 'A streaming response reaches the agent chunk by chunk, before the upstream has finished.',
  'gateway:http:result-size-limit': 'limits.maxResultBytes cuts a large response off, or refuses it when its length is declared.',
  'gateway:http:explicit-routes': 'Explicit routes work like OpenAPI operations, under the base URL\'s path.',
  'gateway:http:upstream-timeout': 'An HTTP upstream that does not answer in time gives 504 gateway.upstream_timeout, and the gateway keeps serving.',
  'gateway:http:upstream-error': 'An HTTP upstream that refuses connections or does not speak HTTP gives 502 gateway.upstream_error.',
  'gateway:http:revocation-next-request': 'A revoked task is refused by the HTTP proxy on its very next request.',
  'gateway:http:outside-openapi': 'The proxy routes are not part of the /v1 OpenAPI document.',
  'gateway:http:config-validation': 'A broken OpenAPI document stops start-up naming the file; route clashes and header values are checked.',

  // mcp-gateway.test.ts
  'gateway:mcp:auth-required': 'The MCP gateway answers a missing credential with 401 pointing at the protected-resource metadata (RFC 9728).',
  'gateway:mcp:list-filtered-by-mandate': 'tools/list shows only the tools the mandate declares.',
  'gateway:mcp:allow-forwards-and-audits': 'An allowed call reaches the upstream, returns its real result, and the result is audited.',
  'gateway:mcp:deny-before-upstream': 'A denied MCP call never reaches the upstream, and the error names the reason code.',
  'gateway:mcp:result-size-limit': 'A result larger than limits.maxResultBytes is withheld from the agent.',
  'gateway:mcp:revocation-next-request': 'A task revoked mid-session is refused on its very next MCP request.',
  'gateway:mcp:session-bound-to-task': 'An MCP session belongs to the task that opened it and cannot be used by another.',
  'gateway:mcp:upstream-timeout': 'An upstream that hangs times out with a clear error, and the gateway keeps serving.',
  'gateway:mcp:upstream-crash-restart': 'An upstream that crashes is restarted on a later call, and other upstreams are untouched.',
  'gateway:mcp:upstream-garbage-and-idle': 'An upstream that answers garbage yields a clear error; an idle stdio upstream stops and starts again on demand.',
  'gateway:mcp:stdio-protocol-error': 'A stdio upstream that writes something other than JSON-RPC fails the call at once as a protocol error, not a timeout.',
  'gateway:mcp:resources-prompts-decided': 'resources/read and prompts/get are decided like tool calls, with the URI and prompt name as arguments.',
  'gateway:mcp:protocol-errors': 'Malformed JSON-RPC and unknown methods get audited protocol errors, not crashes.',
  'gateway:mcp:oauth-honest': 'Without a credential, the 401 says how to get a task credential; the protected-resource metadata claims no authorization server, and OAuth endpoints a client may try answer with an OAuth error that says the same, so an OAuth-aware client ends with that message, not a bare 404.',
  'gateway:mcp:relay-progress': 'Progress notifications an upstream sends during a call reach the agent that asked for them, as many as on a direct connection (stdio and Streamable HTTP upstreams).',
  'gateway:mcp:relay-client-requests': 'Sampling and elicitation requests an upstream makes during a call are decided as `<upstream>.sampling` / `.elicitation`: relayed to the agent when allowed, refused to the upstream when not.',
  'gateway:mcp:relay-cancel': 'A call the agent cancels is cancelled upstream, gets no answer, and is recorded as `gateway.cancelled`.',
  'gateway:mcp:upstream-restart': 'After an HTTP upstream restarts and forgets the gateway\'s session, the next request opens a new session and is sent again: lists come back whole and calls succeed at once.',
  'gateway:mcp:completion-and-subscriptions': '`completion/complete` is answered by the upstream that has the prompt or resource, decided like getting or reading it; `resources/subscribe` is decided like a read, and the upstream\'s updates reach the sessions subscribed to that resource.',
  'gateway:mcp:sdk-v2-client': 'A client on the v2 TypeScript SDK (`@modelcontextprotocol/client`) negotiates, lists, calls, receives progress and reads refusals through the gateway.',
  'gateway:mcp:stateless': 'A client of MCP 2026-07-28 (no initialize, no session; version and capabilities in each request) discovers the gateway, lists, calls, receives progress and reads resources, prompts and refusals through it.',
  'gateway:mcp:transport-checks': 'The MCP gateway refuses a browser Origin it does not trust (403, DNS rebinding), a method the transport lacks (405 with Allow), an unsupported MCP-Protocol-Version (400), a body that is not JSON (-32700), one that is not application/json (415), and `Mcp-Method` / `Mcp-Name` headers that disagree with the body (400).',
  'gateway:mcp:exposed-names': 'Agents see upstream tools and prompts under names every model provider accepts (`<upstream>_<tool>` by default; prefix and separator configurable, or the upstream\'s own names), and call them by those names; decisions, mandates and the trail keep `<upstream>.<tool>`.',
  'gateway:mcp:session-cap': 'A task holds at most 16 MCP sessions; opening another closes the oldest.',

  // inspector-cli.test.ts
  'gateway:mcp:inspector-cli': 'The MCP Inspector\'s CLI (`@modelcontextprotocol/inspector --cli`) gets the same answers through the gateway as straight from the everything server, over stdio and Streamable HTTP upstreams: tools, a call, resources, templates, prompts and the log level, apart from what the gateway documents it changes (exposed names, `_meta["mandate/tool"]` and `_meta["mandate/decision"]`, undeclared tools hidden); a refused call is a tool error the CLI prints.',

  // params.test.ts
  'gateway:mcp:params-from-input-schema': 'At grant time, the constraints on a tool of an MCP upstream whose configuration states no `params` are checked against the `inputSchema` the upstream lists: an argument the tool lacks, or a constraint of the wrong type, is refused naming the argument; a valid mandate is granted; stated `params` win over the schema.',
  'gateway:mcp:params-upstream-unreachable': 'When the upstream cannot list its tools within its timeout (down, hanging) or does not list the tool, a mandate constraining that tool is refused as `mandate.params_unavailable` naming the tool, while the same tool without constraints is granted.',
  'gateway:mcp:params-follow-list-changed': 'Parameters learned from an upstream follow its tool list: after `notifications/tools/list_changed` a tool it added is checked against its new schema.',

  // monitor.test.ts
  'monitor:flow:confidential-egress-denied': 'After a task reads confidential data, sending out is denied with the flow reason; a declared flow is allowed.',
  'monitor:flow:untrusted-send-step-up': 'After a task reads untrusted content, a send needs a person.',
  'monitor:flow:reported-results': 'Results reported by an enforcement point without the gateway carry labels the same way.',
  'monitor:flow:registered-tool': 'A tool registered through the API and never proxied is known to decide, and its labels flow through reported results.',
  'monitor:alert-webhook-signed': 'An alert response is posted, signed, to the monitor webhook.',
  'monitor:flow:labels-by-resource': 'A rule on an argument labels the resource a call touched.',
  'monitor:drift:suspend-until-resumed': 'Repeated undeclared calls suspend the task until a person resumes it.',
  'monitor:drift:forbidden-secret-revokes-tree': 'Reaching for a forbidden secret revokes the task and its children at once.',
  'monitor:drift:step-up': 'After the configured drift signal, high-risk calls need a person even where policy allows them.',

  // readme-walkthrough.test.ts
  'docs:readme-walkthrough': 'The README walkthrough runs as written and shows each decision it promises.',

  // replicas.test.ts
  'replicas:revocation-pushed': 'A task granted on one replica is decided on another, and revoked on the first it is refused on the second at once.',
  'replicas:revocation-catch-up': 'With a replica\'s notification connection killed, the catch-up read still revokes within its interval.',
  'replicas:exact-limits': 'Exact limits such as maxCalls hold across replicas, counted in the store.',
  'replicas:policy-pushed': 'A policy set pushed on one replica is served by another on its next decision, under the same version.',
  'replicas:audit-segments-verify': 'Each replica writes its own audit segment, and every chain verifies.',
  'replicas:suspension-pushed': 'A task an operator suspends on one replica is refused on another at once, and allowed there again once resumed.',
  'connect:stdio-relays': '`mandate connect --stdio` lets a client that speaks stdio only use the gateway: it attests, declares the mandate from a file, relays every message, and completes the task when the client leaves.',
  'connect:stdio-renews': '`mandate connect --stdio` declares the mandate again before the credential expires, opens a gateway session for the new task without the client noticing, and completes the old task.',
  'obligations:redact-output-schema': 'A tool whose results a loaded `@redact` permit may mask is listed without its `outputSchema`, so a client does not reject a redacted structured result.',
  'audit:witnessed-checkpoints': 'Every N events or T seconds the trail gets a checkpoint (head, Merkle root of the interval) signed with the trust domain\'s key, recorded in the chain and appended to a witness file outside the store; an untouched trail verifies against it, fully or incrementally from the last witnessed checkpoint.',
  'audit:load-exactly-once': '20,000 decisions pushed through the API are each in the trail exactly once, and the trail verifies against its witness.',
  'audit:tamper-truncated': 'Deleting the newest events is caught by the witness, naming the seqs missing.',
  'audit:tamper-emptied': 'Deleting every event is caught: an empty trail never verifies, and the witness says what it held.',
  'audit:tamper-rechained': 'An event edited (deny to allow) with the chain recomputed after it is caught by the witnessed Merkle root of its interval.',
  'audit:tamper-restart': 'A server started on a trail cut below its last witnessed checkpoint does not continue it: it starts a new, linked segment and records why.',
  'audit:tamper-witness': 'A witness line edited (bad signature) or a witness emptied (checkpoints in the store it does not hold) is caught; `mandate audit verify` exits 5 naming it.',
  'workers:serve': '`mandate serve --workers N` runs N processes on one port and one store file; each writes its own audit segment, and every chain verifies.',
  'workers:revocation': 'A revocation answered by one worker is in force on every worker on the very next call.',
  'workers:exact-limits': 'Exact limits such as maxCalls hold across workers on one store file.',
  'workers:policy-pushed': 'A policy set pushed through one worker is served by every worker, under the same version.',
  'workers:mcp-session': 'An MCP session opened on one worker is taken up by any other; closed on one, it is closed on all.',
  'workers:mcp-relay': 'An agent\'s answer to a request relayed during a call (sampling) reaches the worker waiting for it, whichever worker its connection lands on.',
  'workers:restart': 'A worker that dies is started again, and the instance keeps answering.',
  'store:outage:deny-after-bound': 'When the store is out of reach, decisions are denied with store.unreachable once the bound has passed.',

  // audit-trail.test.ts
  'audit:query': '`GET /v1/audit` finds events by agent, principal, task, outcome, reason, tool, type and time, newest or oldest first, and pages through them with an opaque cursor that never skips or repeats an event, even as new events arrive; a cursor of another search is refused.',
  'audit:task-trail': '`GET /v1/tasks/{id}/trail` gives a task\'s purpose, then each call with its decision and its result, and its delegated tasks\' steps, in the order they were recorded.',
  'audit:export-jsonl': '`mandate audit export` writes the events matching its filters as JSON lines exactly as stored; `mandate audit verify --file` recomputes their chains (ok), and names the seq of a line edited afterwards (exit 5).',
  'audit:export-ocsf': '`mandate audit export --format ocsf` writes each event as an OCSF 1.8.0 event of its class (API Activity for calls, results and approvals, IAM classes for identity and tasks), which still carries the event as stored.',
  // audit-records.test.ts
  'audit:records-self-contained': 'A decision record carries the task\'s principal, parent task, delegation depth and declared purpose, the action (the tool\'s kind), the reason\'s code and message, the argument names and hash, the provenance of its targets, the trace id of the caller\'s `traceparent` and its own duration; a reported result carries the trace id and the duration the reporter measured.',
  'audit:records-arguments': 'With `audit.arguments: values` a decision record carries the arguments, every secret-named field and every credential value masked, and arguments over 16 KiB omitted; by default no argument value is recorded anywhere.',
  'audit:records-actor': 'Every admin action records who asked (`by`): registering an agent or an approver, a join token, a secret, a revocation; a task completed by its own credential names the task.',
  'audit:refused-credential-in-trail': 'A call refused because its genuine credential was revoked or presented without its holder\'s proof is recorded in that task\'s trail, through the API and both gateways; a forged credential names no task.',
  'audit:records-refusals': 'A mandate refused whole (it does not parse, its parent does not exist), a deregistered agent\'s attestation and a failed SVID renewal are each recorded.',
  // delegation.test.ts
  'delegation:token-exchange': '`POST /v1/token` (RFC 8693) exchanges a task credential for a narrower child credential of another agent: the credential is the actor\'s, carries the person it acts for and the chain as nested `act` claims, newest first; each hop\'s calls are decided within its own mandate and recorded with the whole chain; revoking the root ends every descendant, and a revoked parent cannot delegate.',
  'delegation:actor-only': 'A delegated credential works only with the SVID of the agent it was issued to (`Mandate-SVID`): without it, with the delegating agent\'s own SVID or a forged one, a decision, a further delegation and a result report are refused as `credential.holder_unproven`.',
  'delegation:widening-refused': 'A child mandate wider than its parent (a tool, a data class) is refused as `invalid_scope`, naming each refused item.',
  'delegation:gated': 'Delegation needs a `delegate` permit for the pair (refused as `unauthorized_client`), an actor that exists (`invalid_target`), and stays within the depth policies allow and `delegation.maxChildren` live children; every refusal is recorded.',
  'delegation:policy-context': 'Policies read a delegated task\'s place in its chain: `context.delegation.depth` and `context.delegation.chain` (the SPIFFE ids of the agents that delegated to it) decide its calls and its own `delegate`.',
  'delegation:bad-requests': 'A token request that is not a well-formed token exchange (grant type, missing or wrong subject token, an actor token, a mandate that is not JSON or names another parent) is refused with its RFC 6749 error and Mandate\'s reason code; JSON bodies work as well as forms.',
  // delegation-chain.test.ts
  'delegation:chain-on-behalf': 'A person\'s id token from a local OpenID provider (keys discovered over HTTP) is exchanged for a task on her behalf (an agent\'s word alone is refused, and so is a token for another audience); orchestrator → researcher → writer each get a narrower, DPoP- or SVID-bound task, a widening hop is refused, each agent calls the real filesystem server through the MCP gateway within its own mandate, the trail shows person → agents → call, a stolen credential is useless without its key, and revoking the person ends the whole chain.',
  // dpop.test.ts
  'dpop:bound-credentials': 'An agent that attests with a DPoP proof (the SDK with `dpop: true`) gets an SVID and task credentials bound to its key (`cnf.jkt`); every decision, result report and completion then needs a fresh proof of that key, so a copied credential without the key, or with a proof signed by another key, is refused.',
  'dpop:proof-checks': 'A DPoP proof is refused when replayed, made for another method or URL, dated outside the window either way, or bound to another token (`ath`); a bound SVID declares a task only with a proof; each refusal is a recorded decision with its code.',
  'dpop:delegation': 'A task delegated by token exchange to an agent that attested with a key is bound to that key (and the delegating agent cannot use it); to an agent without one, to its SVID.',
  // audit-sink.test.ts
  'audit:sink': 'With `audit.sink`, every event reaches a webhook that fails some requests, at least once and in order per segment, and a file that verifies; after a restart, delivery resumes from the cursor kept in the store.',

  // revocation-race.test.ts
  'revocation:linearizable': 'Once the revoke call has returned, no decision answered after it allows the task.',
  'revocation:ended-in-store-refused-as-revoked': 'A task ended in the store that this replica has not heard of yet is refused as revoked, not as a used-up limit.',

  // sdk.test.ts
  'sdk:lifecycle': 'The SDK runs attest, declare, authorize, guard and complete against a real control plane.',
  'sdk:mandate-refusal-detail': 'A refused mandate surfaces its code and the refused items through the SDK.',
  'sdk:svid-renewal': 'The SDK renews its SVID before it expires, and a join token cannot be used again.',
  'sdk:declare-from-plan': 'The SDK declares the mandate a plan gives: a value the user stated is allowed (declared, even after an untrusted read), any other value is denied by its argument constraint, and a bad plan is refused with the field named.',
  'sdk:gateway-fetch-abort': 'A task\'s gateway fetch sends the credential and a fresh proof, and an abort of a long response reaches its socket even after a garbage collection (an MCP client closing its stream lets the process exit).',
  'sdk:oidc-attestation': 'The SDK attests through OIDC and re-attests from the token source when its SVID has expired.',

  // secret-brokering.test.ts
  'secrets:delivered-to-upstream': 'A brokered secret reaches the upstream, which proves it with a fingerprint.',
  'secrets:minimal-upstream-env': 'A stdio upstream gets a minimal environment plus its configuration, not the gateway environment.',
  'secrets:never-exposed': 'A brokered secret is absent from everything the agent saw, the logs, the audit trail and the store file.',
  'obligations:redact-before-agent': 'A redact obligation masks fields before the agent sees the result, and labels reach the audit trail.',

  // serve-key-file.test.ts
  'serve:memory:no-files-at-start': '`mandate serve` on an in-memory store writes nothing into the working folder at start-up.',
  'serve:memory:key-file-on-first-secret': 'The first stored secret creates the key file with mode 0600, and later secrets reuse it.',

  // store-faults.test.ts
  'store:pg:backend-termination-recovers': 'Terminating the replica\'s own PostgreSQL backends never kills it: decisions recover and LISTEN is re-established.',
  'store:outage:answer-within-bound': 'With the store black-holed every call is still answered, denied store.unreachable, and the spool is replayed in order and verifies.',
  'store:pg:failover-survives': 'When every connection is reset at once, as in a failover, the replica survives and allows again.',
  'store:crash:trail-complete': 'After kill -9 under load every answered decision is in the audit trail, and the chain verifies.',
  'store:sqlite:disk-full': 'On a full disk decisions are denied store.unreachable, nothing is lost, and everything is replayed once space is back.',
  'store:sqlite:locked': 'A SQLite database locked by another process is refused fast, then allowed once the lock is gone.',
} as const);

export type RequirementId = keyof typeof REQUIREMENTS;

/** A requirement without a test yet, and why. */
export interface KnownGap {
  readonly id: RequirementId;
  readonly reason: string;
}

/**
 * Requirements allowed to have no test. A listed id that a test starts citing
 * fails the coverage test, so this list only shrinks.
 */
export const KNOWN_GAPS: readonly KnownGap[] = Object.freeze([]);
