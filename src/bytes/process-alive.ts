/** Whether a process id names a live process, on this host. */

// pid_t is a signed 32-bit integer; anything larger cannot name a process (and Node refuses it).
const maxPid = 2 ** 31 - 1;

/**
 * `process.kill(pid, 0)`: ESRCH means no such process; EPERM means it exists but belongs to
 * someone else. Any other failure counts as alive, so that a buffer is never taken from a running eval.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 0 || pid > maxPid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
