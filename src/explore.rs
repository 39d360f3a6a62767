//! `klpcheck explore`: stateright's Explorer (a web UI over the state space, explored on
//! demand) on the kernel model, with actions in kernel vocabulary, each step's dmesg lines and
//! a picture of every state (model/src/picture.rs).

use crate::cli::ExploreArgs;
use anyhow::{bail, Result};
use klp_model::KlpSystem;
use stateright::Model;

pub fn run(a: &ExploreArgs) -> Result<u8> {
    let t = crate::target::Target::of_args(&a.target)?;
    let addr: std::net::SocketAddr =
        a.addr.parse().map_err(|e| anyhow::anyhow!("--addr {}: not an address:port ({e})", a.addr))?;
    if !addr.ip().is_loopback() && !a.public {
        bail!(
            "--addr {addr}: not a loopback address; the Explorer has no authentication (pass --public to serve anyway)"
        );
    }
    // stateright's server panics if it cannot bind: find out first, with a clear error.
    drop(std::net::TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("--addr {addr}: cannot listen: {e}"))?);
    let model =
        KlpSystem::new(t.spec, klp_properties::catalogue).with_user_properties(klp_properties::user::user_catalogue);
    println!(
        "Explorer for scenario {} ({}), variant {}: http://{addr}/  (Ctrl-C stops)",
        model.spec.name,
        t.path.display(),
        model.spec.variant.describe()
    );
    let mut builder = model.checker();
    if let Some(t) = a.threads {
        builder = builder.threads(t);
    }
    builder.serve(addr);
    Ok(0)
}
