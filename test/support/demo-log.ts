import { EvalLogWriter } from '../../src/eval/eval-log-writer.js';
import { arithSample, arithStart } from './arith-log.js';

/**
 * The embedded demo log (`fixtures/demo-crashed.eval`): an 8-sample run that flushed 3 samples
 * (one scored incorrect) and then died, so its log has the start journal and no header.
 */
export async function writeDemoLog(path: string): Promise<void> {
  const writer = await EvalLogWriter.create(path, arithStart({ samples: 8, epochs: 1, task: 'arith-demo' }));
  await writer.addSample(arithSample(1, 1));
  await writer.addSample(arithSample(2, 1, { correct: false }));
  await writer.flush();
  await writer.addSample(arithSample(3, 1));
  await writer.flush();
  await writer.addSample(arithSample(4, 1)); // never flushed: lost with the crash
  await writer.close();
}
