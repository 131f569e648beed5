// The Worker bundles for production and for preview (what `npm run deploy` and
// `npm run deploy:preview` upload), checked offline with wrangler's --dry-run.
import { afterAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PROJECT_ROOT } from '../../scripts/local-r2.ts'
import { wranglerBin } from '../../scripts/serve.ts'

const outRoot = mkdtempSync(join(tmpdir(), 'gdr-deploy-'))
afterAll(() => rmSync(outRoot, { recursive: true, force: true }))

// wrangler needs Node 22+: the one running us, or the `node` devDependency's.
const NODE22 = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url))
const node = Number(process.versions.node.split('.')[0]) >= 22 || !existsSync(NODE22) ? process.execPath : NODE22

function wrangler(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(node, [wranglerBin(), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => resolve({ code: code ?? 1, output }))
  })
}

function uploadKiB(output: string): number {
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output)
  expect(match, output).not.toBeNull()
  return Number(match![1])
}

describe('wrangler --dry-run', () => {
  it('bundles production and preview, each reading its own pointer', async () => {
    const [production, preview, previewVersion] = await Promise.all([
      wrangler(['deploy', '--dry-run', '--outdir', join(outRoot, 'production')]),
      wrangler(['deploy', '--dry-run', '--env', 'preview', '--outdir', join(outRoot, 'preview')]),
      // What `npm run deploy:preview` runs, minus the upload.
      wrangler(['versions', 'upload', '--dry-run', '--env', 'preview', '--preview-alias', 'preview', '--outdir', join(outRoot, 'preview-version')]),
    ])
    for (const run of [production, preview, previewVersion]) {
      expect(run.code, run.output).toBe(0)
      // The Worker's code and its two kernels, ~1 MB: far under Cloudflare's 64 MiB upload limit.
      expect(uploadKiB(run.output)).toBeGreaterThan(100)
      expect(uploadKiB(run.output)).toBeLessThan(4 * 1024)
      expect(run.output).toMatch(/env\.INDEX \(gdr-index\)\s+R2 Bucket/)
    }
    expect(production.output).toMatch(/env\.INDEX_POINTER \("current"\)/)
    expect(preview.output).toMatch(/env\.INDEX_POINTER \("preview"\)/)
    expect(previewVersion.output).toMatch(/env\.INDEX_POINTER \("preview"\)/)
    for (const dir of ['production', 'preview']) {
      expect(existsSync(join(outRoot, dir, 'index.js'))).toBe(true)
      // The kernels ship as precompiled modules; no other WebAssembly (the model runs on them).
      expect(readdirSync(join(outRoot, dir)).filter((f) => f.endsWith('.wasm')).map((f) => f.replace(/^[0-9a-f]+-/, '')).sort()).toEqual(['dense-kernel.wasm', 'lexical-kernel.wasm'])
    }
  })
})
