/**
 * The whole story on an embedded example (`npm start`): a 20-sample eval is recorded with
 * EvalRecorder (log + buffer database + `.buffer/` filestore), the recording process is
 * SIGKILLed part way, and the real `inspect-recover` CLI then lists, recovers and shows it,
 * then recovers it again from the filestore alone, as after losing the machine's local disk.
 *
 * Usage: node dist/examples/crash-demo.js [dir]   (default: a fresh temp dir, kept for a look)
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FilestoreSyncHook } from '../src/buffer/filestore/sync-hook.js';
import { EvalRecorder } from '../src/recorder/eval-recorder.js';
import { syntheticEvents, syntheticInit, syntheticSample, syntheticStart } from './synthetic-eval.js';

const here = fileURLToPath(import.meta.url);
const cli = join(dirname(here), '..', '..', 'bin', 'inspect-recover.js');
const samples = 20;
const start = syntheticStart(samples, 'arith');
// As Inspect names a log: its creation time, task and task id.
const logName = `2026-11-22T12-00-00-00-00_arith_${start.eval.task_id}.eval`;

/** The recording process: 10 samples flushed, 3 finished since the last flush, 2 half done. */
async function record(directory: string): Promise<void> {
  const sync = new FilestoreSyncHook({ intervalSeconds: 1 });
  const recorder = await EvalRecorder.start(join(directory, 'logs', logName), start, {
    dataDir: join(directory, 'data'),
    logBuffer: 5,
    sync,
  });
  for (let index = 1; index <= 13; index++) {
    recorder.sampleStarted(syntheticInit(index));
    recorder.events(syntheticInit(index).id, 1, syntheticEvents(index));
    await recorder.sampleCompleted(syntheticSample(index));
  }
  for (let index = 14; index <= 15; index++) {
    recorder.sampleStarted(syntheticInit(index));
    recorder.events(syntheticInit(index).id, 1, syntheticEvents(index, 4));
  }
  await sync.filestore?.sync();
  process.stdout.write('ready\n');
  // Wait for the kill with the recorder reachable: collected, it would close its files.
  setInterval(() => recorder, 60_000);
}

function run(args: string[]): void {
  process.stdout.write(`\n$ inspect-recover ${args.join(' ')}\n`);
  const result = spawnSync(cli, args, { stdio: 'inherit' });
  if (result.status !== 0) process.stdout.write(`(exit ${result.status})\n`);
}

async function demo(directory: string): Promise<void> {
  process.stdout.write(`Recording a ${samples}-sample eval in ${directory} ...\n`);
  const child = spawn(process.execPath, [here, 'record', directory], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: directory } });
  for await (const line of createInterface({ input: child.stdout! })) if (line === 'ready') break;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  process.stdout.write(`Killed the recording process (pid ${child.pid}) with SIGKILL after 13 of ${samples} samples.\n`);

  process.chdir(directory);
  const log = join('logs', logName);
  const dataDir = ['--data-dir', 'data'];
  run(['show', log]);
  run(['--list', '--log-dir', 'logs', ...dataDir]);
  run([log, ...dataDir]);
  run(['show', relative(directory, join(directory, 'logs', logName.replace('.eval', '-recovered.eval')))]);

  process.stdout.write('\nNow as if the machine had died with its local disk: only logs/ (with .buffer/) survives.\n');
  rmSync('data', { recursive: true, force: true });
  run([log, '--data-dir', 'data', '--output', join('logs', 'from-filestore.eval')]);
}

const [mode, directory] = process.argv.slice(2);
if (mode === 'record') await record(directory!);
else await demo(mode ?? (await mkdtemp(join(tmpdir(), 'inspect-recover-demo-'))));
