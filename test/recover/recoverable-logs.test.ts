/** Listing the logs that need recovery (recovery.md §2, §10): recoverableEvalLogs and `--list`. */
import assert from 'node:assert/strict';
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { heartbeat, heartbeatFileName } from '../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import { listingJson, recoverableEvalLogs, type RecoverableEvalLog } from '../../src/recover/recoverable-logs.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { arithHeader, arithSample, arithStart } from '../support/arith-log.js';
import { databaseLogName, filestoreLogName, layOutCrashedFixtures, type CrashedLayout } from '../support/crashed-layout.js';
import { isOneLineError } from '../support/cli.js';
import { runCliIn } from '../support/recover-cli.js';
import { bufferSample, makeScratch, openBufferDatabase, writeCrashedLog, writeFinishedLog } from '../support/recovery-inputs.js';
import { conformanceSuiteOptions, inspectFixture } from '../support/shared-fixtures.js';

const inspectKeys = ['name', 'task', 'total_samples', 'flushed_samples', 'completed_samples', 'in_progress_samples', 'source'] as const;

async function layout(t: TestContext): Promise<CrashedLayout> {
  const laidOut = await layOutCrashedFixtures();
  t.after(() => rm(laidOut.root, { recursive: true, force: true }));
  return laidOut;
}

/** Inspect's part of an entry, with the log dir replaced by Inspect fixtures' placeholder. */
function asInspectListed(entry: RecoverableEvalLog, logsDir: string): Record<string, unknown> {
  const json = listingJson(entry);
  return Object.fromEntries(inspectKeys.map((name) => [name, name === 'name' ? entry.name.replace(`file://${logsDir}/`, 'file:///logs/') : json[name]]));
}

const byName = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.name).localeCompare(String(b.name));

describe('recoverableEvalLogs', conformanceSuiteOptions(), () => {
  it("the crashed fixtures: Inspect's keys and counts (20 total, 4 flushed, 2 completed, 4 in-progress), then status crashed", async (t) => {
    const { logsDir, dataDir, databaseLog, filestoreLog } = await layout(t);
    const listed = await recoverableEvalLogs(logsDir, { dataDir });
    assert.equal(listed.length, 2);
    for (const entry of listed) assert.deepEqual(Object.keys(listingJson(entry)).slice(0, inspectKeys.length), [...inspectKeys], "Inspect's keys first, in its order");
    const inspectListing = JSON.parse(await readFile(inspectFixture('recovered-by-inspect', 'list.json'), 'utf8')) as Record<string, unknown>[];
    assert.deepEqual(listed.map((entry) => asInspectListed(entry, logsDir)).sort(byName), inspectListing.sort(byName));

    const byPath = new Map(listed.map((entry) => [entry.path, entry]));
    assert.equal(byPath.get(databaseLog)!.source, 'database');
    assert.equal(byPath.get(filestoreLog)!.source, 'filestore');
    for (const entry of listed) {
      assert.equal(entry.status, 'crashed');
      assert.equal(entry.recoveredPath, undefined);
      assert.ok(Date.parse(entry.lastActivity!) < Date.parse('2026-11-23T00:00:00Z'), 'the time the run recorded, not the copy\'s mtime');
    }
    // A trailing slash on the log dir changes nothing.
    assert.deepEqual((await recoverableEvalLogs(`${logsDir}/`, { dataDir })).map((entry) => entry.path).sort(), [databaseLog, filestoreLog].sort());
  });

  it('newest log first (by the mtime of the .eval)', async (t) => {
    const { logsDir, dataDir, databaseLog, filestoreLog } = await layout(t);
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
    await utimes(databaseLog, at(50), at(50));
    await utimes(filestoreLog, at(40), at(40));
    assert.deepEqual((await recoverableEvalLogs(logsDir, { dataDir })).map((entry) => entry.path), [filestoreLog, databaseLog]);
    await utimes(databaseLog, at(30), at(30));
    assert.deepEqual((await recoverableEvalLogs(logsDir, { dataDir })).map((entry) => entry.path), [databaseLog, filestoreLog]);
  });

  it('a log whose -recovered.eval exists is listed as recovered (Inspect leaves it out)', async (t) => {
    const { logsDir, dataDir, databaseLog, filestoreLog } = await layout(t);
    const result = await recoverEvalLog(filestoreLog, { dataDir, cleanup: false });
    const listed = await recoverableEvalLogs(logsDir, { dataDir });
    const entry = listed.find((candidate) => candidate.path === filestoreLog)!;
    assert.equal(entry.status, 'recovered');
    assert.equal(entry.recoveredPath, result.output);
    assert.equal(listed.find((candidate) => candidate.path === databaseLog)!.status, 'crashed');
    assert.ok(!listed.some((candidate) => candidate.path.endsWith('-recovered.eval')), 'recovered logs are not listed themselves');
  });

  it('recovered with cleanup, a log is no longer listed', async (t) => {
    const { logsDir, dataDir, databaseLog, filestoreLog } = await layout(t);
    await recoverEvalLog(databaseLog, { dataDir });
    await recoverEvalLog(filestoreLog, { dataDir });
    assert.deepEqual(await recoverableEvalLogs(logsDir, { dataDir }), []);
  });

  it('a running eval (live DB pid, or fresh filestore heartbeat) is listed as running', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log('live.eval');
    await writeCrashedLog(log, arithStart({ samples: 3, epochs: 1 }));
    const db = openBufferDatabase(log, scratch.dataDir, process.pid);
    t.after(() => db.close({ cleanup: false }));
    bufferSample(db, arithSample(1, 1), 'in-progress');

    const { logsDir, dataDir, filestoreLog } = await layout(t);
    await writeFile(join(filestoreDirForLog(filestoreLog), heartbeatFileName), JSON.stringify(heartbeat(2)));

    const [live] = await recoverableEvalLogs(scratch.logsDir, { dataDir: scratch.dataDir });
    assert.deepEqual([live?.status, live?.source, live?.inProgressSamples], ['running', 'database', 1], 'a running log shows its real counts');
    const shared = (await recoverableEvalLogs(logsDir, { dataDir })).find((entry) => entry.path === filestoreLog)!;
    assert.deepEqual([shared.status, shared.source], ['running', 'filestore']);
    assert.ok(Date.parse(shared.lastActivity!) < Date.parse('2026-11-23T00:00:00Z'), 'last activity is what the buffer recorded, not the heartbeat');
  });

  it('finished logs are not listed, logs without a buffer are (source none); subdirectories are searched, .buffer is not', async (t) => {
    const scratch = await makeScratch(t);
    const start = arithStart({ samples: 2, epochs: 3 });
    const finished = scratch.log('finished.eval');
    await writeFinishedLog(finished, start, [arithSample(1, 1)], arithHeader(start, 'success', 1));
    await openBufferDatabase(finished, scratch.dataDir).close({ cleanup: false });
    // Another run of the same task (a finished log of this very run would be its recovered copy).
    await writeCrashedLog(scratch.log('no-buffer.eval'), { ...start, eval: { ...start.eval, eval_id: 'another-eval' } });
    const nested = join(scratch.logsDir, 'set', 'task-a', 'nested.eval');
    await writeCrashedLog(nested, start, [[arithSample(1, 1)]]);
    const db = openBufferDatabase(nested, scratch.dataDir);
    bufferSample(db, arithSample(2, 1), 'completed');
    bufferSample(db, arithSample(1, 2), 'in-progress');
    await db.close({ cleanup: false });
    // A log inside .buffer/ (never a real log) is not looked at.
    await writeCrashedLog(join(scratch.logsDir, '.buffer', 'x', 'hidden.eval'), start);

    const listed = await recoverableEvalLogs(scratch.logsDir, { dataDir: scratch.dataDir });
    assert.deepEqual(
      listed.map((entry) => [entry.path, entry.totalSamples, entry.flushedSamples, entry.completedSamples, entry.inProgressSamples, entry.status]).sort(),
      [
        [nested, 6, 1, 1, 1, 'crashed'],
        [scratch.log('no-buffer.eval'), 6, 0, 0, 0, 'crashed'],
      ].sort(),
    );
    assert.deepEqual(listed.map((entry) => entry.source).sort(), ['database', 'none']);
  });

  it("task is what Inspect lists: taken from the file's name, as eval_set names its logs (hold-retry for a task hold_retry)", async (t) => {
    const scratch = await makeScratch(t);
    const start = arithStart({ samples: 2, epochs: 1, task: 'hold_retry' });
    const named = scratch.log('2026-11-22T12-00-00-00-00_hold-retry_4pXb7Qq2VnRk9TzL6mHc3D.eval');
    const bare = scratch.log('run-fixed.eval');
    await writeCrashedLog(named, start, [[arithSample(1, 1)]]);
    await writeCrashedLog(bare, { ...start, eval: { ...start.eval, eval_id: 'another-eval' } });
    const listed = await recoverableEvalLogs(scratch.logsDir, { dataDir: scratch.dataDir });
    assert.deepEqual(listed.map((entry) => [entry.path, listingJson(entry).task]).sort(), [[bare, ''], [named, 'hold-retry']].sort());
  });

  it('an empty or missing log dir: []', async (t) => {
    const scratch = await makeScratch(t);
    assert.deepEqual(await recoverableEvalLogs(scratch.logsDir, { dataDir: scratch.dataDir }), []);
    assert.deepEqual(await recoverableEvalLogs(join(scratch.root, 'missing'), { dataDir: scratch.dataDir }), []);
  });
});

describe('inspect-recover --list', conformanceSuiteOptions(), () => {
  it('text: per log, its path relative to the working directory, source, status and counts', async (t) => {
    const { root, xdgDataHome } = await layout(t);
    const { status, stdout, stderr } = await runCliIn(root, ['--list', '--log-dir', 'logs'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(status, 0, stderr);
    assert.equal(stderr, '');
    const blocks = stdout.split('\n\n').map((block) => block.trim()).filter((block) => block !== '');
    assert.equal(blocks.length, 2);
    // No blank line first (`--list | head -1` is a log's line) nor last.
    assert.ok(stdout.startsWith('log: ') && stdout.endsWith(')\n'), JSON.stringify(stdout));
    for (const [name, source] of [[databaseLogName, 'database'], [filestoreLogName, 'filestore']]) {
      const block = blocks.find((candidate) => candidate.includes(name!))!;
      const lines = block.split('\n').map((line, index) => (index === 0 ? line : `  ${line.trimStart()}`));
      assert.equal(lines[0], `log: logs/${name}`);
      assert.equal(lines[1], `  source: ${source}`);
      assert.match(lines[2]!, /^ {2}status: crashed, last activity \d{4}-\d\d-\d\dT[\d:.]+Z$/);
      assert.equal(lines[3], '  (20 total, 4 flushed, 2 completed, 4 in-progress)');
    }
  });

  it('--json: the listing as a JSON array; INSPECT_LOG_DIR is the default log dir; the data dir from XDG_DATA_HOME', async (t) => {
    const { root, logsDir, xdgDataHome, dataDir } = await layout(t);
    const { status, stdout } = await runCliIn(root, ['--list', '--json'], { XDG_DATA_HOME: xdgDataHome, INSPECT_LOG_DIR: logsDir });
    assert.equal(status, 0);
    assert.deepEqual((JSON.parse(stdout) as RecoverableEvalLog[]).map((entry) => entry.name).sort(), (await recoverableEvalLogs(logsDir, { dataDir })).map((entry) => entry.name).sort());
    assert.match(stdout, /^\[\n {2}\{\n {4}"name": /, '2-space indentation');
  });

  it('nothing to recover: `No recoverable logs found.`, and `[]` with --json', async (t) => {
    const scratch = await makeScratch(t);
    const text = await runCliIn(scratch.root, ['--list']);
    assert.deepEqual(text, { status: 0, stdout: 'No recoverable logs found.\n', stderr: '' });
    const json = await runCliIn(scratch.root, ['--list', '--json', '--log-dir', scratch.logsDir]);
    assert.deepEqual(json, { status: 0, stdout: '[]\n', stderr: '' });
  });

  it('a log it cannot read is named in a warning and left out; the others are still listed', async (t) => {
    const { root, logsDir, dataDir, databaseLog, filestoreLog } = await layout(t);
    const broken = join(logsDir, 'broken.eval');
    await writeFile(broken, 'not a zip at all');
    const warnings: unknown[] = [];
    const listed = await recoverableEvalLogs(logsDir, { dataDir, onWarning: (warning) => warnings.push(warning) });
    assert.deepEqual(listed.map((entry) => entry.path).sort(), [databaseLog, filestoreLog].sort());
    assert.equal(warnings.length, 1);
    assert.match((warnings[0] as { message: string }).message, /broken\.eval: not a zip archive \(left out of the listing\)$/);
    assert.deepEqual(warnings[0], { code: 'LOG_UNREADABLE', message: (warnings[0] as { message: string }).message, log: broken, details: { path: broken } });

    const cli = await runCliIn(root, ['--list', '--json', '--log-dir', logsDir, '--data-dir', dataDir]);
    assert.equal(cli.status, 0);
    assert.equal((JSON.parse(cli.stdout) as unknown[]).length, 2, 'stdout stays the array');
    assert.match(cli.stderr, /^warning \[LOG_UNREADABLE\]: .*broken\.eval: not a zip archive \(left out of the listing\)\n$/);
  });

  it('an unreadable log dir location is one clean error line', async (t) => {
    const scratch = await makeScratch(t);
    const result = await runCliIn(scratch.root, ['--list', '--log-dir', 's3://']);
    assert.notEqual(result.status, 0);
    assert.ok(isOneLineError(result.stderr), result.stderr);
  });
});
