/**
 * Resolution of condensed events (eval-log-format.md §6): a model event's `input_refs` and a
 * model call's `call_refs` point into the sample's message and call pools by position.
 */
type Refs = [number, number][];

/** Concatenates `pool[start:end]` for each range (slice semantics: out-of-range refs truncate). */
export function expandRefs<T>(pool: readonly T[], refs: Refs): T[] {
  return refs.flatMap(([start, end]) => pool.slice(start, end));
}

/** A model event's input with its pool refs resolved; events that are not condensed as they are. */
export function resolvedModelInput(event: Record<string, unknown>, messages: readonly unknown[]): Record<string, unknown>[] {
  const input = (event.input as Record<string, unknown>[] | undefined) ?? [];
  const refs = event.input_refs as Refs | null | undefined;
  if (!refs || input.length > 0 || messages.length === 0) return input;
  return expandRefs(messages, refs) as Record<string, unknown>[];
}

/** The largest pool position a condensed event refers to, or -1 when it refers to none. */
export function highestPoolReference(event: Record<string, unknown>): { message: number; call: number } {
  const top = (refs: unknown) => (Array.isArray(refs) ? Math.max(-1, ...(refs as Refs).map(([, end]) => end - 1)) : -1);
  const call = (event.call as Record<string, unknown> | undefined)?.call_refs;
  return { message: top(event.input_refs), call: top(call) };
}
