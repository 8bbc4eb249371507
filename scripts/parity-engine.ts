/**
 * The parity CLI's engine options, kept apart from the checker: `--precision float32|float64`
 * (default float64) and `--kernels wasm|js` (default: the fastest available). They set the
 * engine defaults every model the checker builds picks up; the remaining arguments are files.
 */
import { defaultKernelSet, setEngineDefaults } from '../src/engine/backend/select.js'
import { type Dtype, type KernelSetName, DTYPES, KERNEL_SETS, isDtype, isKernelSetName } from '../src/engine/backend/types.js'

export function engineOptions(args: string[]): { files: string[]; dtype: Dtype; kernels: KernelSetName } {
  const files: string[] = []
  let dtype: Dtype = 'float64'
  let kernels: KernelSetName | undefined
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=', 2)
    if (flag !== '--precision' && flag !== '--kernels') {
      files.push(args[i])
      continue
    }
    const value = inline ?? args[++i]
    if (flag === '--precision') {
      if (!isDtype(value)) fail(`--precision must be one of ${DTYPES.join(', ')}, got ${JSON.stringify(value ?? '')}`)
      dtype = value
    } else {
      if (!isKernelSetName(value)) fail(`--kernels must be one of ${KERNEL_SETS.join(', ')}, got ${JSON.stringify(value ?? '')}`)
      kernels = value
    }
  }
  setEngineDefaults({ dtype, kernels })
  return { files, dtype, kernels: defaultKernelSet() }
}

function fail(message: string): never {
  console.error(message)
  process.exit(2)
}
