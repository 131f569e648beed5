export declare const MAX_HEAP_MIB: number
export declare function heapFlag(options: { execArgv: readonly string[]; nodeOptions?: string; totalBytes: number; heapLimitBytes: number }): string | undefined
