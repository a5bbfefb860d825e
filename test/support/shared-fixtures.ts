import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** `../shared/fixtures/inspect`: the files real Inspect wrote. */
export const inspectFixtures = resolve(repoRoot, '../shared/fixtures/inspect');

/**
 * Options for a conformance suite that reads the Inspect fixtures: it runs wherever they are,
 * fails on CI when they are missing (it must never skip there), and skips only on a developer
 * machine without `../shared`.
 */
export function conformanceSuiteOptions(): { skip?: string } {
  if (existsSync(inspectFixtures)) return {};
  if (process.env.CI) throw new Error(`Inspect fixtures missing at ${inspectFixtures}; on CI the conformance suite must run`);
  return { skip: `Inspect fixtures not found at ${inspectFixtures}` };
}

export function inspectFixture(...parts: string[]): string {
  return join(inspectFixtures, ...parts);
}
