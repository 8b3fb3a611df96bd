import fc from 'fast-check';

// Property tests explore new random cases on every local run. In CI the seed is fixed (override
// with FC_SEED) so a submission's result does not depend on luck; a failure prints its seed and
// counterexample, which `FC_SEED=<seed>` reproduces.
if (process.env.CI !== undefined || process.env.FC_SEED !== undefined) {
  fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261121) });
}
