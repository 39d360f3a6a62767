//! Iterative Tarjan over a subgraph of the explored [`Graph`] (no recursion: graphs have
//! millions of states). Components come out in reverse topological order (a component is
//! emitted after every component it can reach), which the liveness checks use to propagate
//! "can reach" facts in one pass. Roots and edges are visited in index order, so the output
//! is deterministic.

use crate::graph::{Edge, Graph};

const UNSEEN: u32 = u32::MAX;

/// Reusable Tarjan state sized for the whole graph; each run resets only what it touched.
pub(crate) struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    touched: Vec<u32>,
    stack: Vec<u32>,
    /// (node, start, next and end of its targets in `targets`).
    calls: Vec<(u32, usize, usize, usize)>,
    /// The targets of the nodes in `calls` (edges that pass the run's edge filter), decoded
    /// once when the node is opened (the graph is compressed: `graph.rs`).
    targets: Vec<u32>,
}

impl Tarjan {
    pub(crate) fn new(n: usize) -> Self {
        Tarjan {
            index: vec![UNSEEN; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            touched: Vec::new(),
            stack: Vec::new(),
            calls: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Strongly connected components of the subgraph of nodes with `node_ok` and edges with
    /// `edge_ok` (edge index) whose both ends are in it, reached from `roots` in order.
    /// `emit` gets each component's nodes.
    pub(crate) fn run(
        &mut self,
        g: &Graph,
        roots: impl IntoIterator<Item = u32>,
        node_ok: impl Fn(u32) -> bool,
        edge_ok: impl Fn(&Edge) -> bool,
        mut emit: impl FnMut(&[u32]),
    ) {
        let mut next = 0u32;
        for r in roots {
            if !node_ok(r) || self.index[r as usize] != UNSEEN {
                continue;
            }
            self.open(r, &mut next, g, &edge_ok);
            while let Some(&mut (v, _, ref mut at, end)) = self.calls.last_mut() {
                let mut descended = false;
                while *at < end {
                    let w = self.targets[*at];
                    *at += 1;
                    if !node_ok(w) {
                        continue;
                    }
                    if self.index[w as usize] == UNSEEN {
                        self.open(w, &mut next, g, &edge_ok);
                        descended = true;
                        break;
                    } else if self.on_stack[w as usize] {
                        let vl = &mut self.low[v as usize];
                        *vl = (*vl).min(self.index[w as usize]);
                    }
                }
                if descended {
                    continue;
                }
                let (_, start, _, _) = self.calls.pop().expect("a call");
                self.targets.truncate(start);
                if let Some(&(parent, ..)) = self.calls.last() {
                    let l = self.low[v as usize];
                    let pl = &mut self.low[parent as usize];
                    *pl = (*pl).min(l);
                }
                if self.low[v as usize] == self.index[v as usize] {
                    let pos = self.stack.iter().rposition(|&x| x == v).expect("v is on the stack");
                    for &x in &self.stack[pos..] {
                        self.on_stack[x as usize] = false;
                    }
                    emit(&self.stack[pos..]);
                    self.stack.truncate(pos);
                }
            }
        }
        for &t in &self.touched {
            self.index[t as usize] = UNSEEN;
        }
        self.touched.clear();
    }

    fn open(&mut self, v: u32, next: &mut u32, g: &Graph, edge_ok: &impl Fn(&Edge) -> bool) {
        self.index[v as usize] = *next;
        self.low[v as usize] = *next;
        *next += 1;
        self.on_stack[v as usize] = true;
        self.stack.push(v);
        self.touched.push(v);
        let start = self.targets.len();
        self.targets.extend(g.edges(v).filter(|e| edge_ok(e)).map(|e| e.to));
        self.calls.push((v, start, start, self.targets.len()));
    }
}
