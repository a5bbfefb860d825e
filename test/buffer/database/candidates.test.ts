import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdir, open, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  chooseCrashedBufferDatabase,
  findCrashedBufferDatabase,
  listBufferDatabases,
  type BufferDatabaseCandidate,
} from '../../../src/buffer/database/candidates.js';
import { bufferDatabaseDir, localLogDirUri } from '../../../src/buffer/database/location.js';
import { isProcessAlive } from '../../../src/bytes/process-alive.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';

const logName = '2026-01-01T00-00-00-00-00_task_abc.eval';

describe('isProcessAlive', () => {
  it('is true for this process', () => {
    assert.equal(isProcessAlive(process.pid), true);
  });

  it('is false for a process that has exited', () => {
    const child = spawnSync(process.execPath, ['-e', '']);
    assert.equal(typeof child.pid, 'number');
    assert.equal(isProcessAlive(child.pid!), false);
  });

  it('is false for numbers that cannot be a pid', () => {
    assert.equal(isProcessAlive(2 ** 31), false);
    assert.equal(isProcessAlive(-1), false);
    assert.equal(isProcessAlive(1.5), false);
  });
});

describe('chooseCrashedBufferDatabase', () => {
  const candidate = (path: string, mtimeMs: number, alive: boolean): BufferDatabaseCandidate => ({ path, pid: 1, mtimeMs, alive, reason: '', relocated: false });

  it('picks the newest DB that is not alive', () => {
    const chosen = chooseCrashedBufferDatabase([candidate('/a', 1, false), candidate('/b', 3, true), candidate('/c', 2, false)]);
    assert.equal(chosen?.path, '/c');
  });

  it('breaks mtime ties by path and returns undefined when every DB is live', () => {
    assert.equal(chooseCrashedBufferDatabase([candidate('/z', 5, false), candidate('/y', 5, false)])?.path, '/y');
    assert.equal(chooseCrashedBufferDatabase([candidate('/a', 1, true)]), undefined);
    assert.equal(chooseCrashedBufferDatabase([]), undefined);
  });
});

describe('listBufferDatabases / findCrashedBufferDatabase', () => {
  let root: string;
  let logsDir: string;
  let dataDir: string;
  let databaseDir: string;
  const deadPids = new Set([111, 222, 333]);
  const options = () => ({ dataDir, isWriterAlive: (pid: number) => !deadPids.has(pid) });

  async function touch(name: string, mtimeSeconds: number, directory = databaseDir): Promise<string> {
    const path = join(directory, name);
    await writeFile(path, '');
    await utimes(path, mtimeSeconds, mtimeSeconds);
    return path;
  }

  beforeEach(async () => {
    root = await makeTempDir('inspect-recover-candidates-');
    logsDir = join(root, 'logs');
    dataDir = join(root, 'data', 'inspect_ai');
    databaseDir = bufferDatabaseDir(localLogDirUri(logsDir), dataDir);
    await mkdir(logsDir, { recursive: true });
    await mkdir(databaseDir, { recursive: true });
  });

  afterEach(async () => {
    await removeTempDir(root);
  });

  it('lists only this log’s DBs with a numeric pid, newest first, with liveness', async () => {
    await touch(`${logName}.111.db`, 1000);
    await touch(`${logName}.222.db`, 3000);
    await touch(`${logName}.444.db`, 2000);
    await touch(`${logName}.222.db-wal`, 4000);
    await touch(`${logName}.abc.db`, 5000);
    await touch(`other_${logName}.333.db`, 6000);
    const listed = await listBufferDatabases(join(logsDir, logName), options());
    assert.deepEqual(
      listed.map(({ pid, mtimeMs, alive }) => ({ pid, mtimeMs, alive })),
      [
        { pid: 222, mtimeMs: 3_000_000, alive: false },
        { pid: 444, mtimeMs: 2_000_000, alive: true },
        { pid: 111, mtimeMs: 1_000_000, alive: false },
      ],
    );
  });

  it('picks the newest DB whose pid is not alive', async () => {
    await touch(`${logName}.111.db`, 1000);
    const newest = await touch(`${logName}.222.db`, 2000);
    await touch(`${logName}.444.db`, 9000);
    assert.equal((await findCrashedBufferDatabase(join(logsDir, logName), options()))?.path, newest);
  });

  it('finds nothing when every DB is live or the samplebuffer dir does not exist', async () => {
    await touch(`${logName}.444.db`, 1000);
    assert.equal(await findCrashedBufferDatabase(join(logsDir, logName), options()), undefined);
    assert.deepEqual(await listBufferDatabases(join(logsDir, logName), { dataDir: join(root, 'nowhere') }), []);
  });

  it('never offers a DB that a live process holds open', async () => {
    const path = await touch(`${logName}.${process.pid}.db`, 1000);
    const held = await open(path, 'r');
    try {
      const listed = await listBufferDatabases(join(logsDir, logName), { dataDir });
      assert.deepEqual(listed.map(({ pid, alive }) => ({ pid, alive })), [{ pid: process.pid, alive: true }]);
      assert.match(listed[0]!.reason, /holds it open/);
      assert.equal(await findCrashedBufferDatabase(join(logsDir, logName), { dataDir }), undefined);
    } finally {
      await held.close();
    }
  });

  it('offers a DB named with a live pid that does not hold it open (a reused pid)', async (t) => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.after(() => other.kill('SIGKILL'));
    const pid = other.pid!;
    assert.equal(isProcessAlive(pid), true);
    const reused = await touch(`${logName}.${pid}.db`, 1000);
    const mine = await touch(`${logName}.${process.pid}.db`, 500);
    const listed = await listBufferDatabases(join(logsDir, logName), { dataDir });
    assert.deepEqual(listed.map(({ path, alive }) => ({ path, alive })), [{ path: reused, alive: false }, { path: mine, alive: false }]);
    assert.match(listed[0]!.reason, new RegExp(`process ${pid} is alive but does not hold it open`));
    assert.equal((await findCrashedBufferDatabase(join(logsDir, logName), { dataDir }))?.path, reused);
  });

  it('pid 1 (alive in every container): judged by its open files, or where those cannot be read, by its start time', async () => {
    assert.equal(isProcessAlive(1), true);
    await touch(`${logName}.1.db`, 1000);
    const [listed] = await listBufferDatabases(join(logsDir, logName), { dataDir });
    let readable = true;
    try {
      for (const fd of readdirSync('/proc/1/fd')) readlinkSync(`/proc/1/fd/${fd}`);
    } catch {
      readable = false;
    }
    if (readable) {
      assert.deepEqual([listed?.alive, listed?.reason], [false, 'process 1 is alive but does not hold it open (a reused pid)']);
    } else {
      // pid 1 started before this file was made, so it could be the writer: kept from recovery without --force.
      assert.deepEqual([listed?.alive, listed?.reason], [true, 'live process 1 may hold it (its open files cannot be read here)']);
    }
  });

  it("finds a moved log dir's DB under its old hash, by file name, and only dead ones there", async () => {
    const oldDir = bufferDatabaseDir(localLogDirUri(join(root, 'old-logs')), dataDir);
    await mkdir(oldDir, { recursive: true });
    const moved = await touch(`${logName}.111.db`, 1000, oldDir);
    await touch(`${logName}.999.db`, 3000, oldDir);
    await touch(`other-${logName}.222.db`, 2000, oldDir);
    const listed = await listBufferDatabases(join(logsDir, logName), options());
    assert.deepEqual(listed.map(({ path, relocated }) => ({ path, relocated })), [{ path: moved, relocated: true }]);
    // Once one is under the log dir's own hash, the others are not looked at.
    const own = await touch(`${logName}.222.db`, 500);
    assert.deepEqual((await listBufferDatabases(join(logsDir, logName), options())).map(({ path }) => path), [own]);
  });

  it('also looks under the hash of the real path when the log dir is reached through a symlink', async () => {
    const linkedLogs = join(root, 'linked-logs');
    await symlink(logsDir, linkedLogs);
    const viaRealPath = await touch(`${logName}.111.db`, 1000);
    const linkDir = bufferDatabaseDir(localLogDirUri(linkedLogs), dataDir);
    await mkdir(linkDir, { recursive: true });
    const viaLink = await touch(`${logName}.222.db`, 2000, linkDir);
    const listed = await listBufferDatabases(join(linkedLogs, logName), options());
    assert.deepEqual(listed.map((candidate) => candidate.path), [viaLink, viaRealPath]);
  });
});
