// `--remote`: the S3 client against a local S3-compatible fake, and the gdr
// commands (publish, versions, rollback, gc) end to end through it.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildIndex, DEFAULT_BUILD } from '../../scripts/build/build-index.ts'
import { runGdr } from './run-gdr.ts'
import { createReporter } from '../../scripts/progress.ts'
import { parseListObjectsV2, S3Error, S3Store } from '../../scripts/s3-store.ts'
import { keys, manifestObjects, type Manifest } from '../../src/core/manifest.ts'
import { listAll } from '../../src/core/object-store.ts'
import { startFakeS3, type FakeS3 } from './fake-s3.ts'

const BUCKET = 'gdr-index' // what wrangler.toml binds, production and preview
const CREDENTIALS = { accessKeyId: 'test-key-id', secretAccessKey: 'test-secret' }

let s3: FakeS3
let dir: string
let manifest: Manifest
let manifestB: Manifest

beforeAll(async () => {
  s3 = await startFakeS3({ bucket: BUCKET, accessKeyId: CREDENTIALS.accessKeyId })
  dir = mkdtempSync(join(tmpdir(), 'gdr-remote-'))
  const corpus = fileURLToPath(new URL('../fixtures/tiny-corpus.jsonl', import.meta.url))
  ;({ manifest } = await buildIndex({ ...DEFAULT_BUILD, corpus, out: join(dir, 'a'), dims: 16, buckets: 1 << 10, leafSize: 6, epochs: 1 }, createReporter(true)))
  // A second version: same objects, another version name (as a rebuild with the same content would be).
  cpSync(join(dir, 'a'), join(dir, 'b'), { recursive: true })
  manifestB = { ...manifest, version: `${manifest.version}.b` }
  writeFileSync(join(dir, 'b', 'manifest.json'), JSON.stringify(manifestB))
})
afterAll(async () => {
  await s3.close()
  rmSync(dir, { recursive: true, force: true })
})
afterEach(() => vi.restoreAllMocks())

const store = () => new S3Store({ endpoint: s3.endpoint, bucket: BUCKET, ...CREDENTIALS })

describe('S3Store', () => {
  it('puts, heads with metadata, gets, lists with delimiter and pages, deletes', async () => {
    const s = store()
    await s.put('t/a/1', new Uint8Array([1, 2, 3]), { customMetadata: { sha256: 'abc' }, httpMetadata: { contentType: 'application/msgpack' } })
    await s.put('t/a/2', 'two')
    await s.put('t/b.json', '{}')
    expect(await s.head('t/a/1')).toMatchObject({ key: 't/a/1', size: 3, customMetadata: { sha256: 'abc' } })
    expect((await s.head('t/a/1'))!.uploaded.getTime()).toBeGreaterThan(Date.now() - 60_000)
    expect(s3.objects.get('t/a/1')!.contentType).toBe('application/msgpack')
    expect(new Uint8Array(await (await s.get('t/a/1'))!.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]))
    expect(await s.head('t/missing')).toBeNull()
    expect(await s.get('t/missing')).toBeNull()

    const top = await s.list({ prefix: 't/', delimiter: '/' })
    expect(top.objects.map((o) => o.key)).toEqual(['t/b.json'])
    expect(top.delimitedPrefixes).toEqual(['t/a/'])
    const firstPage = await s.list({ prefix: 't/', limit: 2 })
    expect(firstPage.truncated).toBe(true)
    expect((await listAll(s, { prefix: 't/' })).objects.map((o) => o.key)).toEqual(['t/a/1', 't/a/2', 't/b.json'])

    await s.delete(['t/a/1', 't/a/2', 't/b.json', 't/never-there'])
    expect((await s.list({ prefix: 't/' })).objects).toEqual([])
  })

  it('reports a refused request in one line', async () => {
    const wrong = new S3Store({ endpoint: s3.endpoint, bucket: BUCKET, accessKeyId: 'someone-else', secretAccessKey: 'x' })
    await expect(wrong.put('t/x', 'x')).rejects.toThrow(new S3Error(`PUT ${BUCKET}/t/x: HTTP 403 AccessDenied`))
  })

  it('names the request and endpoint when the endpoint cannot be reached', async () => {
    const nowhere = new S3Store({ endpoint: 'http://127.0.0.1:1', bucket: BUCKET, ...CREDENTIALS })
    await expect(nowhere.head('t/x')).rejects.toThrow(/^HEAD gdr-index\/t\/x: .+ \(endpoint http:\/\/127\.0\.0\.1:1\)$/)
  })

  it('parses ListObjectsV2 with escaped keys and a continuation token', () => {
    const page = parseListObjectsV2(
      '<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>a&amp;b</NextContinuationToken>' +
        '<Contents><Key>x/&lt;1&gt; &amp; &#233;</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><Size>7</Size></Contents>' +
        '<CommonPrefixes><Prefix>x/y/</Prefix></CommonPrefixes></ListBucketResult>',
    )
    expect(page).toEqual({
      objects: [{ key: 'x/<1> & é', size: 7, uploaded: new Date('2026-01-02T03:04:05.000Z') }],
      delimitedPrefixes: ['x/y/'],
      truncated: true,
      cursor: 'a&b',
    })
  })
})

/** Runs the gdr CLI against the fake S3 (or the given environment). */
const gdr = (args: string[], environ: Record<string, string | undefined> = remoteEnv()) => runGdr(args, environ)

function remoteEnv(): Record<string, string | undefined> {
  return { R2_ENDPOINT: s3.endpoint, R2_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, R2_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, R2_ACCOUNT_ID: undefined, R2_BUCKET: undefined }
}

const noCredentials = { R2_ENDPOINT: undefined, R2_ACCOUNT_ID: undefined, R2_ACCESS_KEY_ID: undefined, R2_SECRET_ACCESS_KEY: undefined, R2_BUCKET: undefined }

describe('gdr --remote', () => {
  it('dry-runs, publishes to production and preview, lists, refuses a bad rollback, rolls back, and gc keeps what pointers name', async () => {
    const objects = manifestObjects(manifest).length + 1
    const dry = await gdr(['publish', '--index', join(dir, 'a'), '--remote', '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout.split('\n').filter((l) => l.startsWith('upload')).length).toBe(objects)
    expect(s3.objects.size).toBe(0)

    const a = await gdr(['publish', '--index', join(dir, 'a'), '--remote', '--quiet'])
    expect(a.code, a.stderr).toBe(0)
    expect(s3.objects.size).toBe(objects + 1)
    expect(JSON.parse(s3.objects.get(keys.pointer('default'))!.body.toString()).version).toBe(manifest.version)
    const shard = s3.objects.get(keys.versionPrefix('default', manifest.version) + manifest.shards[0].key)!
    expect(shard.metadata.sha256).toBe(manifest.shards[0].sha256)

    // Preview reads its own pointer in the same bucket.
    const b = await gdr(['publish', '--index', join(dir, 'b'), '--remote', '--env', 'preview', '--quiet'])
    expect(b.code, b.stderr).toBe(0)
    expect(JSON.parse(s3.objects.get('default/preview.json')!.body.toString()).version).toBe(manifestB.version)
    expect(JSON.parse(s3.objects.get('default/current.json')!.body.toString()).version).toBe(manifest.version)

    // Promoting b to production would upload nothing: its objects are already under its version prefix.
    const again = await gdr(['publish', '--index', join(dir, 'b'), '--remote', '--dry-run'])
    expect(again.stdout.split('\n').filter((l) => l.startsWith('skip')).length).toBe(objects)

    const listed = await gdr(['versions', '--remote', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    const versions = JSON.parse(listed.stdout) as { version: string; docs: number; pointers: string[]; complete: boolean }[]
    expect(versions.map((v) => [v.version, v.pointers, v.complete, v.docs])).toEqual([
      [manifestB.version, ['preview'], true, manifest.docs],
      [manifest.version, ['current'], true, manifest.docs],
    ])
    const table = await gdr(['versions', '--remote'])
    expect(table.stdout).toMatch(new RegExp(`${manifest.version}\\s+${manifest.docs}\\s+${objects}\\s`))

    const refused = await gdr(['rollback', '--remote', '--to', 'not-a-version'])
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/cannot be served: not found/)

    const rolled = await gdr(['rollback', '--remote', '--to', manifestB.version])
    expect(rolled.code, rolled.stderr).toBe(0)
    expect(rolled.stdout).toContain(`default/current: ${manifest.version} → ${manifestB.version}`)

    // Now both pointers name b: gc --keep 0 deletes a, and only a.
    const gc = await gdr(['gc', '--remote', '--keep', '0'])
    expect(gc.code, gc.stderr).toBe(0)
    expect(gc.stdout).toContain(`deleted  ${manifest.version}`)
    expect([...s3.objects.keys()].some((k) => k.startsWith(keys.versionPrefix('default', manifest.version)))).toBe(false)
    expect([...s3.objects.keys()].filter((k) => k.startsWith(keys.versionPrefix('default', manifestB.version))).length).toBe(objects)
  })

  it('says in one line what is missing without credentials; a dry run still works', async () => {
    const failed = await gdr(['publish', '--index', join(dir, 'a'), '--remote'], noCredentials)
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim().split('\n')).toHaveLength(1)
    expect(failed.stderr).toMatch(/--remote needs R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY/)

    const dry = await gdr(['publish', '--index', join(dir, 'a'), '--remote', '--dry-run'], noCredentials)
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/store not consulted/)
  })

  it('refuses contradictory or unknown targets', async () => {
    const both = await gdr(['versions', '--local', '--remote'])
    expect(both.code).toBe(1)
    expect(both.stderr).toMatch(/choose one of --local and --remote/)
    const unknown = await gdr(['versions', '--remote', '--env', 'staging'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/wrangler\.toml has no \[env\.staging\] \(defined: preview\)/)
  })
})

