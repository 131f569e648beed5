// Errors the Worker turns into JSON responses: `{error: {code, message}}`.

export type ErrorCode = 'bad_request' | 'not_found' | 'index_unavailable' | 'internal'

export class ServiceError extends Error {
  override name = 'ServiceError'
  constructor(
    readonly status: 400 | 404 | 503 | 500,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } }
}
