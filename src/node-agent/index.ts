/**
 * The node agent's public surface: the composition root that runs an agent, and the log server
 * (exported on its own for farms that run the API and agents in one process, as tests do). The
 * supervisor is the agent's internal; the benchmark stand-in lives under `bench/`.
 */
export { runAgent, startAgent } from './main.js';
export type { Agent, AgentMainOptions, AgentOptions, StopMode } from './main.js';
export { answerLogRequest, serveLogs, MAX_LOG_REPLY_BYTES } from './log-server.service.js';
export { createAgentMetrics } from './agent-metrics.js';
export type { AgentMetrics, AgentMetricsFamily } from './agent-metrics.js';
export { parseMeminfo, parseVmstat, swapRates, vmstatSwap } from './node-stats.js';
export type { Meminfo, NodeStats, VmstatSwap } from './node-stats.js';
export { procSources, startNodeSampler } from './node-sampler.service.js';
export type { NodeSampler, NodeSources } from './node-sampler.service.js';
export {
  LOCKFILE_PATTERNS,
  captureEnvironment,
  commonDirOf,
  createEnvironmentCache,
  droverVersion,
  envHash,
  gitDirOfFile,
  headRef,
  lockfileHash,
  repositoryKeyFiles,
  stampKey,
  trackedPaths,
} from './environment/index.js';
export type {
  CaptureOptions,
  EnvironmentCache,
  FileStamp,
  GitLayout,
} from './environment/index.js';
