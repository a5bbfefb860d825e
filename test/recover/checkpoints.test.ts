/**
 * Agent checkpoints (`<log base>.checkpoints/` beside the log, Inspect's checkpointing): never
 * touched by recovery, shown by `show` and `--list`, kept linked to the recovered log by its
 * default name (eval-retry finds them from the retried log's name), warned about when an output
 * would hide them, and removed by `--clean` only when orphaned and asked with `--checkpoints`.
 * Checkpoint events in the buffer reach the recovered sample as Inspect writes them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BufferEvent } from '../../src/buffer/schemas.js';
import { arithId, arithSample, arithStart } from '../support/arith-log.js';
import { pythonLoadsEveryEntry } from '../support/python.js';
import { runCliIn } from '../support/recover-cli.js';
import { bufferSample, key, makeScratch, openBufferDatabase, readLog, runningEvents, writeCrashedLog } from '../support/recovery-inputs.js';

const base = '2026-12-04T09-00-00-00-00_agentic_Ck7pQ2mZ9vKc4LbN6rTy8W';

/** A checkpoint event as Inspect's CheckpointEvent writes it: the checkpoint's fields flattened in. */
const checkpointEvent: BufferEvent = {
  uuid: 'ckpt-event-1',
  event: 'checkpoint',
  timestamp: '2026-12-04T09:05:00+00:00',
  working_start: 12.5,
  span_id: null,
  checkpoint_id: 1,
  trigger: 'turn',
  trigger_metadata: { every: 5, turn: 5 },
  turn: 5,
  created_at: '2026-12-04T09:05:00+00:00',
  duration_ms: 840,
  size_bytes: 18432,
  host: { snapshot_id: '4f2a9c1e', size_bytes: 18432, duration_ms: 610, files: ['/agent/state.json'], additional_files: null },
  sandboxes: {},
};

/** Every file under `dir` and a hash of its bytes: to prove nothing in it changed. */
async function treeDigest(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return Promise.all(files.sort().map(async (file) => `${file.slice(dir.length)} ${createHash('sha256').update(await readFile(file)).digest('hex')}`));
}

describe('a crashed log with agent checkpoints beside it, copied with cp -r', () => {
  let root: string;
  before(async () => {
    ({ root } = await makeScratch(undefined, 'checkpoints-'));
    const logs = join(root, 'pod', 'logs');
    const log = join(logs, `${base}.eval`);
    await writeCrashedLog(log, arithStart({ samples: 3, epochs: 1 }), [[arithSample(1, 1)]]);
    const db = openBufferDatabase(log, join(root, 'pod', 'data'));
    bufferSample(db, arithSample(2, 1), 'completed', { events: [...runningEvents(arithSample(2, 1), 'completed'), checkpointEvent] });
    bufferSample(db, arithSample(3, 1), 'in-progress');
    await db.close({ cleanup: false });
    // A restic repository per sample, as Inspect's checkpointer leaves it.
    const repo = join(logs, `${base}.checkpoints`, 'samples', '2_epoch_1', 'restic', 'host');
    for (const [name, bytes] of [['config', 155], ['keys/5e1f', 460], ['snapshots/4f2a9c1e', 312], ['data/ab/ab93f0', 18432], ['index/77c2', 508]] as const) {
      await mkdir(join(repo, name, '..'), { recursive: true });
      await writeFile(join(repo, name), Buffer.alloc(bytes, 7));
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function copiedHere(name: string): Promise<string> {
    const here = join(root, name);
    await mkdir(here, { recursive: true });
    execFileSync('cp', ['-r', join(root, 'pod', 'logs'), join(here, 'logs')]);
    execFileSync('cp', ['-r', join(root, 'pod', 'data'), join(here, 'data')]);
    return here;
  }
  const checkpointsBytes = 155 + 460 + 312 + 18432 + 508;

  it('recovered under its default name: no warning, the checkpoints untouched and still found by eval-retry of the output; the checkpoint event kept as written', async () => {
    const here = await copiedHere('default');
    const checkpoints = join(here, 'logs', `${base}.checkpoints`);
    const before = await treeDigest(checkpoints);
    const run = await runCliIn(here, [`logs/${base}.eval`, '--data-dir', 'data', '--json']);
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /CHECKPOINTS_UNLINKED/);
    assert.deepEqual(await treeDigest(checkpoints), before);

    const output = join(here, 'logs', `${base}-recovered.eval`);
    const recovered = await readLog(output);
    const events = recovered.samples.get(key(arithId(2), 1))!.events as Record<string, unknown>[];
    assert.deepEqual(events.find((event) => event.event === 'checkpoint'), checkpointEvent);
    assert.equal(pythonLoadsEveryEntry(output), recovered.entryNames.length);

    // eval-retry of the recovered log looks where they are: its name without -recovered.
    const show = await runCliIn(here, ['show', `logs/${base}-recovered.eval`, '--json']);
    assert.deepEqual((JSON.parse(show.stdout) as { checkpoints: unknown }).checkpoints, { path: `logs/${base}.checkpoints`, bytes: checkpointsBytes });
    const card = await runCliIn(here, ['show', `logs/${base}-recovered.eval`]);
    assert.match(card.stdout, new RegExp(`^Checkpoints +logs/${base}\\.checkpoints \\(19\\.4 KiB\\): eval-retry resumes its samples from them$`, 'm'));
  });

  it('--list says the log has checkpoints, and their size', async () => {
    const here = await copiedHere('list');
    const run = await runCliIn(here, ['--list', 'logs', '--data-dir', 'data', '--json']);
    const [entry] = JSON.parse(run.stdout) as Record<string, unknown>[];
    assert.deepEqual(entry!.checkpoints, { path: join('logs', `${base}.checkpoints`), bytes: checkpointsBytes });
    const text = await runCliIn(here, ['--list', 'logs', '--data-dir', 'data']);
    assert.match(text.stdout, new RegExp(`\\n  checkpoints: logs/${base}\\.checkpoints \\(19\\.4 KiB\\): eval-retry resumes its samples from them\\n`));
  });

  for (const [what, args, output] of [
    ['--output with another name', ['--output', 'logs/fixed.eval'], 'logs/fixed.eval'],
    ['--output in another directory', ['--output', `elsewhere/${base}-recovered.eval`], `elsewhere/${base}-recovered.eval`],
  ] as const) {
    it(`${what}: CHECKPOINTS_UNLINKED, even with --quiet, naming what eval-retry will not find and the name that keeps it`, async () => {
      const here = await copiedHere(what.replace(/\W+/g, '-'));
      await mkdir(join(here, 'elsewhere'), { recursive: true });
      const run = await runCliIn(here, [`logs/${base}.eval`, ...args, '--data-dir', 'data', '--quiet']);
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stderr.split('\n').filter((line) => line.includes('CHECKPOINTS_UNLINKED'));
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, new RegExp(`agent checkpoints in logs/${base}\\.checkpoints, but eval-retry of ${output.replace(/[.]/g, '\\.')} will look in `));
      assert.match(lines[0]!, new RegExp(`write the recovered log as logs/${base}-recovered\\.eval \\(the default\\) or use --overwrite`));
      assert.ok((await readdir(join(here, 'logs'))).includes(`${base}.checkpoints`), 'the checkpoints stay where they were');
    });
  }

  it('--overwrite keeps them linked; --all --output-dir warns', async () => {
    const here = await copiedHere('overwrite');
    const overwrite = await runCliIn(here, [`logs/${base}.eval`, '--overwrite', '--data-dir', 'data', '--no-cleanup']);
    assert.equal(overwrite.status, 0, overwrite.stderr);
    assert.doesNotMatch(overwrite.stderr, /CHECKPOINTS_UNLINKED/);

    const swept = await copiedHere('sweep');
    const all = await runCliIn(swept, ['--all', 'logs', '--output-dir', 'out', '--data-dir', 'data']);
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stderr, /warning \[CHECKPOINTS_UNLINKED\]: .* will look in .*out\//);
  });

  it("--clean never touches a log's own checkpoints; orphaned ones are listed, and removed only with --checkpoints", async () => {
    const here = await copiedHere('clean');
    const own = join(here, 'logs', `${base}.checkpoints`);
    const orphan = join(here, 'logs', '2026-12-01T00-00-00-00-00_gone_Xx.checkpoints');
    await mkdir(join(orphan, 'samples'), { recursive: true });
    await writeFile(join(orphan, 'samples', 'config'), 'x'.repeat(100));
    const ownBefore = await treeDigest(own);

    const listed = await runCliIn(here, ['--clean', 'logs', '--data-dir', 'data', '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const checkpointLines = lines.filter((line) => line.kind === 'checkpoints');
    assert.deepEqual(checkpointLines.map((line) => [line.buffer, line.status, line.bytes]), [[join('logs', '2026-12-01T00-00-00-00-00_gone_Xx.checkpoints'), 'kept', 100]]);
    assert.match(String(checkpointLines[0]!.reason), /orphaned agent checkpoints: .*--clean --checkpoints removes them/);

    const removed = await runCliIn(here, ['--clean', 'logs', '--checkpoints', '--data-dir', 'data']);
    assert.equal(removed.status, 0, removed.stderr);
    assert.match(removed.stdout, /^removed logs\/2026-12-01T00-00-00-00-00_gone_Xx\.checkpoints \(checkpoints, 100 B\): orphaned agent checkpoints/m);
    assert.deepEqual((await readdir(join(here, 'logs'))).filter((name) => name.endsWith('.checkpoints')), [`${base}.checkpoints`]);
    assert.deepEqual(await treeDigest(own), ownBefore);

    const usage = await runCliIn(here, ['--all', 'logs', '--checkpoints']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--checkpoints is for --clean/);
  });
});
