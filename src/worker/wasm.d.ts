// CompiledWasm imports are precompiled WebAssembly.Module objects (wrangler rule / vitest-plugin default rule)
declare module '*.wasm' {
  const mod: WebAssembly.Module;
  export default mod;
}
