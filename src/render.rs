//! `klpcheck render`: the renderings of a trace file (timeline, dmesg transcript, SVG picture).

use crate::cli::RenderArgs;
use anyhow::Result;

pub fn run(a: &RenderArgs) -> Result<u8> {
    let trace = klp_traces::read_json(&a.trace)?;
    if let Some(svg) = &a.svg {
        klp_traces::write_atomic(svg, &klp_traces::svg::render(&trace))
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", svg.display()))?;
        eprintln!("wrote {}", svg.display());
    }
    if a.timeline || (a.svg.is_none() && !a.dmesg) {
        print!("{}", klp_traces::timeline::render(&trace));
    }
    if a.dmesg {
        print!("{}", klp_traces::transcript::render(&trace));
    }
    Ok(0)
}
