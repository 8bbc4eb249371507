/**
 * Writes openapi/openapi.json from the route schemas.
 *
 *   npm run openapi                 regenerate the committed file
 *   npm run openapi -- --check      exit 1 if the committed file is stale (CI)
 *   ... --file=path/to/spec.json    use another file (tests)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { buildApp } from '../src/app.js'
import { formatOpenApi, openApiConfig, openApiFilePath } from '../src/http/openapi-document.js'

async function generate(): Promise<string> {
  const app = await buildApp({ config: openApiConfig(), logger: false, training: false })
  try {
    await app.ready()
    return formatOpenApi(app.swagger())
  } finally {
    await app.close()
  }
}

async function readCommitted(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  const check = args.includes('--check')
  const fileArg = args.find((arg) => arg.startsWith('--file='))
  const path = fileArg ? resolve(fileArg.slice('--file='.length)) : openApiFilePath()
  const shown = relative(process.cwd(), path) || path
  const generated = await generate()

  if (check) {
    const committed = await readCommitted(path)
    if (committed === generated) {
      console.log(`${shown} is up to date`)
      return 0
    }
    console.error(
      committed === undefined
        ? `${shown} is missing; run \`npm run openapi\` and commit it`
        : `${shown} is out of date with the route schemas; run \`npm run openapi\` and commit it`,
    )
    return 1
  }

  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, generated)
  console.log(`wrote ${shown}`)
  return 0
}

process.exitCode = await main()
