import type { FastifyReply } from 'fastify'
import { ExportUnsupportedError } from '../../models/formats/onnx.js'
import { RegistryError } from '../../models/registry.js'
import { JobNotFoundError, type ModelsService, NoCheckpointError } from '../../models/service.js'
import type { StateDict } from '../../engine/params.js'
import { httpError } from '../errors.js'

/** A registry refusal as the catalogue's error; anything else unchanged. */
export function registryHttpError(err: unknown): unknown {
  if (err instanceof RegistryError) return httpError(err.code === 'invalid_model_ref' ? 'validation_failed' : err.code, err.message, err.details)
  return err
}

/** Runs a registry call, turning its errors into the catalogue's. */
export async function withRegistryErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    throw registryHttpError(err)
  }
}

/** Runs a models-service call, turning its errors into the catalogue's. */
export async function withModelErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof JobNotFoundError) throw httpError('job_not_found', err.message)
    if (err instanceof NoCheckpointError) throw httpError('job_not_succeeded', err.message, { status: err.job.status })
    if (err instanceof ExportUnsupportedError) throw httpError('export_unsupported', err.message)
    throw err
  }
}

/**
 * A file body. Typed as the schema's binary string so the route type-checks; fastify sends
 * a Buffer as raw bytes without serialising it.
 */
function asBody(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as unknown as string
}

export type WeightsFormat = 'json' | 'safetensors' | 'onnx'

/** GET /jobs/{id}/weights in each format: a JSON state dict or a file download. */
export function sendWeights(service: ModelsService, jobId: string, query: { format: WeightsFormat; state: boolean }, reply: FastifyReply): Promise<StateDict | string> {
  return withModelErrors(async () => {
    if (query.format === 'onnx') {
      const { onnx } = await service.onnxForJob(jobId, query.state)
      reply.type('application/onnx').header('content-disposition', `attachment; filename="${jobId}.onnx"`)
      return asBody(onnx)
    }
    const { source, safetensors } = await service.artifactsForJob(jobId)
    if (query.format === 'json') return service.stateDict(source)
    reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${jobId}.safetensors"`)
    return asBody(safetensors)
  })
}
