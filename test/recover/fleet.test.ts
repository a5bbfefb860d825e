/**
 * `--all` over an S3 prefix, as a sweeper meets it: crashed runs recorded by our recorder (a real
 * SIGKILL), their logs and `.buffer/` copied up as `aws s3 sync` would (fresh times), among 300
 * finished logs written by Inspect itself. Then four sweepers at once on one prefix.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bufferDatabaseDir } from '../../src/buffer/database/location.js';
import { defaultOutputPath } from '../../src/recover/output-path.js';
import type { S3Storage } from '../../src/storage/s3-storage.js';
import { runCliIn } from '../support/recover-cli.js';
import { recordCrashedRun, type RecordedCrash } from '../support/recorded-crash.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../support/s3-server.js';
import { fleetLogName, uploadCrashedCopy, uploadFinishedLogs } from '../support/s3-fleet.js';
import { makeTempDir } from '../support/temp-dir.js';

interface JsonLine {
  log?: string;
  status?: 'recovered' | 'skipped' | 'failed';
  reason?: string;
  output?: string;
  samples?: number;
  source?: string;
  dry_run?: boolean;
  warnings?: { code: string }[];
  summary?: { logs: number; crashed: number; recovered: number; skipped: number; failed: number };
}

const parseLines = (stdout: string) => stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as JsonLine);

/** Every object under a prefix with its ETag: what "nothing changed" is checked against. */
async function etags(storage: S3Storage, prefix: string): Promise<Map<string, string>> {
  return new Map((await storage.walk(prefix)).map((file) => [file.relative, file.stat.etag]));
}

describe('--all: recovering a fleet of crashed logs on S3', s3ServerAvailability(), () => {
  let server: TestS3Server;
  let root: string;
  let crash: RecordedCrash;
  let env: NodeJS.ProcessEnv;
  const logName = fleetLogName;

  before(async () => {
    server = await startS3Server();
    root = makeTempDir('fleet-');
    crash = await recordCrashedRun(join(root, 'recorded', 'logs', logName('recorded')), join(root, 'recorded', 'data'), 40, { shared: true, tempDir: root });
    env = { AWS_ENDPOINT_URL: server.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', XDG_DATA_HOME: join(root, 'xdg') };
  });
  after(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const uploadCrash = (prefix: string, tag: string, options?: { filestore?: boolean }) => uploadCrashedCopy(server.storage, crash, prefix, tag, options);

  it('recovers the 4 crashed logs among 300 finished ones and skips the live one with its reason; --dry-run before it changes nothing', async () => {
    const prefix = `s3://${server.bucket}/fleet`;
    await uploadFinishedLogs(server.storage, prefix, 300);
    const filestoreLog = await uploadCrash(prefix, 'filestore');
    const noBufferLog = await uploadCrash(prefix, 'no-buffer', { filestore: false });
    const damagedLog = await uploadCrash(prefix, 'damaged');
    const damagedSegment = `${prefix}/.buffer/${logName('damaged').replace(/\.eval$/, '')}/segment.1.zip`;
    const segment = await server.storage.read(damagedSegment);
    await server.storage.write(damagedSegment, segment.subarray(0, segment.length >> 1));
    const liveLog = await uploadCrash(prefix, 'live');
    const beat = { writer: 'inspect-recover', host: 'eval-pod-7f9c', pid: 1, time: new Date().toISOString(), interval_seconds: 60 };
    await server.storage.write(`${prefix}/.buffer/${logName('live').replace(/\.eval$/, '')}/heartbeat.json`, JSON.stringify(beat));
    // The database buffer stays on the machine that ran the eval, hashed from the prefix's URI.
    const databaseLog = await uploadCrash(prefix, 'database', { filestore: false });
    const dataDir = join(root, 'xdg', 'inspect_ai');
    const recordedDbDir = (await readdir(join(crash.dataDir, 'samplebuffer')))[0]!;
    const databaseDir = bufferDatabaseDir(prefix, dataDir);
    for (const name of await readdir(join(crash.dataDir, 'samplebuffer', recordedDbDir))) {
      await mkdir(databaseDir, { recursive: true });
      await copyFile(join(crash.dataDir, 'samplebuffer', recordedDbDir, name), join(databaseDir, name.replace(logName('recorded'), logName('database'))));
    }

    const before = await etags(server.storage, prefix);
    const dryRun = await runCliIn(root, ['--all', prefix, '--dry-run', '--json'], env);
    assert.equal(dryRun.status, 0, dryRun.stderr);
    const planned = parseLines(dryRun.stdout);
    assert.equal(planned.filter((line) => line.status === 'recovered' && line.dry_run).length, 4);
    assert.deepEqual(await etags(server.storage, prefix), before, 'every object, ETag for ETag, as it was');
    assert.equal((await readdir(databaseDir)).filter((name) => name.endsWith('.db')).length, 1, 'the database is still there');

    const sweep = await runCliIn(root, ['--all', prefix, '--jobs', '4', '--json'], env);
    assert.equal(sweep.status, 0, sweep.stderr);
    const lines = parseLines(sweep.stdout);
    const summary = lines.pop()!.summary!;
    assert.deepEqual(summary && { logs: summary.logs, crashed: summary.crashed, recovered: summary.recovered, skipped: summary.skipped, failed: summary.failed }, {
      logs: 305,
      crashed: 5,
      recovered: 4,
      skipped: 1,
      failed: 0,
    });
    const byLog = new Map(lines.map((line) => [line.log, line]));
    assert.equal(byLog.get(liveLog)?.status, 'skipped');
    assert.match(byLog.get(liveLog)!.reason!, /still running: its filestore heartbeat from eval-pod-7f9c pid 1 is \d+s old/);
    assert.equal(byLog.get(filestoreLog)?.source, 'filestore');
    assert.equal(byLog.get(databaseLog)?.source, 'database');
    assert.equal(byLog.get(noBufferLog)?.source, 'none');
    assert.ok(byLog.get(noBufferLog)!.warnings!.some((warning) => warning.code === 'BUFFER_MISSING'));
    assert.ok(byLog.get(damagedLog)!.warnings!.some((warning) => warning.code === 'SEGMENT_UNREADABLE'));
    assert.match(sweep.stderr, /warning \[SEGMENT_UNREADABLE\]/, 'lost data is said on stderr, --json or not');
    for (const log of [filestoreLog, databaseLog, noBufferLog, damagedLog]) {
      const line = byLog.get(log)!;
      assert.equal(line.status, 'recovered', `${log}: ${line.reason}`);
      assert.equal(line.output, defaultOutputPath(log));
      assert.ok(await server.storage.stat(line.output!), `${line.output} written`);
    }
    assert.equal(byLog.get(filestoreLog)!.samples, crash.counts.flushed + crash.counts.unflushed + crash.counts.inProgress);
    assert.equal((await server.storage.walk(`${prefix}/.buffer/${logName('filestore').replace(/\.eval$/, '')}`)).length, 0, 'its filestore deleted');
    assert.ok((await server.storage.walk(`${prefix}/.buffer/${logName('live').replace(/\.eval$/, '')}`)).length > 0, 'the live run untouched');

    // A second sweep finds nothing left to do, and says so without failing.
    const again = parseLines((await runCliIn(root, ['--all', prefix, '--json'], env)).stdout);
    assert.deepEqual(again.pop()!.summary!.recovered, 0);
    assert.ok(again.every((line) => line.status === 'skipped'));
  });

  it('four sweepers at once on 50 crashed logs: each log recovered exactly once, none failed, in under twice one sweeper\'s time', async () => {
    const logs = 50;
    const single = `s3://${server.bucket}/sweep-single`;
    const shared = `s3://${server.bucket}/sweep-shared`;
    for (const prefix of [single, shared]) {
      for (let start = 0; start < logs; start += 10) {
        await Promise.all(Array.from({ length: 10 }, (_, index) => uploadCrash(prefix, `run${String(start + index).padStart(3, '0')}`)));
      }
    }
    let started = performance.now();
    const alone = await runCliIn(root, ['--all', single, '--jobs', '4', '--json'], env);
    const aloneMs = performance.now() - started;
    assert.equal(alone.status, 0, alone.stderr);
    assert.equal(parseLines(alone.stdout).pop()!.summary!.recovered, logs);

    started = performance.now();
    const sweepers = await Promise.all(Array.from({ length: 4 }, () => runCliIn(root, ['--all', shared, '--jobs', '4', '--json'], env)));
    const togetherMs = performance.now() - started;
    const recoveredBy = new Map<string, number>();
    for (const sweeper of sweepers) {
      assert.equal(sweeper.status, 0, sweeper.stderr);
      const lines = parseLines(sweeper.stdout);
      lines.pop();
      for (const line of lines) {
        assert.notEqual(line.status, 'failed', `${line.log}: ${line.reason}`);
        if (line.status === 'recovered') recoveredBy.set(line.log!, (recoveredBy.get(line.log!) ?? 0) + 1);
        else assert.match(line.reason!, /being recovered by|already recovered/);
      }
    }
    assert.equal(recoveredBy.size, logs, 'every log recovered');
    assert.ok([...recoveredBy.values()].every((count) => count === 1), 'and none twice');
    for (const log of recoveredBy.keys()) assert.ok(await server.storage.stat(defaultOutputPath(log)));
    assert.equal((await server.storage.walk(`${shared}/.buffer`)).length, 0, 'every buffer deleted');
    assert.equal((await server.storage.walk(shared)).filter((file) => file.relative.includes('recovery-lease')).length, 0, 'no lease left behind');
    assert.ok(togetherMs < 2 * aloneMs, `four sweepers took ${Math.round(togetherMs)} ms, one took ${Math.round(aloneMs)} ms`);
  });
});
