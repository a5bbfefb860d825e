/**
 * Runs a synthetic eval through the real EvalRecorder and stops where a crash would: some
 * samples flushed to the log, some finished but unflushed, some half done. Prints `ready` and
 * waits to be SIGKILLed. With `shared`, the buffer is mirrored to `.buffer/` as well (synced
 * once more just before the crash point). Usage: crash-child.js <log> <data dir> <samples> [shared]
 */
import { FilestoreSyncHook } from '../src/buffer/filestore/sync-hook.js';
import { EvalRecorder } from '../src/recorder/eval-recorder.js';
import { syntheticEvents, syntheticInit, syntheticSample, syntheticStart } from '../examples/synthetic-eval.js';

const [log, dataDir, samplesArg, mode] = process.argv.slice(2);
const samples = Number(samplesArg);
const start = syntheticStart(samples);
// Inspect's default for large runs: a flush every n/20 completions.
const logBuffer = Math.max(10, Math.floor(samples / 20));
const sync = mode === 'shared' ? new FilestoreSyncHook({ intervalSeconds: 2 }) : undefined;
const recorder = await EvalRecorder.start(log!, start, { dataDir: dataDir!, logBuffer, sync });

const flushedTarget = Math.floor(samples * 0.85 / logBuffer) * logBuffer;
const unflushed = Math.min(logBuffer - 1, Math.floor(samples * 0.06));
const inProgress = Math.max(1, Math.floor(samples * 0.01));
let index = 1;
for (; index <= flushedTarget + unflushed; index++) {
  recorder.sampleStarted(syntheticInit(index));
  recorder.events(syntheticInit(index).id, 1, syntheticEvents(index));
  await recorder.sampleCompleted(syntheticSample(index));
}
for (const end = index + inProgress; index < end; index++) {
  recorder.sampleStarted(syntheticInit(index));
  recorder.events(syntheticInit(index).id, 1, syntheticEvents(index, 5));
}
await sync?.filestore?.sync();
process.stdout.write(`ready ${JSON.stringify({ flushed: flushedTarget, unflushed, inProgress })}\n`);
// Wait for the kill with the recorder still reachable: collected, it would close its files,
// which a crashed process never does.
setInterval(() => recorder, 60_000);
