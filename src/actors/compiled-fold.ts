import type { AnyStateMachine } from 'xstate';
import { InvalidTransitionError, type DroverEvent } from '../events/index.js';
import type { PlainSnapshot } from './evolve.js';

type Args = { context: unknown; event: DroverEvent };
type GuardFn = (args: Args, params?: unknown) => boolean;
type Assignment = ((args: Args, params?: unknown) => object) | Record<string, unknown>;

interface CompiledTransition {
  readonly guard?: GuardFn;
  readonly guardParams?: unknown;
  /** Undefined: a targetless transition (stays in its state). */
  readonly target?: string;
  readonly assigns: readonly { readonly assignment: Assignment; readonly params?: unknown }[];
}

/** Transitions per state, then per event type, in xstate's priority order (state, then root). */
type Table = ReadonlyMap<string, ReadonlyMap<string, readonly CompiledTransition[]>>;

/**
 * A fold over plain `{ value, context }` snapshots that runs the machine's own definition — its
 * states, targets, named guards and `assign` actions, read from the machine object — without
 * xstate's general microstep algorithm. For the flat machines of Drover (atomic states, no
 * entry/exit actions, no eventless or delayed transitions, no children) it is exactly
 * `machine.transition` (a property test checks this), at several times the speed: the replay
 * and projection hot path. Machines it cannot prove flat are refused at compile time. Pure.
 */
export interface CompiledFold<C> {
  initial(): PlainSnapshot<C>;
  /** The next snapshot; throws `InvalidTransitionError` when the machine rejects the event. */
  evolve(snapshot: PlainSnapshot<C>, event: DroverEvent): PlainSnapshot<C>;
  /** The next snapshot, or undefined when the machine rejects the event. */
  step(snapshot: PlainSnapshot<C>, event: DroverEvent): PlainSnapshot<C> | undefined;
}

export function compileFold<C>(machine: AnyStateMachine): CompiledFold<C> {
  const table = compileTable(machine);
  const initialSnapshot = machine.getInitialSnapshot({} as never);
  const initial: PlainSnapshot<C> = {
    value: initialSnapshot.value,
    context: initialSnapshot.context as C,
  };

  const step = (snapshot: PlainSnapshot<C>, event: DroverEvent): PlainSnapshot<C> | undefined => {
    const candidates = table.get(snapshot.value as string)?.get(event.type);
    if (!candidates) return undefined;
    const args: Args = { context: snapshot.context, event };
    for (const t of candidates) {
      if (t.guard && !t.guard(args, t.guardParams)) continue;
      let context = snapshot.context;
      for (const { assignment, params } of t.assigns) {
        const a = { context, event };
        context = Object.assign({}, context, applyAssignment(assignment, a, params)) as C;
      }
      return { value: t.target ?? snapshot.value, context };
    }
    return undefined;
  };

  return {
    initial: () => initial,
    step,
    evolve(snapshot, event) {
      const next = step(snapshot, event);
      if (!next) throw new InvalidTransitionError(machine.id, String(snapshot.value), event.type);
      return next;
    },
  };
}

function applyAssignment(assignment: Assignment, args: Args, params: unknown): object {
  if (typeof assignment === 'function') return assignment(args, params);
  const partial: Record<string, unknown> = {};
  for (const key of Object.keys(assignment)) {
    const prop = assignment[key];
    partial[key] =
      typeof prop === 'function' ? (prop as (a: Args, p: unknown) => unknown)(args, params) : prop;
  }
  return partial;
}

/** A programming error (a machine the compiled fold cannot take), so a plain `Error`. */
function notFlat(machine: AnyStateMachine, why: string): Error {
  return new Error(
    `machine ${machine.id} cannot be compiled (${why}): fold it with createFold instead`,
  );
}

interface TransitionDef {
  guard?: unknown;
  target?: readonly { key: string; parent?: unknown }[];
  actions: readonly unknown[];
  reenter?: boolean;
}
interface StateNodeLike {
  key: string;
  type: string;
  entry: readonly unknown[];
  exit: readonly unknown[];
  always?: readonly unknown[];
  after?: readonly unknown[];
  invoke: readonly unknown[];
  states: Record<string, StateNodeLike>;
  transitions: Map<string, TransitionDef[]>;
}

function compileTable(machine: AnyStateMachine): Table {
  const root = machine.root as unknown as StateNodeLike;
  checkFlatNode(machine, root);
  const rootOn = root.transitions;
  const table = new Map<string, Map<string, CompiledTransition[]>>();
  for (const [key, node] of Object.entries(root.states)) {
    checkFlatNode(machine, node);
    if (Object.keys(node.states).length) throw notFlat(machine, `state ${key} has children`);
    const byEvent = new Map<string, CompiledTransition[]>();
    if (node.type !== 'final') {
      for (const source of [node.transitions, rootOn]) {
        for (const [descriptor, defs] of source) {
          if (descriptor.includes('*')) throw notFlat(machine, `wildcard transition ${descriptor}`);
          const list = byEvent.get(descriptor) ?? [];
          list.push(...defs.map((d) => compileTransition(machine, d)));
          byEvent.set(descriptor, list);
        }
      }
    }
    table.set(key, byEvent);
  }
  return table;
}

function checkFlatNode(machine: AnyStateMachine, node: StateNodeLike): void {
  if (node.entry.length || node.exit.length)
    throw notFlat(machine, `entry/exit actions on ${node.key}`);
  if (node.always?.length) throw notFlat(machine, `eventless transitions on ${node.key}`);
  if (node.after?.length) throw notFlat(machine, `delayed transitions on ${node.key}`);
  if (node.invoke.length) throw notFlat(machine, `invoked actors on ${node.key}`);
  if (node.type === 'parallel' || node.type === 'history')
    throw notFlat(machine, `${node.type} state ${node.key}`);
}

function compileTransition(machine: AnyStateMachine, def: TransitionDef): CompiledTransition {
  const impl = machine.implementations as {
    guards: Record<string, unknown>;
    actions: Record<string, unknown>;
  };
  const target = def.target?.length === 1 ? def.target[0]?.key : undefined;
  if (def.target && def.target.length > 1) throw notFlat(machine, 'multiple targets');
  const { fn: guard, params: guardParams } = resolveRef(machine, def.guard, impl.guards, 'guard');
  const assigns: { assignment: Assignment; params?: unknown }[] = [];
  for (const action of def.actions) {
    const { fn, params } = resolveRef(machine, action, impl.actions, 'action');
    const type = (fn as { type?: string } | undefined)?.type;
    if (type === 'xstate.assign')
      assigns.push({
        assignment: (fn as unknown as { assignment: Assignment }).assignment,
        params,
      });
    else if (typeof type === 'string' && type.startsWith('xstate.'))
      throw notFlat(machine, `built-in action ${type}`);
    // Any other action is an effect: never part of the state, never run during a fold.
  }
  return { guard: guard as GuardFn | undefined, guardParams, target, assigns };
}

/** A guard or action reference (name, `{ type, params }` or inline) to its implementation. */
function resolveRef(
  machine: AnyStateMachine,
  ref: unknown,
  impls: Record<string, unknown>,
  kind: string,
): { fn?: (...a: never[]) => unknown; params?: unknown } {
  if (ref === undefined) return {};
  if (typeof ref === 'string') {
    const fn = impls[ref];
    if (!fn) throw notFlat(machine, `unknown ${kind} ${ref}`);
    return { fn: fn as () => unknown };
  }
  if (typeof ref === 'function') {
    const type = (ref as { type?: string }).type;
    if (kind === 'guard' && type?.startsWith('xstate.'))
      throw notFlat(machine, `composite guard ${type}`);
    return { fn: ref as () => unknown };
  }
  if (typeof ref === 'object' && ref !== null && 'type' in ref) {
    const { type, params } = ref as { type: string; params?: unknown };
    const fn = impls[type];
    if (!fn) throw notFlat(machine, `unknown ${kind} ${type}`);
    return { fn: fn as () => unknown, params };
  }
  throw notFlat(machine, `unsupported ${kind} reference`);
}
