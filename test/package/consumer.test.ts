/**
 * The package as a consumer gets it: `npm pack`, installed into a fresh directory (its
 * dependencies from the npm cache that `npm ci` filled, install scripts off, so better-sqlite3
 * is not even built), then the bin run, the library imported from ESM and from CommonJS, the
 * README's library examples type-checked as written with `tsc --strict` and no
 * `--skipLibCheck` on TypeScript 5.9 and 7, and the README's Quick start run as written on the
 * shared crashed fixtures, the pod's folders copied with `cp -r` where it says `kubectl cp`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { codeBlocks, readmeSection } from '../support/readme.js';
import { conformanceSuiteOptions, inspectFixture, repoRoot } from '../support/shared-fixtures.js';

/** The database fixture's log: what the Quick start shows. */
const quickStartLog = '2026-11-22T13-41-49-00-00_arith_2iJZ4N7bW5JUPwpxW3MyVc.eval';

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** What a consumer's TypeScript is run with: strict, and every library's types checked. */
const tscArgs = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node'];

describe('the packed package', conformanceSuiteOptions(), () => {
  it("installs into a fresh directory, runs, imports from ESM and CommonJS, type-checks the README's examples on TypeScript 5.9 and 7, and runs its Quick start", { timeout: 600_000 }, async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'consumer-'));
    t.after(() => rm(directory, { recursive: true, force: true }));
    // dist/ is built already (npm test built it): the prepare script is not run twice.
    const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', directory], repoRoot)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((file) => file.path);
    assert.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('bin/inspect-recover.js') && files.includes('dist/src/index.js'));
    assert.deepEqual(files.filter((path) => path.endsWith('.map') || path.startsWith('dist/test') || path.endsWith('.ts') && !path.endsWith('.d.ts')), []);
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

    const consumer = join(directory, 'app');
    await mkdir(consumer);
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', join(directory, packed[0]!.filename), '@types/node@20', 'typescript@5.9', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], consumer);

    assert.equal(execFileSync(join(consumer, 'node_modules/.bin/inspect-recover'), ['--version'], { encoding: 'utf8' }), `${version}\n`);
    // Without its build a database cannot be read on Node 20: one line says so, no stack trace.
    const databaseDir = join(inspectFixture('crashed-database', 'samplebuffer'), 'dc8f26889265c147b969161459c851855241a71813f953c6a4ef4f8840535e8a');
    const database = join(databaseDir, '2026-11-22T13-41-49-00-00_arith_2iJZ4N7bW5JUPwpxW3MyVc.eval.7203.db');
    const unbuilt = spawnSync(join(consumer, 'node_modules/.bin/inspect-recover'), [inspectFixture('crashed-database', quickStartLog), '--buffer', database, '--dry-run'], {
      encoding: 'utf8',
      env: { ...process.env, INSPECT_RECOVER_SQLITE: 'better-sqlite3' },
    });
    assert.equal(unbuilt.status, 1);
    assert.match(unbuilt.stderr, /^inspect-recover: no SQLite engine could be loaded \(better-sqlite3: Could not locate the bindings file.*install better-sqlite3, letting its build run\n$/);
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('inspect-recover'); console.log(typeof m.recoverEvalLog, typeof m.EvalLogReader)"], { cwd: consumer, encoding: 'utf8' });
    assert.equal(esm, 'function function\n');
    const cjs = execFileSync(process.execPath, ['--input-type=commonjs', '-e', "const m = require('inspect-recover'); console.log(typeof m.recoverEvalLog)"], { cwd: consumer, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(cjs, 'function\n');

    const examples = codeBlocks(readmeSection('The library in brief'), 'ts');
    assert.equal(examples.length, 2, "the README's library examples");
    const names = await Promise.all(
      examples.map(async (example, index) => {
        const name = `readme-${index + 1}.ts`;
        // Each example is a module of its own (top-level await), as a user's file would be.
        await writeFile(join(consumer, name), `${example}export {};\n`);
        return name;
      }),
    );
    const compilers = { 'TypeScript 5.9': join(consumer, 'node_modules/typescript/bin/tsc'), 'TypeScript 7': join(repoRoot, 'node_modules/typescript/bin/tsc') };
    for (const [compiler, tsc] of Object.entries(compilers)) {
      const version = execFileSync(process.execPath, [tsc, '--version'], { encoding: 'utf8' });
      assert.match(version, compiler === 'TypeScript 7' ? /Version 7\./ : /Version 5\.9\./);
      const checked = spawnSync(process.execPath, [tsc, ...tscArgs, ...names], { cwd: consumer, encoding: 'utf8' });
      assert.equal(checked.stdout + checked.stderr, '', `${compiler} on the README's examples`);
      assert.equal(checked.status, 0);
    }

    // What better-sqlite3's install script would have built for this Node (Node 20 needs it), without building it again.
    const built = join(repoRoot, 'node_modules', 'better-sqlite3', 'build');
    if (existsSync(built)) await cp(built, join(consumer, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
    await runQuickStart(directory, join(consumer, 'node_modules/.bin'));
  });
});

describe('a fresh clone', () => {
  it('packs a working package: the prepare script builds dist/ before npm pack takes it', { timeout: 300_000 }, async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'fresh-clone-'));
    t.after(() => rm(directory, { recursive: true, force: true }));
    // The tracked files, as a clone has them (no dist/), with the installed dependencies beside them.
    const clone = join(directory, 'clone');
    for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean)) {
      await cp(join(repoRoot, file), join(clone, file));
    }
    await symlink(join(repoRoot, 'node_modules'), join(clone, 'node_modules'));
    assert.equal(existsSync(join(clone, 'dist')), false);
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', directory], clone).replace(/^[^[]*/, '')) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((file) => file.path);
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/cli/main.js') && files.includes('dist/src/index.d.ts'), `${files.length} files`);
  });
});

/**
 * The README's Quick start, line by line: `kubectl cp POD:/path ./x` becomes a `cp -r` of a pod's
 * folders laid out from the shared fixtures (the database under the pod's data dir, logs and
 * `.buffer/` under its log dir); every other line runs as printed, with the installed bin on PATH.
 */
async function runQuickStart(directory: string, bin: string): Promise<void> {
  const pod = join(directory, 'pod');
  const podLogs = join(pod, 'app', 'logs');
  await mkdir(podLogs, { recursive: true });
  await cp(inspectFixture('crashed-filestore'), podLogs, { recursive: true, filter: (source) => !source.endsWith('README.md') });
  await cp(inspectFixture('crashed-database', quickStartLog), join(podLogs, quickStartLog));
  await cp(inspectFixture('crashed-database', 'samplebuffer'), join(pod, 'root', '.local', 'share', 'inspect_ai', 'samplebuffer'), { recursive: true });
  // The fixtures are read-only; a pod's own files are not.
  execFileSync('chmod', ['-R', 'u+w', pod]);

  const [block] = codeBlocks(readmeSection('Quick start: my eval crashed on a pod'), 'sh');
  const script = block!.replace(/^kubectl cp [\w-]+:(\S+) (\S+)/gm, (_line, from: string, to: string) => `cp -r ${join(pod, from)} ${to}`);
  assert.match(script, /^cp -r /m, 'the Quick start copies off the pod');
  const work = join(directory, 'work');
  await mkdir(work);
  const run = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: work, encoding: 'utf8', env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` } });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  assert.match(run.stdout, /^log: logs\/.*\n {2}source: database/m, '--list');
  assert.match(run.stdout, /^1 ?.*recovered|recovered logs\/.* → logs\/.*-recovered\.eval/m, '--all');
  assert.match(run.stdout, /Samples\s+\S*10/, 'show: the recovered log holds every sample');
  assert.ok(existsSync(join(work, 'logs', quickStartLog.replace('.eval', '-recovered.eval'))));
}
