/**
 * The `inspect-recover` command as a user runs it (recovery.md §10 and our contract): exit codes
 * 0 recovered, 1 failed, 2 usage or not recoverable; one clean stderr line per error; stdout text,
 * `--json`, `--quiet`; no terminal control codes when piped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { heartbeat, heartbeatFileName } from '../../src/buffer/filestore/heartbeat.js';
import { filestoreDirForLog } from '../../src/buffer/filestore/layout.js';
import type { RecoveryResult } from '../../src/recover/recover-eval-log.js';

/** What `--json` prints for a recovery: the result with snake_case keys. */
type RecoveryJson = Omit<RecoveryResult, 'inProgress' | 'cleanedUp'> & { in_progress: number; cleaned_up: boolean };
import { arithHeader, arithSample, arithStart } from '../support/arith-log.js';
import { isOneLineError } from '../support/cli.js';
import { databaseLogName, filestoreLogName, layOutCrashedFixtures, type CrashedLayout } from '../support/crashed-layout.js';
import { hasTerminalControl, runCliIn } from '../support/recover-cli.js';
import { bufferSample, makeScratch, openBufferDatabase, readLog, writeCrashedLog, writeFinishedLog } from '../support/recovery-inputs.js';
import { conformanceSuiteOptions } from '../support/shared-fixtures.js';

async function layout(t: TestContext): Promise<CrashedLayout> {
  const laidOut = await layOutCrashedFixtures();
  t.after(() => rm(laidOut.root, { recursive: true, force: true }));
  return laidOut;
}

const recoveredName = (name: string) => name.replace(/\.eval$/, '-recovered.eval');

function assertOneLineError(result: { status: number | null; stdout: string; stderr: string }, status: number, pattern: RegExp): void {
  assert.equal(result.status, status, `exit status; stderr: ${result.stderr}`);
  assert.ok(isOneLineError(result.stderr), `not one clean line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, pattern);
  assert.equal(result.stdout, '');
}

describe('inspect-recover LOG', conformanceSuiteOptions(), () => {
  it('recovers: exit 0, `Recovered N samples to <path as given>`, and the hint counting what eval-retry or EvalRecorder.resume would run (errored, cancelled and never started)', async (t) => {
    const { root, xdgDataHome } = await layout(t);
    // The data dir comes from XDG_DATA_HOME, as for Inspect.
    const result = await runCliIn(root, [`logs/${databaseLogName}`], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(result.status, 0, result.stderr);
    const output = `logs/${recoveredName(databaseLogName)}`;
    assert.equal(
      result.stdout,
      `Recovered 10 samples to ${output} (4 flushed, 2 completed, 4 in progress; source: database)\n` +
        `\nTo run the 14 samples that did not finish (4 failed or cancelled, 10 never started or lost):\n` +
        `  inspect eval-retry ${output}${' '.repeat(14)}   # an Inspect run\n` +
        `  EvalRecorder.resume("${output}", logStart)   # a TypeScript harness recording with inspect-recover\n`,
    );
    assert.equal(result.stderr, '', 'piped: no progress bar, no warnings');
    assert.equal((await readLog(join(root, output))).samples.size, 10);
  });

  it('no failed samples: no eval-retry hint', async (t) => {
    const scratch = await makeScratch(t);
    const log = scratch.log();
    await writeCrashedLog(log, arithStart({ samples: 2, epochs: 1 }), [[arithSample(1, 1)]]);
    const db = openBufferDatabase(log, scratch.dataDir);
    bufferSample(db, arithSample(2, 1), 'completed');
    await db.close({ cleanup: false });
    const result = await runCliIn(scratch.root, ['logs/run.eval', '--data-dir', scratch.dataDir]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'Recovered 2 samples to logs/run-recovered.eval (1 flushed, 1 completed, 0 in progress; source: database)\n');
  });

  it('--output, --no-cleanup, --no-events and --overwrite reach the recovery', async (t) => {
    const { root, xdgDataHome, logsDir, databaseDir, filestoreLog } = await layout(t);
    const kept = await runCliIn(root, [`logs/${databaseLogName}`, '--output', 'out/here.eval', '--no-cleanup', '--no-events'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stdout, /^Recovered 10 samples to out\/here\.eval /);
    const recovered = await readLog(join(root, 'out/here.eval'));
    assert.deepEqual(recovered.samples.get('5:1')!.events, []);
    assert.ok(existsSync(databaseDir), '--no-cleanup kept the DB');

    const overwritten = await runCliIn(root, [filestoreLog, '--overwrite'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(overwritten.status, 0, overwritten.stderr);
    assert.match(overwritten.stdout, new RegExp(`^Recovered 10 samples to ${filestoreLog.replaceAll('.', '\\.')} `));
    assert.equal((await readLog(filestoreLog)).header.status, 'error');
    assert.ok(!existsSync(join(logsDir, recoveredName(filestoreLogName))));
  });

  it('a live-looking buffer: refused with exit 2 and a hint; --force recovers it and keeps the buffer', async (t) => {
    const { root, xdgDataHome, filestoreLog } = await layout(t);
    const bufferDir = filestoreDirForLog(filestoreLog);
    await writeFile(join(bufferDir, heartbeatFileName), JSON.stringify(heartbeat(2)));
    const refused = await runCliIn(root, [filestoreLog], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(refused.status, 2);
    assert.ok(isOneLineError(refused.stderr), refused.stderr);
    assert.match(refused.stderr, /is still running: its filestore heartbeat .* \(use --force to recover it anyway; its buffer is then left in place\)/);
    const forced = await runCliIn(root, [filestoreLog, '--force', '--json'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(forced.status, 0, forced.stderr);
    const result = JSON.parse(forced.stdout) as RecoveryJson;
    assert.deepEqual([result.samples, result.source, result.cleaned_up], [10, 'filestore', false]);
    assert.ok(existsSync(join(bufferDir, 'manifest.json')), 'the buffer is left in place');
  });

  it('--quiet prints nothing on success', async (t) => {
    const { root, xdgDataHome } = await layout(t);
    const result = await runCliIn(root, [`logs/${filestoreLogName}`, '--quiet'], { XDG_DATA_HOME: xdgDataHome });
    assert.deepEqual(result, { status: 0, stdout: '', stderr: '' });
    assert.ok(existsSync(join(root, 'logs', recoveredName(filestoreLogName))));
  });

  it('--json: the result with counts, output path and warnings with their codes (a damaged segment)', async (t) => {
    const { root, xdgDataHome, filestoreLog } = await layout(t);
    const bufferDir = join(root, 'logs', '.buffer', filestoreLogName.replace(/\.eval$/, ''));
    await rm(join(bufferDir, 'segment.3.zip'));
    const result = await runCliIn(root, [filestoreLog, '--json'], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(result.status, 0, result.stderr);
    const said = result.stderr.trimEnd().split('\n').map((line) => /^warning \[(\w+)\]/.exec(line)?.[1]);
    assert.deepEqual([...new Set(said)], ['SEGMENT_UNREADABLE', 'POOL_GAP'], 'lost data is said on stderr as well; stdout is the JSON');
    const parsed = JSON.parse(result.stdout) as RecoveryJson;
    assert.equal(parsed.log, filestoreLog);
    assert.equal(parsed.output, recoveredName(filestoreLog));
    assert.deepEqual(
      [parsed.source, parsed.samples, parsed.flushed, parsed.completed, parsed.in_progress, parsed.errors, parsed.duplicates, parsed.cleaned_up],
      ['filestore', 10, 4, 2, 4, 4, 0, true],
    );
    const unreadable = parsed.warnings.filter((warning) => warning.code === 'SEGMENT_UNREADABLE');
    assert.equal(unreadable.length, 1);
    assert.equal(unreadable[0]!.details?.segment_id, 3);
    assert.ok(!/"[a-z]+[A-Z][A-Za-z]*":/.test(result.stdout), 'snake_case keys only');
    assert.ok(parsed.warnings.every((warning) => typeof warning.code === 'string' && typeof warning.message === 'string'));
    assert.ok(parsed.warnings.some((warning) => warning.code === 'POOL_GAP'));
    assert.equal(said.length, parsed.warnings.length, 'each warning of the JSON once on stderr');
  });

  it('warnings without --json: one `warning [CODE]: …` line each on stderr; the result still on stdout', async (t) => {
    const { root, xdgDataHome, filestoreLog } = await layout(t);
    await truncate(join(root, 'logs', '.buffer', filestoreLogName.replace(/\.eval$/, ''), 'segment.2.zip'), 100);
    const result = await runCliIn(root, [filestoreLog], { XDG_DATA_HOME: xdgDataHome });
    assert.equal(result.status, 0);
    const lines = result.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 1);
    for (const line of lines) assert.match(line, /^warning \[(SEGMENT_UNREADABLE|POOL_GAP)\]: /);
    assert.equal(lines.filter((line) => line.startsWith('warning [SEGMENT_UNREADABLE]')).length, 1);
    assert.ok(!hasTerminalControl(result.stderr) && !hasTerminalControl(result.stdout));
    assert.match(result.stdout, /^Recovered 10 samples to /);
  });

  it('--strict with a damaged segment: exit 1, one line, nothing written', async (t) => {
    const { root, xdgDataHome, filestoreLog } = await layout(t);
    await rm(join(root, 'logs', '.buffer', filestoreLogName.replace(/\.eval$/, ''), 'segment.4.zip'));
    const result = await runCliIn(root, [filestoreLog, '--strict'], { XDG_DATA_HOME: xdgDataHome });
    assertOneLineError(result, 1, /^inspect-recover: 6 samples \(.*\) lost the events stored in segment 4 \(segment\.4\.zip\): .*\(strict mode\)$/m);
    assert.ok(!existsSync(recoveredName(filestoreLog)));
  });

  describe('errors: exit code and one clean stderr line', () => {
    it('no LOG and no --list: usage, exit 2', async (t) => {
      const scratch = await makeScratch(t);
      assertOneLineError(await runCliIn(scratch.root, []), 2, /a log to recover is required/);
    });

    it('an unknown option or a missing option value: usage, exit 2', async (t) => {
      const scratch = await makeScratch(t);
      assertOneLineError(await runCliIn(scratch.root, ['x.eval', '--jsno']), 2, /unknown option '--jsno' \(Did you mean --json\?\)/);
      assertOneLineError(await runCliIn(scratch.root, ['x.eval', '--output']), 2, /argument missing/);
    });

    it('not recoverable (a finished log; a running eval): exit 2', async (t) => {
      const scratch = await makeScratch(t);
      const start = arithStart({ samples: 1, epochs: 1 });
      await writeFinishedLog(scratch.log('done.eval'), start, [arithSample(1, 1)], arithHeader(start, 'success', 1));
      assertOneLineError(await runCliIn(scratch.root, ['logs/done.eval']), 2, /Log is not recoverable: .*not a crashed log/);

      await writeCrashedLog(scratch.log('live.eval'), start);
      // This process holds the DB open, as a running eval does.
      const db = openBufferDatabase(scratch.log('live.eval'), scratch.dataDir, process.pid);
      try {
        assertOneLineError(await runCliIn(scratch.root, ['logs/live.eval', '--data-dir', scratch.dataDir]), 2, /still running: .*holds a lock on it \(\/proc\/locks\)/);
      } finally {
        await db.close({ cleanup: false });
      }
    });

    it('not a zip, or truncated: exit 2', async (t) => {
      const scratch = await makeScratch(t);
      await writeFile(scratch.log('junk.eval'), 'not a zip');
      assertOneLineError(await runCliIn(scratch.root, ['logs/junk.eval']), 2, /Log is not recoverable/);
    });

    it('a missing file: exit 2, as a missing directory', async (t) => {
      const scratch = await makeScratch(t);
      assertOneLineError(await runCliIn(scratch.root, ['logs/missing.eval']), 2, /logs\/missing\.eval: no such file or directory/);
    });

    it('a directory given as LOG: exit 2, and the commands that take a directory', async (t) => {
      const scratch = await makeScratch(t);
      assertOneLineError(await runCliIn(scratch.root, ['logs']), 2, /^inspect-recover: logs is a directory, not a log: to see its crashed logs, inspect-recover --list logs; to recover them all, inspect-recover --all logs\n$/);
    });

    it('a storage error writing the output (its parent is a file): exit 1, the buffer kept', async (t) => {
      const { root, xdgDataHome, databaseDir } = await layout(t);
      await writeFile(join(root, 'a-file'), 'x');
      const result = await runCliIn(root, [`logs/${databaseLogName}`, '--output', 'a-file/out.eval'], { XDG_DATA_HOME: xdgDataHome });
      assertOneLineError(result, 1, /a-file\/out\.eval: cannot write/);
      assert.ok(existsSync(databaseDir));
    });

    it('the successful-log guard: exit 2, the message says to use --output', async (t) => {
      const scratch = await makeScratch(t);
      const start = arithStart({ samples: 2, epochs: 1 });
      await writeCrashedLog(scratch.log(), start);
      const db = openBufferDatabase(scratch.log(), scratch.dataDir);
      bufferSample(db, arithSample(1, 1), 'completed');
      await db.close({ cleanup: false });
      await writeFinishedLog(scratch.log('retry.eval'), start, [arithSample(1, 1)], arithHeader(start, 'success', 1));
      assertOneLineError(await runCliIn(scratch.root, ['logs/run.eval', '--data-dir', scratch.dataDir]), 2, /successful log .*--output/);
    });

    it('an S3 location error is one line too (no AWS SDK Node-version warning)', async (t) => {
      const scratch = await makeScratch(t);
      const result = await runCliIn(scratch.root, ['s3://'], { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined });
      assertOneLineError(result, 2, /not an s3:\/\/ location|bucket/);
    });
  });

  it('--help: exit 0, usage on stdout', async (t) => {
    const scratch = await makeScratch(t);
    const result = await runCliIn(scratch.root, ['--help']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^Usage: inspect-recover /);
    assert.match(result.stdout, /--list/);
  });
});
