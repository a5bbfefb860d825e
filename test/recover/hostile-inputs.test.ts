/**
 * Hostile or odd inputs, planted the way an attacker or an accident would: FIFOs, devices and
 * symlinks in a buffer, a directory of overlapping entries, an entry declaring gigabytes, rows
 * of the wrong type. Each must end in one clear line or a coded warning, never a hang or a
 * stack trace, and never read outside the directories it was pointed at.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ZipFormatError } from '../../src/errors.js';
import { summarizeSample } from '../../src/eval/sample-summary.js';
import type { EvalSample } from '../../src/eval/schemas.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { ZipReader } from '../../src/zip/zip-reader.js';
import { ZipWriter } from '../../src/zip/zip-writer.js';
import { FileByteSource } from '../../src/bytes/file-byte-source.js';
import { arithSample, arithStart } from '../support/arith-log.js';
import { isOneLineError } from '../support/cli.js';
import { databaseLogName, layOutCrashedFixtures } from '../support/crashed-layout.js';
import { openSqlite } from '../../src/buffer/database/sqlite.js';
import { runCliIn } from '../support/recover-cli.js';
import { pythonLoadsEveryEntry, pythonReadsZip } from '../support/python.js';
import { bufferSample, makeScratch, openBufferDatabase, readLog, runningEvents, writeCrashedLog } from '../support/recovery-inputs.js';
import { conformanceSuiteOptions, repoRoot } from '../support/shared-fixtures.js';
import { centralDirectoryBounds, locateEntry } from '../support/zip-patch.js';
import { readAll } from '../support/zip-test-helpers.js';

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

async function crashedFixtures(t: { after: (fn: () => Promise<void>) => void }) {
  const layout = await layOutCrashedFixtures();
  t.after(() => rm(layout.root, { recursive: true, force: true }));
  const bufferDir = join(layout.logsDir, '.buffer', (await readdir(join(layout.logsDir, '.buffer')))[0]!);
  const recover = (log: string, ...args: string[]) => runCliIn(layout.root, [log, '--data-dir', layout.dataDir, ...args]);
  return { layout, bufferDir, recover };
}

describe('hostile files in a buffer', conformanceSuiteOptions(), () => {
  for (const [what, plant, says] of [
    ['a FIFO', (path: string) => mkfifo(path), /manifest\.json: not a regular file \(a FIFO\); not read/],
    ['a link to /dev/zero', (path: string) => symlink('/dev/zero', path), /manifest\.json: a symbolic link that leads outside its directory; not followed/],
    ['a link to /etc/passwd', (path: string) => symlink('/etc/passwd', path), /manifest\.json: a symbolic link that leads outside its directory; not followed/],
    ['a directory', (path: string) => mkdir(path), /manifest\.json/],
    ['not JSON', (path: string) => writeFile(path, '{"samples": ['), /manifest\.json/],
  ] as const) {
    it(`manifest.json as ${what}: no hang, nothing of it quoted; the filestore counts as missing (BUFFER_MISSING, saying why) and the flushed samples are recovered`, async (t) => {
      const { layout, bufferDir, recover } = await crashedFixtures(t);
      await rm(join(bufferDir, 'manifest.json'));
      await plant(join(bufferDir, 'manifest.json'));
      const listed = await runCliIn(layout.root, ['--list', layout.logsDir, '--data-dir', layout.dataDir, '--json']);
      assert.equal(listed.status, 0, listed.stderr);
      const entry = (JSON.parse(listed.stdout) as Array<{ path: string; source: string }>).find((log) => log.path === layout.filestoreLog);
      assert.equal(entry?.source, 'none');
      const result = await recover(layout.filestoreLog);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /BUFFER_MISSING.*its filestore .* cannot be read/);
      assert.match(result.stderr, says);
      assert.doesNotMatch(result.stderr, /root:|\n\s+at /);
      assert.match(result.stdout, /Recovered 4 samples/);
      assert.ok(existsSync(join(bufferDir, 'segment.2.zip')), 'the unreadable filestore is not deleted');
    });
  }

  it('a segment linked to /dev/zero: SEGMENT_UNREADABLE, and the rest recovers', async (t) => {
    const { layout, bufferDir, recover } = await crashedFixtures(t);
    await rm(join(bufferDir, 'segment.2.zip'));
    await symlink('/dev/zero', join(bufferDir, 'segment.2.zip'));
    const result = await recover(layout.filestoreLog);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /SEGMENT_UNREADABLE.*segment\.2\.zip: a symbolic link that leads outside its directory; not followed/);
    assert.match(result.stdout, /Recovered 10 samples/);
  });

  it("a FIFO as the buffer database's -wal: one clear line; the database linked to /dev/urandom: no database, and the loss is warned of", async (t) => {
    const { layout, recover } = await crashedFixtures(t);
    const db = (await readdir(layout.databaseDir)).find((name) => name.endsWith('.db'))!;
    await rm(join(layout.databaseDir, `${db}-wal`), { force: true });
    mkfifo(join(layout.databaseDir, `${db}-wal`));
    const fifo = await recover(layout.databaseLog);
    assert.notEqual(fifo.status, 0);
    assert.ok(isOneLineError(fifo.stderr), fifo.stderr);
    assert.match(fifo.stderr, /-wal: not a regular file \(a FIFO\)/);
    await rm(join(layout.databaseDir, `${db}-wal`));
    await rm(join(layout.databaseDir, db));
    await symlink('/dev/urandom', join(layout.databaseDir, db));
    const device = await recover(layout.databaseLog);
    assert.equal(device.status, 0, device.stderr);
    assert.match(device.stderr, /BUFFER_MISSING.*16 of the 20 samples were never recovered/);
  });

  it('--list over a log dir holding a FIFO named like a log: it is named in LOG_UNREADABLE, the others are listed', async (t) => {
    const { layout } = await crashedFixtures(t);
    mkfifo(join(layout.logsDir, '2026-11-22T13-00-00-00-00_fifo_x.eval'));
    const result = await runCliIn(layout.root, ['--list', '--json', '--log-dir', layout.logsDir, '--data-dir', layout.dataDir]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /LOG_UNREADABLE.*fifo_x\.eval: not a regular file \(a FIFO\)/);
    assert.equal((JSON.parse(result.stdout) as unknown[]).length, 2);
  });
});

describe('hostile zip structure', () => {
  it('2,000 directory records sharing one entry (an overlapping zip bomb): a strict reader refuses it; recovery leaves them out (ENTRIES_OVERLAP) and keeps the rest', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[arithSample(1, 1), arithSample(2, 1)]]);
    const bytes = await readFile(log);
    const { offset, endOffset } = centralDirectoryBounds(bytes);
    const sample = locateEntry(bytes, 'samples/1_epoch_1.json');
    const record = bytes.subarray(sample.centralOffset, sample.centralOffset + 46 + bytes.readUInt16LE(sample.centralOffset + 28));
    const records = Array.from({ length: 2000 }, (_, index) => {
      const copy = Buffer.from(record);
      // Distinct names, one set of data.
      copy.write(`samples/${String(index).padStart(1, '0')}`.slice(0, 9), 46, 'latin1');
      return copy;
    });
    const directory = Buffer.concat([bytes.subarray(offset, endOffset), ...records]);
    const end = Buffer.from(bytes.subarray(endOffset));
    end.writeUInt16LE(end.readUInt16LE(8) + 2000, 8);
    end.writeUInt16LE(end.readUInt16LE(10) + 2000, 10);
    end.writeUInt32LE(directory.length, 12);
    await writeFile(log, Buffer.concat([bytes.subarray(0, offset), directory, end]));
    await assert.rejects(ZipReader.open(new FileByteSource(log)), (error: unknown) => error instanceof ZipFormatError && /overlap \(a damaged directory, or a zip bomb\)/.test(error.message));
    const before = await readFile(log);
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.filter((warning) => warning.code === 'ENTRIES_OVERLAP').map((warning) => warning.details?.count), [2001]);
    assert.match(result.warnings.find((warning) => warning.code === 'ENTRIES_OVERLAP')!.message, /2001 entries share their bytes with another \("samples\/1_epoch_1\.json", .*\): left out, the rest of the log read/);
    assert.equal(result.samples, 1, 'the intact sample 2 is recovered');
    const recovered = await readLog(result.output);
    assert.deepEqual([...recovered.samples.values()].map((sample) => sample.id), [arithSample(2, 1).id]);
    assert.equal(pythonReadsZip(result.output).entries, recovered.entryNames.length);
    assert.deepEqual(await readFile(log), before, 'the original is unchanged');
  });

  it('a journal entry declaring 600 MB: refused before decoding (JOURNAL_DAMAGED), the samples still recovered', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[arithSample(1, 1), arithSample(2, 1)]]);
    const bytes = await readFile(log);
    const journal = locateEntry(bytes, '_journal/summaries/1.json');
    bytes.writeUInt32LE(600_000_000, journal.centralOffset + 24);
    bytes.writeUInt32LE(600_000_000, journal.localOffset + 22);
    await writeFile(log, bytes);
    await openBufferDatabase(log, scratch.dataDir).close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => warning.code), ['JOURNAL_DAMAGED']);
    assert.match(result.warnings[0]!.message, /over the 67108864-byte limit for an entry that is parsed/);
    assert.equal(result.samples, 2);
  });
});

describe('a task_database.last_updated of the wrong type, written with SQLite itself', conformanceSuiteOptions(), () => {
  for (const [what, value] of [['-1', -1], ['2^62', 2n ** 62n], ['a word', 'yesterday'], ['a blob', Buffer.from([0, 1, 2])]] as const) {
    it(`${what}: --list lists the log and recovery recovers every sample, with one VALUE_INVALID warning`, async (t) => {
      const { layout, recover } = await crashedFixtures(t);
      const [dbName] = (await readdir(layout.databaseDir)).filter((name) => name.endsWith('.db'));
      const database = openSqlite(join(layout.databaseDir, dbName!));
      database.prepare('UPDATE task_database SET last_updated = ?').run(value);
      database.close();
      const listed = await runCliIn(layout.root, ['--list', layout.logsDir, '--data-dir', layout.dataDir, '--json']);
      assert.equal(listed.status, 0, listed.stderr);
      const entry = (JSON.parse(listed.stdout) as Array<{ path: string; source: string; last_activity: string | null }>).find((log) => log.path.endsWith(databaseLogName));
      assert.ok(entry, `the log is listed: ${listed.stdout}`);
      assert.equal(entry.source, 'database');
      assert.match(listed.stderr, /VALUE_INVALID.*task_database\.last_updated/);
      const result = await recover(layout.databaseLog, '--json');
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
      const summary = JSON.parse(result.stdout) as { samples: number; warnings: Array<{ code: string }> };
      assert.equal(summary.samples, 10);
      assert.deepEqual(summary.warnings.map((warning) => warning.code).filter((code) => code === 'VALUE_INVALID'), ['VALUE_INVALID']);
    });
  }
});

describe('buffer rows of the wrong type or an absurd size', () => {
  const cases: [string, (sample: EvalSample) => Parameters<typeof bufferSample>[3], RegExp][] = [
    ["a sample_init whose sample is a string", (sample) => ({ events: [{ ...runningEvents(sample, 'completed')[0]!, sample: 'oops' }, ...runningEvents(sample, 'completed').slice(1)] }), /SAMPLE_UNREADABLE/],
    ['a token count of -2^63', () => ({ summary: { model_usage: { 'mockllm/model': { input_tokens: -(2n ** 63n) as unknown as number, output_tokens: 1, total_tokens: 1 } } } }), /SAMPLE_UNREADABLE/],
    ['a 2 MB string where model_usage belongs', () => ({ summary: { model_usage: 'x'.repeat(2_000_000) as never } }), /SAMPLE_UNREADABLE/],
  ];
  for (const [what, options, code] of cases) {
    it(`${what}: a coded warning leaves that sample out, the others recover`, async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 3, epochs: 1 }));
      const db = openBufferDatabase(log, scratch.dataDir);
      bufferSample(db, arithSample(1, 1), 'completed', options(arithSample(1, 1)));
      bufferSample(db, arithSample(2, 1), 'completed');
      await db.close({ cleanup: false });
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      assert.match(result.warnings.map((warning) => warning.code).join(','), code);
      assert.equal(result.samples, 1);
    });
  }

  it('a 1,000,000-character sample id: SAMPLE_NAME_UNSAFE, never an entry name zip cannot hold', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }));
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, { ...arithSample(1, 1), id: 'x'.repeat(1_000_000) }, 'completed');
    bufferSample(db, arithSample(2, 1), 'completed');
    await db.close({ cleanup: false });
    const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
    assert.deepEqual(result.warnings.map((warning) => warning.code), ['SAMPLE_NAME_UNSAFE']);
    assert.ok(result.warnings[0]!.message.length < 400, 'the id is shortened in the message');
    assert.equal(result.samples, 1);
  });
});

describe('flushed entries whose CRC is valid but which Python cannot read as JSON', () => {
  for (const [what, text] of [
    ['nested 100,000 deep', `{"id": 1, "epoch": 1, "deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
    ['cut short', '{"id": 1, "epoch": 1, "input": "What is'],
    ['with a raw control character in a string', '{"id": 1, "epoch": 1, "input": "a\u0001b"}'],
  ] as const) {
    it(`${what}: SAMPLE_DAMAGED, left out, the buffer's copy used; every entry of the output reads in Python's json`, async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await writeCrashedLog(log, arithStart({ samples: 3, epochs: 1 }), [[1, 2].map((id) => arithSample(id, 1))]);
      // Deflated again with a valid CRC, as a buggy writer would leave it.
      await rewriteEntries(log, new Map([['samples/1_epoch_1.json', text]]));
      const db = openBufferDatabase(log, scratch.dataDir);
      bufferSample(db, arithSample(1, 1), 'completed');
      bufferSample(db, arithSample(3, 1), 'completed');
      await db.close({ cleanup: false });
      const result = await recoverEvalLog(log, { dataDir: scratch.dataDir });
      const damaged = result.warnings.filter((warning) => warning.code === 'SAMPLE_DAMAGED');
      assert.equal(damaged.length, 1);
      assert.match(damaged[0]!.message, /samples\/1_epoch_1\.json" cannot be used: .*is not JSON that Python reads.*; left out, its buffered copy is used instead/);
      assert.equal(result.samples, 3);
      const recovered = await readLog(result.output);
      assert.deepEqual([...recovered.samples.values()].find((sample) => sample.id === 1)?.input, arithSample(1, 1).input, "the buffer's copy");
      assert.equal(pythonLoadsEveryEntry(result.output), recovered.entryNames.length);
    });
  }
});

describe('memory stays bounded for any input under the limits', () => {
  /**
   * Recovers `log` in a child process: its warnings, its sample count, and its peak RSS in MB,
   * from /proc (VmHWM: getrusage's maxrss would also count this test process, kept across exec).
   */
  function recoverMeasured(log: string, dataDir: string): { codes: string[]; samples: number; peakMb: number } {
    const module = pathToFileURL(join(repoRoot, 'dist/src/recover/recover-eval-log.js')).href;
    const script = `const { recoverEvalLog } = await import(${JSON.stringify(module)});
      const result = await recoverEvalLog(${JSON.stringify(log)}, { dataDir: ${JSON.stringify(dataDir)} });
      console.log(JSON.stringify({ codes: result.warnings.map((warning) => warning.code), samples: result.samples, peakMb: Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) / 1024 }));`;
    return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { codes: string[]; samples: number; peakMb: number };
  }

  /** A crashed log of samples 1 and 2 whose entries are then replaced (valid CRCs: a writer made them so). */
  async function crashedWith(log: string, replace: (journal: string) => Map<string, Uint8Array | string>): Promise<void> {
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[arithSample(1, 1), arithSample(2, 1)]]);
    const journal = [...(await readAll(log)).keys()].find((name) => name.startsWith('_journal/summaries/'))!;
    await rewriteEntries(log, replace(journal));
  }

  const bigSample = () => {
    const bytes = Buffer.alloc(200_000_000, 0x61);
    Buffer.from(JSON.stringify(arithSample(1, 1)).replace(/}$/, ', "padding": "')).copy(bytes, 0);
    Buffer.from('"}').copy(bytes, bytes.length - 2);
    return bytes;
  };
  const cases: Array<[string, (journal: string) => Map<string, Uint8Array | string>, (result: { codes: string[]; samples: number }) => void]> = [
    ['a 200 MB sample entry (copied raw, streamed)', () => new Map([['samples/1_epoch_1.json', bigSample()]]), (result) => assert.equal(result.samples, 2)],
    [
      'a 200 MB sample entry with no journal row (its summary would have to be parsed): SAMPLE_DAMAGED',
      (journal) => new Map<string, Uint8Array | string>([['samples/1_epoch_1.json', bigSample()], [journal, '']]),
      (result) => assert.ok(result.codes.includes('SAMPLE_DAMAGED')),
    ],
    [
      'a 200 MB journal entry: JOURNAL_DAMAGED before it is decoded',
      (journal) => new Map([[journal, Buffer.concat([Buffer.from('['), Buffer.alloc(199_999_998, 0x20), Buffer.from(']')])]]),
      (result) => assert.ok(result.codes.includes('JOURNAL_DAMAGED')),
    ],
    [
      'a journal row holding a 60 MB string: that row left out (JOURNAL_DAMAGED), its sample summarized from its entry',
      (journal) => new Map([[journal, JSON.stringify([{ ...summarizeSample(arithSample(1, 1)), metadata: { big: 'x'.repeat(60_000_000) } }, summarizeSample(arithSample(2, 1))])]]),
      (result) => {
        assert.ok(result.codes.includes('JOURNAL_DAMAGED'));
        assert.equal(result.samples, 2);
      },
    ],
  ];
  for (const [what, replace, check] of cases) {
    it(`${what}: peak RSS under 300 MB`, async (t) => {
      const scratch = await makeScratch(t);
      const log = scratch.log();
      await crashedWith(log, replace);
      const result = recoverMeasured(log, scratch.dataDir);
      check(result);
      t.diagnostic(`peak RSS ${Math.round(result.peakMb)} MB`);
      assert.ok(result.peakMb < 300, `peak RSS ${Math.round(result.peakMb)} MB`);
    });
  }
});

/** The log written again by our writer, with the entries named in `replaced` given new bytes (valid CRCs), and those mapped to '' left out. */
async function rewriteEntries(log: string, replaced: ReadonlyMap<string, Uint8Array | string>): Promise<void> {
  const entries = await readAll(log);
  const writer = await ZipWriter.create(log);
  for (const [name, bytes] of entries) if (replaced.get(name) !== '') await writer.add(name, replaced.get(name) ?? bytes);
  await writer.close();
}
