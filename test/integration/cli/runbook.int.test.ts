import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../../src/actors/index.js';
import { startApiFarm, type ApiFarm } from '../../support/api-farm.js';
import { cliSession, type CliSession } from '../../support/cli-session.js';
import { ptyDrover } from '../../support/pty-drover.js';

interface AuditRow {
  type: string;
  by: { kind: string; id: string };
  data: Record<string, unknown>;
}

/**
 * Issue 20 point 1: runbooks as an operator runs them, on a real farm (nats-server, scheduler,
 * agents running real processes, the API), through a real pseudo-terminal answering the
 * questions as a person would.
 */
describe('drover runbook (real farm, CLI on a pty)', () => {
  let farm: ApiFarm;
  let session: CliSession;
  const env = { DROVER_USER: 'ada' };
  const cli = (...args: string[]) => session.run(args, env);
  const audit = async (id: string) => {
    const r = await cli('audit', id, '--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as AuditRow[];
  };
  const runIdOf = (screen: string) => /runbook run (rb-[0-9a-f]+)/.exec(screen)?.[1] ?? '';
  const nodeState = async (node: string) => {
    const { events } = await farm.log.read('node', node);
    return events.at(-1)?.type;
  };

  beforeAll(async () => {
    farm = await startApiFarm({ agents: 2 });
    session = cliSession(farm.server.url);
  }, 60_000);
  afterAll(async () => {
    await session?.stop();
    await farm?.stop();
  }, 60_000);

  it('clears a simulation end to end: cancel the tree, wait until stopped, show, clear', async () => {
    const parent = await farm.submit({ name: 'sim', user: 'ada', command: ['sleep', '120'] });
    const child = await farm.submit({
      name: 'sim-part',
      user: 'ada',
      command: ['sleep', '120'],
      parent,
    });
    await farm.waitFor(parent, ['running']);
    await farm.waitFor(child, ['running']);

    const t = ptyDrover(
      farm.server.url,
      ['runbook', 'run', 'clear-simulation', '--arg', `job=${parent}`],
      env,
    );
    await t.waitFor(new RegExp(`cancel ${parent}\\?`));
    // What the cancel will touch was shown before the question: both jobs and their processes.
    expect(t.screen()).toContain(`${child} running`);
    expect(t.screen()).toMatch(/processes \(2\)/);
    t.type('y\r');
    await t.waitFor(new RegExp(`clear ${parent}\\?`));
    // Asked only once every process is confirmed stopped: the tree is cancelled by then.
    expect(stateName(await farm.job(child))).toBe('cancelled');
    expect(t.screen()).toMatch(/clears the results of:/);
    t.type('y\r');
    expect(await t.exited, t.screen()).toBe(0);
    expect(t.screen()).toMatch(/: succeeded/);
    const job = await farm.job(parent);
    expect(stateName(job)).toBe('cancelled');
    expect(job.context.resultsCleared).toBe(true);

    const rows = await audit(runIdOf(t.screen()));
    const answers = rows.filter((r) => r.type === 'runbook.answered');
    expect(answers.map((a) => [a.by.id, a.data.id, a.data.value, a.data.how])).toEqual([
      ['ada', 'cancel', true, 'terminal'],
      ['ada', 'cleared', true, 'terminal'],
    ]);
    expect(
      rows.filter((r) => r.type === 'runbook.acted').map((r) => [r.data.op, r.data.ok]),
    ).toEqual([
      ['cancel', true],
      ['clear', true],
    ]);
    expect(rows.at(-1)?.type).toBe('runbook.finished');
  }, 180_000);

  it('refuses a dangerous step without a terminal and without --yes, acting on nothing', async () => {
    const r = await cli(
      'runbook',
      'run',
      'drain-and-repair',
      '--arg',
      'node=node-2',
      '--arg',
      'why=fan',
    );
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(
      /step 3 \(drain\) needs a confirmation and there is no terminal to ask on: pass --yes/,
    );
    expect(await nodeState('node-2')).toBe('node.ready');
    // The run waits at that step, resumable on a terminal.
    const runs = JSON.parse((await cli('runbook', 'runs', '--json')).stdout) as {
      id: string;
      at: number;
    }[];
    expect(runs.some((x) => x.id === runIdOf(r.stderr) && x.at === 2)).toBe(true);
  }, 120_000);

  it('resumes an interrupted run where it stopped (the CLI killed mid-run)', async () => {
    const first = ptyDrover(
      farm.server.url,
      ['runbook', 'run', 'drain-and-repair', '--arg', 'node=node-1'],
      env,
    );
    await first.waitFor(/What is wrong with node-1/);
    first.type('disk\r');
    await first.waitFor(/node\.drain node-1\?/);
    first.type('y\r');
    await first.waitFor(/Repair it now/);
    const id = runIdOf(first.screen());
    await first.kill9();
    expect(await nodeState('node-1')).toBe('node.cordoned');

    const second = ptyDrover(farm.server.url, ['runbook', 'resume', id], env);
    await second.waitFor(/at step 6 of 9/);
    await second.waitFor(/Repair it now/);
    second.type('y\r');
    await second.waitFor(/Is node-1 answering/);
    second.type('y\r');
    await second.waitFor(/node\.uncordon node-1\?/);
    second.type('y\r');
    expect(await second.exited, second.screen()).toBe(0);
    expect(await nodeState('node-1')).toBe('node.uncordoned');

    const rows = await audit(id);
    const started = rows.filter((r) => r.type === 'runbook.step_started').map((r) => r.data.id);
    expect(started).toEqual([
      'before',
      'why',
      'drain',
      'idle',
      'cordon',
      'handover',
      'verify',
      'undrain',
      'after',
    ]);
    const answers = rows.filter((r) => r.type === 'runbook.answered');
    expect(answers.map((a) => [a.by.id, a.data.id, a.data.value])).toEqual([
      ['ada', 'why', 'disk'],
      ['ada', 'drain', true],
      ['ada', 'handover', true],
      ['ada', 'verify', true],
      ['ada', 'undrain', true],
    ]);
    // The operator's own node events, with who (the watchdog may also confirm the drain, or
    // not: the wait for idle can see the node empty before it does).
    const { events } = await farm.log.read('node', 'node-1');
    const byAda = events.filter((e) => e.by.id === 'ada').map((e) => e.type);
    expect(byAda).toEqual(['node.drain_requested', 'node.cordoned', 'node.uncordoned']);
  }, 180_000);
  it('updates the agent on a node: drain, stop, start, back to ready (the old procedure)', async () => {
    const t = ptyDrover(
      farm.server.url,
      ['runbook', 'run', 'update-agent', '--arg', 'node=node-2'],
      env,
    );
    await t.waitFor(/node\.drain node-2\?/);
    t.type('y\r');
    await t.waitFor(/Stop the drover agent on node-2/);
    const agent = farm.agents.find((a) => a.node === 'node-2');
    await agent?.stop('drain');
    t.type('y\r');
    await t.waitFor(/ok: node node-2 is offline\|lost/);
    await t.waitFor(/start its agent again/);
    await farm.startAgent('node-2');
    t.type('y\r');
    expect(await t.exited, t.screen()).toBe(0);
    // The agent registered again and the operator's drain held through the restart (a restart
    // no longer turns a drained node ready): the undrain step put it back to work.
    expect(t.screen()).toMatch(/ok: node node-2 is ready\|draining\|drained/);
    const rows = await audit(runIdOf(t.screen()));
    const undrain = rows.find(
      (r) => r.type === 'runbook.step_completed' && r.data.id === 'undrain',
    );
    expect(undrain?.data.outcome).toBe('done');
    expect(await nodeState('node-2')).toBe('node.undrained');
  }, 180_000);
});
