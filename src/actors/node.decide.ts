import type { EventData, NodeEvent } from '../events/index.js';
import type { EntityBehaviour } from './behaviour.js';
import { oneEventDecider } from './decision.js';
import type { Command, Decision } from './decision.js';
import { stateName } from './evolve.js';
import { nodeFold } from './node.machine.js';
import type { NodeSnapshot } from './node.machine.js';

/** The data of each node command (sent by the node agent, the scheduler and operators). */
export interface NodeCommandData {
  RegisterNode: EventData<'node.registered'>;
  MarkReady: void;
  RequestDrain: EventData<'node.drain_requested'>;
  ConfirmDrained: void;
  Undrain: void;
  Cordon: EventData<'node.cordoned'>;
  Uncordon: void;
  MarkLost: EventData<'node.lost'>;
  MarkOffline: EventData<'node.offline'>;
}
/** The `type` of every node command. */
export type NodeCommandType = keyof NodeCommandData;
/** The node command of one type. */
export type NodeCommandOf<T extends NodeCommandType> = Command<T, NodeCommandData[T]>;
/** Any node command: what `decideNode` takes. */
export type NodeCommand = { [T in NodeCommandType]: NodeCommandOf<T> }[NodeCommandType];

/** Each node command becomes exactly one event (exhaustive by its type). */
const nodeEventOf = {
  RegisterNode: 'node.registered',
  MarkReady: 'node.ready',
  RequestDrain: 'node.drain_requested',
  ConfirmDrained: 'node.drained',
  Undrain: 'node.undrained',
  Cordon: 'node.cordoned',
  Uncordon: 'node.uncordoned',
  MarkLost: 'node.lost',
  MarkOffline: 'node.offline',
} as const satisfies Record<NodeCommandType, NodeEvent['type']>;

/**
 * Decide a node command. Pure. Legal when the node machine accepts its event; a rejection is
 * `InvalidTransition` without audit (the node vocabulary has no audit event).
 */
export const decideNode: (state: NodeSnapshot, command: NodeCommand) => Decision = oneEventDecider(
  nodeFold,
  nodeEventOf,
  undefined,
);

/** The node as the entity runtime sees it. Pure. */
export const nodeBehaviour: EntityBehaviour<NodeSnapshot, NodeCommand> = {
  entity: 'node',
  initial: nodeFold.initial,
  evolve: nodeFold.evolve,
  decide: decideNode,
  stateOf: stateName,
};
