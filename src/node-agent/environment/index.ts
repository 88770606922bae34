/** Environments you can go back to (issue 20): capture what an attempt runs in, and its hashes. */
export {
  LOCKFILE_PATTERNS,
  captureEnvironment,
  droverVersion,
  gitState,
  isLockfile,
  lockfilesOf,
} from './capture.js';
export type { CaptureOptions, CaptureParts, GitFacts, LockfileMemo } from './capture.js';
export { createEnvironmentCache, findGitLayout } from './cached-capture.js';
export type { EnvironmentCache, EnvironmentCacheOptions } from './cached-capture.js';
export {
  commonDirOf,
  gitDirOfFile,
  headRef,
  repositoryKeyFiles,
  stampKey,
  trackedPaths,
} from './cache-key.js';
export type { FileStamp, GitLayout } from './cache-key.js';
export { contentHash, envHash, lockfileHash } from './fingerprint.js';
