import type { ServiceProcess } from './process.js'

/**
 * kill -9 the service and wait until it is gone and its stdout is drained, so every log line
 * it wrote before dying has been read into `service.lines`.
 */
export async function killNine(service: Pick<ServiceProcess, 'child' | 'exited'>): Promise<number | NodeJS.Signals> {
  const stdout = service.child.stdout
  const drained = stdout && !stdout.closed ? new Promise((resolve) => stdout.once('close', resolve)) : Promise.resolve()
  service.child.kill('SIGKILL')
  const code = await service.exited
  await drained
  return code
}
