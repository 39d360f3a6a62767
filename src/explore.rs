//! `klpcheck explore`: a web page over the state space, explored on demand. The page
//! (src/explore/ui) shows the path taken from the kernel's initial state, the steps that can
//! follow (in kernel vocabulary, with their dmesg lines), then the state: which tasks sleep
//! where and how, and a picture of every task's stack (model/src/picture.rs); the properties
//! come last, with the current state's value and what stateright's on-demand checker found.
//! Version colours come from model/src/palette.rs (served as `/palette.css`), the palette of
//! `klpcheck render --svg`. `--trace T.json` opens a trace `check` wrote at its last step.
//!
//! The server is our own (tiny_http, as stateright's Explorer) rather than stateright's,
//! whose page cannot be laid out differently: its paths start with a "Pre-init" row and its
//! actions sit below the property list.

mod view;

use crate::cli::ExploreArgs;
use anyhow::{anyhow, bail, Result};
use klp_model::KlpSystem;
use klp_traces::Replay;
use serde::Serialize;
use stateright::{Checker, Model};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response, StatusCode};

const INDEX: &str = include_str!("explore/ui/index.html");
const APP_JS: &str = include_str!("explore/ui/app.js");
const APP_CSS: &str = include_str!("explore/ui/app.css");

/// `/.status`: the target, where the page starts, the legend, and the checker's progress.
#[derive(Serialize)]
struct Status {
    scenario: String,
    variant: String,
    /// The trace opened with `--trace` (its title), if any.
    trace: Option<String>,
    /// The path the page opens when the URL names none: the initial state, or the trace's end.
    start: String,
    legend: Vec<view::Chip>,
    done: bool,
    states: usize,
    unique_states: usize,
    max_depth: usize,
    properties: Vec<view::PropertyStatus>,
}

/// The model to explore and where to start: the target's initial state, or a trace's end.
fn model_and_start(a: &ExploreArgs) -> Result<(KlpSystem, Vec<usize>, Option<String>)> {
    let Some(file) = &a.trace else {
        let t = crate::target::Target::of_args(&a.target)?;
        let model = KlpSystem::new(t.spec, klp_properties::catalogue)
            .with_user_properties(klp_properties::user::user_catalogue);
        return Ok((model, vec![0], None));
    };
    if a.target.variant.is_some() || !a.target.set.is_empty() {
        bail!("--trace {}: the trace records its variant; --variant and --set do not apply", file.display());
    }
    let trace = klp_traces::read_json(file)?;
    // A scenario named besides the trace replaces the one it records, as `replay --scenario`.
    let scenario = (a.target.scenario != "default").then_some(a.target.scenario.as_str());
    let model = crate::replay::model_of(&trace, file, scenario)?;
    // A trace the model no longer takes step by step (refused, or a step that does something
    // else) would open some other path: refuse it, as `replay` does.
    let f = file.display();
    let why = match klp_traces::replay(&model, &trace) {
        Replay::Refused { step, text } => Some(format!("step {step} ({text}) is not enabled in the model")),
        Replay::Differs { step, text, what } => Some(format!("step {step} ({text}) does something else: {what}")),
        Replay::Confirmed { .. } | Replay::NotReproduced { .. } => None,
    };
    if let Some(why) = why {
        bail!("{f}: {why}; the trace no longer matches the model (`klpcheck replay {f}`)");
    }
    let path = view::trace_path(&model, &trace).map_err(|e| anyhow!("{f}: {e} (`klpcheck replay {f}`)"))?;
    Ok((model, path, Some(klp_traces::title(&trace))))
}

pub fn run(a: &ExploreArgs) -> Result<u8> {
    let addr: std::net::SocketAddr =
        a.addr.parse().map_err(|e| anyhow!("--addr {}: not an address:port ({e})", a.addr))?;
    if !addr.ip().is_loopback() && !a.public {
        bail!(
            "--addr {addr}: not a loopback address; the Explorer has no authentication (pass --public to serve anyway)"
        );
    }
    let (model, start, trace) = model_and_start(a)?;
    let server = tiny_http::Server::http(addr).map_err(|e| anyhow!("--addr {addr}: cannot listen: {e}"))?;
    let start = view::encode(&start);
    println!(
        "Explorer for scenario {}, variant {}: http://{addr}/  (Ctrl-C stops)",
        model.spec.name,
        model.spec.variant.describe()
    );
    if let Some(t) = &trace {
        println!("opens {t} at its last step: http://{addr}/#/steps/{start}");
    }
    let mut builder = model.checker();
    if let Some(t) = a.threads {
        builder = builder.threads(t);
    }
    let checker = builder.spawn_on_demand();
    serve(&server, &checker, &Page { start, trace, entries: klp_properties::entries() });
    Ok(0)
}

/// What does not change while serving.
struct Page {
    start: String,
    trace: Option<String>,
    entries: Vec<klp_properties::Entry>,
}

/// Answers requests until Ctrl-C (main.rs's handler raises `interrupted`).
fn serve(server: &tiny_http::Server, checker: &impl Checker<KlpSystem>, page: &Page) {
    let stop = crate::interrupted();
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(rq)) => respond(rq, checker, page),
            Ok(None) => {}
            Err(e) => {
                eprintln!("klpcheck explore: {e}");
                return;
            }
        }
    }
}

type Body = Response<std::io::Cursor<Vec<u8>>>;

fn text(body: String, kind: &str) -> Body {
    let header = Header::from_bytes("Content-Type", kind).expect("a valid header");
    Response::from_string(body).with_header(header)
}

fn json(v: &impl Serialize) -> Body {
    match serde_json::to_string(v) {
        Ok(s) => text(s, "application/json"),
        Err(e) => text(e.to_string(), "text/plain").with_status_code(StatusCode(500)),
    }
}

fn respond(rq: Request, checker: &impl Checker<KlpSystem>, page: &Page) {
    let url = rq.url().to_string();
    let response = match (rq.method(), url.as_str()) {
        (Method::Get, "/") => text(INDEX.into(), "text/html; charset=utf-8"),
        (Method::Get, "/app.js") => text(APP_JS.into(), "text/javascript; charset=utf-8"),
        (Method::Get, "/app.css") => text(APP_CSS.into(), "text/css; charset=utf-8"),
        (Method::Get, "/palette.css") => text(klp_model::palette::css(), "text/css; charset=utf-8"),
        (Method::Get, "/.status") => json(&status(checker, page)),
        (Method::Post, "/.runtocompletion") => {
            checker.run_to_completion();
            text(String::new(), "text/plain")
        }
        (Method::Get, u) if u.starts_with("/.states/") => {
            let model = checker.model();
            match view::parse_path(&u["/.states/".len()..]).and_then(|p| view::step_view(model, &p, &page.entries)) {
                Ok(v) => json(&v),
                Err(e) => text(e, "text/plain; charset=utf-8").with_status_code(StatusCode(404)),
            }
        }
        _ => text("not found".into(), "text/plain").with_status_code(StatusCode(404)),
    };
    // A browser that went away is no error of ours.
    let _ = rq.respond(response);
}

fn status(checker: &impl Checker<KlpSystem>, page: &Page) -> Status {
    let model = checker.model();
    let properties = page
        .entries
        .iter()
        .map(|e| view::PropertyStatus {
            name: e.doc.name,
            expectation: view::expectation(&e.doc.expectation),
            statement: e.doc.statement,
            discovery: checker.discovery(e.doc.name).map(|p| p.encode(model)),
        })
        .collect();
    Status {
        scenario: model.spec.name.clone(),
        variant: model.spec.variant.describe(),
        trace: page.trace.clone(),
        start: page.start.clone(),
        legend: view::legend(model),
        done: checker.is_done(),
        states: checker.state_count(),
        unique_states: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        properties,
    }
}
