// Errors the Worker turns into JSON responses: `{error: {code, message}}`.
// Each code has exactly one HTTP status, so clients can switch on either.

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  misconfigured: 500,
  index_unavailable: 503,
  shards_unavailable: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode]

export class ServiceError extends Error {
  override name = 'ServiceError'
  readonly status: ErrorStatus
  constructor(
    status: ErrorStatus,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.status = status
  }

  /** The usual way to raise one: the status follows from the code. */
  static of(code: ErrorCode, message: string): ServiceError {
    return new ServiceError(ERROR_STATUS[code], code, message)
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } }
}
