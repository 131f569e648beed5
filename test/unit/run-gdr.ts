// Runs the gdr CLI in this process, with the given environment, and captures its output.
import { vi } from 'vitest'
import { main } from '../../scripts/cli.ts'

export async function runGdr(args: string[], environ: Record<string, string | undefined> = {}) {
  const saved = Object.fromEntries(Object.keys(environ).map((k) => [k, process.env[k]]))
  Object.assign(process.env, environ)
  for (const [k, v] of Object.entries(environ)) if (v === undefined) delete process.env[k]
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true))
  try {
    const code = await main(['node', 'gdr', ...args])
    return { code, stdout, stderr }
  } finally {
    vi.restoreAllMocks()
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
