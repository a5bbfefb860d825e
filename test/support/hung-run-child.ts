/**
 * An agentic eval that ends with hung samples, recorded by the real EvalRecorder in a child
 * process: every sample starts, all but the last `hung` finish (flushed every `logBuffer`), and
 * the hung ones never do. Prints `ready` and waits to be SIGKILLed, as an operator kills a run
 * that will not end. Usage: hung-run-child.js <log> <data dir> <samples> <hung> <log buffer>
 */
import { EvalRecorder } from '../../src/recorder/eval-recorder.js';
import { syntheticEvents, syntheticInit, syntheticSample, syntheticStart } from '../../examples/synthetic-eval.js';

const [log, dataDir, samples, hung, logBuffer] = process.argv.slice(2);
const total = Number(samples);
const recorder = await EvalRecorder.start(log!, syntheticStart(total, 'hang_prone'), { dataDir: dataDir!, logBuffer: Number(logBuffer) });
for (let index = 1; index <= total; index++) {
  recorder.sampleStarted(syntheticInit(index));
  recorder.events(syntheticInit(index).id, 1, syntheticEvents(index, 5));
}
for (let index = 1; index <= total - Number(hung); index++) await recorder.sampleCompleted(syntheticSample(index));
process.stdout.write('ready\n');
// Still reachable until the kill: collected, the recorder would close its files, which a killed process never does.
setInterval(() => recorder, 60_000);
