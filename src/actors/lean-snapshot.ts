import {
  matchesState,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type StateValue,
} from 'xstate';

/**
 * Snapshots of a flat machine as two own fields, `value` and `context`, with the rest of xstate's
 * snapshot (status, tags, `hasTag`, `matches`, `can`, ...) read through a prototype shared by every
 * snapshot of the machine. `machine.resolveState` builds ~15 own fields, a `tags` Set and a
 * `_nodes` array per snapshot: ~430 bytes over the plain state, and the scheduler keeps one per
 * job and per chunk (100,000 queued jobs: ~86 MB of it). What is rarely asked (`can`, `getMeta`,
 * `_nodes`) materialises the xstate snapshot on demand, so it answers exactly as xstate does.
 * Pure; snapshots stay immutable (the prototype's tags are shared: read them, never change them).
 */
export interface LeanSnapshots {
  /** The snapshot of `value` and `context`, or undefined when the machine is not flat. */
  of(value: StateValue, context: unknown): AnyMachineSnapshot;
}

export function leanSnapshots(machine: AnyStateMachine): LeanSnapshots | undefined {
  const root = machine.root;
  // Only flat machines with no output (what the compiled fold takes): their snapshot is
  // determined by state and context alone.
  if ((machine.config as { output?: unknown }).output !== undefined) return undefined;
  const perState = new Map<string, { status: string; tags: ReadonlySet<string> }>();
  for (const [key, node] of Object.entries(root.states)) {
    if (Object.keys(node.states).length) return undefined;
    perState.set(key, {
      status: node.type === 'final' ? 'done' : 'active',
      tags: new Set([...root.tags, ...node.tags]),
    });
  }
  const NO_CHILDREN = Object.freeze({});
  const NO_HISTORY = Object.freeze({});
  type Lean = { readonly value: string; readonly context: unknown };
  const full = (s: Lean) =>
    machine.resolveState({ value: s.value, context: s.context }) as AnyMachineSnapshot;
  const meta = (s: Lean) => perState.get(s.value)!;
  const proto = {
    machine,
    output: undefined,
    error: undefined,
    children: NO_CHILDREN,
    historyValue: NO_HISTORY,
    get status() {
      return meta(this as unknown as Lean).status;
    },
    get tags() {
      return meta(this as unknown as Lean).tags;
    },
    get _nodes() {
      return full(this as unknown as Lean)._nodes;
    },
    hasTag(tag: string) {
      return meta(this as unknown as Lean).tags.has(tag);
    },
    matches(parent: StateValue) {
      return matchesState(parent, (this as unknown as Lean).value);
    },
    can(event: never) {
      return full(this as unknown as Lean).can(event);
    },
    getMeta() {
      return full(this as unknown as Lean).getMeta();
    },
    /** What xstate's own `toJSON` gives: the data fields, tags as an array. */
    toJSON() {
      const s = this as unknown as Lean & { status: string; tags: ReadonlySet<string> };
      return {
        status: s.status,
        output: undefined,
        error: undefined,
        context: s.context,
        value: s.value,
        children: NO_CHILDREN,
        historyValue: NO_HISTORY,
        tags: [...s.tags],
      };
    },
  };
  return {
    of(value, context) {
      if (typeof value !== 'string' || !perState.has(value))
        return full({ value: value as string, context });
      const s = Object.create(proto) as { value: string; context: unknown };
      s.value = value;
      s.context = context;
      return s as unknown as AnyMachineSnapshot;
    },
  };
}
