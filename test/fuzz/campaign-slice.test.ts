/**
 * A fixed-seed slice of the corruption campaign (`npm run fuzz` runs the whole of it): every
 * damaged run must recover to a log that reads back whole, or be refused with a clear error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCampaign } from '../../fuzz/campaign.js';

describe('corruption campaign (fixed-seed slice)', () => {
  it('200 damaged runs: no stack trace, no unreadable output, no sample twice, no wrong count, no output left by a failure', async () => {
    const summary = await runCampaign({ cases: 200, seed: 20261201 });
    assert.equal(summary.cases, 200);
    assert.deepEqual(summary.problems, []);
    assert.ok(summary.recovered > 50 && summary.refused > 10, `both outcomes occur: ${summary.recovered} recovered, ${summary.refused} refused`);
  });
});
