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

/** A loop-mounted ext4 volume the kernel turns read-only on a file-system error (`errors=remount-ro`). */
export interface Ext4Volume {
  dir: string
  image: string
  /** The loop device's name under /sys/fs/ext4 (e.g. `loop0`). */
  device: string
}

/** A sparse file of `bytes` holding an empty ext4 file system. */
function makeExt4(image: string, bytes: number): void {
  fs.writeFileSync(image, '')
  fs.truncateSync(image, bytes)
  execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' })
}

function mountExt4(image: string, dir: string): string {
  execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, dir], { stdio: 'pipe' })
  const source = execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim()
  return path.basename(source)
}

/**
 * Why a volume cannot be made to fail here, or undefined when it can: root, loop devices,
 * mkfs.ext4 and ext4's `trigger_fs_error` (tried on a throwaway volume).
 */
export function ext4SkipReason(): string | undefined {
  const root = rootSkipReason()
  if (root !== undefined) return root
  if (!fs.existsSync('/dev/loop-control')) return 'no loop devices (/dev/loop-control) to mount an ext4 image on'
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-ext4-check-'))
  const image = path.join(scratch, 'volume.img')
  const dir = path.join(scratch, 'mnt')
  fs.mkdirSync(dir)
  try {
    makeExt4(image, 8 * 1024 * 1024)
    const device = mountExt4(image, dir)
    try {
      if (!fs.existsSync(`/sys/fs/ext4/${device}/trigger_fs_error`)) return `this kernel has no /sys/fs/ext4/${device}/trigger_fs_error to make a volume fail`
    } finally {
      execFileSync('umount', [dir], { stdio: 'pipe' })
    }
    return undefined
  } catch (err) {
    return `cannot mount an ext4 image on a loop device here: ${(err as Error).message.split('\n')[0]}`
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

/** A fresh ext4 volume of `bytes` on a loop device; unmounted and removed at teardown. */
export function ext4Volume(t: Teardown, bytes: number): Ext4Volume {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-ext4-'))
  const image = path.join(scratch, 'volume.img')
  const dir = path.join(scratch, 'mnt')
  fs.mkdirSync(dir)
  makeExt4(image, bytes)
  const volume = { dir, image, device: mountExt4(image, dir) }
  t.teardown(() => {
    unmount(dir)
    fs.rmSync(scratch, { recursive: true, force: true })
  })
  return volume
}

/**
 * Makes the volume fail as a disk does: what was written so far is flushed, then ext4 reports
 * an error and the kernel turns the file system read-only under its open files (which
 * `mount -o remount,ro` refuses to do while a file is open for writing).
 */
export function failVolume(volume: Ext4Volume): void {
  execFileSync('sync', ['-f', volume.dir], { stdio: 'pipe' })
  fs.writeFileSync(`/sys/fs/ext4/${volume.device}/trigger_fs_error`, 'seqserve fault test')
}

/** What an operator does after such a failure (the volume unused): unmount, check, mount read-write again. */
export function repairVolume(volume: Ext4Volume): void {
  execFileSync('umount', [volume.dir], { stdio: 'pipe' })
  try {
    execFileSync('e2fsck', ['-f', '-y', volume.image], { stdio: 'pipe' })
  } catch (err) {
    // Exit status 1: errors were found and corrected.
    if ((err as { status?: number }).status !== 1) throw err
  }
  volume.device = mountExt4(volume.image, volume.dir)
}
