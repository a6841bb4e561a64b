#!/usr/bin/env node
// `--version` alone is answered before anything else is loaded, to keep start-up near `node -e 0`.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const { readFileSync } = await import('node:fs');
  // Both dist/bin and dist/bundle sit two levels below the package root.
  process.stdout.write(`${(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`);
} else {
  const { main } = await import('../src/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
  // The report is out; anything still holding the event loop is left over from a check that timed out.
  setTimeout(() => process.exit(), 100).unref();
}
