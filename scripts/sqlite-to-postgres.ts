/**
 * Moves a SQLite database into an empty PostgreSQL database (see README "Scaling out").
 *
 *   npm run db:sqlite-to-postgres -- ./data/seqserve.db postgres://user:password@host:5432/seqserve
 *
 * Stop every seqserve process using the file first. Prints what was copied as one JSON line.
 */
import { importSqliteIntoPostgres } from '../src/storage/postgres/import-sqlite.js'

const [from, to] = process.argv.slice(2)
if (from === undefined || to === undefined || !/^postgres(ql)?:\/\//.test(to)) {
  console.error('usage: npm run db:sqlite-to-postgres -- <sqlite file> <postgres://user:password@host:port/database>')
  process.exit(2)
}
importSqliteIntoPostgres(from, to).then(
  (result) => console.log(JSON.stringify({ from, ...result })),
  (err: unknown) => {
    console.error(`import failed, nothing was written to PostgreSQL: ${(err as Error).message}`)
    process.exit(1)
  },
)
