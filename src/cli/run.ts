import v8 from 'node:v8';
import { main } from './main.js';

/**
 * The command line as a process runs it: the package's bin and the single executable both start
 * here. Recovery makes garbage fast and keeps little: a small young generation (the bin's
 * `--max-semi-space-size=2`, the executable's execArgv) and an old generation that grows by 20%
 * (not up to 4x) past what is live keep peak memory close to the live data.
 */
export function runCli(): void {
  v8.setFlagsFromString('--heap-growing-percent=20');
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
