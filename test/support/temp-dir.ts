import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

/**
 * A fresh directory under the system temp dir; remove it with `removeTempDir`. Its real path:
 * a buffer DB's location hashes the log's URI, which must not depend on how the path is spelled.
 */
export function makeTempDir(prefix = 'inspect-recover-test-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A temp directory for the enclosing `describe`: created before its tests, removed (with
 * everything in it) after them. `file(name)` gives a path inside it.
 */
export function useTempDir(prefix?: string): { readonly path: string; file(name: string): string } {
  let dir: string | undefined;
  before(() => {
    dir = makeTempDir(prefix);
  });
  after(() => {
    if (dir !== undefined) removeTempDir(dir);
  });
  const path = () => {
    if (dir === undefined) throw new Error('useTempDir: the directory exists only while the suite runs');
    return dir;
  };
  return {
    get path() {
      return path();
    },
    file: (name: string) => join(path(), name),
  };
}
