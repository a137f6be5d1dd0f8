// Regenerates the file-format reference in README.md from the JSON Schemas.
//   node --import tsx scripts/gen-reference.ts           print the reference
//   node --import tsx scripts/gen-reference.ts --write   rewrite the block in README.md
//   node --import tsx scripts/gen-reference.ts --check   exit 1 when README.md is out of date
import { generatedReference, readmeReference, writeReadmeReference } from '../src/docs/readme.js';

const arg = process.argv[2];
if (arg === '--write') {
  const changed = writeReadmeReference();
  process.stdout.write(
    changed ? 'README.md: reference updated\n' : 'README.md: reference already up to date\n',
  );
} else if (arg === '--check') {
  if (readmeReference() !== generatedReference()) {
    process.stderr.write(
      'README.md: the reference differs from the schemas; run scripts/gen-reference.ts --write\n',
    );
    process.exitCode = 1;
  }
} else if (arg === undefined) {
  process.stdout.write(generatedReference() + '\n');
} else {
  process.stderr.write(`usage: node --import tsx scripts/gen-reference.ts [--write | --check]\n`);
  process.exitCode = 1;
}
