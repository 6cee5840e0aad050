// Marks a package's two builds for Node: dist/esm is ES modules, dist/cjs CommonJS, whatever the
// package.json's own "type" says (run from the package directory after both tsc builds).
import { writeFileSync } from 'node:fs';

writeFileSync('dist/esm/package.json', `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
