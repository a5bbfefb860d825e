/** The README's code blocks, taken from the README itself, so what it shows is what the tests run. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './shared-fixtures.js';

export function readme(): string {
  return readFileSync(join(repoRoot, 'README.md'), 'utf8');
}

/** The body of `## <heading>` up to the next `## `. */
export function readmeSection(heading: string): string {
  const text = readme();
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of one language in a piece of Markdown, in order. */
export function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((match) => match[1]!);
}
