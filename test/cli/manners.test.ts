/**
 * The command line as a seasoned Unix user expects it (issue 10): a closed pipe ends quietly,
 * `--version` and `help`, options on either side of `show`, `--list DIR`, mistakes as errors,
 * lost data said even under `--quiet`, and failures as JSON under `--json`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isOneLineError, runCli } from '../support/cli.js';
import { filestoreLogName, layOutCrashedFixtures, type CrashedLayout } from '../support/crashed-layout.js';
import { runCliIn } from '../support/recover-cli.js';
import { conformanceSuiteOptions, repoRoot } from '../support/shared-fixtures.js';

async function layout(t: TestContext): Promise<CrashedLayout> {
  const laidOut = await layOutCrashedFixtures();
  t.after(() => rm(laidOut.root, { recursive: true, force: true }));
  return laidOut;
}

const demoLog = join(repoRoot, 'fixtures', 'demo-crashed.eval');

/** Runs the CLI with its stdout's reading end closed at once, as `| head -0` or `| true` leave it. */
function runIntoClosedPipe(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/inspect-recover.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stderr }));
  });
}

describe('Unix manners', () => {
  it('a closed pipe ends the command quietly with exit 0: --list and show', async () => {
    for (const args of [['--list', join(repoRoot, 'fixtures')], ['show', demoLog], ['show', demoLog, '--json']]) {
      const result = await runIntoClosedPipe(args);
      assert.deepEqual(result, { status: 0, stderr: '' }, args.join(' '));
    }
  });

  it('--version and -V print the package version; help [command] is help, not a log named "help"', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) assert.deepEqual(runCli([flag]), { status: 0, stdout: `${version}\n`, stderr: '' });
    const help = runCli(['help', 'show']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: inspect-recover show \[options\] <log>/);
    assert.match(runCli(['help']).stdout, /^Usage: inspect-recover /);
  });

  it('--json before or after show prints the same JSON', () => {
    const before = runCli(['--json', 'show', demoLog]);
    const after = runCli(['show', demoLog, '--json']);
    assert.equal(before.status, 0, before.stderr);
    assert.equal(before.stdout, after.stdout);
    const status = JSON.parse(before.stdout) as { task: string; created: string; last_modified: string };
    assert.equal(status.task, 'arith-demo');
    assert.match(status.last_modified, /\+00:00$/, "times in one form, Inspect's, as created is");
    assert.match(status.created, /\+00:00$/);
  });

  it('--list DIR lists DIR; a missing directory or a file given as one exits 2 with one line', async (t) => {
    const { root, logsDir, xdgDataHome } = await layout(t);
    const listed = await runCliIn(root, ['--list', 'logs', '--json'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 2);
    for (const [args, pattern] of [
      [['--list', 'r3/logs'], /r3\/logs: no such directory to list$/],
      [['--list', '--log-dir', join(root, 'no-such-dir')], /no-such-dir: no such directory to list$/],
      [['--list', '--log-dir', join(logsDir, filestoreLogName)], /a file, not a directory \(to look at one log: inspect-recover show /],
    ] as const) {
      const result = await runCliIn(root, [...args], { XDG_DATA_HOME: xdgDataHome });
      assert.equal(result.status, 2, args.join(' '));
      assert.ok(isOneLineError(result.stderr), result.stderr);
      assert.match(result.stderr.trimEnd(), pattern);
      assert.equal(result.stdout, '');
    }
  });
});

describe('lost data is always said', conformanceSuiteOptions(), () => {
  it('--quiet with a truncated segment: the lost-data lines still print, in plain words; nothing else does', async (t) => {
    const { root, logsDir, xdgDataHome, filestoreLog } = await layout(t);
    const segment = join(logsDir, '.buffer', filestoreLogName.replace(/\.eval$/, ''), 'segment.4.zip');
    const bytes = readFileSync(segment);
    await rm(segment);
    await writeFile(segment, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await runCliIn(root, [filestoreLog, '--quiet'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 1);
    assert.match(lines[0]!, /^warning \[SEGMENT_UNREADABLE\]: 6 samples \(5 \(epoch 1\), .*\) lost the events stored in segment 4 \(segment\.4\.zip\): .*truncated zip archive/);
    assert.ok(lines.every((line) => line.startsWith('warning [')), result.stderr);
  });
});

describe('failures under --json', () => {
  it('are JSON on stdout as well as one line on stderr; a missing log makes no directory', async (t) => {
    const { root } = await layout(t);
    const missing = join(root, 'no-such-dir', 'run.eval');
    const result = runCli([missing, '--json']);
    assert.equal(result.status, 2, 'a missing input exits 2, as a missing directory');
    assert.ok(isOneLineError(result.stderr), result.stderr);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, 'NOT_FOUND');
    assert.match(parsed.error.message, /no-such-dir\/run\.eval: no such file or directory/);
    assert.ok(!existsSync(join(root, 'no-such-dir')), 'the failed recovery made no directory');
  });
});

describe('no leftovers', conformanceSuiteOptions(), () => {
  it('5 recoveries interrupted by Ctrl-C (SIGINT): exit 130 each, nothing of ours in the temp dir or beside the log', async (t) => {
    const { mkdtemp } = await import('node:fs/promises');
    const { readdir } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { layOutLargeFixture } = await import('../support/crashed-layout.js');
    const root = await mkdtemp(join(tmpdir(), 'ctrl-c-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const log = await layOutLargeFixture(root);
    const privateTmp = join(root, 'tmp');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(privateTmp);
    const before = (await readdir(join(root, 'logs'))).sort();
    for (let run = 0; run < 5; run++) {
      const child = spawn(process.execPath, [join(repoRoot, 'bin/inspect-recover.js'), log, '--overwrite', '--no-cleanup'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, TMPDIR: privateTmp },
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      // Interrupted mid-recovery: once it has started writing (its temp files exist).
      for (let waited = 0; (await readdir(privateTmp)).length === 0 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 130, stderr);
      assert.deepEqual(await readdir(privateTmp), [], `run ${run}: the temp dir is empty`);
      assert.deepEqual((await readdir(join(root, 'logs'))).sort(), before, `run ${run}: no staging file or lease beside the log`);
    }
  });
});

describe('without a SQLite engine (Node 20 with better-sqlite3 unbuilt)', conformanceSuiteOptions(), () => {
  const withoutSqlite = { NODE_OPTIONS: `--require ${join(repoRoot, 'dist/test/support/without-sqlite.cjs')}` };

  it('show, --list and a recovery from the filestore work; a database recovery says what is missing in one line', async (t) => {
    const { root, xdgDataHome, filestoreLog, databaseLog } = await layout(t);
    const env = { ...withoutSqlite, XDG_DATA_HOME: xdgDataHome };
    const shown = await runCliIn(root, ['show', filestoreLog], env);
    assert.equal(shown.status, 0, shown.stderr);
    const listed = await runCliIn(root, ['--list', 'logs', '--json'], env);
    assert.equal(listed.status, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as { path: string }[]).some((log) => log.path.endsWith(filestoreLogName)));
    const fromFilestore = await runCliIn(root, [filestoreLog, '--no-cleanup'], env);
    assert.equal(fromFilestore.status, 0, fromFilestore.stderr);
    assert.match(fromFilestore.stdout, /^Recovered 10 samples .*source: filestore/);
    const fromDatabase = await runCliIn(root, [databaseLog], env);
    assert.equal(fromDatabase.status, 1);
    assert.ok(isOneLineError(fromDatabase.stderr), fromDatabase.stderr);
    assert.match(fromDatabase.stderr, /no SQLite engine could be loaded \(node:sqlite: .*; better-sqlite3: .*\): buffer databases cannot be read or written/);
  });
});

describe('no leftovers after crashes', () => {
  it('20 SIGKILLed recorders: each new process removes what dead ones left, and the next --list removes the rest', { timeout: 120_000 }, async (t) => {
    const { mkdtemp, mkdir, readdir } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const root = await mkdtemp(join(tmpdir(), 'killed-recorders-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const privateTmp = join(root, 'tmp');
    await mkdir(privateTmp);
    const script = `
      import { EvalRecorder, FilestoreSyncHook } from ${JSON.stringify(join(repoRoot, 'dist/src/index.js'))};
      import { syntheticInit, syntheticEvents, syntheticSample, syntheticStart } from ${JSON.stringify(join(repoRoot, 'dist/examples/synthetic-eval.js'))};
      const sync = new FilestoreSyncHook({ intervalSeconds: 1 });
      const recorder = await EvalRecorder.start(process.argv[1], syntheticStart(4), { dataDir: process.argv[2], logBuffer: 2, sync });
      for (const index of [1, 2, 3]) {
        recorder.sampleStarted(syntheticInit(index));
        recorder.events(syntheticInit(index).id, 1, syntheticEvents(index, 3));
        await recorder.sampleCompleted(syntheticSample(index));
      }
      await sync.filestore.sync();
      process.stdout.write('ready\\n');
      setInterval(() => recorder, 60_000);`;
    const runs = Array.from({ length: 20 }, (_, run) => join(root, 'logs', `2026-11-22T12-00-${String(run).padStart(2, '0')}-00-00_arith_run${run}.eval`));
    for (let start = 0; start < runs.length; start += 5) {
      await Promise.all(
        runs.slice(start, start + 5).map(async (log) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, log, join(root, 'data')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: privateTmp } });
          await new Promise<void>((resolve, reject) => {
            child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
            child.once('exit', (code) => reject(new Error(`a recorder exited early (${code})`)));
          });
          child.kill('SIGKILL');
          await new Promise((resolve) => child.once('close', resolve));
        }),
      );
    }
    // Each recorder, starting, removed what the dead ones before it left: at most the last batch's remain
    // (fewer when one of the batch was killed before another made its own).
    const left = await readdir(privateTmp);
    assert.ok(left.length >= 1 && left.length <= 5, `at most the last five SIGKILLed recorders' temp dirs remain: ${left.join(', ')}`);
    const listed = await runCliIn(root, ['--list', 'logs', '--data-dir', join(root, 'data'), '--json'], { TMPDIR: privateTmp });
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 20);
    assert.deepEqual(await readdir(privateTmp), [], 'nothing of ours is left in the temp dir');
  });
});

describe('the progress bar', conformanceSuiteOptions(), () => {
  it('draws on a terminal, and not on TERM=dumb or with CI set (run under a pseudo-terminal by util-linux script)', async (t) => {
    const { execFileSync: run } = await import('node:child_process');
    const { root, filestoreLog } = await layout(t);
    const bin = join(repoRoot, 'bin/inspect-recover.js');
    const onTerminal = (env: string, output: string) =>
      run('script', ['-qc', `env -u CI ${env} ${process.execPath} ${bin} ${filestoreLog} --no-cleanup --output ${join(root, output)}`, '/dev/null'], { encoding: 'utf8' });
    assert.match(onTerminal('TERM=xterm', 'a.eval'), /\rRecovering \[#+-*\] \d+\/\d+/);
    for (const [env, output] of [['TERM=dumb', 'b.eval'], ['TERM=xterm CI=true', 'c.eval']] as const) {
      const printed = onTerminal(env, output);
      assert.match(printed, /^Recovered 10 samples/, env);
      assert.doesNotMatch(printed, /Recovering \[/, env);
    }
  });
});

describe('help and behaviour agree', () => {
  it('help names only real commands: help show prints its help, help list is one usage line', () => {
    const show = runCli(['help', 'show']);
    assert.equal(show.status, 0);
    assert.match(show.stdout, /^Usage: inspect-recover show \[options\] <log>/);
    const unknown = runCli(['help', 'list']);
    assert.equal(unknown.status, 2);
    assert.ok(isOneLineError(unknown.stderr), unknown.stderr);
    assert.match(unknown.stderr, /unknown command 'list': the commands are show and help; --list, --all and --clean are options/);
    assert.equal(unknown.stdout, '');
  });

  it("--help says what --log-dir and --quiet do: $INSPECT_LOG_DIR wins over ./logs, and lost data still prints", () => {
    const help = runCli(['--help'], { INSPECT_LOG_DIR: '/somewhere' }).stdout.replace(/\s+/g, ' ');
    assert.match(help, /--log-dir <dir> .*default: \$INSPECT_LOG_DIR, else \.\/logs\)/);
    assert.doesNotMatch(help, /default: "/, 'no default of commander\'s that the environment would contradict');
    assert.match(help, /--quiet print no progress and no success lines \(errors, and warnings of lost data, still print\)/);
    assert.match(help, /JSON Lines\) for --all and --clean/);
  });

  it('a directory given twice (DIR and --log-dir) is a usage error, not one of them silently ignored', () => {
    const result = runCli(['--list', 'logs', '--log-dir', 'other']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^inspect-recover: the directory is given twice \(logs and --log-dir other\); give one\n$/);
  });
});

