/**
 * `npm run fuzz`: the corruption campaign, in-process. FUZZ_CASES (default 3000) and FUZZ_SEED
 * (default 1) choose its size and sequence; it prints a tally per mutation, every problem, and
 * exits 1 when there is one.
 */
import { runCampaign, type CaseOutcome } from './campaign.js';

const cases = Number(process.env.FUZZ_CASES ?? 3000);
const seed = Number(process.env.FUZZ_SEED ?? 1);
const tally = new Map<string, { cases: number; recovered: number; refused: number }>();
const started = performance.now();
const summary = await runCampaign({
  cases,
  seed,
  onCase: (outcome: CaseOutcome, index: number) => {
    const key = `${outcome.seed} · ${outcome.mutation}`;
    const row = tally.get(key) ?? { cases: 0, recovered: 0, refused: 0 };
    row.cases++;
    if (outcome.result === 'recovered') row.recovered++;
    if (outcome.result === 'refused') row.refused++;
    tally.set(key, row);
    if (outcome.problems.length) process.stdout.write(`case ${index} (${key}, ${outcome.target}): ${outcome.problems.join('; ')}\n`);
    if ((index + 1) % 250 === 0) process.stderr.write(`${index + 1}/${cases} cases\n`);
  },
});
for (const [key, row] of [...tally].sort()) process.stdout.write(`${key.padEnd(48)} ${String(row.cases).padStart(5)} cases, ${String(row.recovered).padStart(5)} recovered, ${String(row.refused).padStart(5)} refused\n`);
const seconds = ((performance.now() - started) / 1000).toFixed(0);
process.stdout.write(
  `${summary.cases} cases in ${seconds} s (seed ${seed}): ${summary.recovered} recovered, ${summary.refused} refused with a clear error, ` +
    `${summary.problems.length} with problems\n`,
);
process.exitCode = summary.problems.length ? 1 : 0;
