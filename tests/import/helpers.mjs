// Shared by the importer tests: where the real data sets are, and how to skip without them.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const DATA_DIR = process.env.MAEUL_DATA_DIR || resolve(repoRoot, '..', 'shared', 'data');
export const HAVE_DATA = existsSync(DATA_DIR);
// node:test `skip` option: a string is printed as the reason.
export const needData = HAVE_DATA ? {} : { skip: `real data sets not found at ${DATA_DIR} (../shared/data is absent): skipped` };
export const IMPORTER = resolve(repoRoot, 'tools', 'import', 'maeul-import.mjs');
