// The benchmark page of scripts/bench-extract.mjs: times one engine's feature extraction on the
// same preprocessed photos. Everything comes from this page's own origin (127.0.0.1).
//
// window.runConfig(cfg) with cfg = { engine: 'whisker' | 'ort', backend, threads, n, reps,
// batches, record, foldNorm } resolves to { label, loadMs, firstMs, perPhotoMs: { [batch]: [ms...] },
// features: [[1280 numbers] x n] (batch 1), crossOriginIsolated }.

const SIZE = 224;
const SHORT_SIDE = 256;
const PLANE = SIZE * SIZE;
const PER_PHOTO = 3 * PLANE;
// ImageNet statistics, as torchvision's `Normalize` and Whisker's core::preprocess use them.
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

const now = () => performance.now();

/** One photo as the network's input: shorter side to 256, centre 224x224 crop, normalised,
 *  `[3, 224, 224]` planes. The same bytes for both engines, so only the networks differ. */
async function preprocess(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none' });
  const scale = SHORT_SIDE / Math.min(bitmap.width, bitmap.height);
  const w = Math.round(bitmap.width * scale);
  const h = Math.round(bitmap.height * scale);
  const canvas = new OffscreenCanvas(SIZE, SIZE);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, Math.floor((SIZE - w) / 2), Math.floor((SIZE - h) / 2), w, h);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, SIZE, SIZE).data;
  const out = new Float32Array(PER_PHOTO);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < PLANE; i++) {
      out[c * PLANE + i] = (rgba[4 * i + c] / 255 - MEAN[c]) / STD[c];
    }
  }
  return out;
}

/** Whisker's engine (examples/bench_web.rs): returns run(inputs, batch) -> Float32Array. */
async function whiskerEngine(cfg) {
  const whisker = await import('/whisker/whisker_bench.js');
  await whisker.default({ module_or_path: '/whisker/whisker_bench_bg.wasm' });
  const record = new Uint8Array(await (await fetch(`/record/${cfg.record}`)).arrayBuffer());
  const label = await whisker.load(record, cfg.record, cfg.backend, cfg.foldNorm);
  return {
    label,
    run: (inputs, batch) => whisker.extract(inputs, batch),
  };
}

/** onnxruntime-web on the ONNX export of the same torchvision network. */
async function ortEngine(cfg) {
  const bundle = cfg.backend === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs';
  const ort = await import(`/ort/${bundle}`);
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = cfg.threads;
  const model = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [cfg.backend === 'webgpu' ? 'webgpu' : 'wasm'],
    graphOptimizationLevel: 'all',
  });
  const threads = cfg.backend === 'webgpu' ? '' : `, ${ort.env.wasm.numThreads} thread(s)`;
  return {
    label: `onnxruntime-web ${ort.env.versions?.web ?? ''} (${cfg.backend}${threads})`,
    run: async (inputs, batch) => {
      // Same micro-batching as Whisker's: `batch` photos per session run.
      const n = inputs.length / PER_PHOTO;
      const out = new Float32Array(n * 1280);
      for (let i = 0; i < n; i += batch) {
        const b = Math.min(batch, n - i);
        const x = new ort.Tensor('float32', inputs.subarray(i * PER_PHOTO, (i + b) * PER_PHOTO), [b, 3, SIZE, SIZE]);
        const { features } = await session.run({ input: x });
        out.set(features.data, i * 1280);
      }
      return out;
    },
  };
}

window.runConfig = async (cfg) => {
  const photos = [];
  for (let i = 0; i < cfg.n; i++) {
    photos.push(await preprocess(await (await fetch(`/photos/${i}`)).blob()));
  }
  const all = new Float32Array(cfg.n * PER_PHOTO);
  photos.forEach((p, i) => all.set(p, i * PER_PHOTO));

  let t = now();
  const engine = cfg.engine === 'whisker' ? await whiskerEngine(cfg) : await ortEngine(cfg);
  const loadMs = now() - t;
  t = now();
  await engine.run(photos[0], 1);
  const firstMs = now() - t;
  // Two more untimed passes: the first ones compile kernels and grow the allocators.
  for (let k = 1; k <= 2; k++) await engine.run(photos[k % cfg.n], 1);

  const perPhotoMs = {};
  let features = null;
  for (const batch of cfg.batches) {
    const times = [];
    if (batch === 1) {
      features = [];
      for (let r = 0; r < cfg.reps; r++) {
        for (let i = 0; i < cfg.n; i++) {
          t = now();
          const f = await engine.run(photos[i], 1);
          times.push(now() - t);
          if (r === 0) features.push(Array.from(f));
        }
      }
    } else {
      await engine.run(all, batch); // untimed: a new shape
      for (let r = 0; r < cfg.reps; r++) {
        t = now();
        await engine.run(all, batch);
        times.push((now() - t) / cfg.n);
      }
    }
    perPhotoMs[batch] = times;
  }
  return { label: engine.label, loadMs, firstMs, perPhotoMs, features, crossOriginIsolated };
};

window.benchReady = true;
