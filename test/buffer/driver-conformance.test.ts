/**
 * One crashed run, recorded once with both kinds of buffer (the database, mirrored to the
 * filestore just before the kill), read back through every buffer driver: each must find it,
 * judge its dead writer crashed, and give the same samples with the same data.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FoundBuffer, LogRecord } from '../../src/buffer/buffer-driver.js';
import type { BufferedSample } from '../../src/buffer/buffered-sample.js';
import { bufferDrivers } from '../../src/buffer/drivers.js';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { recordCrashedRun, type RecordedCrash } from '../support/recorded-crash.js';
import { makeTempDir } from '../support/temp-dir.js';

const storage = new LocalStorage();

/** Everything a driver gives of a sample, in a form two drivers can be compared in. */
function comparable(sample: BufferedSample): unknown {
  return { ...sample, attachments: [...sample.attachments].sort(([a], [b]) => (a < b ? -1 : 1)) };
}

describe('buffer drivers: one crashed run read through each', () => {
  let root: string;
  let crash: RecordedCrash;
  let log: EvalLogReader;
  const found = new Map<string, FoundBuffer>();

  before(async () => {
    root = await makeTempDir('driver-conformance-');
    crash = await recordCrashedRun(join(root, 'logs', '2026-11-22T12-00-00-00-00_arith-bench_drivers.eval'), join(root, 'data'), 120, { shared: true, tempDir: root });
    log = await EvalLogReader.open(crash.log);
    const record: LogRecord = log;
    for (const driver of bufferDrivers) {
      const located = await driver.locate(crash.log, { storage, dataDir: crash.dataDir });
      assert.ok(located, `the ${driver.kind} driver finds the run's buffer`);
      assert.equal(located.kind, driver.kind);
      found.set(driver.kind, await driver.open(located, { log: record, warn: (warning) => assert.fail(warning.message), staleAfterMs: 3600_000, now: Date.now() }));
    }
  });
  after(async () => {
    for (const buffer of found.values()) await buffer.source.close();
    await log?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('every driver is tried, database first', () => {
    assert.deepEqual(
      bufferDrivers.map((driver) => driver.kind),
      ['database', 'filestore'],
    );
  });

  it('each judges the killed writer crashed, and says why', () => {
    for (const [kind, buffer] of found) {
      assert.equal(buffer.verdict, 'crashed', `${kind}: ${buffer.reason}`);
      assert.ok(buffer.reason.length > 0);
      assert.equal(buffer.source.kind, kind);
    }
  });

  it('each lists the same samples, finished and cut off', async () => {
    const [database, filestore] = await Promise.all([...found.values()].map((buffer) => buffer.source.samples()));
    const key = (entry: { id: unknown; epoch: number }) => `${String(entry.id)}:${entry.epoch}`;
    assert.deepEqual(filestore!.map(key).sort(), database!.map(key).sort());
    assert.deepEqual(
      filestore!.map((entry) => ({ ...entry })).sort((a, b) => (key(a) < key(b) ? -1 : 1)),
      database!.map((entry) => ({ ...entry })).sort((a, b) => (key(a) < key(b) ? -1 : 1)),
    );
    const unflushed = crash.counts.unflushed + crash.counts.inProgress;
    assert.ok(database!.length >= unflushed, `${database!.length} buffered, at least the ${unflushed} not flushed`);
    assert.ok(database!.some((entry) => !entry.completed), 'a sample cut off by the kill');
    assert.ok(database!.some((entry) => entry.completed), 'a finished sample');
  });

  it('each reads every sample the same: summary, events, attachments, pools, metadata', async () => {
    const database = found.get('database')!.source;
    const filestore = found.get('filestore')!.source;
    const entries = await database.samples();
    for (const entry of entries) {
      const [fromDatabase, fromFilestore] = await Promise.all([database.read(entry), filestore.read(entry)]);
      assert.ok(fromDatabase.events.length > 0, `sample ${entry.id} has events`);
      assert.deepEqual(comparable(fromFilestore), comparable(fromDatabase), `sample ${entry.id} epoch ${entry.epoch}`);
    }
  });

  it('each dates the last recorded activity from the buffer itself, within the run', async () => {
    const times = await Promise.all([...found.values()].map((buffer) => buffer.lastActivityMs));
    for (const time of times) {
      assert.ok(time !== undefined && Math.abs(time - Date.now()) < 10 * 60_000, `${time} is the recording's time`);
    }
  });
});
