//! Time of the expected accuracy (leave-one-out k-NN) and the feature map (PCA) for a worker's
//! worst case: `N` photos of `D` features (default 500 x 1280, MobileNetV2's pooled features).
//!
//! Usage: `cargo run --example bench_transfer_core [N] [D] [CLASSES]`. The features are seeded
//! synthetic clusters (non-negative, like pooled ReLU6 activations); the timings do not depend on
//! the values, except the map's iteration count, which is printed.

use std::time::Instant;
use whisker::core::knn::leave_one_out;
use whisker::core::pca::feature_map;
use whisker::core::rng::Rng;
use whisker::core::similarity::SimilarityIndex;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .map_or(default, |s| s.parse().expect("a number"))
    };
    let (n, d, classes) = (arg(1, 500), arg(2, 1280), arg(3, 5));
    let mut rng = Rng::new(1);
    let centres: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..d).map(|_| rng.normal().max(0.0)).collect())
        .collect();
    let labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
    let rows: Vec<Vec<f32>> = labels
        .iter()
        .map(|&c| {
            centres[c]
                .iter()
                .map(|m| (m + 1.5 * rng.normal()).max(0.0))
                .collect()
        })
        .collect();
    let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();

    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut index = SimilarityIndex::from_rows(d, &refs[..n - 1]).unwrap();
    let build = ms(t);
    let t = Instant::now();
    index.push(refs[n - 1]).unwrap();
    let push = ms(t);
    let t = Instant::now();
    let similarities = index.similarities();
    let centring = ms(t);
    let t = Instant::now();
    let estimate = leave_one_out(&similarities, &labels, classes).unwrap();
    let knn = ms(t);
    let t = Instant::now();
    let cold = feature_map(&index, &similarities, None);
    let map_cold = ms(t);
    // A photo removed and put back: the update a worker does as photos change.
    index.remove(0);
    index.push(refs[0]).unwrap();
    let t = Instant::now();
    let similarities = index.similarities();
    let warm = feature_map(&index, &similarities, Some(&cold));
    let map_warm = ms(t);

    println!("{n} photos x {d} features, {classes} classes");
    println!(
        "similarity index, {} photos at once: {build:>8.1} ms",
        n - 1
    );
    println!("add one photo (N*D):                {push:>8.2} ms");
    println!("centred similarities (N^2):         {centring:>8.2} ms");
    println!(
        "leave-one-out k-NN (k = {}):         {knn:>8.2} ms  (accuracy {:.3})",
        estimate.k, estimate.accuracy
    );
    println!(
        "feature map, cold start:            {map_cold:>8.1} ms  ({} iterations, explains {:.0}% + {:.0}%)",
        cold.iterations,
        cold.explained[0] * 100.0,
        cold.explained[1] * 100.0
    );
    println!(
        "after a change: similarities + map from the previous map: {map_warm:>6.1} ms  ({} iterations)",
        warm.iterations
    );
}
