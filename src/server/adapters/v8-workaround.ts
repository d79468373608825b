import { setFlagsFromString } from 'node:v8';

// Node 20's V8 can abort the whole process ("Fatal error … unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) when optimized code that inlined a
// JS-to-Wasm call into cedar-wasm deoptimizes. It reproduced here every time under
// the decision benchmark (in-process loop, then HTTP load). Not inlining those
// calls costs a few microseconds per decision; a crash of the decision point costs
// every agent its access. Set before any cedar call can be optimized.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
