import { sql as init } from './001-init.js';
import { sql as enrollment } from './002-enrollment.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Versioned schema changes, applied in order and never edited once released: a change is a new
 * file with the next number. The SQL lives in .ts modules (not .sql files) so the compiled CLI in
 * dist/ carries it without a copy step.
 */
export const migrations: readonly Migration[] = [
  { version: 1, name: 'init', sql: init },
  { version: 2, name: 'enrollment', sql: enrollment },
];
