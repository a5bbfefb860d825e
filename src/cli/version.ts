import { readFileSync } from 'node:fs';

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string, encoding: string): string;
}

/**
 * The package's version: from its package.json (two levels above `dist/src/cli`), or, inside the
 * single executable (build/binary.ts), where no package.json is beside the code, from the asset
 * its build stored it in.
 */
export function packageVersion(): string {
  const sea = process.getBuiltinModule('node:sea') as SeaModule | undefined;
  if (sea?.isSea()) return sea.getAsset('version', 'utf8');
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
