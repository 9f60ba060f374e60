// What fit calls while it trains: the Callbacks hooks (Keras' Callback), how a list of them is
// run, and the History fit returns. Callbacks run in the order given; each sees the same logs
// object, so a callback can add a value (say, a validation score it computes) that a later one
// monitors, and the History records the logs after every callback has run (as Keras does).
// A callback ends training by setting model.stopTraining: fit finishes the current batch (from
// onBatchEnd) or epoch, then calls onTrainEnd. A callback that throws ends fit with a
// CallbackError naming the callback, the hook and the epoch; the model keeps the weights of its
// last completed step. The Callbacks interface itself is part of fit's options (training.ts):
// this file runs any object of hooks and knows nothing of the model.

import { describeValue } from "./describe.ts";
import type { Logs } from "./progress.ts";

export interface History {
  /** Epoch indices (0-based) that ran. */
  epoch: number[];
  /** Per epoch: loss, each metric, and val_loss / val_<metric> when validating (and whatever the
   *  callbacks added to the logs). */
  history: Record<string, number[]>;
  /** Training samples seen by the end of each epoch (cumulative). */
  samplesSeen: number[];
  /** Seconds since fit began at the end of each epoch. */
  seconds: number[];
}

/** A callback threw: which one, in which hook, where in training. The model keeps the weights of
 *  its last completed step. `cause` is what it threw. */
export class CallbackError extends Error {
  readonly callback: string;
  readonly hook: string;
  readonly epoch: number | undefined;
  constructor(callback: string, hook: string, epoch: number | undefined, cause: unknown) {
    const at = epoch === undefined ? "" : ` at epoch ${epoch + 1}`;
    const why = cause instanceof Error ? cause.message : describeValue(cause);
    super(`callback ${callback} failed in ${hook}${at}: ${why}; training stopped there (the model keeps the weights of its last completed step)`, { cause });
    this.name = "CallbackError";
    this.callback = callback;
    this.hook = hook;
    this.epoch = epoch;
  }
}

const HOOKS = ["setModel", "onTrainBegin", "onEpochBegin", "onEpochEnd", "onBatchEnd", "onTrainEnd"] as const;
type Hook = (typeof HOOKS)[number];

/** A callback as the runner sees it: a name and hooks, whose arguments are fit's business. */
export type Hooks = { readonly name?: string } & { readonly [h in Hook]?: (...args: never[]) => unknown };

/** fit's callbacks, checked, in order: the `callbacks` option (one or a list), then `onEpochEnd`. */
export function callbackList<C extends Hooks>(callbacks: unknown, onEpochEnd: unknown): C[] {
  const given = callbacks === undefined ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
  const list: C[] = given.map((c, i) => {
    const at = Array.isArray(callbacks) ? `callbacks[${i}]` : "callbacks";
    if (typeof c !== "object" || c === null) throw new Error(`fit: ${at} must be an object of hooks (onEpochEnd...), got ${describeValue(c)}`);
    for (const h of HOOKS) {
      const f = (c as Record<string, unknown>)[h];
      if (f !== undefined && typeof f !== "function") throw new Error(`fit: ${at}.${h} must be a function, got ${describeValue(f)}`);
    }
    return c as C;
  });
  if (onEpochEnd !== undefined) {
    if (typeof onEpochEnd !== "function") throw new Error(`fit: onEpochEnd must be a function, got ${describeValue(onEpochEnd)}`);
    list.push({ name: "onEpochEnd", onEpochEnd } as C);
  }
  return list;
}

/** Runs one hook of every callback in order; an exception becomes a CallbackError. */
export async function runHook(list: readonly Hooks[], hook: Hook, epoch: number | undefined, ...args: unknown[]): Promise<void> {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const f = c[hook] as ((...a: unknown[]) => unknown) | undefined;
    if (f === undefined) continue;
    try {
      await f.apply(c, args);
    } catch (e) {
      throw new CallbackError(c.name ? `'${c.name}' (#${i + 1})` : `#${i + 1}`, hook, epoch, e);
    }
  }
}
