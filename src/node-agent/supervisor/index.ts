/**
 * The node agent's process supervisor: runs one attempt per process group under a tiny `sh`
 * wrapper, samples its tree through /proc, enforces memory and time limits, tails the report
 * file and classifies how it ended (POLICY.md failure causes). No NATS here: the agent service
 * turns what this reports into events.
 */
export { failedLaunch, findRunLeader, launch, readopt } from './launch.js';
export { launchAttached } from './attached.js';
export type { AttachedIo, AttachedLaunch, Attachment, OutputStream } from './attached.js';
export { readExitStatus } from './supervisor.js';
export { procWalks } from './proc-reader.js';
export { classifyExit, outcomeMessage } from './exit.js';
export type { ExitFacts, MessageFacts } from './exit.js';
export { readLog, trimLogFile, DEFAULT_LOG_CAP_BYTES } from './logs.js';
export { parseReportChunk, parseReportLine, MAX_REPORT_LINE } from './report.js';
export type { ReportParse } from './report.js';
export { cgroupSupport } from './cgroup.js';
export { WRAPPER_SCRIPT } from './wrapper.js';
export type {
  AdoptionRecord,
  DroverAction,
  KillReason,
  LaunchSpec,
  ProcessOutcome,
  ProtocolError,
  Report,
  Supervised,
  SupervisorHooks,
  SupervisorOptions,
  UsageSample,
} from './types.js';
