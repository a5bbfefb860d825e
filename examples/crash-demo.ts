/**
 * The whole story on an embedded example (`npm start`): a 20-sample eval is recorded with
 * EvalRecorder (log + buffer database + `.buffer/` filestore), the recording process is
 * SIGKILLed part way, and the real `inspect-recover` CLI then lists, recovers and shows it,
 * then recovers it again from the filestore alone, as after losing the machine's local disk.
 *
 * Each step says what happened and what its numbers mean; the commands it prints run again as
 * printed in the folder it names, which keeps what they need and nothing else.
 *
 * Usage: node dist/examples/crash-demo.js [dir]   (default: a fresh temp dir, kept for a look)
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FilestoreSyncHook } from '../src/buffer/filestore/sync-hook.js';
import { EvalRecorder } from '../src/recorder/eval-recorder.js';
import { syntheticEvents, syntheticInit, syntheticSample, syntheticStart } from './synthetic-eval.js';

const here = fileURLToPath(import.meta.url);
const cli = resolve(dirname(here), '..', '..', 'bin', 'inspect-recover.js');
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

/** Runs the real CLI in the demo folder, printing the command as it can be typed there. */
function run(args: string[]): void {
  process.stdout.write(`\n$ inspect-recover ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.stdout.write(`(exit ${result.status})\n`);
}

function say(text: string): void {
  process.stdout.write(`\n# ${text}\n`);
}

async function demo(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  process.stdout.write(`Recording a ${samples}-sample eval in ${directory} (log, buffer database, and .buffer/ filestore beside the log) ...\n`);
  const child = spawn(process.execPath, [here, 'record', directory], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: directory } });
  for await (const line of createInterface({ input: child.stdout! })) if (line === 'ready') break;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  // What the killed process had in its temp dir (kept inside the demo folder) goes: only what the commands below need stays.
  for (const name of await readdir(directory)) if (name.startsWith('inspect-recover-')) rmSync(join(directory, name), { recursive: true, force: true });
  process.stdout.write(
    `Killed the recorder (pid ${child.pid}) with SIGKILL. By then 13 of the ${samples} samples had finished: 10 flushed into the log,\n` +
      `3 completed since its last flush (still only in the buffer); 2 more were half done (in progress); 5 never started.\n` +
      `The commands below run in ${directory}, and can be run there again as printed\n` +
      `(inspect-recover is ${cli}; see the README's Install to put it on PATH).\n`,
  );

  process.chdir(directory);
  const log = join('logs', logName);
  const recovered = join('logs', logName.replace('.eval', '-recovered.eval'));
  say('The crashed log alone holds the 10 flushed samples: show reads just the log.');
  run(['show', log]);
  say('--list finds the crashed log and its buffer database (in data/, the data dir): 10 flushed, 3 completed, 2 in progress.');
  run(['--list', 'logs', '--data-dir', 'data']);
  say('Recovery writes all 15: the 10 flushed copied as they are, the 3 completed and the 2 in progress rebuilt from the buffer.');
  say('The 2 in progress get a CancelledError (the "Errors 2"), so eval-retry runs them again with the 5 never started.');
  say('--no-cleanup keeps the buffer, so this command can be run again; without it the buffer is deleted once recovered.');
  run([log, '--data-dir', 'data', '--no-cleanup']);
  run(['show', recovered]);

  say('Now as if the machine had died with its local disk: a copy of logs/ alone (with .buffer/, the filestore) survives.');
  await cp('logs', 'survived', { recursive: true, filter: (source) => !source.endsWith('-recovered.eval') });
  run([join('survived', logName), '--data-dir', 'nowhere', '--no-cleanup']);
  say(`The same 15 samples, from the filestore. Everything is in ${directory}: delete it when done (rm -r ${directory}).`);
}

const [mode, directory] = process.argv.slice(2);
if (mode === 'record') await record(directory!);
else await demo(resolve(mode ?? (await mkdtemp(join(tmpdir(), 'inspect-recover-demo-')))));
