import { workflowKey, type Workflow } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { decideDrafts } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { workflowFold, type WorkflowSnapshot } from './workflow.machine.js';

/** The data of each workflow command (sent by the API). */
export interface WorkflowCommandData {
  /** The workflow as validated and normalised by the caller (`parseWorkflow`). */
  ApplyWorkflow: { readonly workflow: Workflow };
  PauseWorkflow: { readonly reason?: string };
  ResumeWorkflow: void;
}
export type WorkflowCommandType = keyof WorkflowCommandData;
export type WorkflowCommandOf<T extends WorkflowCommandType> = Command<T, WorkflowCommandData[T]>;
export type WorkflowCommand = {
  [T in WorkflowCommandType]: WorkflowCommandOf<T>;
}[WorkflowCommandType];

/** The latest version of a folded workflow and its number (0 and undefined before the first). */
export function latestWorkflow(s: WorkflowSnapshot): { version: number; workflow?: Workflow } {
  const versions = s.context.versions;
  const workflow = versions[versions.length - 1];
  return workflow ? { version: versions.length, workflow } : { version: 0 };
}

/**
 * Decide a workflow command. Pure. An apply identical to the latest version (same canonical
 * text) decides no event; otherwise the next version with the full definition. Pause and resume
 * are checked by the machine (pausing a paused workflow is refused, naming the state).
 */
export function decideWorkflow(state: WorkflowSnapshot, command: WorkflowCommand): Decision {
  switch (command.type) {
    case 'ApplyWorkflow': {
      const { version, workflow } = latestWorkflow(state);
      const next = command.data.workflow;
      if (workflow && workflowKey(workflow) === workflowKey(next)) return { ok: true, events: [] };
      const draft = {
        type: 'workflow.applied' as const,
        data: { version: version + 1, workflow: next },
      };
      return decideDrafts(workflowFold, state, command, [draft], undefined);
    }
    case 'PauseWorkflow':
      return decideDrafts(
        workflowFold,
        state,
        command,
        [{ type: 'workflow.paused', data: command.data }],
        undefined,
      );
    case 'ResumeWorkflow':
      return decideDrafts(workflowFold, state, command, [{ type: 'workflow.resumed' }], undefined);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

/** The workflow as the entity runtime sees it. Pure. */
export const workflowBehaviour: EntityBehaviour<WorkflowSnapshot, WorkflowCommand> = {
  entity: 'workflow',
  initial: workflowFold.initial,
  evolve: workflowFold.evolve,
  decide: decideWorkflow,
  stateOf: stateName,
};
