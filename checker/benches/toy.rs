//! Criterion benchmark of the engine on the toy model (N=4 and N=5; 1 and 2 threads).
//! `cargo bench -p klp-checker --bench toy`
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use klp_checker::Bfs;
use klp_toy::Toy;

fn toy(c: &mut Criterion) {
    let mut g = c.benchmark_group("toy");
    g.sample_size(10);
    for n in [4, 5] {
        let model = Toy::new(n);
        for threads in [1, 2] {
            g.bench_with_input(BenchmarkId::new(format!("n{n}"), threads), &threads, |b, &t| {
                b.iter(|| {
                    let out = Bfs::new(&model).threads(t).run();
                    assert!(out.complete());
                    out.stats.unique_states
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, toy);
criterion_main!(benches);
