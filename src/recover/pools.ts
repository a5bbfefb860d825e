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
