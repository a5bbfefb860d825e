#!/usr/bin/env -S node --max-semi-space-size=2
import v8 from 'node:v8';
import { main } from '../dist/src/cli/main.js';

// Recovery makes garbage fast and keeps little: a small young generation and an old generation
// that grows by 20% (not up to 4x) past what is live keep peak memory close to the live data.
v8.setFlagsFromString('--heap-growing-percent=20');

process.exitCode = await main(process.argv);
