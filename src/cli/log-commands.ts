import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import {
  ErrorCodes,
  SchedulerError,
  compactLog,
  verifyEventLog,
  type CompactionReport,
  type LogVerification,
} from '../events/index.js';
import { failWith } from './api-cli.js';
import { backupFarm, restoreFarm, type BackupSummary } from './backup.js';
import { connectNats, env, readerInbox } from './connection.js';
import { ExitCodes } from './exit-codes.js';

/**
 * Register `verify` (is the log whole?), `compact` (move done job trees to the archive),
 * `backup FILE` and `restore FILE`. They talk to the
 * streams directly (read-only for `verify` and `backup`: no stream is created or updated), print
 * one JSON document with `--json`, and fail with the contract's error line and exit codes.
 * `verify` exits 1 when the log is not whole.
 */
export function registerLogCommands(program: Command): void {
  program
    .command('verify')
    .description(
      'walk the event log: report holes, broken chains, duplicate events, undecodable messages',
    )
    .option('--json', 'print one JSON document')
    .action(async (o: { json?: boolean }) => {
      const report = await withNats(o.json === true, (nc) => verifyEventLog(nc));
      if (o.json) console.log(JSON.stringify(report));
      else console.log(describeVerification(report));
      process.exitCode = report.whole ? 0 : ExitCodes.Failure;
    });
  program
    .command('compact')
    .description(
      'move job trees done for longer than the retention to the archive stream (DROVER_ARCHIVE)',
    )
    .option('--older-than <duration>', 'retention: 30d, 12h, 90m, 3600s', '30d')
    .option('--dry-run', 'say what would move, move nothing')
    .option('--json', 'print one JSON document')
    .action(async (o: { olderThan: string; dryRun?: boolean; json?: boolean }) => {
      const json = o.json === true;
      const replicas = Number(process.env.DROVER_REPLICAS ?? 1) || 1;
      const report = await withNats(json, async (nc) =>
        compactLog(nc, {
          olderThanMs: parseRetentionMs(o.olderThan),
          now: Date.now(),
          dryRun: o.dryRun === true,
          replicas,
        }),
      );
      console.log(json ? JSON.stringify(report) : describeCompaction(report));
    });
  program
    .command('backup')
    .description('write the event log, intake, lease epoch and projection checkpoints to FILE')
    .argument('<file>', 'the backup file to create (refused when it exists)')
    .option('--json', 'print one JSON document')
    .action(async (file: string, o: { json?: boolean }) => {
      const out = await withNats(o.json === true, (nc) => backupFarm(nc, file));
      print(out, o.json === true, 'backed up');
    });
  program
    .command('restore')
    .description('restore a backup into a farm with no events, at the original sequences')
    .argument('<file>', 'a file written by drover backup')
    .option('--json', 'print one JSON document')
    .action(async (file: string, o: { json?: boolean }) => {
      const replicas = Number(process.env.DROVER_REPLICAS ?? 1) || 1;
      const out = await withNats(o.json === true, (nc) => restoreFarm(nc, file, { replicas }));
      print(out, o.json === true, 'restored');
    });
}

async function withNats<T>(json: boolean, body: (nc: NatsConnection) => Promise<T>): Promise<T> {
  let nc: NatsConnection | undefined;
  let result: T;
  try {
    nc = await connectNats(env.natsUrl, readerInbox());
    result = await body(nc);
  } catch (err) {
    await nc?.close().catch(() => undefined);
    return failWith(err, json);
  }
  await nc.close().catch(() => undefined);
  return result;
}

function print(s: BackupSummary, json: boolean, verb: string): void {
  if (json) return console.log(JSON.stringify(s));
  const streams = Object.entries(s.streams)
    .map(([name, r]) => `${name} ${r.messages} messages (seq ${r.firstSeq}..${r.lastSeq})`)
    .join(', ');
  const kv = Object.entries(s.kv)
    .map(([b, n]) => `${b} ${n} keys`)
    .join(', ');
  const epoch = s.leaseEpoch !== undefined ? `, lease epoch ${s.leaseEpoch}` : '';
  console.log(`${verb} ${s.file}: ${streams}${kv ? `, ${kv}` : ''}${epoch}; sha256 ${s.sha256}`);
}

/** `--older-than`: `30d`, `12h`, `90m`, `3600s` (or plain seconds) as ms; bad input names the flag. */
export function parseRetentionMs(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) {
    throw new SchedulerError(
      ErrorCodes.BadInput,
      `--older-than ${text}: expected a duration like 30d, 12h, 90m or 3600s`,
    );
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'];
  return Number(m[1]) * unit * 1000;
}

/** The human report of `drover compact`. Pure. */
export function describeCompaction(r: CompactionReport): string {
  const what = `${r.roots} job trees (${r.jobs} jobs, ${r.subjects} entities, ${r.messages} events) done before ${r.cutoff}`;
  const scanned = `scanned ${r.scanned.messages} live events up to seq ${r.scanned.lastSeq} in ${r.elapsedMs} ms`;
  if (r.dryRun) return `would move ${what}; ${scanned}`;
  if (!r.run) return `nothing to move (${what}); ${scanned}`;
  return `moved ${what} to DROVER_ARCHIVE seq ${r.run.fromSeq}..${r.run.toSeq}; ${scanned}`;
}

/** The human report of `drover verify`. Pure. */
export function describeVerification(r: LogVerification): string {
  const lines = [
    `${r.stream}: ${r.messages} messages, seq ${r.firstSeq}..${r.lastSeq}, ${r.subjects} entities, ${r.unchained} unchained; ${r.elapsedMs} ms`,
  ];
  for (const h of r.holes) {
    const range = h.fromSeq === h.toSeq ? `seq ${h.fromSeq}` : `seq ${h.fromSeq}..${h.toSeq}`;
    const who = h.subjects.length ? h.subjects.join(', ') : 'entity unknown';
    lines.push(`hole: ${range} missing (${who})`);
  }
  for (const b of r.breaks)
    lines.push(`broken chain: ${b.subject} seq ${b.seq} follows ${b.prev}, found ${b.found}`);
  for (const d of r.duplicates)
    lines.push(`duplicate: event ${d.id} at seq ${d.firstSeq} and ${d.seq} (${d.subject})`);
  for (const u of r.undecodable)
    lines.push(`undecodable: seq ${u.seq} on ${u.subject}: ${u.message}`);
  const more = Object.entries(r.truncated).filter(([, n]) => n > 0);
  if (more.length) lines.push(`(not listed: ${more.map(([k, n]) => `${n} ${k}`).join(', ')})`);
  lines.push(
    r.whole
      ? 'the log is whole'
      : `the log is NOT whole: ${r.holes.length} holes, ${r.breaks.length} broken chains, ${r.duplicates.length} duplicates, ${r.undecodable.length} undecodable`,
  );
  return lines.join('\n');
}
