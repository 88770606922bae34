/** Environments you can go back to (issue 20): capture what an attempt runs in, and its hashes. */
export {
  LOCKFILE_PATTERNS,
  captureEnvironment,
  droverVersion,
  gitState,
  isLockfile,
  lockfilesOf,
} from './capture.js';
export type { CaptureOptions } from './capture.js';
export { contentHash, envHash, lockfileHash } from './fingerprint.js';
