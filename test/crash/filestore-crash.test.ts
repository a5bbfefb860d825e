/**
 * Real crashes of the writer side: a child process runs EvalRecorder with the filestore sync (the
 * `.eval`, the buffer DB and `.buffer/`) and is SIGKILLed at chosen points of a sync. After each
 * kill everything synced before must read back whole, and nothing half-written may be taken for data.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { BufferDatabaseReader } from '../../src/buffer/database/reader.js';
import type { BufferEventRow, CollapsedBufferEvent } from '../../src/buffer/buffer-rows.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import { FilestoreReader } from '../../src/buffer/filestore/reader.js';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { ZipReader } from '../../src/zip/zip-reader.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../support/s3-server.js';
import { repoRoot } from '../support/shared-fixtures.js';
import { pythonReadsZip } from '../support/python.js';

type PauseAt = 'segment-write' | 'manifest-write' | 'between-flushes' | 's3-segment-upload';

interface ChildConfig {
  logFile: string;
  dataDir: string;
  pauseAt: PauseAt;
  /** The round whose sync is interrupted; earlier rounds sync completely. */
  pauseRound: number;
  /** The filestore on S3 (the `.eval` stays local): the prefix and the S3Storage options. */
  s3?: { bufferDir: string; options: unknown };
}

/** What the child reports after each completed sync. */
interface SyncReport {
  round: number;
  segmentId: number | null;
  manifestSha256: string;
  flushed: number;
}

const dist = (path: string) => JSON.stringify(pathToFileURL(join(repoRoot, 'dist', path)).href);

/**
 * The writer: rounds of two new samples each, the previous round's samples finishing (the log is
 * flushed every 3 completions), one explicit sync per round. Pauses are armed only for
 * `pauseRound`: fs/promises is patched (before the library loads) so a segment's copy into place
 * stops half-way, or the manifest's rename is never made; on S3 the segment upload stalls after
 * its first MiB.
 */
const childScript = `
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { PassThrough } from 'node:stream';
const config = JSON.parse(process.env.CRASH_CHILD_CONFIG);
const fsp = createRequire(import.meta.url)('fs/promises');
let armed = false;
const say = (line) => process.stdout.write(line + '\\n');
const hang = (what) => {
  say('pause ' + what);
  setInterval(() => {}, 1000);
  return new Promise(() => {});
};
const { copyFile, rename } = fsp;
fsp.copyFile = async (from, to, mode) => {
  if (armed && config.pauseAt === 'segment-write' && basename(to).startsWith('.segment.')) {
    const bytes = await fsp.readFile(from);
    await fsp.writeFile(to, bytes.subarray(0, bytes.length >> 1));
    return hang('segment-write');
  }
  return copyFile(from, to, mode);
};
fsp.rename = async (from, to) => {
  if (armed && config.pauseAt === 'manifest-write' && basename(to) === 'manifest.json') return hang('manifest-write');
  return rename(from, to);
};
syncBuiltinESMExports();

const { EvalRecorder } = await import(${dist('src/recorder/eval-recorder.js')});
const { FilestoreSyncHook } = await import(${dist('src/buffer/filestore/sync-hook.js')});
const { S3Storage } = await import(${dist('src/storage/s3-storage.js')});
const { storageFor } = await import(${dist('src/storage/storage-for.js')});
const { filestoreDirForLog } = await import(${dist('src/buffer/filestore/layout.js')});
const { arithSample, arithStart } = await import(${dist('test/support/arith-log.js')});
const { openingEvents, laterEvents } = await import(${dist('test/buffer/filestore/sync-helpers.js')});

let storage;
if (config.s3) {
  storage = new S3Storage(config.s3.options);
  // Armed: a segment upload sends its first MiB, prints the marker and stalls: the kill lands mid-upload.
  storage.client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request;
      if (armed && config.pauseAt === 's3-segment-upload' && request.method === 'PUT' && basename(request.path).startsWith('segment.')) {
        const source = request.body;
        const stalled = new PassThrough();
        let sent = 0;
        source.on('data', (chunk) => {
          stalled.write(chunk);
          sent += chunk.length;
          if (sent >= 1 << 20) {
            source.pause();
            setInterval(() => {}, 1000);
            say('pause s3-segment-upload');
          }
        });
        request.body = stalled;
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'stallSegmentUploadForTest' },
  );
}
const bufferDir = config.s3?.bufferDir ?? filestoreDirForLog(config.logFile);
storage ??= storageFor(bufferDir);
const hook = new FilestoreSyncHook({ intervalSeconds: 3600, storage, bufferDir });
const recorder = await EvalRecorder.start(config.logFile, arithStart({ samples: 100, epochs: 1 }), { dataDir: config.dataDir, logBuffer: 3, sync: hook });
say('db ' + recorder.bufferDatabasePath);
const sampleId = (index) => arithSample(index, 1).id;
let flushed = 0;
for (let round = 1; round <= 10; round++) {
  for (const index of [2 * round - 1, 2 * round]) {
    const sample = arithSample(index, 1);
    recorder.sampleStarted({ id: sample.id, epoch: 1, input: sample.input, target: sample.target, metadata: sample.metadata });
    recorder.events(sample.id, 1, openingEvents(index));
  }
  if (round === config.pauseRound && config.s3) {
    // 4 MiB that do not compress: this round's segment is well over the 1 MiB sent before the stall.
    recorder.events(sampleId(2 * round), 1, [{ event: 'info', data: { blob: randomBytes(4 << 20).toString('base64') } }]);
  }
  if (round > 1) {
    for (const index of [2 * round - 3, 2 * round - 2]) {
      recorder.events(sampleId(index), 1, laterEvents(index, 2));
      await recorder.sampleCompleted(arithSample(index, 1));
      if ((index % 3) === 0) flushed = index;
    }
  }
  armed = round === config.pauseRound;
  const result = await hook.filestore.sync();
  const manifest = await storage.read(storage.join(bufferDir, 'manifest.json'));
  say('synced ' + JSON.stringify({ round, segmentId: result.segmentId ?? null, manifestSha256: createHash('sha256').update(manifest).digest('hex'), flushed }));
  if (armed && config.pauseAt === 'between-flushes') await hang('between-flushes');
}
say('done');
`;

// --- running the child ---------------------------------------------------------------------------

interface KilledRun {
  reports: SyncReport[];
  pauseLine: string;
  databasePath: string;
}

/** Runs the child until it prints `pause …`, then SIGKILLs it. */
async function runUntilPause(scratch: string, config: ChildConfig): Promise<KilledRun> {
  const tmp = join(scratch, 'tmp');
  await mkdir(tmp, { recursive: true });
  const script = join(scratch, 'writer.mjs');
  await writeFile(script, childScript);
  const child = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // TMPDIR: the killed writer's temp files stay inside the scratch directory.
    env: { ...process.env, TMPDIR: tmp, CRASH_CHILD_CONFIG: JSON.stringify(config) },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const reports: SyncReport[] = [];
  let pauseLine: string | undefined;
  let databasePath: string | undefined;
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line.startsWith('db ')) databasePath = line.slice(3);
      if (line.startsWith('synced ')) reports.push(JSON.parse(line.slice('synced '.length)) as SyncReport);
      if (line.startsWith('pause ')) {
        pauseLine = line;
        break;
      }
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  assert.equal(child.signalCode, 'SIGKILL', `the child was killed, it did not exit (code ${child.exitCode}, stderr: ${stderr})`);
  assert.ok(pauseLine && databasePath, `the child reached its pause point (stderr: ${stderr})`);
  return { reports, pauseLine, databasePath };
}

// --- checks --------------------------------------------------------------------------------------

/** Inspect's logical history over raw rows: grouped by event id, at the first row, with the last payload. */
function collapse(rows: readonly BufferEventRow[]): CollapsedBufferEvent[] {
  const slots = new Map<string, CollapsedBufferEvent>();
  for (const row of rows) {
    const slot = slots.get(row.eventId);
    slots.set(row.eventId, slot ? { ...row, firstRowId: slot.firstRowId, rowCount: slot.rowCount + 1 } : { ...row, firstRowId: row.id, rowCount: 1 });
  }
  return [...slots.values()].sort((a, b) => a.firstRowId - b.firstRowId);
}

interface Aftermath {
  /** Sample entry names in the `.eval`. */
  logSamples: Set<string>;
  filestore: FilestoreReader;
}

/**
 * After the kill: the `.eval` is a valid zip; the manifest parses and every segment it lists opens
 * (no warnings); each manifest sample reads back exactly the DB rows up to its cursors; a sample
 * the DB no longer has was flushed into the `.eval`.
 */
async function checkAftermath(storage: Storage, logFile: string, bufferDir: string, databasePath: string): Promise<Aftermath> {
  const log = await EvalLogReader.open(logFile);
  const logSamples = new Set([...log.sampleEntries()].map((entry) => entry.name));
  await log.close();
  assert.ok(pythonReadsZip(logFile).entries > logSamples.size, 'Python reads the .eval as a zip');

  const warnings: string[] = [];
  const filestore = await FilestoreReader.openDirectory(bufferDir, { storage, onWarning: (warning) => warnings.push(warning.message) });
  const database = await BufferDatabaseReader.open(databasePath);
  try {
    assert.ok(filestore.samples().length > 0);
    for (const sample of filestore.samples()) {
      const data = await filestore.sampleData(sample.id, sample.epoch);
      assert.ok(data);
      const cursor = (field: 'last_event_id' | 'last_attachment_id' | 'last_message_pool_id' | 'last_call_pool_id') =>
        Math.max(0, ...sample.segments.map((segment) => segment.record?.[field] ?? 0));
      if (database.sample(sample.id, sample.epoch) === undefined) {
        assert.ok(logSamples.has(`samples/${sample.id}_epoch_${sample.epoch}.json`), `sample ${sample.id} left the DB, so it is in the .eval`);
        continue;
      }
      const label = `sample ${sample.id}`;
      assert.deepEqual(data.events, collapse(database.eventRows(sample.id, sample.epoch).filter((row) => row.id <= cursor('last_event_id'))), `${label}: events`);
      assert.deepEqual(data.messagePool, database.messagePool(sample.id, sample.epoch).filter((row) => row.id <= cursor('last_message_pool_id')), `${label}: message pool`);
      assert.deepEqual(data.callPool, database.callPool(sample.id, sample.epoch).filter((row) => row.id <= cursor('last_call_pool_id')), `${label}: call pool`);
      const attachments = database.attachmentRows(sample.id, sample.epoch).filter((row) => row.id <= cursor('last_attachment_id'));
      assert.deepEqual(data.attachments, new Map(attachments.map((row) => [row.hash, row.content])), `${label}: attachments`);
    }
    assert.ok(database.samples().some((sample) => !sample.completed), 'the crashed DB, read through a private copy, holds the running samples');
  } finally {
    // Its manifest and listing stay readable; only its open segments are closed.
    await filestore.close();
    database.close();
  }
  assert.deepEqual(warnings, [], 'every segment the manifest lists opens');
  return { logSamples, filestore };
}

async function sha256Of(storage: Storage, location: string): Promise<string> {
  return createHash('sha256').update(await storage.read(location)).digest('hex');
}

async function opensAsZip(storage: Storage, location: string): Promise<boolean> {
  try {
    await (await ZipReader.open(storage.byteSource(location))).close();
    return true;
  } catch {
    return false;
  }
}

// --- tests ---------------------------------------------------------------------------------------

describe('a SIGKILLed writer (EvalRecorder + filestore sync)', () => {
  let scratch: string;
  const storage = new LocalStorage();
  const pauseRound = 3;

  before(async () => {
    scratch = await makeTempDir('filestore-crash-');
  });
  after(async () => {
    if (scratch) await removeTempDir(scratch);
  });

  async function killAt(pauseAt: PauseAt): Promise<KilledRun & { logFile: string; bufferDir: string; dir: string }> {
    const dir = join(scratch, pauseAt);
    const logFile = join(dir, 'logs', `2026-11-22T13-41-38-00-00_arith_${pauseAt}.eval`);
    const run = await runUntilPause(dir, { logFile, dataDir: join(dir, 'data'), pauseAt, pauseRound });
    assert.deepEqual(run.pauseLine, `pause ${pauseAt}`);
    assert.deepEqual(
      run.reports.map((report) => report.round),
      Array.from({ length: pauseRound - (pauseAt === 'between-flushes' ? 0 : 1) }, (_, index) => index + 1),
      'earlier rounds synced completely',
    );
    return { ...run, logFile, bufferDir: filestoreDirForLog(logFile), dir };
  }

  it('mid-segment write: the torn copy is never a segment, the last manifest reads back whole', async () => {
    const { reports, logFile, bufferDir, databasePath, dir } = await killAt('segment-write');
    const last = reports.at(-1)!;
    assert.equal(await sha256Of(storage, join(bufferDir, 'manifest.json')), last.manifestSha256, 'the manifest of the last completed sync');
    const names = await readdir(bufferDir);
    const torn = names.filter((name) => name.startsWith('.segment.') && name.endsWith('.tmp'));
    assert.equal(torn.length, 1, `a torn temp copy is left: ${names.join(', ')}`);
    assert.equal(await opensAsZip(storage, join(bufferDir, torn[0]!)), false, 'and it is torn');
    assert.equal(names.includes(`segment.${last.segmentId! + 1}.zip`), false, 'the new segment never appeared');
    // The segment was built whole in a local temp file before the copy into place began.
    // (under the process's own temp dir, which a SIGKILL leaves behind).
    const [processTemp] = (await readdir(join(dir, 'tmp'))).filter((name) => name.startsWith('inspect-recover-'));
    assert.ok(processTemp, "the process's temp dir is left in TMPDIR");
    const [built] = (await readdir(join(dir, 'tmp', processTemp))).filter((name) => name.startsWith('segment-'));
    assert.ok(built, 'the temp segment is left in it');
    assert.ok(await opensAsZip(storage, join(dir, 'tmp', processTemp, built, `segment.${last.segmentId! + 1}.zip`)));
    const { filestore } = await checkAftermath(storage, logFile, bufferDir, databasePath);
    assert.deepEqual(
      filestore.manifest.segments.map((segment) => segment.id),
      reports.flatMap((report) => (report.segmentId === null ? [] : [report.segmentId])),
    );
  });

  it('mid-manifest write: the new segment is an orphan, the previous manifest reads back whole', async () => {
    const { reports, logFile, bufferDir, databasePath } = await killAt('manifest-write');
    const last = reports.at(-1)!;
    assert.equal(await sha256Of(storage, join(bufferDir, 'manifest.json')), last.manifestSha256, 'the manifest of the last completed sync');
    const names = await readdir(bufferDir);
    assert.ok(names.some((name) => name.startsWith('.manifest.json.') && name.endsWith('.tmp')), 'the new manifest was written but not renamed');
    const orphan = `segment.${last.segmentId! + 1}.zip`;
    assert.ok(names.includes(orphan), 'the new segment was stored first');
    assert.ok(await opensAsZip(storage, join(bufferDir, orphan)), 'whole');
    const { filestore } = await checkAftermath(storage, logFile, bufferDir, databasePath);
    assert.equal(
      filestore.manifest.segments.some((segment) => segment.id === last.segmentId! + 1),
      false,
      'no manifest names it',
    );
  });

  it('between flushes: everything synced is there, and the log holds every flushed sample', async () => {
    const { reports, logFile, bufferDir, databasePath, dir } = await killAt('between-flushes');
    const last = reports.at(-1)!;
    assert.equal(await sha256Of(storage, join(bufferDir, 'manifest.json')), last.manifestSha256);
    const names = await readdir(bufferDir);
    assert.deepEqual(
      names.filter((name) => name.endsWith('.tmp')),
      [],
      'no write was under way',
    );
    const { logSamples, filestore } = await checkAftermath(storage, logFile, bufferDir, databasePath);
    assert.equal(logSamples.size, last.flushed, 'the log holds the flushed samples');
    const temps = await readdir(join(dir, 'tmp'));
    assert.deepEqual(temps.filter((name) => name.startsWith('inspect-recover-segment-')), [], 'no temp segment is left behind');
    // Every started sample is in the log or in the filestore: recovery loses nothing that was synced.
    const inFilestore = new Set(filestore.samples().map((sample) => sample.id));
    for (let index = 1; index <= 2 * pauseRound; index++) {
      const id = index % 2 === 1 ? String(index) : `s-${String(index).padStart(3, '0')}`;
      assert.ok(logSamples.has(`samples/${id}_epoch_1.json`) || inFilestore.has(id), `sample ${id}`);
    }
  });

  describe('with the filestore on S3', s3ServerAvailability(), () => {
    let server: TestS3Server;
    before(async () => {
      server = await startS3Server();
    });
    after(async () => {
      await server?.stop();
    });

    it('during a segment upload: the objects the manifest lists are whole, and it reads back whole', async () => {
      const dir = join(scratch, 's3');
      const logFile = join(dir, 'logs', '2026-11-22T13-41-38-00-00_arith_s3.eval');
      const bufferDir = `s3://${server.bucket}/crash/.buffer/2026-11-22T13-41-38-00-00_arith_s3`;
      const { reports, pauseLine, databasePath } = await runUntilPause(dir, {
        logFile,
        dataDir: join(dir, 'data'),
        pauseAt: 's3-segment-upload',
        pauseRound,
        s3: { bufferDir, options: server.options },
      });
      assert.equal(pauseLine, 'pause s3-segment-upload');
      const last = reports.at(-1)!;
      assert.equal(last.round, pauseRound - 1);
      const manifestSha = await sha256Of(server.storage, `${bufferDir}/manifest.json`);
      assert.equal(manifestSha, last.manifestSha256, 'the upload was cut before the manifest named the segment');
      const { filestore } = await checkAftermath(server.storage, logFile, bufferDir, databasePath);
      for (const segment of filestore.manifest.segments) assert.ok(await opensAsZip(server.storage, filestore.segmentLocation(segment.id)));
      // A PUT cut off mid-body leaves no object at all.
      assert.equal(await server.storage.stat(`${bufferDir}/segment.${last.segmentId! + 1}.zip`), undefined, 'no torn object');
    });
  });
});
