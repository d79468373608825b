// Writes test/fixtures/schemas/<n>-<commit>.sql: the DDL each shipped release ran,
// taken from src/store/migrate.ts at that commit. Run once per shipped schema change;
// the upgrade tests read the committed files and never run git.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SHIPPED = ['43fbae3', 'f943c1d', '528e332', '969b0a0', '66cd648', 'a406f24', '7c7f4da', '2082c39'];
const OUT = `${ROOT}test/fixtures/schemas/`;
const TMP = `${ROOT}.extract-tmp/`;

async function ddl(migrate, dialect) {
  const statements = [];
  const db = new Kysely({ dialect, log: (e) => statements.push(e.query.sql) });
  await migrate(db);
  await db.destroy();
  return statements;
}

mkdirSync(OUT, { recursive: true });
mkdirSync(TMP, { recursive: true });
try {
  for (const [i, commit] of SHIPPED.entries()) {
    const source = execFileSync('git', ['-C', ROOT, 'show', `${commit}:src/store/migrate.ts`], { encoding: 'utf8' })
      .replace(/^import type .*$/gm, '')
      .replace('(db: Kysely<Database>): Promise<void>', '(db)');
    const file = `${TMP}migrate-${commit}.mjs`;
    writeFileSync(file, source);
    const { migrate } = await import(pathToFileURL(file).href);
    const sqlite = await ddl(migrate, new SqliteDialect({ database: new SQLite(':memory:') }));
    const url = process.env.MANDATE_TEST_POSTGRES_URL;
    if (url) {
      const schema = `extract_${commit}`;
      const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}` });
      await pool.query(`CREATE SCHEMA ${schema}`);
      try {
        const postgres = await ddl(migrate, new PostgresDialect({ pool: new pg.Pool({ connectionString: url, options: `-c search_path=${schema}` }) }));
        if (postgres.join('\n') !== sqlite.join('\n')) throw new Error(`${commit}: the PostgreSQL DDL differs from SQLite's`);
      } finally {
        await pool.query(`DROP SCHEMA ${schema} CASCADE`);
        await pool.end();
      }
    }
    const subject = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%s', commit], { encoding: 'utf8' }).trim();
    writeFileSync(`${OUT}${i + 1}-${commit}.sql`, `-- ${commit}: ${subject}\n${sqlite.map((s) => `${s};\n`).join('')}`);
  }
} finally {
  rmSync(TMP, { recursive: true, force: true });
}
