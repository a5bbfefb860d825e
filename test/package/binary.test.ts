/**
 * The single executable (`npm run build:binary`) on a machine without Node: built, then run with
 * a PATH of its own directory only, on the shared crashed fixtures and on S3 against moto. What
 * it prints and writes equals the package CLI's, byte for byte apart from times; nothing
 * experimental is said on stderr.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { binaryName, buildBinary } from '../../build/binary.js';
import { buildWheel } from '../../build/wheel.js';
import { pythonReadsZip } from '../support/python.js';
import { layOutCrashedFixtures, type CrashedLayout } from '../support/crashed-layout.js';
import { readLog } from '../support/recovery-inputs.js';
import { codeBlocks, readmeSection } from '../support/readme.js';
import { s3ServerAvailability, startS3Server, type TestS3Server } from '../support/s3-server.js';
import { conformanceSuiteOptions, repoRoot } from '../support/shared-fixtures.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('the single executable, where there is no Node', conformanceSuiteOptions(), () => {
  let layout: CrashedLayout;
  let binDir: string;
  before(async () => {
    layout = await layOutCrashedFixtures();
    // The README's Install, line by line: `npm run build:binary` (whose compile step npm test has
    // just run: its build step runs here), then its install line, into this test's home.
    const [block] = codeBlocks(readmeSection('Install'), 'sh');
    const [build, install] = block!.split('\n').filter(Boolean).map((line) => line.replace(/\s+#.*$/, ''));
    assert.equal(build, 'npm ci && npm run build:binary');
    const script = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['build:binary'];
    assert.equal(script, 'tsc -p . && node dist/build/binary.js');
    const built = join(layout.root, 'clone');
    await mkdir(built);
    const { path } = await buildBinary(join(built, binaryName));
    const installed = spawnSync('bash', ['-euo', 'pipefail', '-c', install!], { cwd: built, env: { PATH: process.env.PATH, HOME: layout.root }, encoding: 'utf8' });
    assert.equal(installed.status, 0, installed.stderr);
    assert.ok(path.endsWith(`/${binaryName}`));
    binDir = join(layout.root, '.local', 'bin');
  });
  after(() => rm(layout.root, { recursive: true, force: true }));

  /** The installed executable by name, found on a PATH of its own directory only: no node, no npm, no python. */
  const binary = (args: string[], env: NodeJS.ProcessEnv = {}): Run =>
    outcome(spawnSync('inspect-recover', args, { cwd: layout.root, env: { PATH: binDir, HOME: layout.root, ...env }, encoding: 'utf8' }));
  /** The package's CLI under the Node running the tests. */
  const packageCli = (args: string[], env: NodeJS.ProcessEnv = {}): Run =>
    outcome(spawnSync(process.execPath, [join(repoRoot, 'bin', 'inspect-recover.js'), ...args], { cwd: layout.root, env: { PATH: process.env.PATH, HOME: layout.root, ...env }, encoding: 'utf8' }));

  it('has no node beside it, and says what the package says: --version, --help, a usage error, a missing log', () => {
    assert.equal(spawnSync('node', ['--version'], { env: { PATH: binDir } }).error?.message.includes('ENOENT'), true, 'no node on its PATH');
    for (const args of [['--version'], ['--help'], ['--list', '--all'], ['logs/missing.eval']]) {
      const [ours, theirs] = [binary(args), packageCli(args)];
      assert.deepEqual(ours, theirs, args.join(' '));
    }
    assert.equal(binary(['logs/missing.eval']).status, 2);
  });

  it('--list --json, show, and a recovery from the database equal the package CLI\'s; Python reads the output', async () => {
    const dataDir = relative(layout.root, layout.dataDir);
    const list = binary(['--list', 'logs', '--data-dir', dataDir, '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stderr, '', 'no experimental warning, nothing else');
    assert.deepEqual(list, packageCli(['--list', 'logs', '--data-dir', dataDir, '--json']));
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 2);

    const log = relative(layout.root, layout.databaseLog);
    const recover = (run: typeof binary, output: string) => run([log, '--data-dir', dataDir, '--no-cleanup', '--output', output, '--json']);
    const [ours, theirs] = [recover(binary, 'out/binary.eval'), recover(packageCli, 'out/package.eval')];
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stderr, '');
    assert.deepEqual(JSON.parse(ours.stdout.replace('out/binary.eval', 'OUT')), JSON.parse(theirs.stdout.replace('out/package.eval', 'OUT')));
    await sameLog(join(layout.root, 'out/binary.eval'), join(layout.root, 'out/package.eval'));
    assert.ok(pythonReadsZip(join(layout.root, 'out/binary.eval')).entries > 0);

    for (const args of [['show', 'out/binary.eval'], ['show', 'out/binary.eval', '--json']]) assert.deepEqual(binary(args), packageCli(args), args.join(' '));
  });

  it('as a wheel in an Inspect venv: pip installs it from the local file, and inspect-recover runs with no Node', async () => {
    const built = join(layout.root, 'wheel');
    await mkdir(built);
    const wheel = await buildWheel(built, join(binDir, 'inspect-recover'));
    const venv = join(layout.root, 'venv');
    const made = spawnSync('python3', ['-m', 'venv', venv], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const pip = spawnSync(join(venv, 'bin', 'pip'), ['install', '--no-index', '--quiet', wheel], { encoding: 'utf8' });
    assert.equal(pip.status, 0, pip.stderr);
    const dataDir = relative(layout.root, layout.dataDir);
    const run = (args: string[]) => outcome(spawnSync('inspect-recover', args, { cwd: layout.root, env: { PATH: join(venv, 'bin'), HOME: layout.root }, encoding: 'utf8' }));
    assert.deepEqual(run(['--version']), packageCli(['--version']));
    assert.deepEqual(run(['--list', 'logs', '--data-dir', dataDir, '--json']), packageCli(['--list', 'logs', '--data-dir', dataDir, '--json']));
  });

  describe('on S3', s3ServerAvailability(), () => {
    let server: TestS3Server;
    before(async () => {
      server = await startS3Server();
    });
    after(() => server?.stop());

    it('recovers a crashed log from its filestore on S3 as the package CLI does', async () => {
      const env = { AWS_ENDPOINT_URL: server.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
      const name = relative(layout.logsDir, layout.filestoreLog);
      for (const prefix of ['binary', 'package']) await uploadTree(server, layout.logsDir, `s3://${server.bucket}/${prefix}`);
      const run = (cli: typeof binary, prefix: string) => cli([`s3://${server.bucket}/${prefix}/${name}`, '--no-cleanup', '--json'], env);
      const [ours, theirs] = [run(binary, 'binary'), run(packageCli, 'package')];
      assert.equal(ours.status, 0, ours.stderr);
      assert.equal(ours.stderr, '');
      assert.deepEqual(JSON.parse(ours.stdout.replaceAll('/binary/', '/P/')), JSON.parse(theirs.stdout.replaceAll('/package/', '/P/')));
      const fetched = (prefix: string) => server.storage.read(`s3://${server.bucket}/${prefix}/${name.replace('.eval', '-recovered.eval')}`);
      const scratch = join(layout.root, 's3-out');
      await mkdir(scratch, { recursive: true });
      await writeFile(join(scratch, 'binary.eval'), await fetched('binary'));
      await writeFile(join(scratch, 'package.eval'), await fetched('package'));
      await sameLog(join(scratch, 'binary.eval'), join(scratch, 'package.eval'));
    });
  });
});

function outcome({ status, stdout, stderr }: { status: number | null; stdout: string; stderr: string }): Run {
  return { status, stdout, stderr };
}

/** Two recovered logs hold the same entries, samples, summaries and header, apart from the time each was written. */
async function sameLog(a: string, b: string): Promise<void> {
  const [ours, theirs] = await Promise.all([readLog(a), readLog(b)]);
  assert.deepEqual(ours.entryNames, theirs.entryNames);
  assert.deepEqual(ours.samples, theirs.samples);
  assert.deepEqual(ours.summaries, theirs.summaries);
  assert.deepEqual(ours.reductions, theirs.reductions);
  const withoutTime = (header: typeof ours.header) => ({ ...header, stats: { ...header.stats, completed_at: '' } });
  assert.deepEqual(withoutTime(ours.header), withoutTime(theirs.header));
}

/** Every file under a local directory, uploaded below an S3 prefix (the `.buffer` filestore included). */
async function uploadTree(server: TestS3Server, dir: string, prefix: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    await server.storage.write(`${prefix}/${relative(dir, path)}`, await readFile(path));
  }
}
