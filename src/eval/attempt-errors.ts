/**
 * The failed attempts of a sample, as Inspect keeps them when it runs a sample again: each
 * earlier attempt's error in `error_retries`, oldest first, and the last attempt's own `error`.
 */
import type { EvalError, EvalSample } from './schemas.js';

/** The errors of a sample's attempts, oldest first: its `error_retries`, then its `error`; none when its last attempt succeeded. */
export function attemptErrors(sample: Pick<EvalSample, 'error' | 'error_retries'>): EvalError[] {
  return sample.error ? [...((sample.error_retries ?? []) as EvalError[]), sample.error] : [];
}

/** The sample with `earlier` attempts' errors put before its own `error_retries`. */
export function withEarlierAttempts(sample: EvalSample, earlier: readonly EvalError[]): EvalSample {
  return earlier.length ? { ...sample, error_retries: [...earlier, ...(sample.error_retries ?? [])] } : sample;
}
