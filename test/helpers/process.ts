import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { findProjectRoot } from '../../src/http/package-info.js'
import type { LogLine } from './logs.js'

export interface ServiceProcess {
  child: ChildProcess
  /** Base URL the service reported, e.g. `http://127.0.0.1:41234`. */
  url: string
  /** JSON log lines printed so far. */
  lines: LogLine[]
  /** stderr text so far. */
  stderr(): string
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | NodeJS.Signals>
}

export interface RunOptions {
  env?: Record<string, string>
  /** How long to wait for the "listening" log line before failing (default 20 s). */
  startTimeoutMs?: number
  /** Appends everything the process prints (stdout and stderr) to this file, so a failure can show it. */
  logFile?: string
}

/**
 * The base environment for a child service: JSON logs, a free port, nothing inherited that
 * matters, and no load shedding (a loaded test machine would otherwise answer 503).
 */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    LOG_PRETTY: 'false',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...extra,
  }
}

/** Spawns `node --import tsx src/main.ts` (the real entry point) and resolves with its outcome only. */
export function spawnMain(options: RunOptions = {}): Omit<ServiceProcess, 'url'> & { listening: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: findProjectRoot(),
    env: childEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: LogLine[] = []
  let stderr = ''
  const keep = options.logFile ? (text: string) => fs.appendFileSync(options.logFile!, text) : () => undefined
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    keep(chunk)
  })

  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })

  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start in time; stderr: ${stderr}`)),
      options.startTimeoutMs ?? 20_000,
    )
    createInterface({ input: child.stdout! }).on('line', (text) => {
      keep(`${text}\n`)
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        return
      }
      lines.push(line)
      if (typeof line.url === 'string' && line.msg?.startsWith('seqserve listening')) {
        clearTimeout(timer)
        resolve(line.url)
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`service exited (${code}) before listening; stderr: ${stderr}`))
    })
  })
  listening.catch(() => {})

  return { child, lines, stderr: () => stderr, exited, listening }
}

/** Starts the real service and waits until it listens; kills it when the test ends. */
export async function startMain(
  t: { teardown(fn: () => unknown): void },
  options: RunOptions = {},
): Promise<ServiceProcess> {
  const service = spawnMain(options)
  t.teardown(async () => {
    if (service.child.exitCode === null && service.child.signalCode === null) {
      service.child.kill('SIGKILL')
      await service.exited
    }
  })
  const url = await service.listening
  return { ...service, url }
}

/** The last `count` lines of a log file written through `logFile` ('' when there is none). */
export function logTail(file: string, count: number): string {
  if (!fs.existsSync(file)) return ''
  return fs.readFileSync(file, 'utf8').split('\n').slice(-count - 1).join('\n')
}

/**
 * A temp file for `logFile`: removed when the test passes, its tail printed (and the file
 * kept) when it fails, so a failure in CI shows what the service said.
 */
export function keptLog(t: { teardown(fn: () => unknown): void; passing(): boolean }, label: string, lines = 200): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seqserve-${label}-`))
  const file = path.join(dir, 'service.log')
  t.teardown(() => {
    if (t.passing()) return fs.rmSync(dir, { recursive: true, force: true })
    console.error(`# the service's output is kept in ${file}; its tail:\n${logTail(file, lines)}`)
  })
  return file
}
