// Plain-text tables for `gdr versions` and `gdr gc` (stdout, one row per version).

import type { VersionInfo } from '../src/core/versions.ts'
import { formatBytes } from './publish.ts'

export function versionTable(versions: VersionInfo[]): string[] {
  const rows = versions.map((v) => [
    v.version,
    v.manifest ? String(v.manifest.docs) : '-',
    String(v.objects),
    formatBytes(v.bytes),
    v.manifest ? shortDate(v.manifest.createdAt) : '-',
    shortDate(v.lastUploaded.toISOString()),
    v.problem ? `incomplete: ${v.problem}` : v.pointers.length ? `← ${v.pointers.join(', ')}` : '',
  ])
  return table([['version', 'docs', 'objects', 'size', 'built', 'published', ''], ...rows])
}

export function versionsAsJson(versions: VersionInfo[]): string {
  return JSON.stringify(
    versions.map((v) => ({
      version: v.version,
      docs: v.manifest?.docs ?? null,
      objects: v.objects,
      bytes: v.bytes,
      createdAt: v.manifest?.createdAt ?? null,
      uploadedAt: v.lastUploaded.toISOString(),
      pointers: v.pointers,
      complete: !v.problem,
      problem: v.problem ?? null,
    })),
    null,
    2,
  )
}

function shortDate(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().slice(0, 19).replace('T', ' ') + 'Z'
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  return rows.map((r) => r.map((cell, c) => (c === 1 || c === 2 || c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd())
}
