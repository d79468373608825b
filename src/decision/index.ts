export * from './model.js';
export { account, authenticate, CredentialRefusal, decide, refusedTaskOf, decideCall, kernelOver, whatIf, type DecisionPorts, type Kernel, type ResultReport, type WhatIfOptions } from './decide.js';
export { evaluate, type Call, type CallerContext, type Effect, type Evaluation, type EvaluationEnv, type TaskContext, type TaskSnapshot } from './evaluate.js';
export { RateWindow } from './rate-window.js';
export { TXN_TOKEN_TYP, txnTokenClaims, txnTokenIssuer, txnTokenRequester, type TxnChainLink, type TxnRequestContext, type TxnTokenClaims, type TxnTokenRequest, type TxnTransactionContext } from './transaction-token.js';
