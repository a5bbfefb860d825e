import type { EvalLogStatus } from '../eval/log-status.js';
import type { LogCheckpoints } from '../recover/checkpoints.js';
import { formatBytes } from './display.js';

const statusMeaning: Record<EvalLogStatus['status'], string> = {
  started: 'started (still running, or crashed)',
  success: 'success',
  error: 'error',
  cancelled: 'cancelled',
};

/** The human status card for `show`. */
export function formatStatusCard(status: EvalLogStatus & { checkpoints?: LogCheckpoints }): string {
  const rows: [string, string][] = [
    ['Log', status.log],
    ['Task', status.task_file ? `${status.task} (${status.task_file})` : status.task],
    ['Model', status.model],
    ['Status', status.truncated ? `${statusMeaning[status.status]}; cut short (no end records): read from its whole entries` : statusMeaning[status.status]],
    ['Samples', formatProgress(status.samples, status.total_samples)],
    ['Errors', String(status.errors)],
    ['Remaining', formatRemaining(status)],
    ['Created', status.created],
    ['Modified', status.last_modified],
    ['Duration', status.duration_seconds === null ? 'unknown' : formatDuration(status.duration_seconds)],
    ...(status.checkpoints ? [['Checkpoints', `${status.checkpoints.path} (${formatBytes(status.checkpoints.bytes)}): eval-retry resumes its samples from them`] as [string, string]] : []),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** What is left to run: the samples that errored and those the log lacks. */
function formatRemaining({ remaining, errors, samples, total_samples }: EvalLogStatus): string {
  if (remaining === null || total_samples === null) return errors ? `unknown (${errors} errored; the log does not say how many samples the run has)` : 'unknown';
  const missing = Math.max(0, total_samples - samples);
  return remaining === 0 ? '0' : `${remaining} (${errors} errored, ${missing} not in the log)`;
}

function formatProgress(present: number, total: number | null): string {
  if (!total) return `${present}`;
  return `${present}/${total} (${((present / total) * 100).toFixed(1)}%)`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  return hours ? `${hours}h ${minutes}m ${rest}s` : `${minutes}m ${rest}s`;
}
