// Prints the plain closing line CI reads ("N passed, N failed[, N skipped]").
// Jest's own summary ("Tests: 4 passed, 4 total") is not in that form.
class CountReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = CountReporter;
