/** Bad input to `show`: one readable line, a non-zero exit, never a stack trace. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after, describe, it } from 'node:test';
import { EvalLogWriter } from '../../src/eval/eval-log-writer.js';
import { ZipWriter } from '../../src/zip/zip-writer.js';
import { arithSample, arithStart } from '../support/arith-log.js';
import { isOneLineError, runCli } from '../support/cli.js';

describe('show with bad input', () => {
  let directory: string;
  let goodLog: string;

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'show-errors-'));
    goodLog = join(directory, 'good.eval');
    const writer = await EvalLogWriter.create(goodLog, arithStart({ samples: 3, epochs: 1 }));
    for (let i = 1; i <= 3; i++) await writer.addSample(arithSample(i, 1));
    await writer.flush();
    await writer.close();
  });
  after(() => rm(directory, { recursive: true, force: true }));

  const expectFailure = (path: string, message: RegExp, status = 1) => {
    const result = runCli(['show', path]);
    assert.equal(result.status, status, result.stderr);
    assert.equal(result.stdout, '');
    assert.ok(isOneLineError(result.stderr), `not one clean line: ${result.stderr}`);
    assert.match(result.stderr, message);
  };

  it('reads a log our writer wrote', () => {
    const result = runCli(['show', goodLog, '--json']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      (({ status, samples, total_samples }) => ({ status, samples, total_samples }))(JSON.parse(result.stdout)),
      { status: 'started', samples: 3, total_samples: 3 },
    );
  });

  it('a missing file: exit 2, as a missing directory', () => expectFailure(join(directory, 'nope.eval'), /nope\.eval: no such file or directory$/m, 2));

  it('a directory', () => expectFailure(directory, /is a directory/));

  it('a file that is not a zip', async () => {
    const path = join(directory, 'random.eval');
    await writeFile(path, randomBytes(5000));
    expectFailure(path, /random\.eval: not a zip archive/);
  });

  it('an empty file', async () => {
    const path = join(directory, 'empty.eval');
    await writeFile(path, '');
    expectFailure(path, /empty\.eval: not a zip archive/);
  });

  it('a zip truncated at several points: read from its whole entries, and said to be cut short', async () => {
    const bytes = await readFile(goodLog);
    let previous = -1;
    for (const keep of [0.3, 0.6, 0.95, 0.999]) {
      const path = join(directory, `truncated-${keep}.eval`);
      await writeFile(path, bytes.subarray(0, Math.floor(bytes.length * keep)));
      const result = runCli(['show', path, '--json']);
      assert.equal(result.status, 0, result.stderr);
      const status = JSON.parse(result.stdout) as { truncated: boolean; samples: number; status: string };
      assert.deepEqual([status.truncated, status.status], [true, 'started']);
      assert.ok(status.samples >= previous && status.samples <= 3, `${keep}: ${status.samples} samples`);
      previous = status.samples;
      assert.match(runCli(['show', path]).stdout, /cut short \(no end records\)/);
    }
  });

  it('a zip cut inside its start journal', async () => {
    const path = join(directory, 'cut-in-start.eval');
    await writeFile(path, (await readFile(goodLog)).subarray(0, 40));
    expectFailure(path, /cut-in-start\.eval: not an Inspect eval log/);
  });

  it('a zip with no start journal', async () => {
    const path = join(directory, 'other.zip');
    const zip = await ZipWriter.create(path);
    await zip.add('readme.txt', 'not a log');
    await zip.close();
    expectFailure(path, /other\.zip: not an Inspect eval log \(no _journal\/start\.json/);
  });

  it('a start journal that is not JSON', async () => {
    const path = join(directory, 'bad-start.eval');
    const zip = await ZipWriter.create(path);
    await zip.add('_journal/start.json', '{"version": 2, "eval": ');
    await zip.close();
    expectFailure(path, /bad-start\.eval: _journal\/start\.json is not valid JSON/);
  });

  it('a start journal without the fields Inspect requires', async () => {
    const path = join(directory, 'no-task.eval');
    const zip = await ZipWriter.create(path);
    await zip.add('_journal/start.json', '{"version": 2, "eval": {"model": "m"}, "plan": {}}');
    await zip.close();
    expectFailure(path, /no-task\.eval: _journal\/start\.json does not have the shape Inspect writes at eval\.\w+/);
  });

  it('usage errors exit 2', () => {
    const result = runCli(['show']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /missing required argument 'log'/);
    assert.equal(runCli(['bogus-command', '--nope']).status, 2);
  });
});
