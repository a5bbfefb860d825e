/**
 * `npm run bench`: makes crashed logs with our own recorder (a child process SIGKILLed
 * mid-run), at two sizes ten times apart, from its buffer database and from its filestore, and
 * times their recovery by the real CLI, plus Inspect's own `large/` fixture when ../shared is
 * there. Each recovery is one `inspect-recover` process: the table gives its wall time (start-up
 * included, as in Inspect's figures), throughput, and peak RSS (the kernel's high-water mark).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layOutLargeFixture } from '../test/support/crashed-layout.js';
import { recordCrashedRun } from '../test/support/recorded-crash.js';
import { findOnPath } from '../test/support/s3-server.js';
import { benchFleet } from './fleet.js';
import { inspectFixtures } from '../test/support/shared-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const sizes = (process.env.BENCH_SIZES ?? '5000,50000').split(',').map(Number);
const fleetSizes = (process.env.BENCH_FLEET_LOGS ?? '300,10000').split(',').map(Number);

interface Row {
  name: string;
  samples: number;
  inBytes: number;
  outBytes: number;
  processMs: number;
  maxRssKb: number;
}

const cli = join(here, '..', '..', 'bin', 'inspect-recover.js');

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path)) total += await sizeOf(join(path, name));
  return total;
}

/** A crashed run recorded by our recorder, SIGKILLed at its crash point. */
async function crashedRun(root: string, samples: number, buffer: 'database' | 'filestore'): Promise<{ log: string; dataDir: string }> {
  const log = join(root, 'logs', `2026-11-22T12-00-00-00-00_arith-bench_${samples}.eval`);
  const dataDir = join(root, 'data');
  await recordCrashedRun(log, dataDir, samples, { shared: buffer === 'filestore', tempDir: root });
  // As on a pod whose local disk died with it: only the log dir (and its .buffer) survives.
  if (buffer === 'filestore') await rm(dataDir, { recursive: true, force: true });
  return { log, dataDir };
}

/** Runs the CLI on one log; samples its peak RSS from /proc while it runs. */
async function recover(name: string, log: string, dataDir: string, inBytes: number): Promise<Row & { output: string }> {
  const started = performance.now();
  const child = spawn(cli, [log, '--json', '--no-cleanup', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let maxRssKb = 0;
  const poll = setInterval(() => {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
    if (status) maxRssKb = Math.max(maxRssKb, Number(status[1]));
  }, 2);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data));
  child.stderr.on('data', (data: Buffer) => (stderr += data));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(poll);
  const processMs = performance.now() - started;
  if (code !== 0) throw new Error(`${name}: recovery failed (exit ${code}): ${stderr}`);
  const result = JSON.parse(stdout) as { samples: number; output: string };
  return { name, samples: result.samples, inBytes, outBytes: 0, processMs, maxRssKb, output: result.output };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'inspect-recover-bench-'));
  const rows: (Row & { output: string })[] = [];
  try {
    if (existsSync(inspectFixtures)) {
      const log = await layOutLargeFixture(join(root, 'fixture'));
      const inBytes = (await sizeOf(log)) + (await sizeOf(join(dirname(log), '.buffer')));
      rows.push(await recover('Inspect large/ fixture (filestore)', log, join(root, 'fixture', 'data'), inBytes));
    } else {
      process.stderr.write(`skipping the large/ fixture: ${inspectFixtures} not found\n`);
    }
    for (const buffer of ['database', 'filestore'] as const) {
      for (const samples of sizes) {
        const { log, dataDir } = await crashedRun(join(root, `${buffer}-${samples}`), samples, buffer);
        const inBytes = (await sizeOf(log)) + (await sizeOf(dataDir)) + (await sizeOf(join(dirname(log), '.buffer')));
        rows.push(await recover(`generated ${samples.toLocaleString('en')} (${buffer})`, log, dataDir, inBytes));
      }
    }
    for (const row of rows) row.outBytes = await sizeOf(row.output);
    printTable(rows);
    if (findOnPath('moto_server')) await benchFleet(root, cli, fleetSizes);
    else process.stderr.write('skipping the S3 fleet figures: moto_server is not on PATH\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function printTable(rows: Row[]): void {
  const mb = (bytes: number) => bytes / 1e6;
  const header = ['log', 'samples', 'in MB', 'out MB', 'wall s', 'samples/s', 'MB/s in', 'MB/s out', 'peak RSS MB'];
  const lines = rows.map((row) => {
    const seconds = row.processMs / 1000;
    return [
      row.name,
      String(row.samples),
      mb(row.inBytes).toFixed(1),
      mb(row.outBytes).toFixed(1),
      seconds.toFixed(2),
      Math.round(row.samples / seconds).toLocaleString('en'),
      (mb(row.inBytes) / seconds).toFixed(1),
      (mb(row.outBytes) / seconds).toFixed(1),
      (row.maxRssKb / 1024).toFixed(0),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  process.stdout.write(`${format(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n${lines.map(format).join('\n')}\n`);
  process.stdout.write("Wall time is the CLI process's, start-up included, as in Inspect's own figures (about 18 s and 141 MB for large/).\n");
}

await main();
