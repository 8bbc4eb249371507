import { Type } from 'typebox'

export const HealthResponse = Type.Object(
  { status: Type.Literal('ok', { description: 'Always "ok" when the process can answer' }) },
  { additionalProperties: false, examples: [{ status: 'ok' }] },
)
