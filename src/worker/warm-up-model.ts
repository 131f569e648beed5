// The smallest model ORT will load: one Identity node, float32 [1] → [1] (ONNX
// IR 8, opset 17). Creating a session of it starts ORT's runtime (ort.ts).
// test/unit/warm-up-model.test.ts rebuilds these bytes with onnx-proto and runs them.

export const WARM_UP_MODEL: Uint8Array = Uint8Array.from(atob('CAg6NwoQCgF4EgF5IghJZGVudGl0eRIBd1oPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE='), (c) => c.charCodeAt(0))
