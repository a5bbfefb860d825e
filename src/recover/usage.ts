/**
 * ModelUsage summing (eval-log-format.md §4.5): the three counters add; each optional field
 * adds when both sides have it, else keeps whichever side has it.
 */
import type { ModelUsage } from '../eval/schemas.js';

const counters = ['input_tokens', 'output_tokens', 'total_tokens'] as const;
const optionalFields = ['input_tokens_cache_write', 'input_tokens_cache_read', 'reasoning_tokens', 'total_cost'] as const;

export function addModelUsage(a: ModelUsage, b: ModelUsage): ModelUsage {
  const sum: ModelUsage = { ...a };
  for (const key of counters) sum[key] = (a[key] ?? 0) + (b[key] ?? 0);
  for (const key of optionalFields) {
    const [x, y] = [a[key], b[key]];
    if (x != null && y != null) sum[key] = x + y;
    else if (y != null) sum[key] = y;
  }
  return sum;
}

/** Adds each entry of `usage` (model or role name → usage) into `total`. */
export function addUsageMap(total: Record<string, ModelUsage>, usage: Record<string, ModelUsage> | null | undefined): void {
  for (const [name, value] of Object.entries(usage ?? {})) {
    total[name] = total[name] ? addModelUsage(total[name], value) : { ...value };
  }
}
