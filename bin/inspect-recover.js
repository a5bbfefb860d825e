#!/usr/bin/env -S node --max-semi-space-size=1
// A small young generation keeps peak memory low: recovery makes much short-lived garbage
// (one parsed sample at a time), and V8's default 16 MiB semi-spaces would hold ~25 MB of it.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv);
