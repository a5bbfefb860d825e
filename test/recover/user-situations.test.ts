/**
 * Crashed runs as users hand them over: copied with plain `cp -r` (every file's mtime fresh),
 * the data dir carried to another machine under the old log dir's hash, two recoveries of one
 * log started at once, a recorder idle in a long model call, and Inspect's `.json` logs.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { recoverableEvalLogs } from '../../src/recover/recoverable-logs.js';
import { RecoveryNotAvailable } from '../../src/errors.js';
import { arithStart } from '../support/arith-log.js';
import { databaseLogName, filestoreLogName, layOutCrashedFixtures } from '../support/crashed-layout.js';
import { makeScratch, readLog } from '../support/recovery-inputs.js';
import { runCliIn } from '../support/recover-cli.js';
import { conformanceSuiteOptions, inspectFixture, repoRoot } from '../support/shared-fixtures.js';

/** The fixtures copied the way users copy them: `cp -r`, which gives every file a fresh mtime. */
async function copiedCrashes(root: string): Promise<{ logsDir: string; xdgDataHome: string }> {
  const logsDir = join(root, 'logs');
  const xdgDataHome = join(root, 'data');
  await mkdir(join(xdgDataHome, 'inspect_ai'), { recursive: true });
  execFileSync('cp', ['-r', `${inspectFixture('crashed-filestore')}/.`, logsDir]);
  execFileSync('cp', ['-r', inspectFixture('crashed-database', databaseLogName), logsDir]);
  // The data dir as it came off the crashed machine: the DB sits under the hash of a log dir that no longer exists.
  execFileSync('cp', ['-r', inspectFixture('crashed-database', 'samplebuffer'), join(xdgDataHome, 'inspect_ai')]);
  return { logsDir, xdgDataHome };
}

describe('crashed runs as users hand them over', conformanceSuiteOptions(), () => {
  it('a plain cp -r copy is listed as crashed with Inspect\'s counts and the run\'s own last activity, and recovers at once', async (t) => {
    const scratch = await makeScratch(t);
    const { xdgDataHome } = await copiedCrashes(scratch.root);
    const listed = await runCliIn(scratch.root, ['--list', '--json', '--log-dir', 'logs'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(listed.status, 0, listed.stderr);
    const ours = JSON.parse(listed.stdout) as Record<string, unknown>[];
    const inspects = JSON.parse(await readFile(inspectFixture('recovered-by-inspect', 'list.json'), 'utf8')) as Record<string, unknown>[];
    const keys = ['task', 'total_samples', 'flushed_samples', 'completed_samples', 'in_progress_samples', 'source'];
    const pick = (entry: Record<string, unknown>) => [String(entry.name).split('/').pop(), ...keys.map((key) => entry[key])];
    assert.deepEqual(ours.map(pick).sort(), inspects.map(pick).sort(), "Inspect's own listing of the same runs");
    for (const entry of ours) {
      assert.equal(entry.status, 'crashed');
      const at = Date.parse(entry.last_activity as string);
      assert.ok(at > Date.parse('2026-11-22T13:41:00Z') && at < Date.parse('2026-11-22T13:43:00Z'), `the run's own time, not the copy's: ${entry.last_activity}`);
    }

    const fromFilestore = await runCliIn(scratch.root, [`logs/${filestoreLogName}`, '--json'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(fromFilestore.status, 0, fromFilestore.stderr);
    assert.equal(JSON.parse(fromFilestore.stdout).samples, 10);

    const fromDatabase = await runCliIn(scratch.root, [`logs/${databaseLogName}`], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(fromDatabase.status, 0, fromDatabase.stderr);
    assert.match(fromDatabase.stderr, /^warning \[BUFFER_RELOCATED\]: The buffer database of .* was found under another log directory's hash .*samplebuffer\/dc8f2688/m);
    assert.match(fromDatabase.stdout, /^Recovered 10 samples .*source: database\)$/m);
    assert.equal((await readLog(join(scratch.logsDir, databaseLogName.replace('.eval', '-recovered.eval')))).samples.size, 10);
  });

  it('--buffer names the buffer by hand: a database file, or a .buffer/<name> directory', async (t) => {
    const scratch = await makeScratch(t);
    const { logsDir } = await copiedCrashes(scratch.root);
    const databaseFile = join(scratch.root, 'data', 'inspect_ai', 'samplebuffer', 'dc8f26889265c147b969161459c851855241a71813f953c6a4ef4f8840535e8a', `${databaseLogName}.7203.db`);
    const result = await recoverEvalLog(join(logsDir, databaseLogName), { dataDir: join(scratch.root, 'elsewhere'), buffer: databaseFile, cleanup: false });
    assert.deepEqual([result.source, result.samples, result.warnings.length], ['database', 10, 0]);
    const moved = join(scratch.root, 'moved-buffer');
    execFileSync('cp', ['-r', join(logsDir, '.buffer', filestoreLogName.replace('.eval', '')), moved]);
    const fromDir = await recoverEvalLog(join(logsDir, filestoreLogName), { dataDir: join(scratch.root, 'elsewhere'), buffer: moved, output: join(scratch.root, 'x.eval') });
    assert.deepEqual([fromDir.source, fromDir.samples], ['filestore', 10]);
    await assert.rejects(recoverEvalLog(join(logsDir, filestoreLogName), { buffer: join(scratch.root, 'nope') }), /no such buffer \(named with --buffer\)/);
  });

  it('two recoveries of one log started together: one clean recovery, one clear refusal, never a degraded output', async (t) => {
    for (const overwrite of [true, false]) {
      for (let trial = 0; trial < 3; trial++) {
        const scratch = await makeScratch(t);
        const { xdgDataHome } = await copiedCrashes(scratch.root);
        const args = [`logs/${filestoreLogName}`, ...(overwrite ? ['--overwrite'] : [])];
        const runs = await Promise.all([runCliIn(scratch.root, args, { XDG_DATA_HOME: xdgDataHome }), runCliIn(scratch.root, args, { XDG_DATA_HOME: xdgDataHome })]);
        const statuses = runs.map((run) => run.status).sort();
        assert.deepEqual(statuses, [0, 2], runs.map((run) => run.stderr).join(' | '));
        const refused = runs.find((run) => run.status === 2)!;
        assert.match(refused.stderr, /^inspect-recover: .*(is being recovered by .* pid \d+|already recovered to|not a crashed log)/);
        assert.equal(refused.stderr.trimEnd().split('\n').length, 1);
        const output = join(scratch.logsDir, overwrite ? filestoreLogName : filestoreLogName.replace('.eval', '-recovered.eval'));
        const recovered = await readLog(output);
        assert.equal(recovered.header.status, 'error');
        assert.equal(recovered.samples.size, 10, `trial ${trial}: every sample, once`);
        assert.equal(recovered.summaries.length, 10);
        assert.ok(!existsSync(join(scratch.logsDir, `.${filestoreLogName}.recovery-lease`)), 'the lease is gone');
      }
    }
  });

  it('a recorder idle for 10 × its sync interval is judged running (its heartbeat beats on a timer); once killed, it is recovered', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log('idle.eval');
    const script = `
      import { EvalRecorder, FilestoreSyncHook } from ${JSON.stringify(join(repoRoot, 'dist/src/index.js'))};
      import { syntheticInit, syntheticEvents, syntheticStart } from ${JSON.stringify(join(repoRoot, 'dist/examples/synthetic-eval.js'))};
      const sync = new FilestoreSyncHook({ intervalSeconds: 1 });
      const recorder = await EvalRecorder.start(process.argv[1], syntheticStart(3), { dataDir: process.argv[2], sync });
      recorder.sampleStarted(syntheticInit(1));
      recorder.events(syntheticInit(1).id, 1, syntheticEvents(1, 3));
      await sync.filestore.sync();
      process.stdout.write('ready\\n');
      setInterval(() => recorder, 60_000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, log, scratch.dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the recorder exited early (${code})`)));
    });
    const beatFile = join(scratch.logsDir, '.buffer', 'idle', 'heartbeat.json');
    const firstBeat = JSON.parse(await readFile(beatFile, 'utf8')).time as string;
    // Seen from a machine without the DB: only the filestore tells.
    const elsewhere = join(scratch.root, 'elsewhere');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const lastBeat = JSON.parse(await readFile(beatFile, 'utf8')).time as string;
    assert.ok(Date.parse(lastBeat) - Date.parse(firstBeat) >= 7000, `the heartbeat went on while idle: ${firstBeat} → ${lastBeat}`);
    await assert.rejects(recoverEvalLog(log, { dataDir: elsewhere }), (error: unknown) => {
      assert.ok(error instanceof RecoveryNotAvailable);
      assert.match(error.message, /still running: its filestore heartbeat from .* pid \d+ is [0-2]s old/);
      return true;
    });
    const [listed] = await recoverableEvalLogs(scratch.logsDir, { dataDir: elsewhere });
    assert.deepEqual([listed?.status, listed?.inProgressSamples], ['running', 1]);
    assert.ok(existsSync(beatFile), 'the live buffer is untouched');

    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const result = await recoverEvalLog(log, { dataDir: elsewhere });
    assert.deepEqual([result.source, result.inProgress, result.cleanedUp], ['filestore', 1, true]);
  });

  it(".json logs: show reads them, --list lists started ones, recovery says what is and is not possible", async (t) => {
    const scratch = await makeScratch(t);
    const name = '2026-11-30T10-00-00-00-00_arith_JsonLog000000000000.json';
    const start = arithStart({ samples: 4, epochs: 1 });
    await writeFile(scratch.log(name), JSON.stringify({ version: 2, status: 'started', eval: start.eval, plan: start.plan, samples: [] }));
    await writeFile(scratch.log('notes.json'), '{"not": "a log"}');
    const shown = await runCliIn(scratch.root, ['show', `logs/${name}`]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /^Status\s+started \(still running, or crashed\)$/m);
    assert.match(shown.stdout, /^Samples\s+0\/4 \(0\.0%\)$/m);
    const listed = await runCliIn(scratch.root, ['--list', '--json', '--log-dir', 'logs']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { path: string; source: string }[]).map((entry) => [entry.path.split('/').pop(), entry.source]), [[name, 'none']]);
    const recovered = await runCliIn(scratch.root, [`logs/${name}`]);
    assert.equal(recovered.status, 2);
    assert.match(recovered.stderr, /^inspect-recover: logs\/.*\.json is a \.json log: recovery rebuilds \.eval logs.*use Inspect's default --log-format eval\n$/);
  });
});

describe('nothing is deleted that the user did not name', conformanceSuiteOptions(), () => {
  it("a database copied into the user's own folder and named with --buffer is kept, and so is the folder; --cleanup deletes the database alone", async (t) => {
    const layout = await layOutCrashedFixtures();
    t.after(() => rm(layout.root, { recursive: true, force: true }));
    const mine = join(layout.root, 'data');
    await mkdir(mine, { recursive: true });
    for (const name of await readdir(layout.databaseDir)) await cp(join(layout.databaseDir, name), join(mine, name));
    const db = join(mine, (await readdir(mine)).find((name) => name.endsWith('.db'))!);
    await rm(layout.databaseDir, { recursive: true });
    const kept = await runCliIn(layout.root, [layout.databaseLog, '--buffer', db]);
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stdout, /Recovered 10 samples/);
    assert.match(kept.stdout, new RegExp(`Kept the buffer ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: named with --buffer, it is yours \\(add --cleanup to delete it after recovery\\)`));
    assert.ok(existsSync(db), 'the named database is kept');
    const cleaned = await runCliIn(layout.root, [layout.databaseLog, '--buffer', db, '--cleanup']);
    assert.equal(cleaned.status, 0, cleaned.stderr);
    assert.equal(existsSync(db), false, '--cleanup deletes it');
    assert.ok(existsSync(mine), "the user's folder stays, empty or not");
  });

  it('--no-events keeps the buffer (it holds the only copy of the events) and says so; with --cleanup it goes', async (t) => {
    const layout = await layOutCrashedFixtures();
    t.after(() => rm(layout.root, { recursive: true, force: true }));
    const result = await runCliIn(layout.root, [layout.databaseLog, '--data-dir', layout.dataDir, '--no-events']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Kept the buffer .*\.db: with --no-events it holds the only copy of the events/);
    assert.equal((await readdir(layout.databaseDir)).filter((name) => name.endsWith('.db')).length, 1);
    const again = await runCliIn(layout.root, [layout.databaseLog, '--data-dir', layout.dataDir, '--no-events', '--cleanup', '--output', join(layout.logsDir, 'again.eval')]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(existsSync(layout.databaseDir), false, 'deleted with its hash directory, which Inspect made');
  });
});

describe('a buffer database copied off a pod without its sidecars', conformanceSuiteOptions(), () => {
  it('a .db copied alone with cp is recovered with WAL_MISSING, said by --list too, naming the -wal and -shm to copy', async (t) => {
    const layout = await layOutCrashedFixtures();
    t.after(() => rm(layout.root, { recursive: true, force: true }));
    const db = (await readdir(layout.databaseDir)).find((name) => name.endsWith('.db'))!;
    const whole = await runCliIn(layout.root, [layout.databaseLog, '--data-dir', layout.dataDir, '--dry-run', '--json']);
    assert.equal(whole.status, 0, whole.stderr);
    assert.doesNotMatch(whole.stderr, /WAL_MISSING/, 'the .db with its -wal: nothing to say');
    const everything = JSON.parse(whole.stdout).samples as number;

    const mine = join(layout.root, 'copied');
    await mkdir(mine);
    execFileSync('cp', [join(layout.databaseDir, db), mine]);
    const alone = join(mine, db);
    const recovered = await runCliIn(layout.root, [layout.databaseLog, '--buffer', alone, '--json']);
    assert.equal(recovered.status, 0, recovered.stderr);
    assert.match(recovered.stderr, new RegExp(`^warning \\[WAL_MISSING\\]: ${escaped(alone)} is in WAL mode but has no ${escaped(alone)}-wal beside it: samples written since its last checkpoint are missing; copy its -wal and -shm files`, 'm'));
    assert.ok(JSON.parse(recovered.stdout).samples < everything, 'the -wal held samples the .db alone lacks');

    // The same copy in a data dir of the user's: --list says it as well.
    for (const suffix of ['-wal', '-shm']) await rm(join(layout.databaseDir, db + suffix));
    const listed = await runCliIn(layout.root, ['--list', layout.logsDir, '--data-dir', layout.dataDir]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stderr, /^warning \[WAL_MISSING\]: .*\.db is in WAL mode but has no .*\.db-wal beside it/m);
  });

  it('a -wal without its .db: BUFFER_MISSING, and WAL_MISSING saying to copy the .db beside it', async (t) => {
    const layout = await layOutCrashedFixtures();
    t.after(() => rm(layout.root, { recursive: true, force: true }));
    const db = (await readdir(layout.databaseDir)).find((name) => name.endsWith('.db'))!;
    await rm(join(layout.databaseDir, db));
    const result = await runCliIn(layout.root, [layout.databaseLog, '--data-dir', layout.dataDir]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`^warning \\[WAL_MISSING\\]: .*${escaped(db)}-wal has no ${escaped(db)} beside it: .*copy the \\.db from the machine that ran the eval beside it`, 'm'));
    assert.match(result.stderr, /^warning \[BUFFER_MISSING\]/m);
  });

  it('no buffer at all: BUFFER_MISSING and --list say where Inspect keeps the database on the machine that ran the eval, and --buffer / --data-dir', async (t) => {
    const layout = await layOutCrashedFixtures();
    t.after(() => rm(layout.root, { recursive: true, force: true }));
    await rm(layout.databaseDir, { recursive: true });
    const listed = await runCliIn(layout.root, ['--list', layout.logsDir, '--data-dir', layout.dataDir]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /source: none \(no buffer found here/);
    const hint = /\$XDG_DATA_HOME\/inspect_ai\/samplebuffer\/<hash of the log dir>\/.*\.<pid>\.db \(\$XDG_DATA_HOME is usually ~\/\.local\/share\): copy it with its -wal and -shm files and name it with --buffer FILE, or copy the whole inspect_ai folder and name it with --data-dir DIR/;
    assert.match(listed.stdout, hint);
    const recovered = await runCliIn(layout.root, [layout.databaseLog, '--data-dir', layout.dataDir]);
    assert.equal(recovered.status, 0, recovered.stderr);
    assert.match(recovered.stderr, /^warning \[BUFFER_MISSING\]: .*/m);
    assert.match(recovered.stderr.split('\n').find((line) => line.includes('BUFFER_MISSING'))!, hint);
  });
});

describe('a recovered copy under a name of the user\'s', conformanceSuiteOptions(), () => {
  it('counts as recovered for --list, --all and --clean, each saying where it is; a second --all gives true reasons', async (t) => {
    const layout = await layOutCrashedFixtures();
    t.after(() => rm(layout.root, { recursive: true, force: true }));
    const fixed = join(layout.logsDir, 'run-fixed.eval');
    const first = await runCliIn(layout.root, [layout.filestoreLog, '--output', fixed, '--no-cleanup']);
    assert.equal(first.status, 0, first.stderr);

    const listed = JSON.parse((await runCliIn(layout.root, ['--list', layout.logsDir, '--data-dir', layout.dataDir, '--json'])).stdout) as { path: string; status: string; recovered_path?: string }[];
    const entry = listed.find((log) => log.path === layout.filestoreLog)!;
    assert.equal(entry.status, 'recovered');
    assert.equal(entry.recovered_path, fixed);

    const swept = await runCliIn(layout.root, ['--all', layout.logsDir, '--data-dir', layout.dataDir]);
    assert.equal(swept.status, 0, swept.stderr);
    assert.match(swept.stdout, new RegExp(`^skipped logs/${escaped(filestoreLogName)}: .*was already recovered to ${escaped(fixed)} \\(its buffer .* is left: --clean removes it\\)$`, 'm'));
    assert.match(swept.stdout, new RegExp(`^recovered logs/${escaped(databaseLogName)} → `, 'm'));
    assert.equal(existsSync(layout.filestoreLog.replace('.eval', '-recovered.eval')), false, 'no second copy of a run already recovered');

    const again = await runCliIn(layout.root, ['--all', layout.logsDir, '--data-dir', layout.dataDir]);
    assert.doesNotMatch(again.stdout, /during this sweep|another sweeper/, again.stdout);
    assert.match(again.stdout, new RegExp(`^skipped logs/${escaped(databaseLogName)}: .*already recovered to ${escaped(layout.databaseLog.replace('.eval', '-recovered.eval'))}`, 'm'));

    const cleaned = await runCliIn(layout.root, ['--clean', layout.logsDir, '--data-dir', layout.dataDir]);
    assert.equal(cleaned.status, 0, cleaned.stderr);
    assert.match(cleaned.stdout, new RegExp(`removed .*: its log was recovered to ${escaped(fixed)}`));
    assert.equal(existsSync(join(layout.logsDir, '.buffer')) && (await readdir(join(layout.logsDir, '.buffer'))).length > 0, false);
  });
});

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
