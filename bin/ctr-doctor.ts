#!/usr/bin/env node
// `--version` alone is answered before anything heavy is imported, to keep start-up near `node -e 0`.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { TOOL_VERSION } = await import('../src/core/version.js');
  process.stdout.write(`${TOOL_VERSION}\n`);
} else {
  const { main } = await import('../src/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
  // The report is out; anything still holding the event loop is left over from a check that timed out.
  setTimeout(() => process.exit(), 100).unref();
}
