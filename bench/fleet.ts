/**
 * Listing and sweeping an S3 prefix (moto on loopback): `--list` over finished logs and a few
 * crashed ones, cold (every header read) and warm (from the header index), `--all --jobs 4`, and
 * four sweepers at once against one. moto answers a few hundred requests a second here, so a
 * cold scan's floor is one request per log; its measured rate is printed beside the figures.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordCrashedRun, type RecordedCrash } from '../test/support/recorded-crash.js';
import { uploadCrashedCopy, uploadFinishedLogs } from '../test/support/s3-fleet.js';
import { startS3Server, type TestS3Server } from '../test/support/s3-server.js';

const run = promisify(execFile);

export async function benchFleet(root: string, cli: string, finishedCounts: number[]): Promise<void> {
  const server = await startS3Server();
  try {
    const crash = await recordCrashedRun(join(root, 'fleet', 'logs', '2026-11-22T12-00-00-00-00_sweep_recorded.eval'), join(root, 'fleet', 'data'), 40, { shared: true, tempDir: root });
    const env = { ...process.env, AWS_ENDPOINT_URL: server.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', XDG_DATA_HOME: join(root, 'fleet', 'xdg') };
    const timed = async (args: string[]) => {
      const started = performance.now();
      await run(process.execPath, [cli, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
      return (performance.now() - started) / 1000;
    };
    const rows: string[][] = [];
    for (const finished of finishedCounts) {
      const prefix = `s3://${server.bucket}/list-${finished}`;
      await uploadFinishedLogs(server.storage, prefix, finished);
      for (let index = 0; index < 5; index++) await uploadCrashedCopy(server.storage, crash, prefix, `crashed${index}`);
      const cold = await timed(['--list', prefix, '--json']);
      const warm = await timed(['--list', prefix, '--json']);
      rows.push([`--list, ${finished.toLocaleString('en')} finished + 5 crashed`, cold.toFixed(2), warm.toFixed(2)]);
      if (finished === finishedCounts[0]) rows.push([`--all --jobs 4, the same prefix (5 recovered)`, '', (await timed(['--all', prefix, '--jobs', '4', '--json'])).toFixed(2)]);
    }
    const sweep = await sweepers(server, crash, timed);
    rows.push(['--all --jobs 4, 50 crashed logs: one sweeper', '', sweep.alone.toFixed(2)]);
    rows.push(['--all --jobs 4, 50 crashed logs: four at once', '', sweep.together.toFixed(2)]);
    printFleetTable(rows, await requestRate(server));
  } finally {
    await server.stop();
  }
}

async function sweepers(server: TestS3Server, crash: RecordedCrash, timed: (args: string[]) => Promise<number>): Promise<{ alone: number; together: number }> {
  const single = `s3://${server.bucket}/sweep-single`;
  const shared = `s3://${server.bucket}/sweep-shared`;
  for (const prefix of [single, shared]) for (let index = 0; index < 50; index++) await uploadCrashedCopy(server.storage, crash, prefix, `run${index}`);
  const alone = await timed(['--all', single, '--jobs', '4', '--json']);
  const started = performance.now();
  await Promise.all(Array.from({ length: 4 }, () => timed(['--all', shared, '--jobs', '4', '--json'])));
  return { alone, together: (performance.now() - started) / 1000 };
}

/** Small ranged GETs a second, 16 at a time: what a cold scan is bound by. */
async function requestRate(server: TestS3Server): Promise<number> {
  const location = `s3://${server.bucket}/rate-probe`;
  await server.storage.write(location, new Uint8Array(4096));
  const count = 400;
  const started = performance.now();
  for (let done = 0; done < count; done += 16) await Promise.all(Array.from({ length: 16 }, () => server.storage.readRange(location, 0, 1024)));
  return count / ((performance.now() - started) / 1000);
}

function printFleetTable(rows: string[][], rate: number): void {
  const header = ['S3 (moto on loopback)', 'cold s', 'wall s'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  process.stdout.write(`\n${format(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n${rows.map(format).join('\n')}\n`);
  process.stdout.write(
    `"cold" reads every log's header (one ranged GET each); "wall" is a second run, finished logs taken from the header index. ` +
      `moto answers ${Math.round(rate)} GETs/s here, the floor of a cold scan. CLI wall time, Node start-up included.\n`,
  );
}
