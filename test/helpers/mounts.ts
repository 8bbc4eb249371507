/**
 * Real file-system faults for the fault tests: a small tmpfs that fills up, and read-only
 * bind mounts (root ignores file modes, so only a read-only mount refuses root's writes).
 * Mounting needs root: `rootSkipReason()` says why a test is skipped otherwise. Every mount
 * is unmounted at teardown, even when the test failed.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** Why mount-based tests cannot run here, or undefined when they can (root on Linux). */
export function rootSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `mounting test file systems needs Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs or a read-only bind mount needs root (.ci/run runs as root)'
  return undefined
}

function isMounted(dir: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === dir)
}

/** Unmounts `dir` if it is still mounted (teardown may run after an explicit unmount). */
export function unmount(dir: string): void {
  if (!isMounted(dir)) return
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' })
  } catch {
    // Still busy (a process we started has not exited yet): detach it now, freed when unused.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
  }
}

function mounted(t: Teardown, dir: string, args: string[]): void {
  execFileSync('mount', args, { stdio: 'pipe' })
  t.teardown(() => {
    unmount(dir)
    fs.rmSync(dir, { recursive: true, force: true })
  })
}

/** A fresh tmpfs of `bytes` at a new folder; unmounted and removed at teardown. */
export function smallTmpfs(t: Teardown, bytes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-tmpfs-'))
  mounted(t, dir, ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir])
  return dir
}

/** `source` (a folder) seen read-only at a new folder; unmounted at teardown. */
export function readOnlyView(t: Teardown, source: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-ro-'))
  mounted(t, dir, ['--bind', source, dir])
  execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'pipe' })
  return dir
}

/** Writes `file` until the file system is full (ENOSPC); returns the bytes written. */
export function fillDisk(file: string): number {
  const chunk = Buffer.alloc(64 * 1024, 0x5a)
  const fd = fs.openSync(file, 'w')
  let written = 0
  try {
    for (;;) {
      try {
        written += fs.writeSync(fd, chunk)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
        throw err
      }
    }
    // The last partial chunk: fill byte by byte-ish until nothing fits.
    for (let size = 32 * 1024; size >= 512; size /= 2) {
      try {
        for (;;) written += fs.writeSync(fd, chunk.subarray(0, size))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      }
    }
  } finally {
    fs.closeSync(fd)
  }
  return written
}
