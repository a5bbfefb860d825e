/**
 * A corruption campaign (issue 9): crashed runs are damaged one file at a time, the way disks,
 * copies and attackers damage them, and each is recovered, listed and shown in-process. Every
 * case must end in a recovered log that reads back whole, or in an expected error that leaves
 * nothing behind; the original is never changed. What breaks a promise is reported as a problem.
 */
import { createHash } from 'node:crypto';
import { chmod, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { InspectRecoverError } from '../src/errors.js';
import { EvalLogReader } from '../src/eval/eval-log-reader.js';
import { evalLogStatus } from '../src/eval/log-status.js';
import { PythonJsonScan } from '../src/json/json-scan.js';
import { defaultOutputPath } from '../src/recover/output-path.js';
import { recoverableEvalLogs } from '../src/recover/recoverable-logs.js';
import { recoverEvalLog } from '../src/recover/recover-eval-log.js';
import { arithSample, arithStart } from '../test/support/arith-log.js';
import { layOutCrashedFixtures } from '../test/support/crashed-layout.js';
import { bufferSample, openBufferDatabase, writeCrashedLog } from '../test/support/recovery-inputs.js';
import { inspectFixtures } from '../test/support/shared-fixtures.js';
import { mutations, seededRandom, type FileKind, type Random } from './mutations.js';

/** One crashed run to damage: its directory, its log, and the files that may be damaged. */
interface Seed {
  name: string;
  root: string;
  /** Relative to root. */
  log: string;
  dataDir: string;
  targets: { path: string; kind: FileKind }[];
}

export interface CaseOutcome {
  seed: string;
  target: string;
  mutation: string;
  result: 'recovered' | 'refused' | 'unchanged';
  problems: string[];
}

export interface CampaignSummary {
  cases: number;
  recovered: number;
  refused: number;
  problems: CaseOutcome[];
}

const caseTimeoutMs = 20_000;

/** Builds the seeds under `root`: our recorder's crashed run with a buffer database, and Inspect's own crashed runs (filestore and database) when ../shared is there. */
async function makeSeeds(root: string): Promise<Seed[]> {
  const seeds: Seed[] = [];
  const ours = join(root, 'ours');
  const log = join(ours, 'logs', '2026-11-22T12-00-00-00-00_arith_fuzz.eval');
  const dataDir = join(ours, 'data');
  await writeCrashedLog(log, arithStart({ samples: 10, epochs: 1 }), [[1, 2, 3].map((i) => arithSample(i, 1)), [4, 5].map((i) => arithSample(i, 1))]);
  const db = openBufferDatabase(log, dataDir);
  for (const index of [5, 6, 7]) bufferSample(db, arithSample(index, 1), 'completed');
  bufferSample(db, arithSample(8, 1), 'in-progress');
  await db.close({ cleanup: false });
  const dbFiles = await filesUnder(dataDir);
  seeds.push({
    name: 'ours (database)',
    root: ours,
    log: 'logs/2026-11-22T12-00-00-00-00_arith_fuzz.eval',
    dataDir: 'data',
    targets: [{ path: 'logs/2026-11-22T12-00-00-00-00_arith_fuzz.eval', kind: 'zip' }, ...dbFiles.map((path) => ({ path: join('data', path), kind: 'sqlite' as const }))],
  });
  if (existsSync(inspectFixtures)) {
    const layout = await layOutCrashedFixtures(join(root, 'inspect'));
    const relative = (path: string) => path.slice(layout.root.length + 1);
    const buffer = (await filesUnder(join(layout.logsDir, '.buffer'))).map((path) => join('logs', '.buffer', path));
    const dataFiles = (await filesUnder(layout.dataDir)).map((path) => join(relative(layout.dataDir), path));
    seeds.push({
      name: 'Inspect (filestore)',
      root: layout.root,
      log: relative(layout.filestoreLog),
      dataDir: relative(layout.dataDir),
      targets: [{ path: relative(layout.filestoreLog), kind: 'zip' }, ...buffer.map((path) => ({ path, kind: path.endsWith('.zip') ? ('zip' as const) : ('json' as const) }))],
    });
    seeds.push({
      name: 'Inspect (database)',
      root: layout.root,
      log: relative(layout.databaseLog),
      dataDir: relative(layout.dataDir),
      targets: [{ path: relative(layout.databaseLog), kind: 'zip' }, ...dataFiles.map((path) => ({ path, kind: 'sqlite' as const }))],
    });
  }
  return seeds;
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1));
}

export async function runCampaign({ cases, seed = 1, onCase }: { cases: number; seed?: number; onCase?: (outcome: CaseOutcome, index: number) => void }): Promise<CampaignSummary> {
  const root = await mkdtemp(join(tmpdir(), 'inspect-recover-fuzz-'));
  const summary: CampaignSummary = { cases: 0, recovered: 0, refused: 0, problems: [] };
  try {
    const seeds = await makeSeeds(join(root, 'seeds'));
    const random = seededRandom(seed);
    for (let index = 0; index < cases; index++) {
      const outcome = await runCase(seeds[index % seeds.length]!, join(root, `case-${index}`), random);
      summary.cases++;
      if (outcome.result === 'recovered') summary.recovered++;
      if (outcome.result === 'refused') summary.refused++;
      if (outcome.problems.length) summary.problems.push(outcome);
      onCase?.(outcome, index);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return summary;
}

async function runCase(seed: Seed, directory: string, random: Random): Promise<CaseOutcome> {
  const target = seed.targets[Math.floor(random() * seed.targets.length)]!;
  const usable = mutations.filter((mutation) => mutation.applies(target.kind));
  const mutation = usable[Math.floor(random() * usable.length)]!;
  const outcome: CaseOutcome = { seed: seed.name, target: target.path, mutation: mutation.name, result: 'unchanged', problems: [] };
  // A plain recursive copy, as a user's `cp -r` makes it: fresh file times.
  await cp(seed.root, directory, { recursive: true });
  try {
    const path = join(directory, target.path);
    await chmod(path, 0o644);
    if (mutation.applyToFile) {
      if (!(await mutation.applyToFile(path, random))) return outcome;
    } else {
      const damaged = mutation.apply!(await readFile(path), random);
      if (!damaged) return outcome;
      await writeFile(path, damaged);
    }
    const log = join(directory, seed.log);
    const before = digest(await readFile(log));
    await withTimeout(checkListing(join(directory, 'logs'), join(directory, seed.dataDir), outcome), outcome, 'list');
    await withTimeout(checkShow(log, outcome), outcome, 'show');
    await withTimeout(checkRecovery(log, join(directory, seed.dataDir), outcome), outcome, 'recover');
    if (digest(await readFile(log)) !== before) outcome.problems.push('the original log changed');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  return outcome;
}

async function checkListing(logDir: string, dataDir: string, outcome: CaseOutcome): Promise<void> {
  await expected(outcome, 'list', () => recoverableEvalLogs(logDir, { dataDir, onWarning: () => undefined }));
}

async function checkShow(log: string, outcome: CaseOutcome): Promise<void> {
  await expected(outcome, 'show', () => evalLogStatus(log));
}

async function checkRecovery(log: string, dataDir: string, outcome: CaseOutcome): Promise<void> {
  const output = defaultOutputPath(log);
  const result = await expected(outcome, 'recover', () => recoverEvalLog(log, { dataDir, cleanup: false }));
  if (!result) {
    outcome.result = 'refused';
    if (existsSync(output)) outcome.problems.push('a failed recovery left its output behind');
    return;
  }
  outcome.result = 'recovered';
  let reader: EvalLogReader | undefined;
  try {
    reader = await EvalLogReader.open(output);
    const header = await reader.header();
    if (header.status !== 'error') outcome.problems.push(`recovered status ${header.status}`);
    const seen = new Set<string>();
    let samples = 0;
    for (const entry of reader.sampleEntries()) {
      samples++;
      try {
        const sample = await reader.readSample(entry);
        const key = `${typeof sample.id}:${String(sample.id)}:${sample.epoch}`;
        if (seen.has(key)) outcome.problems.push(`sample ${key} twice`);
        seen.add(key);
      } catch (error) {
        outcome.problems.push(`unreadable sample ${entry.name}: ${(error as Error).message.slice(0, 120)}`);
      }
    }
    // Every entry as Python's json reads it (how Inspect reads logs): nothing damaged is passed on.
    for (const entry of reader.zip.eachEntry()) {
      const scan = new PythonJsonScan(entry.name);
      try {
        scan.push(await reader.zip.bytes(entry));
        scan.finish();
      } catch (error) {
        outcome.problems.push(`an entry Python cannot read: ${(error as Error).message.slice(0, 160)}`);
      }
    }
    const rows = (await reader.summaries()).length;
    if (samples !== result.samples) outcome.problems.push(`counts say ${result.samples} samples, the file holds ${samples}`);
    if (rows !== samples) outcome.problems.push(`${rows} summaries for ${samples} samples`);
    if (header.results === undefined && !result.warnings.some((warning) => warning.code === 'RESULTS_NOT_RECOMPUTED') && samples > 0) {
      outcome.problems.push('no results');
    }
  } catch (error) {
    outcome.problems.push(`the recovered log does not read back: ${(error as Error).message.slice(0, 200)}`);
  } finally {
    await reader?.close();
  }
}

/** Runs one command; an expected error (an InspectRecoverError) is fine, anything else is a problem. */
async function expected<T>(outcome: CaseOutcome, what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof InspectRecoverError)) {
      outcome.problems.push(`${what}: internal error ${(error as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)}`);
    } else if (error.message.includes('\n')) {
      outcome.problems.push(`${what}: a multi-line error message`);
    }
    return undefined;
  }
}

async function withTimeout(work: Promise<void>, outcome: CaseOutcome, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      outcome.problems.push(`${what}: still running after ${caseTimeoutMs / 1000} s`);
      resolve();
    }, caseTimeoutMs);
  });
  await Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
