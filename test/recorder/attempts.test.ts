/**
 * One attempt per sample, as a pod whose disk dies meets it: the example harness records with
 * `startOrResume` and a shared filestore (`.buffer/` beside the log), is SIGKILLed, resumed and
 * SIGKILLed again; after each kill the log dir alone (copied as `cp -r` copies it, without the
 * buffer database) is recovered, and every recovered sample must be one attempt's: its events
 * carry its uuid, and a finished one's score is its own score event's.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listBufferDatabases } from '../../src/buffer/database/candidates.js';
import type { EvalSample } from '../../src/eval/schemas.js';
import { recoverEvalLog } from '../../src/recover/recover-eval-log.js';
import { runHarness, type KillPoint } from '../../examples/resume-demo.js';
import { makeScratch, readLog, type Scratch } from '../support/recovery-inputs.js';

const [samples, epochs] = [24, 2];

/** A small seeded generator (mulberry32): the campaign's kill points repeat from its seed. */
function seeded(seed: number): (limit: number) => number {
  let state = seed >>> 0;
  return (limit) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * limit);
  };
}

async function logIn(directory: string): Promise<string | undefined> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.eval') && !name.startsWith('.'));
  assert.ok(names.length <= 1, `one log in ${directory}: ${names.join(', ')}`);
  return names[0] && join(directory, names[0]);
}

/** The harness's events carry `-<attempt uuid>`; a finished attempt's score event holds its score. */
function assertOneAttempt(sample: EvalSample, where: string): void {
  const label = `${where}: sample ${String(sample.id)} epoch ${sample.epoch}`;
  const events = sample.events ?? [];
  for (const event of events) {
    const uuid = (event as { uuid?: unknown }).uuid;
    assert.ok(typeof uuid === 'string' && uuid.endsWith(`-${sample.uuid}`), `${label}: event ${String(uuid)} is of another attempt than ${sample.uuid}`);
  }
  if (sample.error) return;
  const scored = events.find((event) => (event as { event?: unknown }).event === 'score') as { score?: { value?: unknown } } | undefined;
  assert.ok(scored, `${label}: finished without error, yet its transcript lacks its score event (${events.length} events)`);
  assert.equal(scored.score?.value, sample.scores?.match?.value, `${label}: its score is not its transcript's`);
}

/** The log dir as a user copies it off a dead pod (fresh mtimes, no buffer database), recovered from the filestore. */
async function recoverFromFilestoreAlone(scratch: Scratch, round: number): Promise<void> {
  const log = await logIn(scratch.logsDir);
  if (!log) return;
  const before = await readLog(log);
  if (before.finished) {
    // Killed after its in-place recovery and before it published the resumed log: nothing to recover.
    for (const sample of before.samples.values()) assertOneAttempt(sample, `round ${round} (recovered in place)`);
    return;
  }
  const pod = join(scratch.root, `pod-${round}`);
  await cp(scratch.logsDir, pod, { recursive: true });
  const copied = (await logIn(pod))!;
  const emptyDataDir = join(pod, '..', `pod-${round}-data`);
  await mkdir(emptyDataDir, { recursive: true });
  // Its heartbeat is fresh (the pod died a moment ago): the user knows it is dead, and forces.
  const result = await recoverEvalLog(copied, { dataDir: emptyDataDir, force: true });
  const recovered = await readLog(result.output);
  for (const sample of recovered.samples.values()) assertOneAttempt(sample, `round ${round} (${result.source})`);
  const summaries = new Map(recovered.summaries.map((summary) => [`${String(summary.id)}:${summary.epoch}`, summary.uuid]));
  for (const sample of recovered.samples.values()) assert.equal(summaries.get(`${String(sample.id)}:${sample.epoch}`), sample.uuid, 'summary and sample are one attempt');
}

describe('one attempt per sample: a resumed harness with a shared filestore, SIGKILLed, recovered from the filestore alone', () => {
  it('a sample cut off, run again after the resume and SIGKILLed before its flush keeps its own transcript', async (t) => {
    const scratch = await makeScratch(t, 'attempts-');
    // Killed while its fourth sample runs, some of that attempt's events synced into .buffer/.
    const first = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, { afterSynced: 4 }, { shared: true });
    assert.ok(first.killed, first.stderr);
    await recoverFromFilestoreAlone(scratch, 0);
    // Resumed: the cut-off sample runs first, completes, and the kill comes before the next flush (10).
    const second = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, { afterSamples: 2 }, { shared: true });
    assert.ok(second.killed, second.stderr);
    await recoverFromFilestoreAlone(scratch, 1);
  });

  it('seeded campaign: 10 SIGKILLs at random points, a filestore-only recovery after each; the run ends with one success log and nothing left behind', async (t) => {
    const scratch = await makeScratch(t, 'attempts-campaign-');
    const random = seeded(19);
    let kills = 0;
    for (let round = 0; ; round++) {
      const kill: KillPoint | undefined = kills >= 10 ? undefined : kills % 4 === 3 ? { afterMs: 100 + random(400) } : { afterSamples: 1 + random(8) };
      const run = await runHarness(scratch.logsDir, scratch.dataDir, samples, epochs, kill, { shared: true });
      if (!run.killed) {
        assert.equal(run.code, 0, run.stderr);
        break;
      }
      kills++;
      await recoverFromFilestoreAlone(scratch, round);
    }
    const log = (await logIn(scratch.logsDir))!;
    const finished = await readLog(log);
    assert.equal(finished.header.status, 'success');
    assert.equal(finished.samples.size, samples * epochs);
    for (const sample of finished.samples.values()) assertOneAttempt(sample, 'final log');
    // `.buffer/` itself stays, empty, as Inspect leaves it: only the log's own filestore in it is removed.
    assert.deepEqual(await readdir(scratch.logsDir, { recursive: true }), ['.buffer', log.slice(scratch.logsDir.length + 1)], 'nothing beside the log: no filestore, no staging copy, no temp file');
    assert.deepEqual(await listBufferDatabases(log, { dataDir: scratch.dataDir }), [], 'no buffer database left');
  });
});
