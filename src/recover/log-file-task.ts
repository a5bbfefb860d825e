/**
 * The task a log listing names, as Inspect's `log_file_info` takes it: from the file's name, not
 * its header. Inspect names a log `<created>_<task>_<id>.eval` with `_` in the task written as
 * `-`, so a task `hold_retry` is listed as `hold-retry`; a name of one part lists no task.
 */
export function taskFromLogName(location: string): string {
  const name = location.slice(location.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  const parts = (dot > 0 ? name.slice(0, dot) : name).split('_');
  return parts.length > 1 ? parts[1]! : '';
}
