// Remote R2 through its S3-compatible API: an ObjectStore over signed fetch
// (aws4fetch does the SigV4 signing). Path-style URLs, which R2 requires:
// `<endpoint>/<bucket>/<key>`. Custom metadata travels as `x-amz-meta-*`.

import { AwsClient } from 'aws4fetch'
import { forEachLimited, type ListOptions, type ListPage, type ObjectStore, type PutOptions, type StoredObject } from '../src/core/object-store.ts'
import { sha256Hex } from '../src/core/shard-codec.ts'

export interface S3Config {
  /** `https://<account id>.r2.cloudflarestorage.com`, or any S3-compatible endpoint. */
  endpoint: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
}

export class S3Error extends Error {
  override name = 'S3Error'
}

const META_PREFIX = 'x-amz-meta-'

export class S3Store implements ObjectStore {
  private readonly client: AwsClient
  private readonly base: string

  constructor(readonly config: S3Config) {
    this.client = new AwsClient({ accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, service: 's3', region: 'auto', retries: 3 })
    this.base = `${config.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(config.bucket)}`
  }

  async head(key: string): Promise<StoredObject | null> {
    const response = await this.send('HEAD', key)
    if (response.status === 404) return null
    await this.expectOk(response, 'HEAD', key)
    const customMetadata: Record<string, string> = {}
    response.headers.forEach((value, name) => {
      if (name.toLowerCase().startsWith(META_PREFIX)) customMetadata[name.slice(META_PREFIX.length).toLowerCase()] = value
    })
    return { key, size: Number(response.headers.get('content-length') ?? 0), uploaded: new Date(response.headers.get('last-modified') ?? 0), customMetadata }
  }

  async get(key: string): Promise<Response | null> {
    const response = await this.send('GET', key)
    if (response.status === 404) {
      await response.body?.cancel()
      return null
    }
    await this.expectOk(response, 'GET', key)
    return response
  }

  async put(key: string, value: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    const body = typeof value === 'string' ? new TextEncoder().encode(value) : value
    const headers: Record<string, string> = {
      // The payload hash is signed, so the store rejects a body that changed on the way.
      'x-amz-content-sha256': await sha256Hex(body),
      'content-type': options.httpMetadata?.contentType ?? 'application/octet-stream',
    }
    for (const [name, v] of Object.entries(options.customMetadata ?? {})) headers[META_PREFIX + name.toLowerCase()] = v
    const response = await this.send('PUT', key, { body, headers })
    await this.expectOk(response, 'PUT', key)
    await response.body?.cancel()
  }

  async delete(keys: string | string[]): Promise<void> {
    await forEachLimited(typeof keys === 'string' ? [keys] : keys, 8, async (key) => {
      const response = await this.send('DELETE', key)
      if (response.status !== 404) await this.expectOk(response, 'DELETE', key)
      await response.body?.cancel()
    })
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    const query = new URLSearchParams({ 'list-type': '2' })
    if (options.prefix) query.set('prefix', options.prefix)
    if (options.delimiter) query.set('delimiter', options.delimiter)
    if (options.cursor) query.set('continuation-token', options.cursor)
    if (options.limit) query.set('max-keys', String(options.limit))
    const response = await this.fetch('LIST', options.prefix ?? '', `${this.base}?${query}`, { method: 'GET' })
    await this.expectOk(response, 'LIST', options.prefix ?? '')
    return parseListObjectsV2(await response.text())
  }

  private send(method: string, key: string, init: { body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`
    return this.fetch(method, key, url, { method, headers: init.headers, body: init.body })
  }

  /** Signed fetch; a network failure becomes one line naming the request and endpoint. */
  private async fetch(method: string, key: string, url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.client.fetch(url, init)
    } catch (error) {
      const reason = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message
      throw new S3Error(`${method} ${this.config.bucket}/${key}: ${reason} (endpoint ${this.config.endpoint})`)
    }
  }

  private async expectOk(response: Response, method: string, key: string): Promise<void> {
    if (response.ok) return
    const text = method === 'HEAD' ? '' : await response.text().catch(() => '')
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1]
    throw new S3Error(`${method} ${this.config.bucket}/${key}: HTTP ${response.status}${code ? ` ${code}` : ''}`)
  }
}

/** The fields of a ListObjectsV2 response that ObjectStore.list reports. */
export function parseListObjectsV2(xml: string): ListPage {
  const objects = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map(([, block]) => ({
    key: unescapeXml(tag(block, 'Key') ?? ''),
    size: Number(tag(block, 'Size') ?? 0),
    uploaded: new Date(tag(block, 'LastModified') ?? 0),
  }))
  const delimitedPrefixes = [...xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)].map(([, block]) => unescapeXml(tag(block, 'Prefix') ?? ''))
  const truncated = tag(xml, 'IsTruncated') === 'true'
  const cursor = tag(xml, 'NextContinuationToken')
  return { objects, delimitedPrefixes, truncated, cursor: cursor === undefined ? undefined : unescapeXml(cursor) }
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1]
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) =>
    entity.startsWith('#x') ? String.fromCodePoint(parseInt(entity.slice(2), 16)) : entity.startsWith('#') ? String.fromCodePoint(Number(entity.slice(1))) : ENTITIES[entity],
  )
}

export const R2_ENV = {
  accountId: 'R2_ACCOUNT_ID',
  accessKeyId: 'R2_ACCESS_KEY_ID',
  secretAccessKey: 'R2_SECRET_ACCESS_KEY',
  /** Optional: another S3-compatible endpoint (tests use a local fake). */
  endpoint: 'R2_ENDPOINT',
  /** Optional: a bucket other than the one wrangler.toml binds. */
  bucket: 'R2_BUCKET',
} as const

/** The S3 settings from the environment, or the names of the variables that are missing. */
export function s3ConfigFromEnv(bucket: string, environ: NodeJS.ProcessEnv = process.env): S3Config | { missing: string[] } {
  const endpoint = environ[R2_ENV.endpoint] || (environ[R2_ENV.accountId] ? `https://${environ[R2_ENV.accountId]}.r2.cloudflarestorage.com` : undefined)
  const accessKeyId = environ[R2_ENV.accessKeyId]
  const secretAccessKey = environ[R2_ENV.secretAccessKey]
  const missing = [
    ...(endpoint ? [] : [R2_ENV.accountId]),
    ...(accessKeyId ? [] : [R2_ENV.accessKeyId]),
    ...(secretAccessKey ? [] : [R2_ENV.secretAccessKey]),
  ]
  if (!endpoint || !accessKeyId || !secretAccessKey) return { missing }
  return { endpoint, bucket: environ[R2_ENV.bucket] || bucket, accessKeyId, secretAccessKey }
}
