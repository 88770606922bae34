import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { INTAKE_SUBJECT, jobIdOfIntake } from '../events/index.js';

/** Publish one submit body to the durable intake; the job id comes from its sequence. */
export async function publishSubmission(
  nc: NatsConnection,
  body: object,
  msgId?: string,
): Promise<string> {
  const ack = await jetstream(nc).publish(INTAKE_SUBJECT, JSON.stringify(body), {
    ...(msgId !== undefined && { msgID: msgId }),
  });
  return jobIdOfIntake(ack.seq);
}

const progressLoop =
  'for i in 1 2 3 4 5; do echo "{\\"progress\\":0.$((i*2)),\\"checkpoint\\":\\"step-$i\\"}" >> "$DROVER_REPORT"; sleep 0.4; done; ' +
  'echo "{\\"result\\":{\\"chunk\\":$DROVER_CHUNK,\\"node\\":\\"$DROVER_NODE\\"}}" >> "$DROVER_REPORT"';

/**
 * The sample workload of `drover up --demo`: a parent simulation with chunked children, a job
 * that runs out of memory and is retried with more, and one that fails on its first node and is
 * retried elsewhere. Returns the job ids with what each shows.
 */
export async function submitDemo(
  nc: NatsConnection,
  user: string,
): Promise<Record<string, string>> {
  const parent = await publishSubmission(nc, {
    name: 'demo-simulation',
    user,
    command: [
      'sh',
      '-c',
      'sleep 1; echo \'{"result":{"stage":"setup done"}}\' >> "$DROVER_REPORT"',
    ],
    cpus: 0.1,
    memMb: 64,
  });
  const children = [];
  for (const scenario of ['low-vol', 'base', 'high-vol']) {
    children.push(
      await publishSubmission(nc, {
        name: `demo-scenario-${scenario}`,
        user,
        parent,
        command: ['sh', '-c', progressLoop],
        chunks: 4,
        cpus: 0.1,
        memMb: 64,
        env: { SCENARIO: scenario },
      }),
    );
  }
  const oom = await publishSubmission(nc, {
    name: 'demo-out-of-memory',
    user,
    command: [
      process.execPath,
      '-e',
      'const b=[];for(let i=0;i<30;i++){b.push(Buffer.alloc(8<<20,1));}setTimeout(()=>{},3000)',
    ],
    memMb: 128,
    cpus: 0.5,
    retries: 1,
  });
  const flaky = await publishSubmission(nc, {
    name: 'demo-node-failure',
    user,
    command: [
      'sh',
      '-c',
      'if [ "$DROVER_ATTEMPT" = 1 ]; then kill -SEGV $$; fi; echo "ran on $DROVER_NODE"',
    ],
    memMb: 64,
    cpus: 0.5,
    retries: 1,
  });
  return { parent, children: children.join(','), outOfMemory: oom, nodeFailure: flaky };
}
