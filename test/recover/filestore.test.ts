/**
 * Recovery from the segment filestore (`.buffer/<name>/`), on the real crashed Inspect fixture laid
 * out in a temp log dir: liveness (heartbeat, manifest age), DB-over-filestore precedence, cleanup,
 * and damaged segments (test_recover_filestore.py and our additions).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { before, describe, it, type TestContext } from 'node:test';
import { heartbeat, heartbeatFileName } from '../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import type { EvalSample } from '../../src/eval/schemas.js';
import { RecoveryNotAvailable } from '../../src/errors.js';
import { recoverEvalLog, type RecoveryResult } from '../../src/recover/recover-eval-log.js';
import { findSampleBuffer } from '../../src/recover/find-buffer.js';
import { EvalLogReader } from '../../src/eval/eval-log-reader.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { StrictModeError } from '../../src/warnings.js';
import { noiseBytes } from '../buffer/filestore/filestore-helpers.js';
import { layOutCrashedFixtures, layOutLargeFixture, type CrashedLayout } from '../support/crashed-layout.js';
import { rawEntry, readLog } from '../support/recovery-inputs.js';
import { conformanceSuiteOptions } from '../support/shared-fixtures.js';

async function layout(t: TestContext): Promise<CrashedLayout & { bufferDir: string }> {
  const laidOut = await layOutCrashedFixtures();
  t.after(() => rm(laidOut.root, { recursive: true, force: true }));
  return { ...laidOut, bufferDir: filestoreDirForLog(laidOut.filestoreLog) };
}

/** name → sha256 of every file in a directory (to show it was left alone). */
async function fingerprint(directory: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(directory)).sort()) files[name] = createHash('sha256').update(await readFile(join(directory, name))).digest('hex');
  return files;
}

/** A sample without what differs between two recoveries of the same buffer (a synthesized uuid). */
function comparable(sample: EvalSample): Record<string, unknown> {
  const { uuid: _uuid, ...rest } = sample;
  return rest;
}

const fixtureSampleKeys = ['1:1', '3:1', '5:1', '7:1', '9:1', 's-002:1', 's-004:1', 's-006:1', 's-008:1', 's-010:1'];

/** Manifest samples per segment of the fixture (segment 1 holds only samples flushed later). */
const samplesBySegment: Record<number, string[]> = {
  2: ['5:1'],
  3: ['5:1', '7:1', 's-006:1', 's-008:1'],
  4: ['5:1', '7:1', '9:1', 's-006:1', 's-008:1', 's-010:1'],
};

describe('recovery from the segment filestore', conformanceSuiteOptions(), () => {
  it('the crashed filestore fixture: 10 samples (4 flushed, 2 completed, 4 in progress); cleanup removes .buffer/<name>/ only', async (t) => {
    const { filestoreLog, dataDir, bufferDir, logsDir } = await layout(t);
    const result = await recoverEvalLog(filestoreLog, { dataDir });
    assert.deepEqual(
      { source: result.source, samples: result.samples, flushed: result.flushed, completed: result.completed, inProgress: result.inProgress, errors: result.errors, warnings: result.warnings },
      { source: 'filestore', samples: 10, flushed: 4, completed: 2, inProgress: 4, errors: 4, warnings: [] },
    );
    const recovered = await readLog(result.output);
    assert.deepEqual([...recovered.samples.keys()].sort(), fixtureSampleKeys);
    assert.equal(recovered.header.status, 'error');
    for (const id of ['7:1', '9:1', 's-006:1', 's-010:1']) assert.equal(recovered.samples.get(id)!.error!.message, 'CancelledError()', id);
    for (const id of ['1', '3', 's-002', 's-004']) {
      const entry = `samples/${id}_epoch_1.json`;
      assert.deepEqual(await rawEntry(result.output, entry), await rawEntry(filestoreLog, entry), `${entry} copied as Inspect compressed it`);
    }
    assert.equal(existsSync(bufferDir), false);
    assert.deepEqual(await readdir(join(logsDir, '.buffer')), [], '.buffer/ itself stays');
  });

  it('the large fixture (2,000 samples): 1701 = 1563 flushed + 120 completed + 18 in progress; the 7 samples also flushed are written once', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'recover-large-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const log = await layOutLargeFixture(root);
    const result = await recoverEvalLog(log, { dataDir: join(root, 'data'), cleanup: false });
    assert.deepEqual(
      [result.samples, result.flushed, result.completed, result.inProgress, result.duplicates, result.errors, result.warnings.length],
      [1701, 1563, 120, 18, 7, 18, 0],
    );
    const recovered = await readLog(result.output);
    assert.equal(recovered.samples.size, 1701);
    assert.equal(recovered.summaries.length, 1701);
  });

  it('cleanup: false keeps the filestore, byte for byte', async (t) => {
    const { filestoreLog, dataDir, bufferDir } = await layout(t);
    const before = await fingerprint(bufferDir);
    const result = await recoverEvalLog(filestoreLog, { dataDir, cleanup: false });
    assert.equal(result.cleanedUp, false);
    assert.deepEqual(await fingerprint(bufferDir), before);
  });

  it('noEvents: rebuilt samples have events [] and no events_data, messages still there', async (t) => {
    const { filestoreLog, dataDir } = await layout(t);
    const result = await recoverEvalLog(filestoreLog, { dataDir, noEvents: true });
    const five = (await readLog(result.output)).samples.get('5:1')! as EvalSample & { events_data?: unknown };
    assert.deepEqual(five.events, []);
    assert.equal(five.events_data ?? null, null);
    assert.ok(five.messages!.length > 0);
  });

  describe('liveness', () => {
    async function writeHeartbeat(bufferDir: string, ageSeconds: number): Promise<void> {
      const beat = heartbeat(2, new Date(Date.now() - ageSeconds * 1000));
      await writeFile(join(bufferDir, heartbeatFileName), JSON.stringify(beat));
    }

    it('a fresh heartbeat: refused as still running; nothing written, the filestore untouched', async (t) => {
      const { filestoreLog, dataDir, bufferDir, logsDir } = await layout(t);
      await writeHeartbeat(bufferDir, 1);
      const before = await fingerprint(bufferDir);
      await assert.rejects(recoverEvalLog(filestoreLog, { dataDir }), (error: unknown) => {
        assert.ok(error instanceof RecoveryNotAvailable);
        assert.match(error.message, /still running: its filestore heartbeat from .* pid \d+ is \d+s old/);
        return true;
      });
      assert.deepEqual(await fingerprint(bufferDir), before);
      assert.ok(!(await readdir(logsDir)).some((name) => name.endsWith('-recovered.eval')));
    });

    it('a stale heartbeat: recovered (even though the manifest was just rewritten)', async (t) => {
      const { filestoreLog, dataDir, bufferDir } = await layout(t);
      await writeHeartbeat(bufferDir, 3600);
      const now = new Date();
      await utimes(join(bufferDir, 'manifest.json'), now, now);
      const result = await recoverEvalLog(filestoreLog, { dataDir });
      assert.equal(result.source, 'filestore');
      assert.equal(result.samples, 10);
    });

    it("no heartbeat (Inspect's own filestore): judged by the newest time recorded inside it, never by file times", async (t) => {
      const { filestoreLog, dataDir, bufferDir } = await layout(t);
      // A fresh mtime (what cp -r, aws s3 sync and kubectl cp give) says nothing.
      const now = new Date();
      await utimes(join(bufferDir, 'manifest.json'), now, now);
      const log = await EvalLogReader.open(filestoreLog);
      t.after(() => log.close());
      const at = async (now: number) => {
        const found = await findSampleBuffer(filestoreLog, log, { storage: new LocalStorage(), dataDir, warn: () => undefined, now });
        await found.source.close();
        return found;
      };
      const recorded = (await at(Date.now())).lastActivityMs!;
      assert.ok(recorded < Date.parse('2026-11-23T00:00:00Z'), 'the run recorded its last event on 2026-11-22');
      const running = await at(recorded + 3_000);
      assert.equal(running.verdict, 'running');
      assert.match(running.reason, /recorded activity 3s ago \(sync interval 2s\)/);
      const uncertain = await at(recorded + 20 * 60_000);
      assert.equal(uncertain.verdict, 'uncertain');
      assert.match(uncertain.reason, /last recorded activity 20 min ago, within --stale-after \(60 min\)/);
      assert.equal((await at(recorded + 2 * 3600_000)).verdict, 'crashed');
    });

    it('a buffer that may still be live (no proof either way) is recovered, but kept, with BUFFER_KEPT', async (t) => {
      const { filestoreLog, dataDir, bufferDir } = await layout(t);
      const result = await recoverEvalLog(filestoreLog, { dataDir, staleAfterMs: 1000 * 86_400_000 });
      assert.equal(result.cleanedUp, false);
      assert.deepEqual(result.warnings.map((warning) => warning.code), ['BUFFER_KEPT']);
      assert.ok(existsSync(join(bufferDir, 'manifest.json')));
    });
  });

  it('both a DB and a filestore: the DB is used and the filestore is left alone', async (t) => {
    const { databaseLog, dataDir, bufferDir, logsDir } = await layout(t);
    // Give the database log a filestore too (a copy of the other run's: if it were read, the samples would differ).
    const databaseBufferDir = filestoreDirForLog(databaseLog);
    await cp(bufferDir, databaseBufferDir, { recursive: true });
    const then = new Date(Date.now() - 3600_000);
    for (const name of await readdir(databaseBufferDir)) await utimes(join(databaseBufferDir, name), then, then);
    const before = await fingerprint(databaseBufferDir);

    const result = await recoverEvalLog(databaseLog, { dataDir });
    assert.equal(result.source, 'database');
    assert.equal(result.samples, 10);
    assert.deepEqual(await fingerprint(databaseBufferDir), before, 'not read into, not cleaned up');
    assert.ok((await readdir(join(logsDir, '.buffer'))).includes(basename(databaseBufferDir)));
  });

  describe('damaged segments', () => {
    let undamaged: Map<string, EvalSample>;

    before(async () => {
      const laidOut = await layOutCrashedFixtures();
      try {
        const result = await recoverEvalLog(laidOut.filestoreLog, { dataDir: laidOut.dataDir, cleanup: false });
        undamaged = (await readLog(result.output)).samples;
      } finally {
        await rm(laidOut.root, { recursive: true, force: true });
      }
    });

    type Damage = (path: string) => Promise<void>;
    const damages: Record<string, Damage> = {
      deleted: (path) => rm(path),
      truncated: async (path) => truncate(path, Math.floor((await readFile(path)).length / 2)),
      'overwritten with random bytes': async (path) => writeFile(path, noiseBytes((await readFile(path)).length)),
    };

    async function recoverDamaged(t: TestContext, damaged: Record<number, Damage>, options: { strict?: boolean } = {}) {
      const laidOut = await layout(t);
      for (const [segment, damage] of Object.entries(damaged)) await damage(join(laidOut.bufferDir, `segment.${segment}.zip`));
      return { laidOut, result: () => recoverEvalLog(laidOut.filestoreLog, { dataDir: laidOut.dataDir, ...options }) };
    }

    /** Every sample is still there; those no damaged segment held are exactly as without damage. */
    async function assertNothingSoundLost(result: RecoveryResult, damagedSegments: number[]) {
      const recovered = (await readLog(result.output)).samples;
      assert.deepEqual([...recovered.keys()].sort(), fixtureSampleKeys);
      const touched = new Set(damagedSegments.flatMap((segment) => samplesBySegment[segment] ?? []));
      for (const [id, sample] of recovered) {
        if (touched.has(id)) {
          assert.ok(sample.events!.length <= undamaged.get(id)!.events!.length, `${id} has no more events than before`);
        } else {
          assert.deepEqual(comparable(sample), comparable(undamaged.get(id)!), `${id} is untouched by the damage`);
        }
      }
    }

    const segmentWarnings = (result: RecoveryResult) => result.warnings.filter((warning) => warning.code === 'SEGMENT_UNREADABLE');

    for (const [name, damage] of Object.entries(damages)) {
      for (const segment of [2, 3, 4]) {
        it(`segment ${segment} ${name}: recovered, one SEGMENT_UNREADABLE warning for it, no sample a sound segment holds is lost`, async (t) => {
          const { result } = await recoverDamaged(t, { [segment]: damage });
          const recovery = await result();
          assert.equal(recovery.samples, 10);
          assert.deepEqual(segmentWarnings(recovery).map((warning) => warning.details?.segmentId), [segment]);
          assert.match(segmentWarnings(recovery)[0]!.message, new RegExp(` lost the events stored in segment ${segment} \\(segment\\.${segment}\\.zip\\): `));
          await assertNothingSoundLost(recovery, [segment]);
        });
      }
    }

    it('three bad segments at once: three warnings, one each; every sample still written', async (t) => {
      const { result } = await recoverDamaged(t, { 2: damages.deleted!, 3: damages.truncated!, 4: damages['overwritten with random bytes']! });
      const recovery = await result();
      assert.deepEqual(segmentWarnings(recovery).map((warning) => warning.details?.segmentId).sort(), [2, 3, 4]);
      await assertNothingSoundLost(recovery, [2, 3, 4]);
      const nine = (await readLog(recovery.output)).samples.get('9:1')!;
      assert.deepEqual(nine.events, [], 'its only segment is gone: the sample is kept from its manifest summary');
      assert.equal(nine.error!.message, 'CancelledError()');
    });

    it('a bad segment no recovered sample needs (segment 1) is not even read: no warning', async (t) => {
      const { result } = await recoverDamaged(t, { 1: damages.deleted! });
      const recovery = await result();
      assert.deepEqual(recovery.warnings, []);
      await assertNothingSoundLost(recovery, []);
    });

    it('strict: the first damaged segment fails the recovery; nothing written, the filestore kept', async (t) => {
      const { laidOut, result } = await recoverDamaged(t, { 3: damages.truncated! }, { strict: true });
      await assert.rejects(result(), (error: unknown) => {
        assert.ok(error instanceof StrictModeError);
        assert.equal(error.code, 'SEGMENT_UNREADABLE');
        assert.equal(error.exitCode, 1);
        return true;
      });
      assert.ok(!existsSync(laidOut.filestoreLog.replace(/\.eval$/, '-recovered.eval')));
      assert.ok(existsSync(join(laidOut.bufferDir, 'manifest.json')));
    });
  });
});
