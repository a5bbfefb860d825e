/**
 * The docs agree with the tool: every flag `--help` shows is in docs/cli.md, every warning code
 * is in the README's troubleshooting table, the README stays a short way in, and every page it
 * links exists.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { warnings } from '../../src/warnings.js';
import { runCli } from '../support/cli.js';
import { readme, readmeSection } from '../support/readme.js';
import { repoRoot } from '../support/shared-fixtures.js';

describe('the docs', () => {
  it('docs/cli.md names every flag and command that --help and help show shows', async () => {
    const help = runCli(['--help']).stdout + runCli(['help', 'show']).stdout;
    const flags = new Set([...help.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((match) => match[0]));
    assert.ok(flags.size > 20, `found ${flags.size} flags in --help`);
    const reference = await readFile(join(repoRoot, 'docs', 'cli.md'), 'utf8');
    const missing = [...flags].filter((flag) => !reference.includes(flag));
    assert.deepEqual(missing, [], 'flags --help shows that docs/cli.md does not');
    assert.match(reference, /inspect-recover show LOG/);
  });

  it("the README's troubleshooting table has a row for every warning code", () => {
    const table = readmeSection('Troubleshooting');
    const codes = Object.values(warnings).map((make) => make('', {} as never).code);
    assert.ok(codes.length >= 20);
    assert.deepEqual(codes.filter((code) => !new RegExp(`\`${code}\``).test(table)), []);
  });

  it('the README is a short way in: the two commands first, under 200 lines, each linked page present', () => {
    const text = readme();
    assert.match(text, /^# inspect-recover\n\n```sh\nnpm ci && npm start .*\nnpm test .*\n```\n/);
    assert.ok(text.split('\n').length < 200, `${text.split('\n').length} lines`);
    for (const heading of ['Quick start: my eval crashed on a pod', 'Install', 'Troubleshooting', 'The library in brief']) readmeSection(heading);
    const links = [...text.matchAll(/\]\(((?:docs\/)[^)#]+)\)/g)].map((match) => match[1]!);
    assert.ok(links.includes('docs/on-disk.svg') && links.includes('docs/cli.md'));
    assert.deepEqual(links.filter((link) => !existsSync(join(repoRoot, link))), []);
  });
});
