import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqlite } from '../../../src/buffer/database/sqlite.js';
import { SampleBufferDatabase } from '../../../src/buffer/database/writer.js';
import { readHeartbeat, isHeartbeatFresh, heartbeatFileName } from '../../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog, metadataFileName, segmentFileName } from '../../../src/buffer/filestore/layout.js';
import { openLiveBufferDatabase } from '../../../src/buffer/database/live-database.js';
import { manifestSchema } from '../../../src/buffer/filestore/manifest.js';
import { FilestoreSyncHook } from '../../../src/buffer/filestore/sync-hook.js';
import { SyncScheduler } from '../../../src/buffer/filestore/sync-scheduler.js';
import { FilestoreSync } from '../../../src/buffer/filestore/sync.js';
import { formatIndentedJson } from '../../../src/buffer/pretty-json.js';
import { parsePythonJson } from '../../../src/json/python-json.js';
import { EvalRecorder } from '../../../src/recorder/eval-recorder.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import type { Storage } from '../../../src/storage/storage.js';
import { arithHeader, arithSample, arithStart } from '../../support/arith-log.js';
import { conformanceSuiteOptions, inspectFixture } from '../../support/shared-fixtures.js';
import { makeTempDir, removeTempDir } from '../../support/temp-dir.js';
import { crashedLogName } from './filestore-helpers.js';
import {
  assertFilestoreMirrorsDatabase,
  completedSummary,
  laterEvents,
  metrics,
  openingEvents,
  segmentMembers,
  startSummary,
} from './sync-helpers.js';

// --- helpers -------------------------------------------------------------------------------------

interface Run {
  database: SampleBufferDatabase;
  bufferDir: string;
  storage: Storage;
  newSync(options?: { storage?: Storage; intervalSeconds?: number; onError?: (error: Error) => void }): FilestoreSync;
  manifest(): Promise<ManifestText>;
  dbRows(sql: string, ...parameters: unknown[]): Array<Record<string, unknown>>;
}

interface ManifestText {
  text: string;
  value: {
    metrics: Array<Record<string, unknown>>;
    samples: Array<{ summary: Record<string, unknown>; segments: Array<Record<string, number> | number>; metadata_hash?: string }>;
    segments: Array<Record<string, number>>;
  };
}

/** A SampleBufferDatabase for a log in `<root>/logs`, and syncs over a live connection to it. */
async function withRun(work: (run: Run) => Promise<void>): Promise<void> {
  const root = await makeTempDir('filestore-sync-');
  const logFile = join(root, 'logs', crashedLogName);
  const database = SampleBufferDatabase.create(logFile, { dataDir: join(root, 'data', 'inspect_ai'), pid: 4242 });
  const live = openLiveBufferDatabase(database.path);
  const bufferDir = filestoreDirForLog(logFile);
  const storage = new LocalStorage();
  try {
    await work({
      database,
      bufferDir,
      storage,
      newSync: (options = {}) =>
        new FilestoreSync({ database: live, storage: options.storage ?? storage, bufferDir, intervalSeconds: options.intervalSeconds ?? 60, onError: options.onError }),
      async manifest() {
        const text = await readFile(join(bufferDir, 'manifest.json'), 'utf8');
        return { text, value: parsePythonJson(text) as ManifestText['value'] };
      },
      dbRows: (sql, ...parameters) => live.database.prepare(sql).all(...parameters) as Array<Record<string, unknown>>,
    });
  } finally {
    live.close();
    await database.close({ cleanup: true });
    await removeTempDir(root);
  }
}

const sampleEntry = (manifest: ManifestText, id: string | number) => manifest.value.samples.find((sample) => String(sample.summary.id) === String(id));

/** A storage whose segment writes fail while `failing` is set. */
function failingSegmentWrites(storage: Storage): { storage: Storage; failing: boolean } {
  const control = { failing: true, storage: undefined as unknown as Storage };
  control.storage = Object.assign(Object.create(storage) as Storage, {
    async writeFromFile(location: string, localPath: string) {
      if (control.failing) throw new Error(`refused: ${location}`);
      return storage.writeFromFile(location, localPath);
    },
  });
  return control;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await delay(10);
  }
}

// --- tests ---------------------------------------------------------------------------------------

describe('FilestoreSync', () => {
  it('mirrors the DB through syncs with new events, pools, attachments, completion, metadata and removal', () =>
    withRun(async ({ database, bufferDir, storage, newSync, manifest, dbRows }) => {
      const sync = newSync();
      const dbPath = database.path;

      database.updateMetrics(metrics);
      database.startSample(startSummary(1));
      database.startSample(startSummary('s-002'));
      database.logEvents(1, 1, openingEvents(1));
      database.logEvents('s-002', 1, openingEvents('s-002'));
      assert.deepEqual(await sync.sync(), { segmentId: 1, samples: 2, members: 2, metadataFiles: 0 });
      await assertFilestoreMirrorsDatabase(storage, bufferDir, dbPath);
      const first = await manifest();
      const firstRecord = sampleEntry(first, 1)!.segments[0] as Record<string, number>;
      assert.ok(firstRecord.last_event_id! > 0 && firstRecord.last_attachment_id! > 0 && firstRecord.last_message_pool_id! > 0 && firstRecord.last_call_pool_id! > 0, 'every table has rows');

      // Only sample 1 and the new sample 3 have new rows: only they get members, with only new rows.
      database.logEvents(1, 1, laterEvents(1, 2));
      database.startSample(startSummary(3));
      database.logEvents(3, 1, openingEvents(3));
      assert.deepEqual(await sync.sync(), { segmentId: 2, samples: 3, members: 2, metadataFiles: 0 });
      await assertFilestoreMirrorsDatabase(storage, bufferDir, dbPath);
      const second = await segmentMembers(storage, join(bufferDir, segmentFileName(2)));
      assert.deepEqual([...second.keys()], ['1_1.json', '3_1.json']);
      const member = parsePythonJson(second.get('1_1.json')!) as Record<string, Array<{ id: number }>>;
      const newIds = (list: string) => member[list]!.map((row) => row.id);
      assert.ok(newIds('events').length > 0 && newIds('message_pool').length > 0 && newIds('call_pool').length > 0);
      assert.ok(newIds('events').every((id) => id > firstRecord.last_event_id!), 'events past the cursor only');
      assert.ok(newIds('message_pool').every((id) => id > firstRecord.last_message_pool_id!));
      assert.ok(newIds('call_pool').every((id) => id > firstRecord.last_call_pool_id!));
      assert.ok(newIds('attachments').every((id) => id > firstRecord.last_attachment_id!));

      // Completion: s-002's metadata was thinned (side file), sample 1's is the summary's.
      database.completeSample('s-002', 1, completedSummary('s-002'), { metadata: { index: 's-002', nested: { weight: 0.5 }, documents: ['a', 'b'] } });
      database.completeSample(1, 1, completedSummary(1), { metadata: startSummary(1).metadata! });
      assert.deepEqual(await sync.sync(), { segmentId: undefined, samples: 3, members: 0, metadataFiles: 1 });
      await assertFilestoreMirrorsDatabase(storage, bufferDir, dbPath);
      const completed = await manifest();
      const [stored] = dbRows("SELECT sample_metadata FROM samples WHERE id = 's-002'") as Array<{ sample_metadata: string }>;
      const sha = createHash('sha256').update(stored!.sample_metadata).digest('hex');
      assert.equal(sampleEntry(completed, 's-002')!.metadata_hash, sha);
      assert.equal(await readFile(join(bufferDir, metadataFileName('s-002', 1, sha)), 'utf8'), stored!.sample_metadata);
      assert.equal(sampleEntry(completed, 1)!.metadata_hash, 'summary');
      assert.equal('metadata_hash' in sampleEntry(completed, 3)!, false, 'unknown while running');

      // Removal (flushed into the .eval): the sample leaves the manifest; its segments stay.
      database.removeSamples([{ id: 's-002', epoch: 1 }]);
      database.logEvents(3, 1, laterEvents(3, 2));
      assert.deepEqual(await sync.sync(), { segmentId: 3, samples: 2, members: 1, metadataFiles: 0 });
      await assertFilestoreMirrorsDatabase(storage, bufferDir, dbPath);
      assert.deepEqual(
        (await manifest()).value.samples.map((sample) => sample.summary.id),
        [1, 3],
      );

      // A segment without pool rows for sample 3 must not pull its pool cursors back to 0.
      database.logEvents(3, 1, [{ event: 'info', data: { note: 'no pool rows' } }]);
      assert.equal((await sync.sync()).segmentId, 4);
      database.logEvents(3, 1, laterEvents(3, 3));
      assert.equal((await sync.sync()).segmentId, 5);
      await assertFilestoreMirrorsDatabase(storage, bufferDir, dbPath);

      // Nothing new: no segment, the manifest is rewritten the same.
      const before = (await manifest()).text;
      assert.deepEqual(await sync.sync(), { segmentId: undefined, samples: 2, members: 0, metadataFiles: 0 });
      assert.equal((await manifest()).text, before);

      // Each DB row is in exactly one segment, in id order.
      const final = await manifest();
      assert.deepEqual(
        final.value.segments.map((segment) => segment.id),
        [1, 2, 3, 4, 5],
      );
      const tables = { events: 'events', attachments: 'attachments', message_pool: 'message_pool', call_pool: 'call_pool' };
      for (const id of [1, 3]) {
        const rows: Record<string, number[]> = { events: [], attachments: [], message_pool: [], call_pool: [] };
        for (const entry of sampleEntry(final, id)!.segments) {
          const segmentId = typeof entry === 'number' ? entry : entry.id!;
          const member = parsePythonJson((await segmentMembers(storage, join(bufferDir, segmentFileName(segmentId)))).get(`${id}_1.json`)!);
          for (const list of Object.keys(tables)) rows[list]!.push(...(member as Record<string, Array<{ id: number }>>)[list]!.map((row) => row.id));
        }
        for (const [list, table] of Object.entries(tables)) {
          const expected = dbRows(`SELECT id FROM ${table} WHERE sample_id = ? ORDER BY id`, String(id)).map((row) => row.id);
          assert.deepEqual(rows[list], expected, `sample ${id}: ${table}`);
        }
      }

      const names = await readdir(bufferDir);
      const segmentFiles = [1, 2, 3, 4, 5].map(segmentFileName);
      assert.deepEqual(names, ['.keep', heartbeatFileName, 'manifest.json', metadataFileName('s-002', 1, sha), ...segmentFiles].sort());
      assert.equal((await readFile(join(bufferDir, '.keep'))).length, 0);
      const beat = await readHeartbeat(storage, join(bufferDir, heartbeatFileName));
      assert.ok(beat && isHeartbeatFresh(beat));
      assert.equal(beat.interval_seconds, 60);
      assert.equal(beat.pid, process.pid);
    }));

  it("writes Inspect's names, JSON style and keys (compared with the fixture)", conformanceSuiteOptions(), () =>
    withRun(async ({ database, bufferDir, storage, newSync, manifest, dbRows }) => {
      database.updateMetrics(metrics);
      database.startSample(startSummary(5));
      database.logEvents(5, 1, [...openingEvents(5), ...laterEvents(5, 2)]);
      database.completeSample(5, 1, completedSummary(5), { metadata: startSummary(5).metadata! });
      database.startSample(startSummary('s-006'));
      database.logEvents('s-006', 1, openingEvents('s-006'));
      await newSync().sync();

      const fixtureDir = inspectFixture('crashed-filestore', '.buffer', crashedLogName.replace(/\.eval$/, ''));
      const fixture = parsePythonJson(await readFile(join(fixtureDir, 'manifest.json'), 'utf8')) as ManifestText['value'];
      const fixtureCompleted = fixture.samples.find((sample) => sample.metadata_hash !== undefined)!;
      const fixtureRunning = fixture.samples.find((sample) => sample.metadata_hash === undefined)!;
      const ours = await manifest();
      assert.ok(manifestSchema.safeParse(ours.value).success, 'validates as a manifest');
      assert.deepEqual(Object.keys(ours.value), Object.keys(fixture));
      assert.deepEqual(Object.keys(sampleEntry(ours, 5)!), Object.keys(fixtureCompleted));
      assert.deepEqual(Object.keys(sampleEntry(ours, 's-006')!), Object.keys(fixtureRunning));
      assert.deepEqual(Object.keys(sampleEntry(ours, 5)!.segments[0]!), Object.keys(fixtureCompleted.segments[0]!));
      assert.deepEqual(Object.keys(ours.value.segments[0]!), Object.keys(fixture.segments[0]!));
      assert.deepEqual(Object.keys(ours.value.metrics[0]!), Object.keys(fixture.metrics[0]!));
      // Summary keys in the order they are stored (Inspect's model order), NaN as a bare token, no final newline.
      const [storedSummary] = dbRows('SELECT data FROM samples WHERE id = ?', '5') as Array<{ data: string }>;
      assert.deepEqual(Object.keys(sampleEntry(ours, 5)!.summary), Object.keys(parsePythonJson(storedSummary!.data) as object));
      assert.equal(ours.text, formatIndentedJson(ours.value));
      assert.ok(ours.text.startsWith('{\n  "metrics": [\n    {\n      "scorer": "match",'));
      assert.match(ours.text, /"value": NaN/);
      assert.ok(ours.text.endsWith('\n}'));

      // Members: `<id>_<epoch>.json`, pretty-printed SampleData with the fixture's keys.
      const members = await segmentMembers(storage, join(bufferDir, segmentFileName(1)));
      assert.deepEqual([...members.keys()], ['5_1.json', 's-006_1.json']);
      const fixtureMembers = await segmentMembers(storage, join(fixtureDir, segmentFileName(4)));
      const fixtureMember = parsePythonJson(fixtureMembers.get('5_1.json')!) as Record<string, Array<Record<string, unknown>>>;
      const fixtureAttachment = (parsePythonJson(fixtureMembers.get('9_1.json')!) as Record<string, Array<Record<string, unknown>>>).attachments![0]!;
      const text = members.get('5_1.json')!;
      const member = parsePythonJson(text) as Record<string, Array<Record<string, unknown>>>;
      assert.equal(text, formatIndentedJson(member));
      assert.deepEqual(Object.keys(member), Object.keys(fixtureMember));
      for (const list of ['events', 'message_pool', 'call_pool']) assert.deepEqual(Object.keys(member[list]![0]!), Object.keys(fixtureMember[list]![0]!), list);
      assert.deepEqual(Object.keys(member.attachments![0]!), Object.keys(fixtureAttachment));
      // Event payloads keep the key order of their stored text, as Inspect's json.loads does.
      const storedEvents = dbRows("SELECT id, data FROM events WHERE sample_id = '5' ORDER BY id") as Array<{ id: number; data: string }>;
      assert.deepEqual(
        member.events!.map((row) => [row.id, Object.keys(row.event as object)]),
        storedEvents.map((row) => [row.id, Object.keys(parsePythonJson(row.data) as object)]),
      );
      assert.equal(member.events![0]!.sample_id, '5', 'sample ids are text in rows');
    }));

  it("a new writer on an existing filestore never rewrites a segment id, and takes nothing of the earlier writer's manifest", () =>
    withRun(async ({ database, bufferDir, storage, newSync, manifest }) => {
      database.startSample(startSummary(1));
      database.logEvents(1, 1, openingEvents(1));
      await newSync().sync();

      // A crashed writer's segment that no manifest names, then a new writer on the same directory.
      const orphan = join(bufferDir, segmentFileName(2));
      await writeFile(orphan, 'orphan');
      database.logEvents(1, 1, laterEvents(1, 2));
      const control = failingSegmentWrites(storage);
      const errors: Error[] = [];
      const sync = newSync({ storage: control.storage, onError: (error) => errors.push(error) });
      await assert.rejects(sync.sync(), /refused/);
      assert.match(sync.lastError?.message ?? '', /refused/);
      assert.equal(sync.failedSyncs, 1);
      assert.deepEqual(errors, [], 'onError is for scheduled syncs; sync() rejects instead');
      assert.deepEqual((await manifest()).value.segments.map((segment) => segment.id), [1], 'the manifest is untouched');

      control.failing = false;
      assert.equal((await sync.sync()).segmentId, 4, 'neither the orphan nor the failed id is reused');
      assert.equal(sync.lastError, undefined);
      assert.equal(await readFile(orphan, 'utf8'), 'orphan');
      // Its own rows, all of them, in its own segment: the earlier writer's cursors and segments are not its.
      assert.deepEqual((await manifest()).value.segments.map((segment) => segment.id), [4]);
      assert.deepEqual(sampleEntry(await manifest(), 1)!.segments.map((entry) => (entry as Record<string, number>).id), [4]);
      await assertFilestoreMirrorsDatabase(storage, bufferDir, database.path);
    }));

  it("a resumed run's writer pairs a sample run again with its own events only, never the crashed attempt's", () =>
    withRun(async ({ database, bufferDir, storage, newSync, manifest }) => {
      // The crashed process: sample 1's first attempt got far (many rows) before the kill.
      database.startSample(startSummary(1));
      database.logEvents(1, 1, [...openingEvents(1), ...laterEvents(1, 2), ...laterEvents(1, 3)]);
      await newSync().sync();
      const crashed = sampleEntry(await manifest(), 1)!.segments[0] as Record<string, number>;

      // The resumed process: a new database (row ids from 1 again), the sample run again, completed.
      const resumed = SampleBufferDatabase.create(join(bufferDir, '..', '..', crashedLogName), { dataDir: join(bufferDir, '..', '..', '..', 'data2'), pid: 4343 });
      const live = openLiveBufferDatabase(resumed.path);
      try {
        const retry = { ...startSummary(1), uuid: 'second-attempt-uuid-000' };
        resumed.startSample(retry);
        resumed.logEvents(1, 1, openingEvents(1));
        resumed.completeSample(1, 1, { ...completedSummary(1), uuid: retry.uuid });
        const sync = new FilestoreSync({ database: live, storage, bufferDir, intervalSeconds: 60 });
        await sync.sync();
        const entry = sampleEntry(await manifest(), 1)!;
        assert.equal(entry.summary.uuid, retry.uuid);
        const segments = entry.segments as Array<Record<string, number>>;
        assert.deepEqual(segments.map((segment) => segment.id), [2], 'only the new attempt\'s segment');
        assert.ok(segments[0]!.last_event_id! <= crashed.last_event_id!, 'its row ids are below the crashed writer\'s cursors, and still synced');
        await assertFilestoreMirrorsDatabase(storage, bufferDir, resumed.path);
      } finally {
        live.close();
        await resumed.close({ cleanup: true });
      }
    }));

  it('a sample started again in the same run gets fresh segments', () =>
    withRun(async ({ database, bufferDir, storage, newSync, manifest }) => {
      const sync = newSync();
      database.startSample(startSummary(1));
      database.logEvents(1, 1, [...openingEvents(1), ...laterEvents(1, 2)]);
      await sync.sync();
      // A retry that starts before the failed attempt's rows left the buffer.
      database.startSample({ ...startSummary(1), uuid: 'second-attempt-uuid-000' });
      database.logEvents(1, 1, openingEvents(1));
      assert.equal((await sync.sync()).segmentId, 2);
      const entry = sampleEntry(await manifest(), 1)!;
      assert.equal(entry.summary.uuid, 'second-attempt-uuid-000');
      assert.deepEqual(entry.segments.map((segment) => (segment as Record<string, number>).id), [2]);
      await assertFilestoreMirrorsDatabase(storage, bufferDir, database.path);
    }));

  it('syncs on request no more often than the interval, keeps errors, and syncs a last time on stop', () =>
    withRun(async ({ database, bufferDir, storage, newSync, manifest }) => {
      const control = failingSegmentWrites(storage);
      control.failing = false;
      const errors: Error[] = [];
      const sync = newSync({ storage: control.storage, intervalSeconds: 0.1, onError: (error) => errors.push(error) });
      database.startSample(startSummary(1));
      database.logEvents(1, 1, openingEvents(1));
      sync.requestSync();
      assert.equal(existsSync(join(bufferDir, 'manifest.json')), false, 'the first sync waits one interval');
      await until(() => existsSync(join(bufferDir, 'manifest.json')), 'the requested sync ran');

      control.failing = true;
      database.logEvents(1, 1, laterEvents(1, 2));
      sync.requestSync();
      await until(() => errors.length === 1, 'the failed sync is reported');
      assert.match(sync.lastError!.message, /refused/);

      control.failing = false;
      database.logEvents(1, 1, laterEvents(1, 3));
      await sync.stop();
      sync.requestSync();
      await delay(250);
      assert.equal(errors.length, 1);
      assert.deepEqual((await manifest()).value.segments.map((segment) => segment.id), [1, 3]);
      await assertFilestoreMirrorsDatabase(storage, bufferDir, database.path);
    }));

  it('remove() deletes the filestore; it is not synced again', () =>
    withRun(async ({ database, bufferDir, newSync }) => {
      const sync = newSync();
      database.startSample(startSummary(1));
      await sync.sync();
      assert.ok(existsSync(bufferDir));
      await sync.remove();
      assert.equal(existsSync(bufferDir), false);
      await assert.rejects(sync.sync(), { code: 'FILESTORE_REMOVED' });
      assert.equal(existsSync(bufferDir), false);
    }));
});

describe('openLiveBufferDatabase', () => {
  it('refuses a file that is not a sample buffer database', async () => {
    const root = await makeTempDir('filestore-live-');
    try {
      const path = join(root, 'other.db');
      const other = openSqlite(path);
      other.exec('CREATE TABLE samples (id TEXT)');
      other.close();
      assert.throws(() => openLiveBufferDatabase(path), { code: 'BUFFER_DATABASE', message: /missing tables task_database, events, attachments/ });
      assert.throws(() => openLiveBufferDatabase(join(root, 'missing.db')), { code: 'BUFFER_DATABASE' });
    } finally {
      await removeTempDir(root);
    }
  });
});

describe('SyncScheduler', () => {
  /** A task that records its runs and can be held open. */
  function probe() {
    const state = { starts: [] as number[], running: 0, maxRunning: 0, hold: undefined as Promise<void> | undefined, fail: false };
    const task = async () => {
      state.starts.push(Date.now());
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      try {
        await state.hold;
        if (state.fail) throw new Error('task failed');
      } finally {
        state.running--;
      }
    };
    return { state, task };
  }

  it('coalesces requests into one run, throttled to one per interval, never overlapping', async () => {
    const { state, task } = probe();
    const errors: unknown[] = [];
    const created = Date.now();
    const scheduler = new SyncScheduler(task, { intervalMs: 80, onError: (error) => errors.push(error) });
    for (let i = 0; i < 10; i++) scheduler.request();
    await until(() => state.starts.length === 1, 'the first run');
    assert.ok(state.starts[0]! - created >= 75, 'not before one interval after creation');

    let release!: () => void;
    state.hold = new Promise((resolve) => (release = resolve));
    scheduler.request();
    await until(() => state.running === 1, 'the second run is under way');
    for (let i = 0; i < 5; i++) scheduler.request(); // during the run: one follow-up
    state.hold = undefined;
    release();
    await until(() => state.starts.length === 3, 'the follow-up run');
    await delay(200);
    assert.equal(state.starts.length, 3);
    assert.ok(state.starts[2]! - state.starts[1]! >= 75, 'runs start at least one interval apart');
    assert.equal(state.maxRunning, 1);

    state.fail = true;
    scheduler.request();
    await until(() => errors.length === 1, 'the failure is reported');
    state.fail = false;
    scheduler.request();
    await until(() => state.starts.length === 5, 'later requests still run');

    await scheduler.stop();
    scheduler.request();
    await delay(150);
    assert.equal(state.starts.length, 5, 'no runs after stop');
    await scheduler.run();
    assert.equal(state.starts.length, 6, 'an explicit run still works');
  });
});

describe('FilestoreSyncHook with EvalRecorder', () => {
  const init = (index: number) => {
    const sample = arithSample(index, 1);
    return { id: sample.id as string | number, epoch: 1, input: sample.input as unknown[], target: sample.target as string, metadata: sample.metadata };
  };

  it('keeps the filestore in step while the run goes on, complete when abandoned, deleted when finished', async () => {
    const root = await makeTempDir('filestore-hook-');
    try {
      for (const ending of ['abandon', 'finish'] as const) {
        const logFile = join(root, ending, `run-${ending}.eval`);
        const hook = new FilestoreSyncHook({ intervalSeconds: 0.05 });
        const logStart = arithStart({ samples: 4, epochs: 1 });
        const recorder = await EvalRecorder.start(logFile, logStart, { dataDir: join(root, 'data'), logBuffer: 2, sync: hook });
        const bufferDir = filestoreDirForLog(logFile);
        for (const index of [1, 2, 3]) {
          recorder.sampleStarted(init(index));
          recorder.events(arithSample(index, 1).id as string | number, 1, openingEvents(index));
        }
        await recorder.sampleCompleted(arithSample(1, 1));
        await recorder.sampleCompleted(arithSample(2, 1)); // flushed into the log, so removed from the buffer
        await until(async () => {
          const text = await readFile(join(bufferDir, 'manifest.json'), 'utf8').catch(() => '');
          return text !== '' && (parsePythonJson(text) as ManifestText['value']).samples.length === 1;
        }, 'a scheduled sync saw the flush');
        recorder.events(3, 1, laterEvents(3, 2));
        const dbPath = recorder.bufferDatabasePath;
        if (ending === 'abandon') {
          await recorder.abandon();
          assert.equal(hook.lastError, undefined);
          await assertFilestoreMirrorsDatabase(new LocalStorage(), bufferDir, dbPath);
        } else {
          await recorder.finish(arithHeader(logStart, 'success', 1));
          assert.equal(hook.lastError, undefined);
          assert.equal(existsSync(bufferDir), false, 'the filestore is deleted at the normal end of the run');
        }
      }
    } finally {
      await removeTempDir(root);
    }
  });

  it('never lets a failing filestore disturb the run: failures are kept, not thrown', async () => {
    const root = await makeTempDir('filestore-hook-');
    try {
      const logFile = join(root, 'logs', 'run.eval');
      const failing = Object.assign(Object.create(new LocalStorage()) as Storage, {
        async write(location: string) {
          throw new Error(`refused: ${location}`);
        },
      });
      const errors: Error[] = [];
      const hook = new FilestoreSyncHook({ intervalSeconds: 0.05, storage: failing, onError: (error) => errors.push(error) });
      const recorder = await EvalRecorder.start(logFile, arithStart({ samples: 2, epochs: 1 }), { dataDir: join(root, 'data'), sync: hook });
      recorder.sampleStarted(init(1));
      await until(() => errors.length > 0, 'a scheduled sync failed');
      recorder.events(1, 1, openingEvents(1));
      await recorder.abandon();
      assert.match(hook.lastError?.message ?? '', /refused: .*\.keep/);
      assert.ok(errors.length >= 2, 'the scheduled failure and the final one');
      assert.equal(existsSync(filestoreDirForLog(logFile)), false);
    } finally {
      await removeTempDir(root);
    }
  });
});
