/**
 * The package as a consumer gets it: `npm pack`, installed into a fresh directory (its
 * dependencies from the npm cache that `npm ci` filled, install scripts off, so better-sqlite3
 * is not even built), then the bin run, the library imported from ESM and from CommonJS, and a
 * consumer file type-checked with `tsc --strict` and no `--skipLibCheck`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/shared-fixtures.js';

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('the packed package', () => {
  it('installs into a fresh directory, runs, imports from ESM and CommonJS, and type-checks strictly', { timeout: 300_000 }, async (t) => {
    const directory = await mkdtemp(join(tmpdir(), 'consumer-'));
    t.after(() => rm(directory, { recursive: true, force: true }));
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', directory], repoRoot)) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((file) => file.path);
    assert.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('bin/inspect-recover.js'));
    assert.deepEqual(files.filter((path) => path.endsWith('.map') || path.startsWith('dist/test') || path.endsWith('.ts') && !path.endsWith('.d.ts')), []);
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

    const consumer = join(directory, 'app');
    execFileSync('mkdir', [consumer]);
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', join(directory, packed[0]!.filename), '@types/node@20', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], consumer);

    assert.equal(execFileSync(join(consumer, 'node_modules/.bin/inspect-recover'), ['--version'], { encoding: 'utf8' }), `${version}\n`);
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('inspect-recover'); console.log(typeof m.recoverEvalLog, typeof m.EvalLogReader)"], { cwd: consumer, encoding: 'utf8' });
    assert.equal(esm, 'function function\n');
    const cjs = execFileSync(process.execPath, ['--input-type=commonjs', '-e', "const m = require('inspect-recover'); console.log(typeof m.recoverEvalLog)"], { cwd: consumer, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(cjs, 'function\n');

    await writeFile(
      join(consumer, 'check.ts'),
      [
        "import { recoverEvalLog, EvalRecorder, RecoveryNotAvailable, type RecoveryResult, type RecoveryWarning } from 'inspect-recover';",
        "const result: Promise<RecoveryResult> = recoverEvalLog('logs/run.eval', { onWarning: (warning: RecoveryWarning) => console.warn(warning.code) });",
        'void result.catch((error: unknown) => error instanceof RecoveryNotAvailable);',
        'void EvalRecorder;',
        '',
      ].join('\n'),
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const checked = execFileSync(process.execPath, [tsc, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'check.ts'], {
      cwd: consumer,
      encoding: 'utf8',
    });
    assert.equal(checked, '');
  });
});
