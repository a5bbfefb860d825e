/**
 * Liveness from locks, as users meet it: a buffer database held open by a live writer is
 * locked (/proc/locks) and so live; the same database copied with `cp -r` beside that living
 * process is locked by nobody and so crashed, whatever pid its name carries, pid 1 included,
 * and also when the check runs as a user who cannot read other processes' open files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { databaseDriver } from '../../src/buffer/database/driver.js';
import { fileWriterState } from '../../src/buffer/writer-liveness.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { fixtureDatabasePath } from './database/buffer-database-helpers.js';
import { conformanceSuiteOptions, repoRoot } from '../support/shared-fixtures.js';
import { makeScratch } from '../support/recovery-inputs.js';

const sqliteModule = pathToFileURL(join(repoRoot, 'dist/src/buffer/database/sqlite.js')).href;
const livenessModule = pathToFileURL(join(repoRoot, 'dist/src/buffer/writer-liveness.js')).href;

/** A process that keeps a WAL database open (as a running eval does) until it is killed. */
async function holdOpen(path: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `const { openSqlite } = await import(${JSON.stringify(sqliteModule)});
    const db = openSqlite(${JSON.stringify(path)});
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS samples (id TEXT, epoch INTEGER, data TEXT)');
    db.prepare('INSERT INTO samples VALUES (?, ?, ?)').run('1', 1, '{}');
    console.log('ready');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return {
    pid: child.pid!,
    kill: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** Whether user nobody can run this Node on this build (a non-root container's view). */
function nobodyCanRun(): boolean {
  return spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(join(repoRoot, 'dist/src/buffer/writer-liveness.js'))})`]).status === 0;
}

describe('liveness from locks (/proc/locks)', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  it('held open by a live process: live; copied with cp -r beside it: crashed, whatever pid its name says; after a SIGKILL: crashed', async (t) => {
    const scratch = await makeScratch(t, 'liveness-');
    const pod = join(scratch.root, 'pod');
    const original = join(pod, 'run.eval.4242.db');
    await cp(scratch.dataDir, pod, { recursive: true });
    const holder = await holdOpen(original);
    try {
      const live = fileWriterState(holder.pid, original);
      assert.equal(live.alive, true);
      assert.match(live.reason, new RegExp(`process ${holder.pid} holds a lock on it \\(/proc/locks\\)`));
      // A pid that is gone changes nothing: the kernel says somebody writes it.
      assert.equal(fileWriterState(4_000_000, original).alive, true);

      const copied = join(scratch.root, 'copied');
      await cp(pod, copied, { recursive: true });
      const copies = (await readdir(copied)).filter((name) => name.endsWith('.db'));
      assert.deepEqual(copies, ['run.eval.4242.db']);
      for (const pid of [holder.pid, 1, process.pid]) {
        const state = fileWriterState(pid, join(copied, copies[0]!));
        assert.equal(state.alive, false, `a copy named with live pid ${pid} is locked by nobody`);
        assert.match(state.reason, /no process holds a lock on it/);
      }

      // A non-root container: other processes' open files cannot be read, /proc/locks can.
      if (process.getuid?.() === 0 && nobodyCanRun()) {
        await chmod(scratch.root, 0o755);
        await chmod(copied, 0o755);
        const script = `import(${JSON.stringify(livenessModule)}).then((m) => console.log(JSON.stringify(m.fileWriterState(1, ${JSON.stringify(join(copied, copies[0]!))}))))`;
        const asNobody = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], { encoding: 'utf8' });
        assert.equal(asNobody.status, 0, asNobody.stderr);
        assert.deepEqual(JSON.parse(asNobody.stdout), { alive: false, reason: 'no process holds a lock on it (/proc/locks): its writer is gone' });
      } else {
        t.diagnostic('the check as user nobody was not run: this Node or build is not readable by nobody');
      }
    } finally {
      await holder.kill();
    }
    assert.equal(fileWriterState(holder.pid, original).alive, false, 'SIGKILLed: its locks went with it');
  });
});

describe('a writer judged alive by its pid alone', conformanceSuiteOptions(), () => {
  it('is not held live past --stale-after: recovered with its buffer kept (uncertain), the reason naming the idle time', async () => {
    const located = { kind: 'database' as const, location: fixtureDatabasePath(), storage: new LocalStorage(), writer: { alive: true, reason: 'live process 1 may hold it (its open files cannot be read here)', unproven: true } };
    const open = (staleAfterMs: number) =>
      databaseDriver.open(located, { log: undefined as never, warn: () => undefined, staleAfterMs, now: Date.now() });
    const stale = await open(3600_000);
    await stale.source.close();
    assert.equal(stale.verdict, 'uncertain');
    assert.match(stale.reason, /live process 1 may hold it .*, but it last recorded activity \d+ days ago, past --stale-after \(60 min\)/);
    // Its last write is within --stale-after: the pid still counts.
    const recent = await open(Date.now());
    await recent.source.close();
    assert.equal(recent.verdict, 'running');
    // A pid proven by its locks or open files is never overruled by the clock.
    const proven = await databaseDriver.open({ ...located, writer: { alive: true, reason: 'process 7 holds a lock on it (/proc/locks)' } }, { log: undefined as never, warn: () => undefined, staleAfterMs: 1, now: Date.now() });
    await proven.source.close();
    assert.equal(proven.verdict, 'running');
  });
});
