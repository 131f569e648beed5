// `gdr publish` in Node: reads an index folder from disk and runs the shared
// publish code (src/core/publish.ts) against a store, with a progress bar, or
// prints what it would do (--dry-run).

import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseManifest, DEFAULT_POINTER, type Manifest } from '../src/core/manifest.ts'
import type { ObjectStore } from '../src/core/object-store.ts'
import { MANIFEST_FILE, planPublish, previewPublish, publish, type IndexFiles, type PublishPlan, type PublishSummary, type PublishTarget } from '../src/core/publish.ts'
import type { Reporter } from './progress.ts'

export class IndexFolderError extends Error {
  override name = 'IndexFolderError'
}

export function readIndexManifest(dir: string): Manifest {
  const path = join(resolve(dir), MANIFEST_FILE)
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new IndexFolderError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (run gdr build first)' : (error as Error).message}`)
  }
  try {
    return parseManifest(json)
  } catch (error) {
    throw new IndexFolderError(`${path}: not a valid index manifest: ${(error as Error).message.slice(0, 300)}`)
  }
}

export function folderFiles(dir: string): IndexFiles {
  const root = resolve(dir)
  return { read: async (path) => new Uint8Array(await readFile(join(root, path))) }
}

/** The plan for an index folder; the target name defaults to the manifest's. */
export async function planFolder(dir: string, target: Partial<PublishTarget> = {}): Promise<PublishPlan> {
  const manifest = readIndexManifest(dir)
  const manifestBytes = new Uint8Array(readFileSync(join(resolve(dir), MANIFEST_FILE)))
  return planPublish(manifestBytes, { name: target.name ?? manifest.name, pointer: target.pointer ?? DEFAULT_POINTER })
}

export async function publishFolder(dir: string, store: ObjectStore, reporter: Reporter, target: Partial<PublishTarget> = {}): Promise<PublishSummary> {
  const plan = await planFolder(dir, target)
  const totalBytes = plan.objects.reduce((s, o) => s + o.bytes, 0)
  const stage = reporter.stage('publish', Math.ceil(totalBytes / 1024), 'KiB')
  const started = Date.now()
  const summary = await publish(plan, folderFiles(dir), store, {
    onProgress: (p) => stage.tick(Math.ceil(p.bytes / 1024), `${p.objects}/${p.totalObjects} objects, ${p.skipped} already there`),
  })
  const seconds = Math.max((Date.now() - started) / 1000, 0.001)
  stage.done(
    `${summary.name}@${summary.version}: ${summary.uploaded} uploaded (${formatBytes(summary.bytes)}, ${formatBytes(summary.bytes / seconds)}/s), ` +
      `${summary.skipped} already there; ${summary.pointerKey} → ${summary.version}`,
  )
  return summary
}

/** `--dry-run`: one line per object on stdout, nothing written. `store` null = not consulted. */
export async function dryRunFolder(dir: string, store: ObjectStore | null, target: Partial<PublishTarget> = {}, write: (line: string) => unknown = (line) => process.stdout.write(line + '\n')): Promise<{ upload: number; skip: number; bytes: number }> {
  const plan = await planFolder(dir, target)
  const rows = await previewPublish(plan, store)
  for (const { object, stored } of rows) write(`${stored ? 'skip  ' : 'upload'}  ${object.key}  ${formatBytes(object.bytes)}`)
  const upload = rows.filter((r) => !r.stored)
  const bytes = upload.reduce((s, r) => s + r.object.bytes, 0)
  write(`then   ${plan.pointerKey} → ${plan.manifest.version}`)
  write(`dry run: ${upload.length} to upload (${formatBytes(bytes)}), ${rows.length - upload.length} already there${store ? '' : ' (store not consulted)'}; nothing was written`)
  return { upload: upload.length, skip: rows.length - upload.length, bytes }
}

/** 812 B, 23.9 KiB, 6.3 MiB, 1.2 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`
}
