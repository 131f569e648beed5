// A minimal S3-compatible server for tests, on 127.0.0.1 only: path-style
// PUT/GET/HEAD/DELETE of objects with x-amz-meta-* metadata, ListObjectsV2
// (prefix, delimiter, max-keys, continuation-token). It checks that requests
// carry a SigV4 Authorization for the expected access key and that a PUT's body
// matches its signed x-amz-content-sha256; it does not recompute signatures.
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeObject {
  body: Buffer
  contentType: string
  metadata: Record<string, string>
  lastModified: Date
}

export interface FakeS3 {
  endpoint: string
  objects: Map<string, FakeObject>
  /** "METHOD key" of every request, in order. */
  requests: string[]
  close(): Promise<void>
}

const MAX_BODY = 64 * 1024 * 1024
const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/auto\/s3\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/

export async function startFakeS3(options: { bucket: string; accessKeyId: string }): Promise<FakeS3> {
  const objects = new Map<string, FakeObject>()
  const requests: string[] = []
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => reply(res, 500, errorXml('InternalError', String(error))))
  })

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake')
    const [, bucket, ...rest] = url.pathname.split('/')
    const key = rest.map(decodeURIComponent).join('/')
    requests.push(`${req.method} ${key}`)
    const credential = AUTH.exec(String(req.headers.authorization ?? ''))?.[1]
    if (credential !== options.accessKeyId) return reply(res, 403, errorXml('AccessDenied', 'bad or missing signature'))
    if (bucket !== options.bucket) return reply(res, 404, errorXml('NoSuchBucket', bucket))
    if (req.method === 'GET' && !key && url.searchParams.get('list-type') === '2') return reply(res, 200, listXml(url.searchParams))
    const object = objects.get(key)
    switch (req.method) {
      case 'PUT': {
        const body = await readBody(req)
        const claimed = req.headers['x-amz-content-sha256']
        if (claimed !== 'UNSIGNED-PAYLOAD' && claimed !== createHash('sha256').update(body).digest('hex')) {
          return reply(res, 400, errorXml('XAmzContentSHA256Mismatch', key))
        }
        const metadata: Record<string, string> = {}
        for (const [name, value] of Object.entries(req.headers)) if (name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = String(value)
        objects.set(key, { body, contentType: String(req.headers['content-type'] ?? 'application/octet-stream'), metadata, lastModified: new Date() })
        return reply(res, 200, '')
      }
      case 'GET':
      case 'HEAD': {
        if (!object) return reply(res, 404, req.method === 'HEAD' ? '' : errorXml('NoSuchKey', key))
        res.writeHead(200, {
          'content-length': object.body.length,
          'content-type': object.contentType,
          'last-modified': object.lastModified.toUTCString(),
          ...Object.fromEntries(Object.entries(object.metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
        })
        return void res.end(req.method === 'HEAD' ? undefined : object.body)
      }
      case 'DELETE':
        objects.delete(key)
        return reply(res, 204, '')
      default:
        return reply(res, 405, errorXml('MethodNotAllowed', String(req.method)))
    }
  }

  function listXml(params: URLSearchParams): string {
    const prefix = params.get('prefix') ?? ''
    const delimiter = params.get('delimiter') ?? ''
    const maxKeys = Number(params.get('max-keys') ?? 1000)
    const after = params.get('continuation-token') ? Buffer.from(params.get('continuation-token')!, 'base64url').toString() : ''
    const entries: string[] = []
    const seenPrefixes = new Set<string>()
    let last = ''
    let truncated = false
    for (const key of [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort()) {
      const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1
      const commonPrefix = cut >= 0 ? key.slice(0, cut + delimiter.length) : undefined
      if (commonPrefix && seenPrefixes.has(commonPrefix)) continue
      if (entries.length >= maxKeys) {
        truncated = true
        break
      }
      if (commonPrefix) {
        seenPrefixes.add(commonPrefix)
        entries.push(`<CommonPrefixes><Prefix>${escapeXml(commonPrefix)}</Prefix></CommonPrefixes>`)
        // Skip the rest of this group on the next page too.
        last = commonPrefix + '\uffff'
      } else {
        const o = objects.get(key)!
        entries.push(`<Contents><Key>${escapeXml(key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><Size>${o.body.length}</Size></Contents>`)
        last = key
      }
    }
    const next = truncated ? `<NextContinuationToken>${Buffer.from(last).toString('base64url')}</NextContinuationToken>` : ''
    return `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${options.bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${entries.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}${entries.join('')}</ListBucketResult>`
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function reply(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, body ? { 'content-type': 'application/xml' } : {})
  res.end(body || undefined)
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
