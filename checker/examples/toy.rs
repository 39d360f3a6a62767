//! Quick toy run without the CLI: `cargo run --release -p klp-checker --example toy -- N [THREADS] [sym|buggy]`.
use klp_checker::Bfs;
use klp_toy as toy;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(4, |a| a.parse().expect("N"));
    let threads: usize = args.get(1).map_or(0, |a| a.parse().expect("THREADS"));
    let flag = args.get(2).map(String::as_str);
    let model = if flag == Some("buggy") { toy::Toy::buggy(n) } else { toy::Toy::new(n) };
    let mut bfs = Bfs::new(&model).threads(threads);
    if flag == Some("sym") {
        bfs = bfs.symmetry(toy::canonical);
    }
    let out = bfs.run();
    let s = &out.stats;
    println!(
        "n={n} threads={} unique={} generated={} depth={} wall={:.2}s uniq/s={:.0} rss={}MB B/state={:.1} visited B/state={:.1} stop={:?}",
        s.threads, s.unique_states, s.generated_states, s.max_depth, s.elapsed.as_secs_f64(),
        s.states_per_sec(), s.peak_rss_bytes >> 20, s.bytes_per_state(), s.visited_bytes_per_state(), out.stop
    );
    for p in &out.properties {
        let steps = p.discovery.as_ref().map(|t| t.actions.len());
        println!("  {}: {:?} ({steps:?} steps)", p.name, p.verdict);
    }
}
