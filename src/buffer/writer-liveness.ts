/**
 * Whether the process that wrote a buffer is still writing it. A pid alone proves little: pid 1
 * is alive in every container, and pids are reused after a reboot or in a new pod. The kernel
 * knows better: SQLite in WAL mode holds a POSIX lock on the `-shm` file (and the database) for
 * as long as a connection is open, and Linux's /proc/locks lists every lock by inode, whatever
 * the pid namespace or permissions. So a WAL database nobody locks has no live writer, and one
 * somebody locks has one. Only where that cannot be read does the pid count: when that process
 * holds the file open (its /proc fd links), or, where that cannot be read either, when it
 * started before the file was created.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isProcessAlive } from '../bytes/process-alive.js';

/** Linux's USER_HZ: the unit of a process's start time in /proc/<pid>/stat on every mainstream kernel. */
const clockTicksPerSecond = 100;

export interface WriterState {
  alive: boolean;
  /** Why, in words that fit after "its writer": for messages. */
  reason: string;
  /** Alive by a live pid alone: neither its locks nor its open files could be read. */
  unproven?: boolean;
}

export interface WriterStateOptions {
  /** Where the kernel's lock table is read (a test's stand-in); default `/proc/locks`. */
  locksFile?: string;
}

/** Whether a live process writes the database `path`: from its locks, else from process `pid`. */
export function fileWriterState(pid: number, path: string, { locksFile = '/proc/locks' }: WriterStateOptions = {}): WriterState {
  const locker = lockHolder([path, `${path}-shm`, `${path}-wal`], locksFile);
  if (locker !== undefined) {
    return locker === false
      ? { alive: false, reason: 'no process holds a lock on it (/proc/locks): its writer is gone' }
      : { alive: true, reason: `process ${locker} holds a lock on it (/proc/locks)` };
  }
  if (!isProcessAlive(pid)) return { alive: false, reason: `process ${pid} is gone` };
  const held = holdsOpen(pid, [path, `${path}-wal`]);
  if (held === true) return { alive: true, reason: `live process ${pid} holds it open` };
  if (held === false) return { alive: false, reason: `process ${pid} is alive but does not hold it open (a reused pid)` };
  const started = processStartMs(pid);
  const created = fileCreatedMs(path);
  if (started !== undefined && created !== undefined && started > created + 1000) {
    return { alive: false, reason: `process ${pid} started after the file was created (a reused pid)` };
  }
  return { alive: true, reason: `live process ${pid} may hold it (its open files cannot be read here)`, unproven: true };
}

/**
 * The pid holding a lock on one of `paths` (as /proc/locks shows it: 0 or another namespace's),
 * false when none does, undefined when that cannot be told: no lock table (not Linux), or no
 * `-shm` file, as in a database not in WAL mode, which holds no lock between its writes.
 */
function lockHolder(paths: string[], locksFile: string): number | false | undefined {
  const inodes = new Set<bigint>();
  for (const path of paths) {
    try {
      inodes.add(statSync(path, { bigint: true }).ino);
    } catch {
      if (path.endsWith('-shm')) return undefined;
    }
  }
  let table: string;
  try {
    table = readFileSync(locksFile, 'utf8');
  } catch {
    return undefined;
  }
  // `1: POSIX  ADVISORY  READ 4242 08:01:1318 128 128`; a blocked waiter's line starts with `->`.
  for (const line of table.split('\n')) {
    const fields = line.replace(/^\s*\d+:\s*(->\s*)?/, '').trim().split(/\s+/);
    const inode = fields[4]?.split(':')[2];
    if (inode !== undefined && /^\d+$/.test(inode) && inodes.has(BigInt(inode))) return Number(fields[3]) || 0;
  }
  return false;
}

/** true or false from the process's open files; undefined where they cannot be read (not Linux, or not permitted). */
function holdsOpen(pid: number, paths: string[]): boolean | undefined {
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return undefined;
  }
  const wanted = new Set<string>();
  for (const path of paths) {
    wanted.add(path);
    try {
      wanted.add(realpathSync(path));
    } catch {
      // A -wal that does not exist cannot be held.
    }
  }
  for (const fd of fds) {
    try {
      if (wanted.has(readlinkSync(`${fdDir}/${fd}`))) return true;
    } catch (error) {
      // Listable but not readable (another user's process, another pid namespace): unknown.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') return undefined;
      // Otherwise the fd closed while we looked.
    }
  }
  return false;
}

/** When the process started, from /proc (Linux); undefined elsewhere. */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime), counted after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const bootLine = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!bootLine || !Number.isFinite(ticks)) return undefined;
    return Number(bootLine[1]) * 1000 + (ticks / clockTicksPerSecond) * 1000;
  } catch {
    return undefined;
  }
}

/** The file's birth time where the file system records one. */
function fileCreatedMs(path: string): number | undefined {
  try {
    const birth = statSync(path).birthtimeMs;
    return birth > 0 ? birth : undefined;
  } catch {
    return undefined;
  }
}
