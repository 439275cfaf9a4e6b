// One fast-check seed for the whole suite, so a property test fails or passes the same way on every machine and run:
// FC_SEED=<n> overrides it (to explore other inputs, or to reproduce a failure printed by another run).
import fc from 'fast-check';

const DEFAULT_SEED = 20_251_201;
const raw = process.env['FC_SEED'];
const seed = raw === undefined || raw === '' ? DEFAULT_SEED : Number(raw);
if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`);

fc.configureGlobal({
  seed,
  reporter(details) {
    const message = fc.defaultReportMessage(details);
    if (message !== undefined) throw new Error(`${message}\nfast-check seed ${seed} (reproduce with FC_SEED=${seed})`);
  },
});
