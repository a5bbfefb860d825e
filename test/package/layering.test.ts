/**
 * The layers of src/ as the README draws them: a module imports only from its own layer or
 * those below it, and no chain of runtime imports comes back to where it started. Read from
 * the sources themselves, so a new import that breaks the order fails here.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const srcDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');

/**
 * Lowest first. The top-level modules (errors, warnings, sample-ref) are the vocabulary every
 * layer shares. Storage (local files, S3) needs only bytes, and the eval layer reads and
 * publishes logs through it, so it sits with bytes.
 */
const layerOrder: readonly (readonly string[])[] = [
  ['errors.ts', 'warnings.ts', 'sample-ref.ts'],
  ['bytes', 'json', 'codec', 'storage'],
  ['zip'],
  ['eval'],
  ['buffer'],
  ['recover'],
  ['recorder', 'cli'],
  ['index.ts'],
];

interface ModuleImport {
  from: string;
  to: string;
  /** `import type` / `export type`: gone at run time, so it cannot close a cycle. */
  typeOnly: boolean;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [relative(srcDir, path)] : [];
  });
}

function importsOf(file: string): ModuleImport[] {
  const text = readFileSync(join(srcDir, file), 'utf8');
  const found: ModuleImport[] = [];
  const statements = /^(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gm;
  const dynamic = /\bimport\(\s*'(\.[^']+)'\s*\)/g;
  for (const match of text.matchAll(statements)) found.push({ from: file, to: resolveSpecifier(file, match[3]!), typeOnly: match[2] !== undefined });
  for (const match of text.matchAll(dynamic)) found.push({ from: file, to: resolveSpecifier(file, match[1]!), typeOnly: false });
  return found;
}

function resolveSpecifier(file: string, specifier: string): string {
  return normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts');
}

function layerOf(file: string): number {
  const head = file.split('/')[0]!;
  const rank = layerOrder.findIndex((layer) => layer.includes(head));
  assert.ok(rank >= 0, `${file} is in no layer: add its folder to layerOrder`);
  return rank;
}

/** The first cycle of runtime imports found, as the chain of modules that closes it. */
function findCycle(edges: ModuleImport[]): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const edge of edges) if (!edge.typeOnly) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (module: string): string[] | undefined => {
    if (state.get(module) === 'open') return [...path.slice(path.indexOf(module)), module];
    if (state.get(module) === 'done') return undefined;
    state.set(module, 'open');
    path.push(module);
    for (const target of next.get(module) ?? []) {
      const cycle = visit(target);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(module, 'done');
    return undefined;
  };
  for (const module of next.keys()) {
    const cycle = visit(module);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('layering of src/', () => {
  const files = sourceFiles(srcDir);
  const edges = files.flatMap(importsOf);

  it('reads the imports of every module', () => {
    assert.ok(files.length > 50, `found ${files.length} modules`);
    assert.ok(edges.length > files.length, `found ${edges.length} imports`);
    for (const edge of edges) assert.ok(files.includes(edge.to), `${edge.from} imports ${edge.to}, which does not exist`);
  });

  it('no module imports from a higher layer', () => {
    const upward = edges.filter((edge) => layerOf(edge.to) > layerOf(edge.from)).map((edge) => `${edge.from} → ${edge.to}`);
    assert.deepEqual(upward, []);
  });

  it('no cycle of runtime imports', () => {
    assert.deepEqual(findCycle(edges), undefined);
  });

  it('the buffer drivers stand apart: the database never reads the filestore, and only the filestore sync (which copies a database) reads the database', () => {
    const crossing = edges
      .filter((edge) => edge.from.startsWith('buffer/') && edge.to.startsWith('buffer/'))
      .filter((edge) => {
        if (edge.from.startsWith('buffer/database/')) return edge.to.startsWith('buffer/filestore/');
        if (edge.from.startsWith('buffer/filestore/')) return edge.to.startsWith('buffer/database/') && !/^buffer\/filestore\/sync[-.]/.test(edge.from);
        return false;
      })
      .map((edge) => `${edge.from} → ${edge.to}`);
    assert.deepEqual(crossing, []);
  });

  it('finds an upward import and a cycle when there is one (the checks can fail)', () => {
    const planted: ModuleImport[] = [
      { from: 'zip/zip-reader.ts', to: 'recover/recover-eval-log.ts', typeOnly: false },
      { from: 'recover/recover-eval-log.ts', to: 'zip/zip-reader.ts', typeOnly: false },
    ];
    assert.ok(layerOf(planted[0]!.to) > layerOf(planted[0]!.from));
    assert.deepEqual(findCycle(planted), ['zip/zip-reader.ts', 'recover/recover-eval-log.ts', 'zip/zip-reader.ts']);
    assert.equal(findCycle(planted.map((edge) => ({ ...edge, typeOnly: true }))), undefined);
  });
});
