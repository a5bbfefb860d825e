/**
 * A TypeScript harness that resumes where it crashed: run again after a SIGKILL, it calls
 * `EvalRecorder.resume` (which recovers the crashed log in place), runs only `remaining()`, and
 * ends with one `success` log. Some samples fail on their first attempt and pass when run again;
 * their failed attempts are kept in `error_retries`.
 *
 * Usage: node dist/examples/resume-demo.js [dir]       the demo: crashes the harness at three
 *                                                     random samples, then lets it finish
 *        node dist/examples/resume-demo.js --harness <log> <data dir> <samples> <epochs> [--shared [--fresh]]
 *                                                     one run of the harness (what the demo
 *                                                     starts); prints `done <id> <epoch> ok|error`
 *                                                     per sample, then `finished`; with --shared,
 *                                                     <log> is the log dir (startOrResume), the
 *                                                     buffer is mirrored into .buffer/ beside it,
 *                                                     and `synced <id> <epoch>` says a sample's
 *                                                     first events had time to be synced; --fresh
 *                                                     starts a new log after a successful one
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EvalSample, LogStart } from '../src/eval/schemas.js';
import { EvalLogReader } from '../src/eval/eval-log-reader.js';
import { EvalRecorder } from '../src/recorder/eval-recorder.js';
import { syntheticEvents, syntheticInit, syntheticSample, syntheticStart } from './synthetic-eval.js';

const here = fileURLToPath(import.meta.url);

/** The run: `samples` arithmetic samples × `epochs`. */
export function resumeDemoStart(samples: number, epochs: number): LogStart {
  const start = syntheticStart(samples, 'arith_resume');
  return { ...start, eval: { ...start.eval, config: { ...start.eval.config, epochs } } };
}

/** Every 23rd sample fails once (its first attempt that is not cut off), as a flaky model API would. */
const failsFirst = (index: number) => index % 23 === 0;
const rateLimitError = 'RateLimitError: 429 Too Many Requests';

/**
 * One run of the harness. With `shared`, `target` is the log dir: the harness starts or resumes
 * there (`EvalRecorder.startOrResume`) and mirrors its buffer into `.buffer/` beside the log, as
 * a pod whose local disk may die would; each attempt's events carry its uuid, and are logged in
 * two steps with a sync between them, so a kill can cut an attempt off with some of them synced.
 */
async function harness(target: string, dataDir: string, samples: number, epochs: number, { shared, fresh }: HarnessOptions): Promise<void> {
  const start = resumeDemoStart(samples, epochs);
  const recorder = shared
    ? await EvalRecorder.startOrResume(target, start, { dataDir, logBuffer: 10, shared: { intervalSeconds: sharedSyncSeconds }, fresh })
    : existsSync(target)
      ? await EvalRecorder.resume(target, start, { dataDir })
      : await EvalRecorder.start(target, start, { dataDir, logBuffer: 10 });
  const indexOf = new Map(start.eval.dataset.sample_ids!.map((id, position) => [String(id), position + 1]));
  // Samples that fail are run again in this process too, up to three attempts in all.
  for (let left = recorder.remaining(); left.length > 0; left = left.filter(({ id, epoch }) => !recorder.completed(id, epoch) && recorder.failedAttempts(id, epoch).length < 3)) {
    for (const { id, epoch } of left) {
      const index = indexOf.get(String(id))!;
      const startedAt = now();
      const { uuid } = recorder.sampleStarted(syntheticInit(index, epoch));
      const events = shared ? syntheticEvents(index).map((event) => ({ ...event, uuid: `${String(event.uuid)}-${uuid}` })) : syntheticEvents(index);
      if (shared) {
        recorder.events(id, epoch, events.slice(0, 3));
        await new Promise((resolve) => setTimeout(resolve, sharedSyncSeconds * 1500));
        process.stdout.write(`synced ${JSON.stringify(id)} ${epoch}\n`);
        recorder.events(id, epoch, events.slice(3));
      } else {
        recorder.events(id, epoch, events);
      }
      const failing = failsFirst(index) && !recorder.failedAttempts(id, epoch).some((error) => error.message === rateLimitError);
      // Each attempt carries its own times: which of two attempts is the later one is told by them.
      const sample = failing ? failedSample(index, epoch) : syntheticSample(index, epoch);
      await recorder.sampleCompleted({ ...sample, ...(shared ? { uuid, events } : {}), started_at: startedAt, completed_at: now() });
      process.stdout.write(`done ${JSON.stringify(id)} ${epoch} ${failing ? 'error' : 'ok'}\n`);
    }
  }
  await recorder.finish();
  process.stdout.write('finished\n');
}

/** `shared`: startOrResume in a log dir, mirrored into `.buffer/`; `fresh`: a new log even after a successful one. */
export interface HarnessOptions {
  shared?: boolean;
  fresh?: boolean;
}

/** How often a shared harness syncs its buffer into `.buffer/`. */
const sharedSyncSeconds = 0.02;

/** Now as Python's `isoformat()` of an aware time writes it (what Inspect writes). */
const now = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');

function failedSample(index: number, epoch: number): EvalSample {
  const sample = syntheticSample(index, epoch);
  const message = rateLimitError;
  return { ...sample, scores: {}, error: { message, traceback: `Traceback (most recent call last):\n${message}\n`, traceback_ansi: `${message}\n` } };
}

/**
 * When a run of the harness is SIGKILLed: once it has run so many samples, once so many samples
 * had their first events synced into `.buffer/` (a shared harness), or so many ms after it started.
 */
export type KillPoint = { afterSamples: number } | { afterSynced: number } | { afterMs: number };

/** One run of the harness, SIGKILLed at `kill` (never, when undefined). */
export function runHarness(
  target: string,
  dataDir: string,
  samples: number,
  epochs: number,
  kill?: KillPoint,
  options: HarnessOptions = {},
): Promise<{ lines: string[]; killed: boolean; code: number | null; stderr: string }> {
  const args = [here, '--harness', target, dataDir, String(samples), String(epochs), ...(options.shared ? ['--shared'] : []), ...(options.fresh ? ['--fresh'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let killed = false;
  const killNow = () => {
    if (killed || child.exitCode !== null) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const timer = kill && 'afterMs' in kill ? setTimeout(killNow, kill.afterMs) : undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    if (kill && 'afterSamples' in kill && lines.filter((seen) => seen.startsWith('done ')).length >= kill.afterSamples) killNow();
    if (kill && 'afterSynced' in kill && lines.filter((seen) => seen.startsWith('synced ')).length >= kill.afterSynced) killNow();
  });
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ lines, killed, code, stderr });
    }),
  );
}

async function demo(directory: string): Promise<void> {
  const [samples, epochs] = [40, 2];
  const log = join(directory, 'logs', `2026-11-22T12-00-00-00-00_arith-resume_${resumeDemoStart(samples, epochs).eval.task_id}.eval`);
  const dataDir = join(directory, 'data');
  for (let run = 1; ; run++) {
    const kill = run <= 3 ? { afterSamples: 1 + Math.floor(Math.random() * 20) } : undefined;
    const { lines, killed, code, stderr } = await runHarness(log, dataDir, samples, epochs, kill);
    const done = lines.filter((line) => line.startsWith('done ')).length;
    process.stdout.write(`run ${run}: ${done} samples run${killed ? ', then SIGKILLed' : ''}\n`);
    if (!killed) {
      if (code !== 0) throw new Error(`the harness failed (exit ${code}): ${stderr}`);
      break;
    }
  }
  const reader = await EvalLogReader.open(log);
  const header = await reader.header();
  const summaries = await reader.summaries();
  await reader.close();
  const retried = summaries.filter((summary) => (summary.retries ?? 0) > 0).length;
  process.stdout.write(`${log}: status ${header.status}, ${summaries.length} samples (${samples} × ${epochs}), ${retried} of them retried after an error\n`);
}

const args = process.argv.slice(2);
if (args[0] === '--harness') {
  const [target, dataDir, samples, epochs, ...flags] = args.slice(1) as [string, string, string, string, ...string[]];
  await harness(target, dataDir, Number(samples), Number(epochs), { shared: flags.includes('--shared'), fresh: flags.includes('--fresh') });
} else if (process.argv[1] === here) {
  await demo(args[0] ?? (await mkdtemp(join(tmpdir(), 'resume-demo-'))));
}
